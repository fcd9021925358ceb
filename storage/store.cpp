#include "storage/store.hpp"

#include "storage/backups.hpp"
#include "storage/keys.hpp"

#include <charconv>
#include <filesystem>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

namespace nod::storage {

namespace {

// The data format, bumped when a change means an older server would read
// the directory wrongly:
//   1  the first layout.
//   2  retention may delete the head of a stream; `stream_floor` keeps its
//      seq numbering (a format-1 server would number again from the last
//      event left, or from 1).
constexpr int data_format = 2;

// One step from format `from` to `from + 1`, applied to the whole store in
// `batch` (written together with the new version stamp).
using migration_step = status (*)(rocksdb::DB& db, rocksdb::WriteBatch& batch);

// Format 2 only adds a table that starts empty: no key to rewrite.
status migrate_1_to_2(rocksdb::DB&, rocksdb::WriteBatch&) {
  return {};
}

// Index i migrates format i + 1 to i + 2.
constexpr migration_step migrations[] = {migrate_1_to_2};
static_assert(std::size(migrations) == data_format - 1);

// The format a version stamp names; 0 when it is not a number.
int parse_format(const std::string& text) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc{} && end == text.data() + text.size() && v > 0 ? v : 0;
}

rocksdb::Slice slice(std::string_view x) {
  return {x.data(), x.size()};
}

// One line that says what went wrong with the directory and what to do.
std::string describe_open_failure(const std::string& dir,
                                  const rocksdb::Status& st) {
  auto text = st.ToString();
  if (st.IsIOError() && text.find("lock") != std::string::npos)
    return "data directory " + dir
           + " is in use by another process (its LOCK file is held); stop "
             "the other nod-server or choose another --data-dir";
  if (st.IsCorruption())
    return "data directory " + dir + " is damaged (" + text
           + "); restore it from a backup or move it aside";
  if (st.IsInvalidArgument())
    return "data directory " + dir + " does not hold a usable store (" + text
           + ")";
  return "cannot open data directory " + dir + ": " + text;
}

} // namespace

struct write_batch::impl {
  rocksdb::WriteBatch batch;
};

write_batch::write_batch() : impl_(std::make_unique<impl>()) {}

write_batch::~write_batch() = default;
write_batch::write_batch(write_batch&&) noexcept = default;
write_batch& write_batch::operator=(write_batch&&) noexcept = default;

void write_batch::put(std::string_view key, std::string_view value) {
  impl_->batch.Put(slice(key), slice(value));
}

void write_batch::erase(std::string_view key) {
  impl_->batch.Delete(slice(key));
}

size_t write_batch::size() const noexcept {
  return static_cast<size_t>(impl_->batch.Count());
}

void write_batch::clear() {
  impl_->batch.Clear();
}

std::string_view write_batch::data() const noexcept {
  const auto& rep = impl_->batch.Data();
  return {rep.data(), rep.size()};
}

status write_batch::from_data(std::string data, write_batch& out) {
  // The fixed header: an 8-byte sequence and a 4-byte count.
  if (data.size() < 12)
    return status::error("damaged write batch: " + std::to_string(data.size())
                         + " bytes");
  rocksdb::WriteBatch batch{std::move(data)};
  // Walking it checks every record against the count.
  struct walker : rocksdb::WriteBatch::Handler {
    void Put(const rocksdb::Slice&, const rocksdb::Slice&) override {}
    void Delete(const rocksdb::Slice&) override {}
  } walk;
  auto st = batch.Iterate(&walk);
  if (!st.ok())
    return status::error("damaged write batch: " + st.ToString());
  out.impl_->batch = std::move(batch);
  return {};
}

