#include "protocol/time.hpp"

#include <gtest/gtest.h>
#include <vector>

namespace nod {
namespace {

TEST(time, now_ms_is_wall_clock) {
  auto t = now_ms();
  EXPECT_GT(t, 1'700'000'000'000); // after 2023-11-14
  EXPECT_LT(t, 4'102'444'800'000); // before 2100
  EXPECT_LE(t, now_ms());
}

TEST(time, iso8601_known_values) {
  struct row {
    int64_t ms;
    const char* text;
  };
  // Checked with `date -u -d @SECONDS`.
  for (auto r :
       {row{0, "1970-01-01T00:00:00Z"}, row{999, "1970-01-01T00:00:00Z"},
        row{1000, "1970-01-01T00:00:01Z"},
        row{1795903391000, "2026-11-28T22:03:11Z"},
        row{1795903391999, "2026-11-28T22:03:11Z"},
        row{951782400000, "2000-02-29T00:00:00Z"},
        row{1700000000000, "2023-11-14T22:13:20Z"},
        row{253402300799000, "9999-12-31T23:59:59Z"},
        row{-1, "1969-12-31T23:59:59Z"}, row{-1000, "1969-12-31T23:59:59Z"},
        row{-1001, "1969-12-31T23:59:58Z"},
        row{-62135596800000, "0001-01-01T00:00:00Z"},
        row{68169600000000, "4130-03-18T00:00:00Z"}})
    EXPECT_EQ(iso8601(r.ms), r.text) << r.ms;
}

TEST(time, iso8601_extremes_do_not_crash) {
  EXPECT_FALSE(iso8601(INT64_MIN).empty());
  EXPECT_FALSE(iso8601(INT64_MAX).empty());
}

TEST(time, parse_known_values) {
  struct row {
    const char* text;
    int64_t ms;
  };
  for (auto r : {
         row{"1970-01-01T00:00:00Z", 0},
         row{"2026-11-28T22:03:11Z", 1795903391000},
         row{"2026-11-28t22:03:11z", 1795903391000},
         row{"2026-11-28T22:03:11.5Z", 1795903391500},
         row{"2026-11-28T22:03:11.05Z", 1795903391050},
         row{"2026-11-28T22:03:11.123Z", 1795903391123},
         row{"2026-11-28T22:03:11.123999999Z", 1795903391123},
         row{"2026-11-28T23:03:11+01:00", 1795903391000},
         row{"2026-11-28T16:33:11-05:30", 1795903391000},
         row{"2026-11-29T00:03:11.250+02:00", 1795903391250},
         row{"2026-11-28T22:03:11+00:00", 1795903391000},
         row{"2026-11-28T22:03:11-00:00", 1795903391000},
         row{"2000-02-29T00:00:00Z", 951782400000},
         row{"1969-12-31T23:59:59Z", -1000},
         row{"0001-01-01T00:00:00Z", -62135596800000},
         row{"9999-12-31T23:59:59Z", 253402300799000},
       })
    EXPECT_EQ(parse_iso8601(r.text), r.ms) << r.text;
}

TEST(time, round_trips) {
  std::vector<int64_t> values{0, 1795903391000, -86400000, 951782400000};
  // Every day across several leap cycles, at an odd second.
  for (int64_t day = -800; day < 800; ++day)
    values.push_back(day * 86400000LL * 53 + 37'000);
  for (auto ms : values) {
    auto text = iso8601(ms);
    EXPECT_EQ(parse_iso8601(text), ms) << text;
  }
}

TEST(time, rejects_invalid) {
  for (auto text : {
         "",
         "garbage",
         "2026",
         "2026-11-28",
         "2026-11-28T22:03Z",
         "2026-11-28T22:03:11",   // no zone
         "2026-11-28 22:03:11Z",  // space separator
         "2026-11-28T22:03:11ZZ", // trailing text
         "2026-11-28T22:03:11Z ",
         " 2026-11-28T22:03:11Z",
         "2026-13-01T00:00:00Z", // month 13
         "2026-00-01T00:00:00Z", // month 0
         "2026-02-30T00:00:00Z", // Feb 30
         "2023-02-29T00:00:00Z", // not a leap year
         "1900-02-29T00:00:00Z", // century, not a leap year
         "2026-04-31T00:00:00Z", // April has 30 days
         "2026-01-00T00:00:00Z", // day 0
         "2026-01-32T00:00:00Z",
         "2026-01-01T24:00:00Z",      // hour 24
         "2026-01-01T23:60:00Z",      // minute 60
         "2026-01-01T23:59:60Z",      // leap seconds are not accepted
         "2026-01-01T23:59:59.Z",     // fraction without digits
         "2026-01-01T23:59:59,5Z",    // comma fraction
         "2026-01-01T23:59:59+1:00",  // short offset
         "2026-01-01T23:59:59+0100",  // offset without colon
         "2026-01-01T23:59:59+24:00", // offset hour out of range
         "2026-01-01T23:59:59+01:60", // offset minute out of range
         "2026-01-01T23:59:59+01",
         "26-01-01T23:59:59Z",
         "+2026-01-01T23:59:59Z",
         "2026-1-01T23:59:59Z",
         "2026-01-01T2:59:59Z",
         "2026/01/01T23:59:59Z",
         "2026-01-01T23:59:5aZ",
         "-001-01-01T00:00:00Z",
       })
    EXPECT_FALSE(parse_iso8601(text)) << text;
}

} // namespace
} // namespace nod
