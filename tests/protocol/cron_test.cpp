#include "protocol/cron.hpp"
#include "protocol/time.hpp"

#include <algorithm>
#include <chrono>
#include <date/date.h>
#include <date/tz.h>
#include <fstream>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace nod::cron {
namespace {

constexpr int64_t minute_ms = 60'000;

// "2026-03-29T01:00:00Z" as Unix milliseconds.
int64_t ms(std::string_view iso) {
  auto v = parse_iso8601(iso);
  EXPECT_TRUE(v.has_value()) << "bad timestamp in test: " << iso;
  return v.value_or(0);
}

schedule must_parse(std::string_view text) {
  std::string error;
  auto s = parse(text, error);
  EXPECT_TRUE(s.has_value()) << text << ": " << error;
  return s.value_or(schedule{});
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto s = parse(text, error);
  if (s)
    return "(parsed)";
  return error;
}

const date::time_zone* zone_or_null(const char* name) {
  if (!name)
    return nullptr;
  auto z = find_zone(name);
  EXPECT_NE(z, nullptr) << name;
  return z;
}

// The next firing of `expr` after `after`, as ISO text ("none" or the
// parse error otherwise), so failures read well.
std::string next(std::string_view expr, std::string_view after,
                 const char* zone = nullptr) {
  std::string error;
  auto s = parse(expr, error);
  if (!s)
    return "parse error: " + error;
  auto r = next_after(*s, ms(after), zone_or_null(zone));
  return r ? iso8601(*r) : "none";
}

// tests/fixtures/cron_cases.json, the cases the web app's evaluator is tested
// on too.
const rapidjson::Document& shared_cases() {
  static const rapidjson::Document doc = [] {
    std::ifstream in(NOD_CRON_CASES);
    std::stringstream json;
    json << in.rdbuf();
    rapidjson::Document d;
    d.Parse(json.str().c_str());
    EXPECT_TRUE(d.IsObject()) << "cannot read " << NOD_CRON_CASES;
    return d;
  }();
  return doc;
}

std::string str(const rapidjson::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

// Set bits as a compact list: "0,15,30,45", "1-5", "0,5-6".
template <size_t N>
std::string list(const std::bitset<N>& bits) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (!bits[i])
      continue;
    size_t j = i;
    while (j + 1 < N && bits[j + 1])
      ++j;
    if (!out.empty())
      out += ',';
    out += std::to_string(i);
    if (j > i)
      out += "-" + std::to_string(j);
    i = j;
  }
  return out;
}

// ---- parsing ---------------------------------------------------------------

