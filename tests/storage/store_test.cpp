#include "storage/backups.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

#include <filesystem>
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

TEST(store, a_batch_travels_as_data_and_is_applied_with_one_more_key) {
  test::temp_dir dir;
  std::string error;
  auto db = storage::store::open(dir.path(), {}, error);
  ASSERT_TRUE(db) << error;
  storage::write_batch sent;
  sent.put("a", "1");
  sent.put("b", "2");
  sent.erase("c");
  storage::write_batch received;
  ASSERT_TRUE(
    storage::write_batch::from_data(std::string{sent.data()}, received).ok());
  EXPECT_EQ(received.size(), 3u);
  ASSERT_TRUE(db->write_with(received, "applied", "7", false).ok());
  EXPECT_EQ(received.size(), 3u); // the extra put is not added to it
  for (auto [key, want] : {std::pair{"a", "1"}, {"b", "2"}, {"applied", "7"}}) {
    std::string value;
    ASSERT_TRUE(db->get(key, value).ok()) << key;
    EXPECT_EQ(value, want);
  }
  // Damaged data is refused, not applied.
  std::string cut{sent.data().substr(0, sent.data().size() - 3)};
  storage::write_batch damaged;
  EXPECT_FALSE(storage::write_batch::from_data(cut, damaged).ok());
  EXPECT_FALSE(storage::write_batch::from_data("short", damaged).ok());
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
  EXPECT_NE(error.find("has data format 999, newer than this nod-server reads"),
            std::string::npos)
    << error;
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

// -- data format, backups, compaction ----------------------------------------

namespace nod::storage {
namespace {

namespace fs = std::filesystem;

// A directory as a format-1 server left it: some data, version "1".
void write_format_1(const std::string& dir) {
  auto db = open_ok(dir);
  write_batch batch;
  batch.put(stream_key(7, 1), "first event");
  batch.put(stream_key(7, 2), "second event");
  batch.put(schema_version_key(), "1");
  ASSERT_TRUE(db->write(batch).ok());
}

TEST(store_format, an_older_format_is_migrated_once_after_a_backup) {
  test::temp_dir dir;
  write_format_1(dir.path());
  std::string error;
  open_report report;
  {
    auto db = store::open(dir.path(), {}, error, &report);
    ASSERT_TRUE(db) << error;
    EXPECT_EQ(report.found_format, 1);
    ASSERT_FALSE(report.migration_backup.empty());
    std::string v;
    ASSERT_TRUE(db->get(schema_version_key(), v).ok());
    EXPECT_EQ(v, std::to_string(current_data_format()));
    ASSERT_TRUE(db->get(stream_key(7, 2), v).ok());
    EXPECT_EQ(v, "second event");
  }
  // The backup holds the old format, restorable as it was.
  std::vector<backup_info> backups;
  ASSERT_TRUE(list_backups(dir.path() + "/backups", backups).ok());
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(backups[0].format, 1);
  EXPECT_EQ(backups[0].path, report.migration_backup);
  {
    test::temp_dir restored;
    bool usage = false;
    ASSERT_TRUE(restore_backup(report.migration_backup, restored.path() + "/d",
                               error, usage))
      << error;
    auto db = store::open(restored.path() + "/d", {}, error, nullptr);
    ASSERT_TRUE(db) << error;
  }
  // Once: the next open finds the current format and takes no backup.
  open_report again;
  auto db = store::open(dir.path(), {}, error, &again);
  ASSERT_TRUE(db) << error;
  EXPECT_EQ(again.found_format, current_data_format());
  EXPECT_TRUE(again.migration_backup.empty());
  ASSERT_TRUE(list_backups(dir.path() + "/backups", backups).ok());
  EXPECT_EQ(backups.size(), 1u);
}

TEST(store_format, a_version_that_is_not_a_number_is_refused) {
  test::temp_dir dir;
  {
    auto db = open_ok(dir.path());
    write_batch batch;
    batch.put(schema_version_key(), "two");
    ASSERT_TRUE(db->write(batch).ok());
  }
  std::string error;
  EXPECT_FALSE(store::open(dir.path(), {}, error));
  EXPECT_NE(error.find("unknown data format \"two\""), std::string::npos)
    << error;
}

TEST(store_backup, a_backup_restores_to_the_state_it_was_taken_at) {
  test::temp_dir dir;
  auto db = open_ok(dir.path() + "/data");
  write_batch batch;
  batch.put("a", "1");
  batch.put("b", "2");
  ASSERT_TRUE(db->write(batch).ok());
  backup_info first;
  ASSERT_TRUE(take_backup(*db, dir.path() + "/backups", first).ok());
  EXPECT_GT(first.bytes, 0u);
  EXPECT_EQ(first.format, current_data_format());
  batch.clear();
  batch.put("c", "3");
  batch.erase("a");
  ASSERT_TRUE(db->write(batch).ok());
  backup_info second;
  ASSERT_TRUE(take_backup(*db, dir.path() + "/backups", second).ok());
  EXPECT_NE(first.id, second.id);

  std::vector<backup_info> list;
  ASSERT_TRUE(list_backups(dir.path() + "/backups", list).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, second.id); // newest first
  EXPECT_EQ(list[1].id, first.id);

  std::string error;
  bool usage = false;
  ASSERT_TRUE(
    restore_backup(first.path, dir.path() + "/restored", error, usage))
    << error;
  auto restored = open_ok(dir.path() + "/restored");
  std::string v;
  EXPECT_TRUE(restored->get("a", v).ok());
  EXPECT_TRUE(restored->get("b", v).ok());
  EXPECT_TRUE(restored->get("c", v).is_not_found());
  EXPECT_FALSE(fs::exists(dir.path() + "/restored/nod-backup.json"));
}

TEST(store_backup, restore_refuses_a_non_empty_target_and_a_non_backup) {
  test::temp_dir dir;
  auto db = open_ok(dir.path() + "/data");
  backup_info b;
  ASSERT_TRUE(take_backup(*db, dir.path() + "/backups", b).ok());
  fs::create_directories(dir.path() + "/full");
  std::ofstream{dir.path() + "/full/keep.txt"} << "mine";
  std::string error;
  bool usage = false;
  EXPECT_FALSE(restore_backup(b.path, dir.path() + "/full", error, usage));
  EXPECT_TRUE(usage);
  EXPECT_NE(error.find("is not empty"), std::string::npos) << error;
  EXPECT_TRUE(fs::exists(dir.path() + "/full/keep.txt"));
  EXPECT_FALSE(
    restore_backup(dir.path() + "/data", dir.path() + "/new", error, usage));
  EXPECT_TRUE(usage);
  EXPECT_NE(error.find("is not a nod-server backup"), std::string::npos)
    << error;
}

TEST(store_compact, deleted_keys_give_their_space_back) {
  test::temp_dir dir;
  auto db = open_ok(dir.path());
  // Random bytes: RocksDB compresses anything simpler to nothing.
  std::string value(4096, '\0');
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 1000; ++i) {
    for (auto& c : value) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    write_batch batch;
    batch.put(pair_key(table::user_activity, 1, i), value);
    ASSERT_TRUE(db->write(batch).ok());
  }
  ASSERT_TRUE(db->compact("", "").ok());
  auto full = store_bytes(dir.path());
  EXPECT_GT(full, 1000u * 1000);
  write_batch batch;
  for (int i = 0; i < 1000; ++i)
    batch.erase(pair_key(table::user_activity, 1, i));
  ASSERT_TRUE(db->write(batch).ok());
  ASSERT_TRUE(db->compact(id_key(table::user_activity, 1),
                          prefix_end(id_key(table::user_activity, 1)))
                .ok());
  EXPECT_LT(store_bytes(dir.path()), full / 4);
}

} // namespace
} // namespace nod::storage
