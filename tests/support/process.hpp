#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nod::test {

/// A child process (usually the real nod-server) whose stdout and stderr
/// are collected in the background, so tests can wait for log lines.
class child_process {
public:
  /// Starts `binary` with `args` and the current environment plus `env`
  /// (`NAME=value`). Throws std::runtime_error if it cannot start.
  child_process(const std::string& binary, const std::vector<std::string>& args,
                const std::vector<std::string>& env);

  /// Kills the child with SIGKILL if it still runs.
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Sends `sig` to the child.
  void signal(int sig);

  /// Waits for the child to end; its exit status (or 128 + signal), or
  /// nothing on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  /// Waits until the output contains `needle`; the output so far on
  /// success, nothing on timeout or when the child ends first.
  std::optional<std::string> wait_for_output(const std::string& needle,
                                             std::chrono::milliseconds timeout);

  /// Everything the child printed so far.
  std::string output() const;

  /// The child's pid.
  int pid() const noexcept {
    return pid_;
  }

private:
  void read_loop(int fd);

  int pid_ = -1;
  std::optional<int> status_;
  std::thread reader_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::string output_;
  bool eof_ = false;
};

/// Starts nod-server on 127.0.0.1 port 0 with data in `data_dir` and
/// returns the port it logged, or 0 if it did not start within 20 s.
uint16_t wait_for_port(child_process& server);

} // namespace nod::test