status
write_batch::find(std::string_view key,
                  std::optional<std::optional<std::string>>& last) const {
  struct finder : rocksdb::WriteBatch::Handler {
    std::string_view key;
    std::optional<std::optional<std::string>> last;
    void Put(const rocksdb::Slice& k, const rocksdb::Slice& v) override {
      if (std::string_view{k.data(), k.size()} == key)
        last.emplace(std::in_place, v.data(), v.size());
    }
    void Delete(const rocksdb::Slice& k) override {
      if (std::string_view{k.data(), k.size()} == key)
        last.emplace(std::nullopt);
    }
  } handler;
  handler.key = key;
  auto st = impl_->batch.Iterate(&handler);
  if (!st.ok())
    return status::error(st.ToString());
  last = std::move(handler.last);
  return {};
}

struct store::impl {
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_opts;
  rocksdb::ReadOptions read_opts;
};

store::~store() {
  close();
}

int current_data_format() {
  return data_format;
}

std::unique_ptr<store> store::open(const std::string& dir,
                                   const store_options& opts,
                                   std::string& error, open_report* report) {
  rocksdb::Options options;
  options.create_if_missing = opts.create_if_missing;
  options.paranoid_checks = true;
  // Two cores: one flush and one compaction job at most.
  options.IncreaseParallelism(2);
  options.max_background_jobs = 2;
  options.keep_log_file_num = 4;
  // Recovery stops at the first damaged WAL record instead of refusing to
  // open: a torn tail can only hold writes that were never acknowledged.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Keys are a table byte and an 8-byte id, then mostly increasing ids
  // (time ids, seqs): a per-prefix insert hint spares most of the memtable
  // search of each put.
  options.memtable_insert_with_hint_prefix_extractor.reset(
    rocksdb::NewFixedPrefixTransform(9));
  // Retention deletes runs of old keys: a table file where they dominate
  // (100 of any 1,000 entries) is queued for compaction by itself, so the
  // space comes back without a manual compaction of the whole range.
  options.table_properties_collector_factories.emplace_back(
    rocksdb::NewCompactOnDeletionCollectorFactory(1000, 100));
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(options, dir, &raw);
  if (!st.ok()) {
    error = describe_open_failure(dir, st);
    return nullptr;
  }
  std::unique_ptr<store> result{new store};
  result->dir_ = dir;
  result->impl_ = std::make_unique<impl>();
  result->impl_->db.reset(raw);
  result->impl_->write_opts.sync = opts.sync;
  auto& db = *result->impl_->db;
  // Check, migrate or stamp the format, durably, before anyone writes.
  std::string version;
  auto vst
    = db.Get(result->impl_->read_opts, slice(schema_version_key()), &version);
  int found = data_format;
  if (vst.IsNotFound()) {
    version = std::to_string(data_format);
  } else if (!vst.ok()) {
    error = describe_open_failure(dir, vst);
    return nullptr;
  } else {
    found = parse_format(version);
    if (found == 0) {
      error = "data directory " + dir + " records the unknown data format \""
              + version + "\"; it was not written by nod-server";
      return nullptr;
    }
    if (found > data_format) {
      error = "data directory " + dir + " has data format " + version
              + ", newer than this nod-server reads ("
              + std::to_string(data_format)
              + "): run the newer nod-server, or restore a backup taken "
                "before the upgrade";
      return nullptr;
    }
  }
  if (report)
    report->found_format = found;
  if (vst.IsNotFound() || found < data_format) {
    rocksdb::WriteBatch batch;
    if (found < data_format) {
      // A copy of the old format first: a failed or unwanted migration
      // leaves the operator a directory the previous release can open.
      auto backups = opts.backup_dir.empty()
                       ? (std::filesystem::path{dir} / "backups").string()
                       : opts.backup_dir;
      backup_info taken;
      auto cst
        = take_backup(*result, backups, taken,
                      "pre-format-" + std::to_string(data_format) + "-", found);
      if (!cst.ok()) {
        error = "data directory " + dir + " has data format " + version
                + " and needs migrating to " + std::to_string(data_format)
                + ", but the backup before it failed (" + cst.message()
                + "); nothing was changed";
        return nullptr;
      }
      auto target = taken.path;
      if (report)
        report->migration_backup = target;
      for (int f = found; f < data_format; ++f) {
        auto mst = migrations[f - 1](db, batch);
        if (!mst.ok()) {
          error = "migrating data directory " + dir + " from format "
                  + std::to_string(f) + " failed: " + mst.message()
                  + "; nothing was changed (backup in " + target + ")";
          return nullptr;
        }
      }
    }
    batch.Put(slice(schema_version_key()), std::to_string(data_format));
    rocksdb::WriteOptions stamp;
    stamp.sync = true;
    vst = db.Write(stamp, &batch);
    if (!vst.ok()) {
      error = "cannot write to data directory " + dir + ": " + vst.ToString();
      return nullptr;
    }
  }
  return result;
}

