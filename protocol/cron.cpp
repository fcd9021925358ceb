#include "protocol/cron.hpp"

#include "protocol/text.hpp"

#include <array>
#include <chrono>
#include <date/date.h>
#include <date/tz.h>
#include <vector>

namespace nod::cron {

namespace {

// ---- parsing ---------------------------------------------------------------

struct field_spec {
  const char* name;
  int min;
  int max;
  /// Three-letter names for min, min+1, ... (null: numbers only).
  const char* const* names;
  int name_count;
};

constexpr const char* month_names[]
  = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* weekday_names[]
  = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// The day-of-week field takes 0-7: 7 is Sunday again, folded into 0 later.
constexpr field_spec fields[] = {
  {"minute", 0, 59, nullptr, 0},           {"hour", 0, 23, nullptr, 0},
  {"day-of-month", 1, 31, nullptr, 0},     {"month", 1, 12, month_names, 12},
  {"day-of-week", 0, 7, weekday_names, 7},
};

constexpr const char* fields_help
  = "(minute hour day-of-month month day-of-week)";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char to_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// `text` in double quotes, safe for a one-line message: control and
// non-ASCII bytes as \xNN, long text cut short.
std::string quote(std::string_view text) {
  static constexpr size_t max_len = 40;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < max_len; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max_len)
    out += "...";
  out += '"';
  return out;
}

// Reads a run of digits at `pos`. Values too large for any field saturate
// (the caller reports them out of range by their text).
bool read_number(std::string_view item, size_t& pos, int& out) {
  size_t start = pos;
  long long v = 0;
  while (pos < item.size() && is_digit(item[pos])) {
    if (v < 1'000'000)
      v = v * 10 + (item[pos] - '0');
    ++pos;
  }
  if (pos == start)
    return false;
  out = static_cast<int>(v);
  return true;
}

class field_parser {
public:
  field_parser(const field_spec& spec, std::string& error)
    : spec_(spec), error_(error) {}

  // Parses one comma list into `bits` (bit v for value v).
  bool parse(std::string_view text, uint64_t& bits) {
    size_t start = 0;
    while (true) {
      size_t comma = text.find(',', start);
      auto item = text.substr(
        start, comma == std::string_view::npos ? comma : comma - start);
      if (item.empty())
        return fail("empty item in list " + quote(text));
      if (!parse_item(item, bits))
        return false;
      if (comma == std::string_view::npos)
        return true;
      start = comma + 1;
    }
  }

private:
  bool fail(const std::string& message) {
    error_ = std::string(spec_.name) + ": " + message;
    return false;
  }

  // A number or, where the field has them, a three-letter name.
  bool read_value(std::string_view item, size_t& pos, int& out) {
    size_t start = pos;
    if (pos < item.size() && is_digit(item[pos])) {
      read_number(item, pos, out);
      if (out < spec_.min || out > spec_.max)
        return fail(std::string(item.substr(start, pos - start))
                    + " is out of range " + std::to_string(spec_.min) + "-"
                    + std::to_string(spec_.max));
      return true;
    }
    while (pos < item.size() && is_alpha(item[pos]))
      ++pos;
    auto word = item.substr(start, pos - start);
    if (word.empty()) {
      if (start == item.size())
        return fail("missing a value in " + quote(item));
      return fail("expected a number, got " + quote(item.substr(start)) + " in "
                  + quote(item));
    }
    if (!spec_.names)
      return fail("expected a number, got " + quote(word));
    if (word.size() == 3) {
      for (int i = 0; i < spec_.name_count; ++i) {
        const char* name = spec_.names[i];
        if (to_upper(word[0]) == name[0] && to_upper(word[1]) == name[1]
            && to_upper(word[2]) == name[2]) {
          out = spec_.min + i;
          return true;
        }
      }
    }
    return fail("unknown name " + quote(word));
  }