TEST(CronParse, field_values) {
  struct row {
    const char* expr;
    const char* minutes;
    const char* hours;
    const char* days;
    const char* months;
    const char* weekdays;
  };
  for (auto r : {
         row{"* * * * *", "0-59", "0-23", "1-31", "1-12", "0-6"},
         // Range edges.
         row{"0 0 1 1 0", "0", "0", "1", "1", "0"},
         row{"59 23 31 12 6", "59", "23", "31", "12", "6"},
         row{"0,59 0,23 1,31 1,12 0,6", "0,59", "0,23", "1,31", "1,12", "0,6"},
         // 7 is Sunday, like 0.
         row{"0 0 * * 7", "0", "0", "1-31", "1-12", "0"},
         row{"0 0 * * 0,7", "0", "0", "1-31", "1-12", "0"},
         row{"0 0 * * 0-7", "0", "0", "1-31", "1-12", "0-6"},
         row{"0 0 * * 5-7", "0", "0", "1-31", "1-12", "0,5-6"},
         // Lists and ranges.
         row{"1,2,3 4-6 7,9-11 2-3,5 1-2,4", "1-3", "4-6", "7,9-11", "2-3,5",
             "1-2,4"},
         row{"1,1,1-3,2 5,5 * * *", "1-3", "5", "1-31", "1-12", "0-6"},
         row{"0-59 0-23 1-31 1-12 0-6", "0-59", "0-23", "1-31", "1-12", "0-6"},
         row{"7-7 3-3 * * *", "7", "3", "1-31", "1-12", "0-6"},
         // Steps.
         row{"*/15 */6 */10 */3 */2", "0,15,30,45", "0,6,12,18", "1,11,21,31",
             "1,4,7,10", "0,2,4,6"},
         row{"10-30/10 1-10/3 1-31/15 1-12/11 1-7/2", "10,20,30", "1,4,7,10",
             "1,16,31", "1,12", "0-1,3,5"},
         row{"5/20 5/6 25/3 11/1 5/1", "5,25,45", "5,11,17,23", "25,28,31",
             "11-12", "0,5-6"},
         row{"*/1 */1 */1 */1 */1", "0-59", "0-23", "1-31", "1-12", "0-6"},
         row{"*/59 */23 */31 */12 */7", "0,59", "0,23", "1", "1", "0"},
         row{"*/45,1 0-4/2,20 * * *", "0-1,45", "0,2,4,20", "1-31", "1-12",
             "0-6"},
         // Names, any case, in lists and ranges, with steps after them.
         row{"0 0 * JAN,dec MON-FRI", "0", "0", "1-31", "1,12", "1-5"},
         row{"0 0 * Jan-Mar sun", "0", "0", "1-31", "1-3", "0"},
         row{"0 0 * feb-NOV/3 SAT,Sun,wEd", "0", "0", "1-31", "2,5,8,11",
             "0,3,6"},
         row{"0 0 * jan,FEB,mar,APR,may,JUN,jul,AUG,sep,OCT,nov,DEC "
             "sun,mon,tue,wed,thu,fri,sat",
             "0", "0", "1-31", "1-12", "0-6"},
         row{"0 0 * 1-MAR FRI-7", "0", "0", "1-31", "1-3", "0,5-6"},
         row{"0 0 * JUN/2 MON/2", "0", "0", "1-31", "6,8,10,12", "0-1,3,5"},
         // Leading zeros, and any whitespace around and between fields.
         row{"05 007 01 09 01", "5", "7", "1", "9", "1"},
         row{"  \t0\t0  * *   *\r\n", "0", "0", "1-31", "1-12", "0-6"},
       }) {
    SCOPED_TRACE(r.expr);
    auto s = must_parse(r.expr);
    EXPECT_EQ(list(s.minutes), r.minutes);
    EXPECT_EQ(list(s.hours), r.hours);
    EXPECT_EQ(list(s.days), r.days);
    EXPECT_EQ(list(s.months), r.months);
    EXPECT_EQ(list(s.weekdays), r.weekdays);
  }
}

TEST(CronParse, star_flags) {
  struct row {
    const char* expr;
    bool days_star;
    bool weekdays_star;
  };
  for (auto r : {
         row{"0 0 * * *", true, true},
         row{"0 0 1 * *", false, true},
         row{"0 0 * * 1", true, false},
         row{"0 0 1 * 1", false, false},
         // As in Vixie cron: a field starting with `*` counts as a star.
         row{"0 0 */2 * 1", true, false},
         row{"0 0 1 * */2", false, true},
         row{"0 0 *,5 * 1-5", true, false},
         // A full range written out is not a star.
         row{"0 0 1-31 * 0-7", false, false},
       }) {
    SCOPED_TRACE(r.expr);
    auto s = must_parse(r.expr);
    EXPECT_EQ(s.days_star, r.days_star);
    EXPECT_EQ(s.weekdays_star, r.weekdays_star);
  }
}

