#include "actors/error.hpp"
#include "net/api_util.hpp"

#include <caf/sec.hpp>
#include <gtest/gtest.h>
#include <string>

namespace nod::net {
namespace {

std::string retry_after(const http_response& res) {
  for (auto& [name, value] : res.headers)
    if (name == "Retry-After")
      return value;
  return {};
}

TEST(from_error, every_unavailable_answer_says_when_to_come_back) {
  // A journal that cannot write (or a cluster node that lost its lease).
  auto storage = from_error(make_error(ec::storage_error, "disk full"));
  EXPECT_EQ(storage.status, 503u);
  EXPECT_EQ(retry_after(storage), "1");
  // An actor gone or too slow: not one of the project's errors.
  auto gone = from_error(caf::make_error(caf::sec::request_receiver_down));
  EXPECT_EQ(gone.status, 503u);
  EXPECT_EQ(retry_after(gone), "1");
  EXPECT_NE(gone.body.find("service unavailable"), std::string::npos);
  // Rate limits say their own wait; other errors none.
  auto limited = from_error(make_error(ec::rate_limited, "7"));
  EXPECT_EQ(limited.status, 429u);
  EXPECT_EQ(retry_after(limited), "7");
  auto missing = from_error(make_error(ec::not_found, "no such agent"));
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(retry_after(missing), "");
}

} // namespace
} // namespace nod::net
