#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
} // namespace date

// Cron schedules of tasks (API.md A5): five fields, minute hour
// day-of-month month day-of-week, with ranges, lists, steps and names, and
// the `@daily`-style shorthands. Pure functions: no clocks, no I/O beyond
// the system's zoneinfo files the time zone database reads.

namespace nod::cron {

/// A parsed expression: the set of values each field matches.
struct schedule {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  /// Bit d for day d of the month, 1..31 (bit 0 unused).
  std::bitset<32> days;
  /// Bit m for month m, 1..12 (bit 0 unused).
  std::bitset<13> months;
  /// Bit d for weekday d, 0 = Sunday .. 6 = Saturday (7 in the text is
  /// Sunday too).
  std::bitset<7> weekdays;
  /// The day-of-month / day-of-week field started with `*`. When neither
  /// did, a day matches if either matches (Vixie cron); otherwise both.
  bool days_star = false;
  bool weekdays_star = false;
};

/// Parses `text`. On failure returns nothing and sets `error` to one
/// readable line naming the field, e.g. "minute: 61 is out of range 0-59".
/// Expressions that can never fire (`0 0 30 2 *`) are errors too.
std::optional<schedule> parse(std::string_view text, std::string& error);

/// The first time strictly after `after_ms` (Unix milliseconds) that
/// matches, as Unix milliseconds, with fields read in `zone` (null: UTC).
/// A local time skipped by a daylight-saving gap fires at the end of the
/// gap, once; a local time that occurs twice fires on its first
/// occurrence only.
std::optional<int64_t> next_after(const schedule& s, int64_t after_ms,
                                  const date::time_zone* zone = nullptr);

/// The IANA time zone `name` (e.g. "Europe/Berlin"), or null if the
/// system's database does not know it.
const date::time_zone* find_zone(std::string_view name);

/// Reads the system's list of time zones now (a few ms of file I/O) so
/// that no actor pays for it on first use; each zone's own file is still
/// read when that zone is first used. Says what went wrong, if anything.
std::optional<std::string> load_zones();

} // namespace nod::cron
