#include "storage/store.hpp"

#include "storage/keys.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>

namespace nod::storage {

namespace {

// Bumped when the key layout changes incompatibly.
constexpr std::string_view current_schema = "1";

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

std::unique_ptr<store> store::open(const std::string& dir,
                                   const store_options& opts,
                                   std::string& error) {
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
  // Check or stamp the schema version, durably, before anyone writes.
  std::string version;
  auto vst = result->impl_->db->Get(result->impl_->read_opts,
                                    slice(schema_version_key()), &version);
  if (vst.IsNotFound()) {
    rocksdb::WriteOptions stamp;
    stamp.sync = true;
    vst = result->impl_->db->Put(stamp, slice(schema_version_key()),
                                 slice(current_schema));
    if (!vst.ok()) {
      error = "cannot write to data directory " + dir + ": " + vst.ToString();
      return nullptr;
    }
  } else if (!vst.ok()) {
    error = describe_open_failure(dir, vst);
    return nullptr;
  } else if (version != current_schema) {
    error = "data directory " + dir + " has schema version " + version
            + ", this nod-server reads version " + std::string{current_schema};
    return nullptr;
  }
  return result;
}

status store::write(write_batch& batch) {
  if (!impl_ || !impl_->db)
    return status::error("store is closed");
  auto st = impl_->db->Write(impl_->write_opts, &batch.impl_->batch);
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
