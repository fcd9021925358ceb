#include "net/request_log.hpp"

#include <gtest/gtest.h>
#include <string>

namespace nod::net {
namespace {

TEST(request_log, takes_printable_ascii_request_ids) {
  EXPECT_TRUE(acceptable_request_id("a"));
  EXPECT_TRUE(acceptable_request_id("0f8e-4c1a_Z.x:y/\"q\"~!"));
  EXPECT_TRUE(acceptable_request_id(std::string(max_request_id, 'x')));
  EXPECT_FALSE(acceptable_request_id(""));
  EXPECT_FALSE(acceptable_request_id(std::string(max_request_id + 1, 'x')));
  EXPECT_FALSE(acceptable_request_id("two words"));
  EXPECT_FALSE(acceptable_request_id("tab\there"));
  EXPECT_FALSE(acceptable_request_id("caf\xc3\xa9"));
  EXPECT_FALSE(acceptable_request_id("del\x7f"));
}

TEST(request_log, formats_new_request_ids) {
  std::string id = "left over from the last request";
  format_request_id(0x0123456789abcdefULL, id);
  EXPECT_EQ(id, "req_0123456789abcdef");
  format_request_id(1, id);
  EXPECT_EQ(id, "req_0000000000000001");
  format_request_id(~0ULL, id);
  EXPECT_EQ(id, "req_ffffffffffffffff");
}

TEST(request_log, paths_lose_query_strings_and_trigger_ids) {
  std::string path;
  loggable_path("/api/agents?token=nod_secret&x=1", path);
  EXPECT_EQ(path, "/api/agents");
  loggable_path("/api/agents/agt_0123456789abcdef", path);
  EXPECT_EQ(path, "/api/agents/agt_0123456789abcdef");
  loggable_path("/?", path);
  EXPECT_EQ(path, "/");
  loggable_path("", path);
  EXPECT_EQ(path, "");
  const std::string trigger = "trg_0123456789abcdef0123456789abcdef";
  loggable_path("/webhook/" + trigger + "?a=b", path);
  EXPECT_EQ(path, "/webhook/trg_01234567\u2026");
  EXPECT_EQ(path.find(trigger), std::string::npos);
  // Whatever follows /webhook/ is taken for a trigger id.
  loggable_path("/webhook/trg%5F0123456789abcdef0123", path);
  EXPECT_EQ(path, "/webhook/trg%5F012345\u2026");
  loggable_path("/webhook/short", path);
  EXPECT_EQ(path, "/webhook/short");
}

} // namespace
} // namespace nod::net