TEST(CronParse, shorthands) {
  struct row {
    const char* shorthand;
    const char* same_as;
  };
  for (auto r : {
         row{"@yearly", "0 0 1 1 *"},
         row{"@annually", "0 0 1 1 *"},
         row{"@monthly", "0 0 1 * *"},
         row{"@weekly", "0 0 * * 0"},
         row{"@daily", "0 0 * * *"},
         row{"@midnight", "0 0 * * *"},
         row{"@hourly", "0 * * * *"},
         row{"@YEARLY", "0 0 1 1 *"},
         row{"@Daily", "0 0 * * *"},
         row{"  @hourly \n", "0 * * * *"},
       }) {
    SCOPED_TRACE(r.shorthand);
    auto a = must_parse(r.shorthand);
    auto b = must_parse(r.same_as);
    EXPECT_EQ(a.minutes, b.minutes);
    EXPECT_EQ(a.hours, b.hours);
    EXPECT_EQ(a.days, b.days);
    EXPECT_EQ(a.months, b.months);
    EXPECT_EQ(a.weekdays, b.weekdays);
    EXPECT_EQ(a.days_star, b.days_star);
    EXPECT_EQ(a.weekdays_star, b.weekdays_star);
  }
}

// The errors shared with the web app (tests/fixtures/cron_cases.json).
TEST(CronParse, errors) {
  const auto& errors = shared_cases()["errors"];
  ASSERT_GT(errors.Size(), 50u);
  for (const auto& c : errors.GetArray()) {
    auto expr = str(c["expr"]);
    SCOPED_TRACE(expr);
    EXPECT_EQ(parse_error(expr), str(c["error"]));
  }
}

TEST(CronParse, error_messages_are_one_short_line) {
  std::string junk(1000, 'x');
  auto error = parse_error(junk + " * * * *");
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_LT(error.size(), 200u) << error;
  EXPECT_EQ(error.rfind("minute: ", 0), 0u) << error;
  error = parse_error("1,\x7f\x02 * * * *");
  EXPECT_EQ(error, "minute: expected a number, got \"\\x7f\\x02\" in "
                   "\"\\x7f\\x02\"");
}

TEST(CronParse, error_names_the_field) {
  // The same mistake in each field.
  const char* names[]
    = {"minute", "hour", "day-of-month", "month", "day-of-week"};
  for (int field = 0; field < 5; ++field) {
    for (const char* bad : {"99", "3-1", "1,", "*/0", "1x", "&"}) {
      std::string expr;
      for (int i = 0; i < 5; ++i)
        expr += (i == field ? std::string(bad) : "*") + " ";
      SCOPED_TRACE(expr);
      auto error = parse_error(expr);
      EXPECT_EQ(error.rfind(std::string(names[field]) + ": ", 0), 0u) << error;
    }
  }
}

TEST(CronParse, days_that_fit_some_month_are_valid) {
  for (const char* expr : {
         "0 0 29 2 *",        // leap years
         "0 0 30,31 2,3 *",   // March
         "0 0 31 * *",        // the months that have one
         "0 0 30 2 1",        // both restricted: any Monday in February
         "0 0 31 4,6,9,11 1", // likewise
         "0 0 */2 2 1",       // star day: Feb 1st, 3rd, ... and Mondays
         "0 0 * 2 *", "0 0 29-31 2 *",
         "0 0 29 2 */7", // Feb 29 on a Sunday: every 28 or 40 years
       }) {
    std::string error;
    EXPECT_TRUE(parse(expr, error).has_value()) << expr << ": " << error;
  }
}

// ---- next_after in UTC -----------------------------------------------------

// The firings shared with the web app (tests/fixtures/cron_cases.json), in UTC
// and in time zones across their transitions.
TEST(CronNext, shared_table) {
  const auto& runs = shared_cases()["runs"];
  ASSERT_GT(runs.Size(), 100u);
  for (const auto& c : runs.GetArray()) {
    auto expr = str(c["expr"]);
    auto zone = c.HasMember("zone") ? str(c["zone"]) : std::string();
    auto after = str(c["after"]);
    for (const auto& want : c["runs"].GetArray()) {
      EXPECT_EQ(next(expr, after, zone.empty() ? nullptr : zone.c_str()),
                str(want))
        << expr << " in " << (zone.empty() ? "UTC" : zone) << " after "
        << after;
      after = str(want);
    }
  }
}

