// The app edge's session cache: what it answers and when it stops.

#include "net/session_cache.hpp"
#include "protocol/time.hpp"

#include <gtest/gtest.h>

namespace nod::net {
namespace {

user_record alice() {
  user_record u;
  u.id = 7;
  u.username = "alice";
  return u;
}

TEST(session_cache, a_confirmed_token_is_known_until_the_epoch_moves) {
  auto epoch = std::make_shared<std::atomic<uint64_t>>(0);
  session_cache cache{epoch};
  EXPECT_FALSE(cache.find("nodt_a"));
  cache.put("nodt_a", alice(), now_ms() + 60000, cache.epoch());
  auto hit = cache.find("nodt_a");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->username, "alice");
  EXPECT_FALSE(cache.find("nodt_b"));
  // A logout anywhere: every entry goes back to accounts.
  epoch->fetch_add(1);
  EXPECT_FALSE(cache.find("nodt_a"));
}

TEST(session_cache, an_answer_from_before_a_change_is_not_kept) {
  auto epoch = std::make_shared<std::atomic<uint64_t>>(0);
  session_cache cache{epoch};
  auto asked_at = cache.epoch();
  // The session ends while accounts' answer is on its way.
  epoch->fetch_add(1);
  cache.put("nodt_a", alice(), now_ms() + 60000, asked_at);
  EXPECT_FALSE(cache.find("nodt_a"));
}

TEST(session_cache, an_expired_session_is_not_answered) {
  auto epoch = std::make_shared<std::atomic<uint64_t>>(0);
  session_cache cache{epoch};
  cache.put("nodt_a", alice(), now_ms() - 1, cache.epoch());
  EXPECT_FALSE(cache.find("nodt_a"));
}

TEST(session_cache, without_an_epoch_nothing_is_kept) {
  session_cache cache{nullptr};
  cache.put("nodt_a", alice(), now_ms() + 60000, cache.epoch());
  EXPECT_FALSE(cache.find("nodt_a"));
}

} // namespace
} // namespace nod::net
