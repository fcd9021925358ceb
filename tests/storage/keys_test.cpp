#include "storage/keys.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>
#include <vector>

namespace nod::storage {
namespace {

TEST(keys, u64_is_big_endian_and_round_trips) {
  std::string out;
  put_u64(out, 0x0102030405060708ull);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  for (uint64_t x : {uint64_t{0}, uint64_t{255}, uint64_t{256}, UINT64_MAX}) {
    std::string buf;
    put_u64(buf, x);
    EXPECT_EQ(get_u64(buf), x);
  }
}

TEST(keys, stream_keys_sort_by_agent_then_seq) {
  // Byte order of keys must equal numeric order of (agent, seq), including
  // across byte boundaries where little-endian or decimal text would fail.
  std::vector<std::pair<uint64_t, uint64_t>> ids;
  std::mt19937_64 rng{42};
  for (int i = 0; i < 2000; ++i)
    ids.emplace_back(rng() % 4, rng() % 100000);
  ids.emplace_back(1, 255);
  ids.emplace_back(1, 256);
  ids.emplace_back(0, UINT64_MAX);
  std::vector<std::string> keys;
  for (auto [a, s] : ids)
    keys.push_back(stream_key(a, s));
  std::sort(ids.begin(), ids.end());
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto decoded = decode_stream_key(keys[i]);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, ids[i]);
  }
}

TEST(keys, streams_of_agents_do_not_overlap) {
  auto end_of_1 = prefix_end(stream_prefix(1));
  EXPECT_LT(stream_key(1, UINT64_MAX), end_of_1);
  EXPECT_LE(end_of_1, stream_key(2, 0));
  EXPECT_LT(stream_key(0xFF, 0), stream_key(0x100, 0));
}

TEST(keys, decode_rejects_other_keys) {
  EXPECT_FALSE(decode_stream_key(""));
  EXPECT_FALSE(decode_stream_key(cursor_key(1) + std::string(8, '\0')));
  EXPECT_FALSE(decode_stream_key(stream_prefix(1)));
  EXPECT_FALSE(decode_stream_key(stream_key(1, 2) + "x"));
}

TEST(keys, prefix_end_handles_carry_and_all_ff) {
  EXPECT_EQ(prefix_end("a"), "b");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_end(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(prefix_end(""), "");
}

TEST(keys, tables_do_not_collide) {
  EXPECT_NE(cursor_key(7)[0], stream_prefix(7)[0]);
  EXPECT_NE(schema_version_key()[0], stream_prefix(7)[0]);
  EXPECT_EQ(id_key(table::cursor, 7), cursor_key(7));
}

} // namespace
} // namespace nod::storage