TEST(CronNext, exact_minute_gives_the_next_one) {
  for (const char* expr :
       {"* * * * *", "*/5 * * * *", "0 * * * *", "0 0 * * *", "0 0 13 * 5",
        "0 0 29 2 *", "15 10 * * MON-FRI", "@monthly"}) {
    SCOPED_TRACE(expr);
    auto s = must_parse(expr);
    auto a = ms("2026-05-10T10:00:30Z");
    for (int i = 0; i < 20; ++i) {
      auto r = next_after(s, a, nullptr);
      ASSERT_TRUE(r);
      EXPECT_GT(*r, a);
      EXPECT_EQ(*r % minute_ms, 0);
      // Any time in the minute before gives the same answer; the minute
      // itself gives a later one.
      EXPECT_EQ(next_after(s, *r - 1, nullptr), r);
      EXPECT_EQ(next_after(s, *r - minute_ms + 1, nullptr), r);
      auto again = next_after(s, *r, nullptr);
      ASSERT_TRUE(again);
      EXPECT_GT(*again, *r);
      a = *r;
    }
  }
}

TEST(CronNext, zone_utc_is_the_same_as_null) {
  auto utc = find_zone("UTC");
  ASSERT_NE(utc, nullptr);
  for (const char* expr : {"30 2 * * *", "*/7 * * * *", "0 0 29 2 *"}) {
    auto s = must_parse(expr);
    for (auto a : {ms("2026-03-29T00:00:00Z"), ms("2026-10-25T00:15:00Z"),
                   ms("2096-03-01T00:00:00Z")})
      EXPECT_EQ(next_after(s, a, utc), next_after(s, a, nullptr)) << expr;
  }
}

// The reference: every minute of every matching day, checked field by field.
bool matches(const schedule& s, int64_t minute) {
  auto t = date::sys_time<std::chrono::minutes>{std::chrono::minutes{minute}};
  auto day = date::floor<date::days>(t);
  date::year_month_day ymd{day};
  auto hm = date::make_time(t - day);
  unsigned d = unsigned(ymd.day());
  unsigned wd = date::weekday{day}.c_encoding();
  bool day_ok = s.days_star || s.weekdays_star ? s.days[d] && s.weekdays[wd]
                                               : s.days[d] || s.weekdays[wd];
  return s.minutes[static_cast<size_t>(hm.minutes().count())]
         && s.hours[static_cast<size_t>(hm.hours().count())]
         && s.months[unsigned(ymd.month())] && day_ok;
}

TEST(CronNext, agrees_with_minute_by_minute_search) {
  const auto start = ms("2026-01-27T13:14:15Z") / minute_ms;
  const int64_t span = int64_t{75} * 1440; // through mid-April
  for (const char* expr : {
         "* * * * *",
         "*/7 */5 * * *",
         "0 0 13 * 5",
         "15 10 */3 * 1-5",
         "0 */2 1,15 * *",
         "5/20 3-7 * 2,3 *",
         "0 0 * * 0",
         "59 23 28-31 * *",
         "0 0 29 2 *",
         "0 12 30 * */2",
         "0 0 31 * 1",
         "1-3,58 0,23 * * SAT,SUN",
         "@hourly",
         "@weekly",
       }) {
    SCOPED_TRACE(expr);
    auto s = must_parse(expr);
    std::vector<int64_t> want;
    for (int64_t m = start + 1; m <= start + span; ++m)
      if (matches(s, m))
        want.push_back(m * minute_ms);
    std::vector<int64_t> got;
    int64_t at = start * minute_ms + 15'000;
    while (true) {
      auto r = next_after(s, at, nullptr);
      ASSERT_TRUE(r);
      if (*r > (start + span) * minute_ms)
        break;
      got.push_back(*r);
      at = *r;
    }
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want);
  }
}