  bool parse_item(std::string_view item, uint64_t& bits) {
    size_t pos = 0;
    int lo = spec_.min;
    int hi = spec_.max;
    if (item[0] == '*') {
      pos = 1;
    } else {
      if (!read_value(item, pos, lo))
        return false;
      hi = lo;
      if (pos < item.size() && item[pos] == '-') {
        ++pos;
        if (!read_value(item, pos, hi))
          return false;
        if (lo > hi)
          return fail("range " + quote(item.substr(0, pos))
                      + " is reversed (start after end)");
      } else if (pos < item.size() && item[pos] == '/') {
        // N/S: from N through the field's maximum.
        hi = spec_.max;
      }
    }
    int step = 1;
    if (pos < item.size() && item[pos] == '/') {
      ++pos;
      size_t start = pos;
      if (start == item.size())
        return fail("missing a step after \"/\" in " + quote(item));
      if (!read_number(item, pos, step))
        return fail("step must be a number, got " + quote(item.substr(start))
                    + " in " + quote(item));
      if (step < 1)
        return fail("step must be at least 1");
      if (step > spec_.max)
        return fail("step " + std::string(item.substr(start, pos - start))
                    + " is out of range 1-" + std::to_string(spec_.max));
    }
    if (pos != item.size())
      return fail("unexpected " + quote(item.substr(pos)) + " in "
                  + quote(item));
    for (int v = lo; v <= hi; v += step)
      bits |= uint64_t{1} << v;
    return true;
  }

  const field_spec& spec_;
  std::string& error_;
};

template <size_t N>
std::bitset<N> to_bitset(uint64_t bits) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i)
    out[i] = (bits >> i) & 1;
  return out;
}

constexpr int max_days[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

std::optional<schedule> parse_fields(std::string_view text,
                                     std::string& error) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text::is_space(text[pos]))
      ++pos;
    size_t start = pos;
    while (pos < text.size() && !text::is_space(text[pos]))
      ++pos;
    if (pos > start)
      parts.push_back(text.substr(start, pos - start));
  }
  if (parts.size() != 5) {
    error = "expected 5 fields " + std::string(fields_help) + ", got "
            + std::to_string(parts.size());
    return std::nullopt;
  }
  std::array<uint64_t, 5> bits{};
  for (size_t i = 0; i < 5; ++i) {
    field_parser p(fields[i], error);
    if (!p.parse(parts[i], bits[i]))
      return std::nullopt;
  }
  schedule s;
  s.minutes = to_bitset<60>(bits[0]);
  s.hours = to_bitset<24>(bits[1]);
  s.days = to_bitset<32>(bits[2]);
  s.months = to_bitset<13>(bits[3]);
  // Day-of-week 7 is Sunday.
  s.weekdays = to_bitset<7>(bits[4] | ((bits[4] >> 7) & 1));
  s.days_star = parts[2][0] == '*';
  s.weekdays_star = parts[4][0] == '*';
  // With either day field starred, a day must match both: the chosen days
  // of the month have to exist in a chosen month. (With both restricted,
  // every chosen weekday occurs in every month; a starred day-of-month
  // always includes the 1st; and any valid date falls on every weekday
  // over the years.)
  if (s.days_star || s.weekdays_star) {
    bool fits = false;
    for (int m = 1; m <= 12 && !fits; ++m)
      for (int d = 1; d <= max_days[m] && !fits; ++d)
        fits = s.months[m] && s.days[d];
    if (!fits) {
      error = "day-of-month: never matches in the chosen months";
      return std::nullopt;
    }
  }
  return s;
}

std::optional<schedule> parse_shorthand(std::string_view text,
                                        std::string& error) {
  size_t end = 0;
  while (end < text.size() && !text::is_space(text[end]))
    ++end;
  std::string word;
  for (size_t i = 0; i < end; ++i)
    word += text::ascii_lower(text[i]);
  auto rest = text::trim(text.substr(end));
  static constexpr struct {
    const char* word;
    const char* fields;
  } shorthands[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
  };
  if (word == "@reboot") {
    error = "@reboot is not supported";
    return std::nullopt;
  }
  for (auto& s : shorthands) {
    if (word == s.word) {
      if (!rest.empty()) {
        error = "unexpected " + quote(rest) + " after " + word;
        return std::nullopt;
      }
      return parse_fields(s.fields, error);
    }
  }
  error = "unknown shorthand " + quote(text.substr(0, end))
          + " (expected @yearly, @annually, @monthly, @weekly, @daily, "
            "@midnight or @hourly)";
  return std::nullopt;
}

// ---- searching -------------------------------------------------------------

constexpr int64_t minutes_per_day = 1440;
// Feb 29 on a given weekday can be 40 years apart (across 2100).
constexpr int64_t search_minutes = int64_t{50} * 366 * minutes_per_day;
// Years 0001-9999, in Unix milliseconds.
constexpr int64_t min_ms = -62'135'596'800'000;
constexpr int64_t max_ms = 253'402'300'799'999;

