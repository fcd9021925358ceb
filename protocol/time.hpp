#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// Milliseconds since the Unix epoch, wall clock.
int64_t now_ms();

/// ISO-8601 UTC with seconds, e.g. "2026-11-28T22:03:11Z".
std::string iso8601(int64_t unix_ms);

/// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)" into Unix milliseconds.
std::optional<int64_t> parse_iso8601(std::string_view text);

} // namespace nod
