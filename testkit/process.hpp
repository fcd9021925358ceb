#pragma once

// A child process (usually the real nod-server) whose output is read in the
// background: the end-to-end tests wait for log lines in it, nod-bench
// watches it line by line. No Beast, no gtest: nod_testkit is linked by
// both.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nod::testkit {

/// How a child is started and how its output is read.
struct child_options {
  /// Each line of output (without its newline), on the reader thread, as
  /// it arrives; the last one may have had no newline.
  std::function<void(const std::string&)> on_line;
  /// Called once on the reader thread when the output ended.
  std::function<void()> on_end;
  /// Keep everything the child prints for `output` and `wait_for_output`.
  /// A long-running child that logs much (a benchmarked server) should not.
  bool keep_output = true;
  /// Put the child in its own process group, so Ctrl-C at a terminal
  /// reaches only the parent (which then stops the child in order), and
  /// have it get SIGTERM when the parent dies.
  bool own_group = false;
};

/// A child process whose stdout and stderr are collected in the
/// background, so callers can wait for log lines.
class child_process {
public:
  /// Starts `binary` with `args` and the current environment, where `env`
  /// (`NAME=value`) replaces or adds variables. Throws std::runtime_error
  /// if it cannot start.
  child_process(const std::string& binary, const std::vector<std::string>& args,
                const std::vector<std::string>& env,
                child_options options = {});

  /// Kills the child with SIGKILL if it still runs.
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Sends `sig` to the child.
  void signal(int sig);

  /// Waits for the child to end; its exit status (or 128 + signal), or
  /// nothing on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  /// True if the child ended, killed by a signal (`wait` returned
  /// 128 + signal).
  bool died_of_signal() const noexcept {
    return signalled_;
  }

  /// Waits until the output contains `needle`; the output so far on
  /// success, nothing on timeout or when the child ends first.
  std::optional<std::string> wait_for_output(const std::string& needle,
                                             std::chrono::milliseconds timeout);

  /// Everything the child printed so far (with `keep_output`).
  std::string output() const;

  /// The child's pid.
  int pid() const noexcept {
    return pid_;
  }

private:
  void read_loop(int fd);

  child_options options_;
  int pid_ = -1;
  std::optional<int> status_;
  bool signalled_ = false;
  std::thread reader_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::string output_;
  bool eof_ = false;
};

/// The port in nod-server's log line "listening on http://HOST:PORT" in
/// `log`, once the line is complete (a space or newline follows the port).
std::optional<uint16_t> listening_port(const std::string& log);

/// Waits up to 20 s for `server` (a nod-server) to log the port it listens
/// on and returns it, or 0 if it did not.
uint16_t wait_for_port(child_process& server);

} // namespace nod::testkit