int64_t floor_div(int64_t a, int64_t b) {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// The first set bit at or after `from`, or -1.
template <size_t N>
int next_bit(const std::bitset<N>& bits, int from) {
  for (int i = from; i < static_cast<int>(N); ++i)
    if (bits[static_cast<size_t>(i)])
      return i;
  return -1;
}

bool day_matches(const schedule& s, unsigned day, unsigned weekday) {
  bool d = s.days[day];
  bool w = s.weekdays[weekday];
  return s.days_star || s.weekdays_star ? d && w : d || w;
}

// The first local minute in [from, limit) (minutes since the local epoch)
// that matches, skipping months, days and hours that cannot.
std::optional<int64_t> search(const schedule& s, int64_t from, int64_t limit) {
  int64_t m = from;
  while (m < limit) {
    int64_t day = floor_div(m, minutes_per_day);
    auto ld = date::local_days{date::days{day}};
    date::year_month_day ymd{ld};
    if (!s.months[unsigned(ymd.month())]) {
      auto first = ymd.year() / ymd.month() / 1;
      auto next = date::year_month_day{first} + date::months{1};
      m = date::local_days{next}.time_since_epoch().count() * minutes_per_day;
      continue;
    }
    if (!day_matches(s, unsigned(ymd.day()), date::weekday{ld}.c_encoding())) {
      m = (day + 1) * minutes_per_day;
      continue;
    }
    int64_t of_day = m - day * minutes_per_day;
    int hour = static_cast<int>(of_day / 60);
    int minute = static_cast<int>(of_day % 60);
    int h = next_bit(s.hours, hour);
    if (h < 0) {
      m = (day + 1) * minutes_per_day;
      continue;
    }
    if (h != hour)
      minute = 0;
    int mi = next_bit(s.minutes, minute);
    if (mi < 0) {
      m = day * minutes_per_day + (h + 1) * 60;
      continue;
    }
    int64_t found = day * minutes_per_day + h * 60 + mi;
    if (found >= limit)
      return std::nullopt;
    return found;
  }
  return std::nullopt;
}

// The instant (Unix seconds) local minute `local` stands for: the gap's
// end if a daylight-saving gap skips it, its first occurrence if an
// overlap repeats it.
int64_t to_sys_seconds(const date::time_zone* zone, int64_t local) {
  int64_t secs = local * 60;
  if (!zone)
    return secs;
  auto info = zone->get_info(date::local_seconds{std::chrono::seconds{secs}});
  switch (info.result) {
    case date::local_info::nonexistent:
      return info.second.begin.time_since_epoch().count();
    case date::local_info::unique:
    case date::local_info::ambiguous:
    default: return secs - info.first.offset.count();
  }
}

} // namespace

std::optional<schedule> parse(std::string_view text, std::string& error) {
  try {
    text = text::trim(text);
    if (!text.empty() && text[0] == '@')
      return parse_shorthand(text, error);
    return parse_fields(text, error);
  } catch (...) {
    error = "cannot parse the expression";
    return std::nullopt;
  }
}

std::optional<int64_t> next_after(const schedule& s, int64_t after_ms,
                                  const date::time_zone* zone) {
  if (after_ms < min_ms || after_ms > max_ms)
    return std::nullopt;
  if (s.minutes.none() || s.hours.none() || s.months.none()
      || (s.days.none() && s.weekdays.none()))
    return std::nullopt;
  try {
    int64_t after_s = floor_div(after_ms, 1000);
    int64_t local_s = after_s;
    if (zone)
      local_s = zone->to_local(date::sys_seconds{std::chrono::seconds{after_s}})
                  .time_since_epoch()
                  .count();
    // Local minutes at or before the current one have fired already (or
    // map to instants no later than `after_ms`).
    int64_t from = floor_div(local_s, 60) + 1;
    int64_t limit = from + search_minutes;
    while (auto found = search(s, from, limit)) {
      // Round up to the minute: only historical offsets have seconds.
      int64_t secs = to_sys_seconds(zone, *found);
      int64_t ms = (floor_div(secs + 59, 60)) * 60'000;
      if (ms > after_ms)
        return ms;
      // The first occurrence of a repeated local time, already past.
      from = *found + 1;
    }
    return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
}

const date::time_zone* find_zone(std::string_view name) {
  if (name.empty() || name.front() == '/'
      || name.find("..") != std::string_view::npos
      || name.find('\0') != std::string_view::npos)
    return nullptr;
  try {
    return date::locate_zone(std::string(name));
  } catch (...) {
    return nullptr;
  }
}

std::optional<std::string> load_zones() {
  try {
    auto& db = date::get_tzdb();
    if (db.zones.empty())
      return std::string{"no time zones in the system's zoneinfo"};
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string{e.what()};
  } catch (...) {
    return std::string{"the system's zoneinfo is unreadable"};
  }
}

} // namespace nod::cron