TEST(CronNext, feb_29_on_every_weekday_is_found_within_the_bound) {
  // Over a full 400-year Gregorian cycle, Feb 29 on a given weekday is
  // never more than 40 years away.
  for (unsigned wd = 0; wd < 7; ++wd) {
    schedule s = must_parse("0 0 29 2 *");
    s.weekdays.reset();
    s.weekdays.set(wd);
    for (int y = 2000; y < 2400; ++y) {
      auto after = date::sys_days{date::year{y} / 3 / 1};
      auto after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        after.time_since_epoch())
                        .count();
      auto r = next_after(s, after_ms, nullptr);
      ASSERT_TRUE(r) << wd << " " << y;
      auto day = date::sys_days{date::days{*r / 86'400'000}};
      date::year_month_day ymd{day};
      EXPECT_EQ(*r % 86'400'000, 0);
      EXPECT_EQ(unsigned(ymd.month()), 2u);
      EXPECT_EQ(unsigned(ymd.day()), 29u);
      EXPECT_EQ(date::weekday{day}.c_encoding(), wd);
      EXPECT_LE(int(ymd.year()) - y, 40);
    }
  }
  // Monday's longest wait.
  schedule monday = must_parse("0 0 29 2 *");
  monday.weekdays.reset();
  monday.weekdays.set(1);
  auto r = next_after(monday, ms("2072-03-01T00:00:00Z"), nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(iso8601(*r), "2112-02-29T00:00:00Z");
}

