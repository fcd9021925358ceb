// Task schedules (protocol/cron.hpp) and timestamps (protocol/time.hpp):
// a schedule either parses and then fires, strictly later, at a time the
// schedule agrees with from just before it, in UTC and in zones with
// daylight saving (including Lord Howe's 30 minutes); or it is refused with
// a line saying why. A timestamp that parses writes back to the same
// second.

#include "fuzz/fuzz_check.hpp"
#include "protocol/cron.hpp"
#include "protocol/time.hpp"

#include <cstddef>
#include <cstdint>

namespace {

const date::time_zone* zones[] = {
  nullptr,
  nod::cron::find_zone("Europe/Berlin"),
  nod::cron::find_zone("America/New_York"),
  nod::cron::find_zone("Australia/Lord_Howe"),
};

// 2023-11-14, 2024-03-10 (New York's spring gap), 2024-10-27 (Berlin's
// autumn overlap), 2099-12-31.
constexpr int64_t starts[] = {1'700'000'000'000, 1'710'050'000'000,
                              1'729'990'000'000, 4'102'358'400'000};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  if (auto ms = nod::parse_iso8601(text)) {
    // Written in whole seconds, UTC; years 0000-9999 read back.
    auto second = *ms - ((*ms % 1000) + 1000) % 1000;
    auto back = nod::parse_iso8601(nod::iso8601(*ms));
    if (*ms >= -62'167'219'200'000 && *ms < 253'402'300'800'000)
      FUZZ_CHECK(back == second);
  }
  std::string error;
  auto s = nod::cron::parse(text, error);
  if (!s) {
    FUZZ_CHECK(!error.empty() && error.find('\n') == std::string::npos);
    return 0;
  }
  for (auto* zone : zones) {
    for (auto after : starts) {
      auto next = nod::cron::next_after(*s, after, zone);
      if (zone == nullptr && after == starts[0])
        FUZZ_CHECK(next.has_value()); // parse refuses what never fires
      if (!next)
        continue;
      FUZZ_CHECK(*next > after);
      FUZZ_CHECK(*next % 60'000 == 0);
      FUZZ_CHECK(nod::cron::next_after(*s, *next - 1, zone) == next);
    }
  }
  return 0;
}
