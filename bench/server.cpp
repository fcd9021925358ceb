#include "bench/server.hpp"

#include "bench/common.hpp"

#include <csignal>
#include <stdexcept>

namespace nod::bench {

uint16_t server_process::start(
  const std::string& binary,
  const std::vector<std::pair<std::string, std::string>>& env) {
  dir_.emplace("nod-bench-");
  password_ = random_hex(16);
  std::vector<std::string> vars{
    "NOD_LISTEN=127.0.0.1:0",
    "NOD_DATA_DIR=" + dir_->path(),
    "NOD_ADMIN_PASSWORD=" + password_,
    // The port is logged at info.
    "NOD_LOG_LEVEL=info",
  };
  for (auto& [k, v] : env)
    vars.push_back(k + "=" + v);
  testkit::child_options options;
  options.on_line = [this](const std::string& line) {
    on_line(line);
  };
  options.on_end = [this] {
    std::lock_guard<std::mutex> guard{mtx_};
    eof_ = true;
    cv_.notify_all();
  };
  options.keep_output = false;
  // Ctrl-C reaches only nod-bench, which then stops the server in order; a
  // killed nod-bench takes it down too.
  options.own_group = true;
  child_ = std::make_unique<testkit::child_process>(
    binary, std::vector<std::string>{}, vars, std::move(options));
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait_for(guard, std::chrono::seconds{30}, [this] {
    return port_ != 0 || eof_ || interrupted;
  });
  if (port_ == 0)
    throw std::runtime_error("the server did not report its port; its "
                             "output:\n"
                             + tail_locked());
  return port_;
}

std::string server_process::stop() {
  std::string result;
  if (child_) {
    child_->signal(SIGTERM);
    auto code = child_->wait(std::chrono::seconds{20});
    if (!code) {
      child_->signal(SIGKILL);
      child_->wait(std::chrono::seconds{20});
      result = "server did not stop within 20 s of SIGTERM; killed";
    } else if (child_->died_of_signal()) {
      result = "server died of signal " + std::to_string(*code - 128);
    } else {
      result = "server exited with status " + std::to_string(*code);
    }
    child_.reset();
  }
  dir_.reset();
  return result;
}

std::pair<size_t, std::vector<std::string>> server_process::problems() {
  std::lock_guard<std::mutex> guard{mtx_};
  return {problem_count_, first_problems_};
}

void server_process::on_line(const std::string& line) {
  std::lock_guard<std::mutex> guard{mtx_};
  tail_.push_back(line);
  if (tail_.size() > 100)
    tail_.pop_front();
  // Lines look like "2026-01-01T00:00:00.000Z warn  text".
  auto sp = line.find(' ');
  if (sp != std::string::npos) {
    auto level = line.substr(sp + 1, 5);
    if (level == "warn " || level == "error" || level == "criti") {
      if (first_problems_.size() < 5)
        first_problems_.push_back(line);
      ++problem_count_;
    }
  }
  if (port_ == 0) {
    if (auto port = testkit::listening_port(line + "\n")) {
      port_ = *port;
      cv_.notify_all();
    }
  }
}

std::string server_process::tail_locked() const {
  std::string out;
  for (auto& l : tail_)
    out += "  | " + l + "\n";
  return out;
}

} // namespace nod::bench