TEST(CronNext, gives_up_after_about_fifty_years) {
  // Not from parse (it rejects this), but built by hand.
  schedule s;
  s.minutes.set(0);
  s.hours.set(0);
  s.days.set(30);
  s.months.set(2);
  s.weekdays.set();
  s.weekdays_star = true;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(next_after(s, ms("2026-01-01T00:00:00Z"), nullptr), std::nullopt);
  auto berlin = find_zone("Europe/Berlin");
  ASSERT_NE(berlin, nullptr);
  EXPECT_EQ(next_after(s, ms("2026-01-01T00:00:00Z"), berlin), std::nullopt);
  // Skipping months and days, not minutes: well under a second even with
  // sanitizers.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));

  // Rare but possible: Dec 31 on a Wednesday (AND, the weekday field
  // counting as starred) is five years away.
  schedule rare = s;
  rare.days.reset();
  rare.days.set(31);
  rare.months.reset();
  rare.months.set(12);
  rare.weekdays.reset();
  rare.weekdays.set(3);
  auto r = next_after(rare, ms("2026-01-01T00:00:00Z"), nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(iso8601(*r), "2031-12-31T00:00:00Z");
}

TEST(CronNext, empty_or_out_of_range_gives_nothing) {
  schedule empty;
  EXPECT_EQ(next_after(empty, 0, nullptr), std::nullopt);
  auto every = must_parse("* * * * *");
  EXPECT_EQ(next_after(every, INT64_MIN, nullptr), std::nullopt);
  EXPECT_EQ(next_after(every, INT64_MAX, nullptr), std::nullopt);
  auto berlin = find_zone("Europe/Berlin");
  ASSERT_NE(berlin, nullptr);
  EXPECT_EQ(next_after(every, INT64_MIN, berlin), std::nullopt);
  EXPECT_EQ(next_after(every, INT64_MAX, berlin), std::nullopt);
  EXPECT_EQ(next_after(every, -1, nullptr), 0);
  EXPECT_EQ(next_after(every, -60'001, nullptr), -60'000);
}

// ---- time zones ------------------------------------------------------------

// The reference for zones: every matching local minute in a window,
// mapped to its instant (gap: the gap's end; overlap: first occurrence),
// duplicates merged.
std::vector<int64_t> firings(const schedule& s, const date::time_zone* zone,
                             int64_t from_ms, int64_t to_ms) {
  std::set<int64_t> out;
  auto local_from
    = zone->to_local(date::sys_seconds{std::chrono::seconds{from_ms / 1000}})
        .time_since_epoch()
        .count()
      / 60;
  auto local_to = local_from + (to_ms - from_ms) / minute_ms;
  for (int64_t m = local_from - 1440; m <= local_to + 1440; ++m) {
    if (!matches(s, m)) // fields read as if local time were UTC
      continue;
    auto info
      = zone->get_info(date::local_seconds{std::chrono::seconds{m * 60}});
    int64_t secs = info.result == date::local_info::nonexistent
                     ? info.second.begin.time_since_epoch().count()
                     : m * 60 - info.first.offset.count();
    int64_t at = secs * 1000;
    if (at > from_ms && at <= to_ms)
      out.insert(at);
  }
  return {out.begin(), out.end()};
}

TEST(CronZone, agrees_with_reference_around_transitions) {
  struct window {
    const char* zone;
    const char* from;
    const char* to;
  };
  const window windows[] = {
    {"Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z"},
    {"Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z"},
    {"America/New_York", "2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z"},
    {"America/New_York", "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z"},
    {"Australia/Sydney", "2026-04-04T00:00:00Z", "2026-04-06T00:00:00Z"},
    {"Australia/Sydney", "2026-10-03T00:00:00Z", "2026-10-05T00:00:00Z"},
    {"Australia/Lord_Howe", "2026-04-04T00:00:00Z", "2026-04-06T00:00:00Z"},
    {"Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-05T00:00:00Z"},
    {"Pacific/Apia", "2011-12-28T00:00:00Z", "2012-01-01T00:00:00Z"},
    {"Asia/Kolkata", "2026-06-01T00:00:00Z", "2026-06-03T00:00:00Z"},
  };
  for (auto& w : windows) {
    auto zone = find_zone(w.zone);
    ASSERT_NE(zone, nullptr) << w.zone;
    for (const char* expr : {"* * * * *", "*/15 * * * *", "30 2 * * *",
                             "0,30 1-3 * * *", "59 1 * * *", "0 3 * * *",
                             "*/7 2 * * *", "15,45 0-4 * * *", "0 0 * * *"}) {
      SCOPED_TRACE(std::string(w.zone) + " " + w.from + " " + expr);
      auto s = must_parse(expr);
      auto from = ms(w.from);
      auto to = ms(w.to);
      auto want = firings(s, zone, from, to);
      // Chained from the start...
      std::vector<int64_t> got;
      for (auto at = from;;) {
        auto r = next_after(s, at, zone);
        ASSERT_TRUE(r);
        ASSERT_GT(*r, at);
        if (*r > to)
          break;
        EXPECT_EQ(*r % minute_ms, 0);
        got.push_back(*r);
        at = *r;
      }
      EXPECT_TRUE(got == want) << got.size() << " vs " << want.size();
      // ...and from arbitrary instants in between.
      for (auto at = from; at < to; at += 7 * minute_ms + 1'234) {
        auto it = std::upper_bound(want.begin(), want.end(), at);
        if (it == want.end())
          break;
        EXPECT_EQ(next_after(s, at, zone), *it) << iso8601(at);
      }
    }
  }
}

TEST(CronZone, find_zone) {
  auto berlin = find_zone("Europe/Berlin");
  ASSERT_NE(berlin, nullptr);
  EXPECT_EQ(berlin->name(), "Europe/Berlin");
  auto utc = find_zone("UTC");
  ASSERT_NE(utc, nullptr);
  EXPECT_NE(find_zone("America/New_York"), nullptr);
  EXPECT_NE(find_zone("Asia/Kolkata"), nullptr);
  EXPECT_EQ(find_zone("Nope/Nowhere"), nullptr);
  EXPECT_EQ(find_zone(""), nullptr);
  EXPECT_EQ(find_zone("../etc/passwd"), nullptr);
  EXPECT_EQ(find_zone("Europe/../../etc/passwd"), nullptr);
  EXPECT_EQ(find_zone("/etc/localtime"), nullptr);
  EXPECT_EQ(find_zone("/usr/share/zoneinfo/UTC"), nullptr);
  EXPECT_EQ(find_zone(std::string_view("UTC\0x", 5)), nullptr);
  EXPECT_EQ(find_zone("Europe/Berlin "), nullptr);
  // The same object every time.
  EXPECT_EQ(find_zone("Europe/Berlin"), berlin);
}

} // namespace
} // namespace nod::cron
