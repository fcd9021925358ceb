#include "protocol/error.hpp"
#include "protocol/ids.hpp"

#include <cstring>
#include <gtest/gtest.h>
#include <set>

namespace nod {
namespace {

bool is_lower_hex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST(ids, random_id_has_prefix_and_lowercase_hex) {
  for (auto [prefix, digits] :
       {std::pair{"agt_", 16}, std::pair{"nod_", 40}, std::pair{"trg_", 32}}) {
    auto id = random_id(prefix, static_cast<size_t>(digits));
    ASSERT_EQ(id.size(), std::strlen(prefix) + static_cast<size_t>(digits));
    EXPECT_EQ(id.rfind(prefix, 0), 0u);
    EXPECT_TRUE(is_lower_hex(std::string_view{id}.substr(4))) << id;
  }
}

TEST(ids, random_ids_do_not_repeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i)
    EXPECT_TRUE(seen.insert(random_id("evt_", 16)).second);
}

TEST(ids, id64_round_trips_and_sorts_like_numbers) {
  for (uint64_t x :
       {uint64_t{0}, uint64_t{1}, uint64_t{0xabcdef}, UINT64_MAX}) {
    auto text = format_id64("agt_", x);
    EXPECT_EQ(text.size(), 20u);
    EXPECT_EQ(parse_id64("agt_", text), x);
  }
  EXPECT_EQ(format_id64("agt_", 0x1f), "agt_000000000000001f");
  EXPECT_LT(format_id64("x", 9), format_id64("x", 10));
}

TEST(ids, parse_id64_rejects_malformed_ids) {
  for (auto bad :
       {"", "agt_", "agt_123", "agt_000000000000001F", "agt_000000000000001g",
        "dec_000000000000001f", "agt_000000000000001f0", "agt-000000000000001f",
        " agt_000000000000001f"})
    EXPECT_FALSE(parse_id64("agt_", bad)) << bad;
}

TEST(errors, map_to_http_statuses) {
  EXPECT_EQ(http_status(ec::invalid_argument), 400u);
  EXPECT_EQ(http_status(ec::unauthenticated), 401u);
  EXPECT_EQ(http_status(ec::forbidden), 403u);
  EXPECT_EQ(http_status(ec::not_found), 404u);
  EXPECT_EQ(http_status(ec::conflict), 409u);
  EXPECT_EQ(http_status(ec::rate_limited), 429u);
  EXPECT_EQ(http_status(ec::storage_error), 503u);
  EXPECT_EQ(to_string(ec::conflict), "conflict");
}

} // namespace
} // namespace nod
