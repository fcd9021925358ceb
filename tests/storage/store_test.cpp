#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

#include <fstream>
#include <gtest/gtest.h>

namespace nod::storage {
namespace {

std::unique_ptr<store> open_ok(const std::string& dir) {
  std::string error;
  auto db = store::open(dir, {}, error);
  EXPECT_TRUE(db) << error;
  return db;
}

std::vector<std::string> keys_in(store& db, std::string_view begin,
                                 std::string_view end, size_t limit,
                                 bool reverse = false) {
  std::vector<std::string> out;
  auto st = db.scan(
    begin, end, limit,
    [&](std::string_view k, std::string_view) {
      out.emplace_back(k);
      return true;
    },
    reverse);
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

TEST(store, batch_is_durable_across_reopen) {
  test::temp_dir dir;
  {
    auto db = open_ok(dir.path());
    write_batch batch;
    batch.put("k1", "v1");
    batch.put("k2", "v2");
    batch.erase("k2");
    EXPECT_EQ(batch.size(), 3u);
    ASSERT_TRUE(db->write(batch).ok());
  }
  auto db = open_ok(dir.path());
  std::string value;
  ASSERT_TRUE(db->get("k1", value).ok());
  EXPECT_EQ(value, "v1");
  EXPECT_TRUE(db->get("k2", value).is_not_found());
}

TEST(store, a_batch_tells_its_last_operation_on_a_key) {
  storage::write_batch b;
  b.put("k1", "one");
  b.put("k2", "two");
  b.put("k1", "uno");
  b.erase("k2");
  std::optional<std::optional<std::string>> last;
  ASSERT_TRUE(b.find("k1", last).ok());
  ASSERT_TRUE(last && *last);
  EXPECT_EQ(**last, "uno");
  ASSERT_TRUE(b.find("k2", last).ok());
  ASSERT_TRUE(last);
  EXPECT_FALSE(*last); // deleted
  ASSERT_TRUE(b.find("k", last).ok());
  EXPECT_FALSE(last); // a prefix is another key
  ASSERT_TRUE(b.find("k3", last).ok());
  EXPECT_FALSE(last);
}

TEST(store, scans_respect_bounds_limit_and_direction) {
  test::temp_dir dir;
  auto db = open_ok(dir.path());
  write_batch batch;
  for (uint64_t agent : {1, 2})
    for (uint64_t seq = 1; seq <= 5; ++seq)
      batch.put(stream_key(agent, seq), std::to_string(seq));
  ASSERT_TRUE(db->write(batch).ok());
  auto begin = stream_prefix(1);
  auto end = prefix_end(begin);
  auto forward = keys_in(*db, begin, end, 100);
  ASSERT_EQ(forward.size(), 5u);
  EXPECT_EQ(forward.front(), stream_key(1, 1));
  EXPECT_EQ(forward.back(), stream_key(1, 5));
  auto last = keys_in(*db, begin, end, 1, true);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0], stream_key(1, 5));
  EXPECT_EQ(keys_in(*db, stream_key(1, 3), end, 2).size(), 2u);
  EXPECT_TRUE(
    keys_in(*db, stream_prefix(3), prefix_end(stream_prefix(3)), 9, true)
      .empty());
}

TEST(store, second_open_of_a_directory_fails_with_a_clear_message) {
  test::temp_dir dir;
  auto first = open_ok(dir.path());
  std::string error;
  auto second = store::open(dir.path(), {}, error);
  EXPECT_FALSE(second);
  EXPECT_NE(error.find("in use by another process"), std::string::npos)
    << error;
  EXPECT_NE(error.find(dir.path()), std::string::npos) << error;
}

TEST(store, damaged_directory_fails_with_a_clear_message) {
  test::temp_dir dir;
  open_ok(dir.path()).reset();
  // CURRENT names the manifest; garbage there is what a bad copy leaves.
  std::ofstream{dir / "CURRENT", std::ios::trunc} << "garbage\n";
  std::string error;
  auto db = store::open(dir.path(), {}, error);
  EXPECT_FALSE(db);
  EXPECT_NE(error.find(dir.path()), std::string::npos) << error;
  EXPECT_FALSE(error.empty());
}

TEST(store, a_file_in_place_of_the_directory_fails_cleanly) {
  test::temp_dir dir;
  std::ofstream{dir / "file"} << "x";
  std::string error;
  EXPECT_FALSE(store::open(dir / "file", {}, error));
  EXPECT_NE(error.find("file"), std::string::npos) << error;
}

TEST(store, unknown_schema_version_is_refused) {
  test::temp_dir dir;
  {
    auto db = open_ok(dir.path());
    write_batch batch;
    batch.put(schema_version_key(), "999");
    ASSERT_TRUE(db->write(batch).ok());
  }
  std::string error;
  EXPECT_FALSE(store::open(dir.path(), {}, error));
  EXPECT_NE(error.find("schema version 999"), std::string::npos) << error;
}

TEST(store, calls_after_close_fail_instead_of_crashing) {
  test::temp_dir dir;
  auto db = open_ok(dir.path());
  ASSERT_TRUE(db->close().ok());
  std::string value;
  EXPECT_FALSE(db->get("k", value).ok());
  write_batch batch;
  batch.put("k", "v");
  EXPECT_FALSE(db->write(batch).ok());
  EXPECT_TRUE(db->close().ok());
}

} // namespace
} // namespace nod::storage