status store::checkpoint(const std::string& dir) {
  if (!impl_ || !impl_->db)
    return status::error("store is closed");
  rocksdb::Checkpoint* raw = nullptr;
  auto st = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!st.ok())
    return status::error(st.ToString());
  std::unique_ptr<rocksdb::Checkpoint> cp{raw};
  // A flush first (log_size_for_flush 0): every acknowledged write is in
  // the copied table files.
  st = cp->CreateCheckpoint(dir, 0);
  if (!st.ok())
    return status::error(st.ToString());
  return {};
}

status store::compact(std::string_view begin, std::string_view end) {
  if (!impl_ || !impl_->db)
    return status::error("store is closed");
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction
    = rocksdb::BottommostLevelCompaction::kForceOptimized;
  auto b = slice(begin);
  auto e = slice(end);
  auto st = impl_->db->CompactRange(co, &b, end.empty() ? nullptr : &e);
  if (!st.ok())
    return status::error(st.ToString());
  return {};
}

status store::write(write_batch& batch, bool sync) {
  if (!impl_ || !impl_->db)
    return status::error("store is closed");
  auto opts = impl_->write_opts;
  opts.sync = opts.sync && sync;
  auto st = impl_->db->Write(opts, &batch.impl_->batch);
  if (!st.ok())
    return status::error(st.ToString());
  return {};
}

status store::write_with(const write_batch& batch, std::string_view key,
                         std::string_view value, bool sync) {
  if (!impl_ || !impl_->db)
    return status::error("store is closed");
  rocksdb::WriteBatch copy{batch.impl_->batch.Data()};
  copy.Put(slice(key), slice(value));
  auto opts = impl_->write_opts;
  opts.sync = opts.sync && sync;
  auto st = impl_->db->Write(opts, &copy);
  if (!st.ok())
    return status::error(st.ToString());
  return {};
}

status store::get(std::string_view key, std::string& value) {
  if (!impl_ || !impl_->db)
    return status::error("store is closed");
  auto st = impl_->db->Get(impl_->read_opts, slice(key), &value);
  if (st.IsNotFound())
    return status::not_found();
  if (!st.ok())
    return status::error(st.ToString());
  return {};
}

status store::scan(
  std::string_view begin, std::string_view end, size_t limit,
  const std::function<bool(std::string_view, std::string_view)>& visit,
  bool reverse) {
  if (!impl_ || !impl_->db)
    return status::error("store is closed");
  rocksdb::ReadOptions ro = impl_->read_opts;
  rocksdb::Slice lower = slice(begin);
  rocksdb::Slice upper = slice(end);
  ro.iterate_lower_bound = &lower;
  if (!end.empty())
    ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it{impl_->db->NewIterator(ro)};
  if (reverse) {
    if (end.empty())
      it->SeekToLast();
    else
      it->SeekForPrev(upper); // upper is exclusive; the bound skips it
  } else {
    it->Seek(lower);
  }
  size_t n = 0;
  for (; it->Valid() && n < limit; reverse ? it->Prev() : it->Next(), ++n) {
    auto k = it->key();
    auto v = it->value();
    if (!visit({k.data(), k.size()}, {v.data(), v.size()}))
      break;
  }
  if (!it->status().ok())
    return status::error(it->status().ToString());
  return {};
}

status store::close() {
  if (!impl_ || !impl_->db)
    return {};
  auto st = impl_->db->Close();
  impl_->db.reset();
  if (!st.ok())
    return status::error(st.ToString());
  return {};
}

} // namespace nod::storage
