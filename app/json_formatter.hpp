#pragma once

// `log-format = json`: one JSON object per log record, for log collectors.

#include <memory>
#include <spdlog/formatter.h>
#include <string_view>

namespace nod::logging {

/// The logger access lines go to (one per HTTP request answered). Its
/// messages are `access key=value ...` with values free of spaces.
inline constexpr std::string_view access_logger_name = "access";

/// Formats each record as one line holding one JSON object:
/// `{"time":"2026-12-06T23:44:13.123Z","level":"info","msg":"...",...}`.
/// `time` is UTC with milliseconds; `level` one of trace, debug, info,
/// warn, error, critical; `msg` the whole message. The server's ids the
/// message names (`agt_` + 16 hex digits and the like, and a
/// `request_id=VALUE` token) follow as fields named after their kind
/// (`agent_id`, ..., `request_id`), the first of each kind. Lines of the
/// access logger also get their `key=value` pairs as fields, `status`,
/// `bytes` and `duration_ms` as numbers. Strings are escaped for JSON;
/// invalid UTF-8 becomes U+FFFD.
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override;

  std::unique_ptr<spdlog::formatter> clone() const override;

private:
  /// `YYYY-MM-DDTHH:MM:SS` of `cached_second_`: records come in bursts
  /// within the same second.
  long long cached_second_ = -1;
  char cached_text_[20] = {};
};

} // namespace nod::logging
