#include "net/connection_limits.hpp"

#include <gtest/gtest.h>
#include <utility>
#include <vector>

namespace nod::net {
namespace {

TEST(connection_limits, counts_up_to_the_total_then_refuses_then_closes) {
  connection_limits limits{3, 0, 2};
  std::vector<connection_slot> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(limits.acquire("10.0.0." + std::to_string(i)));
    EXPECT_TRUE(held.back());
    EXPECT_FALSE(held.back().refusal());
  }
  EXPECT_EQ(limits.open(), 3u);
  // Over the total: two refusals, then nothing.
  auto r1 = limits.acquire("10.0.0.9");
  auto r2 = limits.acquire("10.0.0.9");
  auto none = limits.acquire("10.0.0.9");
  EXPECT_TRUE(r1 && r1.refusal());
  EXPECT_TRUE(r2 && r2.refusal());
  EXPECT_FALSE(none);
  EXPECT_EQ(limits.open(), 3u);
  // A refusal that ends frees its place in the refusal budget only.
  r1 = {};
  auto r3 = limits.acquire("10.0.0.9");
  EXPECT_TRUE(r3 && r3.refusal());
  // A connection that ends frees its place.
  held.pop_back();
  EXPECT_EQ(limits.open(), 2u);
  auto again = limits.acquire("10.0.0.9");
  EXPECT_TRUE(again);
  EXPECT_FALSE(again.refusal());
}

TEST(connection_limits, each_address_has_its_share) {
  connection_limits limits{100, 2, 1};
  auto a1 = limits.acquire("192.0.2.1");
  auto a2 = limits.acquire("192.0.2.1");
  auto a3 = limits.acquire("192.0.2.1");
  EXPECT_FALSE(a1.refusal());
  EXPECT_FALSE(a2.refusal());
  EXPECT_TRUE(a3.refusal());
  // Another address is not held back.
  auto b1 = limits.acquire("192.0.2.2");
  EXPECT_TRUE(b1);
  EXPECT_FALSE(b1.refusal());
  a1 = {};
  auto a4 = limits.acquire("192.0.2.1");
  EXPECT_FALSE(a4.refusal());
}

TEST(connection_limits, a_slot_moves_with_its_connection) {
  connection_limits limits{1, 0, 0};
  auto slot = limits.acquire("::1");
  connection_slot moved{std::move(slot)};
  EXPECT_FALSE(slot); // NOLINT: moved from, on purpose
  EXPECT_TRUE(moved);
  EXPECT_EQ(limits.open(), 1u);
  EXPECT_FALSE(limits.acquire("::1"));
  moved = {};
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_TRUE(limits.acquire("::1"));
}

} // namespace
} // namespace nod::net
