#include "app/logging.hpp"

#include "app/json_formatter.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace nod::logging {

namespace {

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& format) {
  if (format == "json")
    return std::make_unique<json_formatter>();
  return std::make_unique<spdlog::pattern_formatter>(
    "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
}

} // namespace

std::shared_ptr<spdlog::logger> setup(const std::string& format,
                                      const std::string& level) {
  // One sink for both loggers: their lines never interleave mid-line.
  auto sink = std::make_shared<spdlog::sinks::stdout_color_sink_mt>();
  sink->set_formatter(make_formatter(format));
  auto logger = std::make_shared<spdlog::logger>("nod", sink);
  logger->set_level(spdlog::level::from_str(level));
  // Lines reach the terminal or log collector at once, not at exit.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  auto access
    = std::make_shared<spdlog::logger>(std::string{access_logger_name}, sink);
  access->set_level(spdlog::level::info);
  access->flush_on(spdlog::level::trace);
  return access;
}

void reconfigure(const std::string& format, const std::string& level) {
  auto logger = spdlog::default_logger();
  // Sinks lock while they swap formatters; the access logger shares them.
  for (auto& sink : logger->sinks())
    sink->set_formatter(make_formatter(format));
  logger->set_level(spdlog::level::from_str(level));
}

} // namespace nod::logging
