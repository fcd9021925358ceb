#pragma once

// A logger whose lines a test can read while io threads write them.

#include <chrono>
#include <memory>
#include <mutex>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <string>
#include <thread>
#include <vector>

namespace nod::test {

/// Keeps every formatted line (without the newline) under its lock.
class capture_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  /// The lines so far.
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock{mutex_};
    return lines_;
  }

  /// The first line containing `needle`, waiting up to `timeout` for it
  /// (a line may be written just after the response was); empty if none.
  std::string wait_for(const std::string& needle,
                       std::chrono::milliseconds timeout
                       = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (auto& line : lines())
        if (line.find(needle) != std::string::npos)
          return line;
      if (std::chrono::steady_clock::now() >= deadline)
        return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t out;
    formatter_->format(msg, out);
    std::string line{out.data(), out.size()};
    while (!line.empty() && line.back() == '\n')
      line.pop_back();
    lines_.push_back(std::move(line));
  }

  void flush_() override {
    // nop
  }

private:
  std::vector<std::string> lines_;
};

/// A logger named `name` writing the bare message into a new sink.
inline std::shared_ptr<spdlog::logger>
capture_logger(const std::string& name, std::shared_ptr<capture_sink>& sink) {
  sink = std::make_shared<capture_sink>();
  sink->set_pattern("%v");
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_level(spdlog::level::info);
  return logger;
}

} // namespace nod::test
