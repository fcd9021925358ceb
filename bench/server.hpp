#pragma once

// The nod-server that nod-bench starts with --server: a child on a fresh
// temp data directory and a free port. Its log is read line by line for the
// whole run (a full pipe would stall the server's logging); nod-bench keeps
// only its tail and its warning and error lines.

#include "testkit/process.hpp"
#include "testkit/temp_dir.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace nod::bench {

class server_process {
public:
  ~server_process() {
    stop();
  }

  const std::string& password() const {
    return password_;
  }

  pid_t pid() const {
    return child_ ? child_->pid() : -1;
  }

  /// Starts `binary` with `env` added to its environment and waits for its
  /// port; throws with the log on failure.
  uint16_t start(const std::string& binary,
                 const std::vector<std::pair<std::string, std::string>>& env
                 = {});

  /// Sends SIGTERM, waits for the exit, removes the data dir. Returns a
  /// line describing how the server ended (empty if it was not running).
  std::string stop();

  /// Warning and error lines the server logged, and the first few of them.
  std::pair<size_t, std::vector<std::string>> problems();

private:
  void on_line(const std::string& line);
  std::string tail_locked() const;

  std::optional<testkit::temp_dir> dir_;
  std::string password_;
  std::unique_ptr<testkit::child_process> child_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::string> tail_;
  std::vector<std::string> first_problems_;
  size_t problem_count_ = 0;
  uint16_t port_ = 0;
  bool eof_ = false;
};

} // namespace nod::bench
