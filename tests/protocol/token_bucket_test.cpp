#include "protocol/token_bucket.hpp"

#include <gtest/gtest.h>

namespace nod {
namespace {

using namespace std::chrono_literals;

TEST(token_bucket, starts_full_and_refills_at_its_rate) {
  token_bucket::time_point t{};
  token_bucket b{2, 3, t};
  EXPECT_EQ(b.take(t), 0);
  EXPECT_EQ(b.take(t), 0);
  EXPECT_EQ(b.take(t), 0);
  EXPECT_EQ(b.take(t), 1); // empty: half a second to wait, rounded up
  t += 500ms;              // one token back at 2 per second
  EXPECT_EQ(b.take(t), 0);
  EXPECT_EQ(b.take(t), 1);
}

TEST(token_bucket, never_holds_more_than_its_burst) {
  token_bucket::time_point t{};
  token_bucket b{10, 2, t};
  t += 1h;
  EXPECT_EQ(b.take(t), 0);
  EXPECT_EQ(b.take(t), 0);
  EXPECT_GT(b.take(t), 0);
}

TEST(token_bucket, says_how_long_to_wait) {
  token_bucket::time_point t{};
  token_bucket b{0.25, 1, t};
  EXPECT_EQ(b.take(t), 0);
  EXPECT_EQ(b.take(t), 4);
  t += 3s;
  EXPECT_EQ(b.take(t), 1);
}

TEST(token_bucket, a_clock_going_back_takes_nothing_away) {
  token_bucket::time_point t{10s};
  token_bucket b{1, 1, t};
  EXPECT_EQ(b.take(t - 5s), 0);
  EXPECT_GT(b.take(t - 5s), 0);
}

} // namespace
} // namespace nod
