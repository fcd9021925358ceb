#include "protocol/time.hpp"

#include <chrono>
#include <cstdio>

namespace nod {

namespace {

constexpr int64_t ms_per_day = 86'400'000;

// Floor division: times before 1970 belong to the previous day.
int64_t floor_div(int64_t a, int64_t b) {
  auto q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil), independent of the local time zone.
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  auto era = floor_div(y, 400);
  auto yoe = y - era * 400;
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct civil {
  int64_t year;
  int64_t month;
  int64_t day;
};

// The inverse of days_from_civil.
civil civil_from_days(int64_t z) {
  z += 719468;
  auto era = floor_div(z, 146097);
  auto doe = z - era * 146097;
  auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  auto mp = (5 * doy + 2) / 153;
  auto d = doy - (153 * mp + 2) / 5 + 1;
  auto m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2), m, d};
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t days_in_month(int64_t y, int64_t m) {
  static constexpr int64_t days[]
    = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// Reads exactly `n` decimal digits at `pos`, advancing it.
bool read_digits(std::string_view text, size_t& pos, size_t n, int64_t& out) {
  if (text.size() - pos < n)
    return false;
  int64_t x = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9')
      return false;
    x = x * 10 + (c - '0');
  }
  pos += n;
  out = x;
  return true;
}

bool expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c)
    return false;
  ++pos;
  return true;
}

} // namespace

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

std::string iso8601(int64_t unix_ms) {
  auto days = floor_div(unix_ms, ms_per_day);
  // The remainder directly: days * ms_per_day may overflow near INT64_MIN.
  auto rem = unix_ms % ms_per_day;
  auto secs = (rem < 0 ? rem + ms_per_day : rem) / 1000;
  auto date = civil_from_days(days);
  if (date.year < 0 || date.year > 9999) {
    char buf[64];
    std::snprintf(
      buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
      static_cast<long long>(date.year), static_cast<long long>(date.month),
      static_cast<long long>(date.day), static_cast<long long>(secs / 3600),
      static_cast<long long>(secs / 60 % 60),
      static_cast<long long>(secs % 60));
    return buf;
  }
  // The common case by hand: this runs several times per stored event.
  char out[] = "0000-00-00T00:00:00Z";
  auto put = [&out](size_t at, int64_t value, size_t digits) {
    for (size_t i = digits; i-- > 0; value /= 10)
      out[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, date.year, 4);
  put(5, date.month, 2);
  put(8, date.day, 2);
  put(11, secs / 3600, 2);
  put(14, secs / 60 % 60, 2);
  put(17, secs % 60, 2);
  return std::string{out, sizeof(out) - 1};
}

std::optional<int64_t> parse_iso8601(std::string_view text) {
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, pos, 4, year) || !expect(text, pos, '-')
      || !read_digits(text, pos, 2, month) || !expect(text, pos, '-')
      || !read_digits(text, pos, 2, day))
    return std::nullopt;
  // RFC 3339 allows a lowercase separator and zone letter.
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't'))
    return std::nullopt;
  ++pos;
  if (!read_digits(text, pos, 2, hour) || !expect(text, pos, ':')
      || !read_digits(text, pos, 2, minute) || !expect(text, pos, ':')
      || !read_digits(text, pos, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)
      || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  // Fractional seconds: any number of digits, truncated to milliseconds.
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      if (digits < 3)
        millis = millis * 10 + (text[pos] - '0');
      ++digits;
    }
    if (digits == 0)
      return std::nullopt;
    for (; digits < 3; ++digits)
      millis *= 10;
  }
  int64_t offset_min = 0;
  if (pos >= text.size())
    return std::nullopt;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int64_t sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t oh, om;
    if (!read_digits(text, pos, 2, oh) || !expect(text, pos, ':')
        || !read_digits(text, pos, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != text.size())
    return std::nullopt;
  auto secs = days_from_civil(year, month, day) * 86400 + hour * 3600
              + minute * 60 + second - offset_min * 60;
  return secs * 1000 + millis;
}

} // namespace nod
