#include "actors/maintenance.hpp"

#include "actors/error.hpp"
#include "metrics/metrics.hpp"
#include "storage/backups.hpp"
#include "storage/store.hpp"

#include <spdlog/spdlog.h>

namespace nod {

namespace {

backup_entry entry_of(const storage::backup_info& b) {
  return {b.id, b.path, b.bytes, b.created_ms};
}

} // namespace

maintenance_actor::behavior_type maintenance(maintenance_actor::pointer,
                                             std::shared_ptr<storage::store> db,
                                             maintenance_options opts) {
  metrics::gauge* store_bytes = nullptr;
  metrics::counter* backups = nullptr;
  if (opts.metrics) {
    store_bytes = &opts.metrics->get_gauge(
      "nod_store_bytes",
      "Bytes of the store's files on disk (backups not counted), as of the "
      "last backup or retention compaction.");
    store_bytes->set(static_cast<int64_t>(storage::store_bytes(db->dir())));
    backups = &opts.metrics->get_counter("nod_backups_total",
                                         "Backups taken since start.");
  }
  return {
    [db, opts, store_bytes, backups](backup_atom) -> caf::result<backup_entry> {
      storage::backup_info info;
      auto st = storage::take_backup(*db, opts.backup_dir, info);
      if (!st.ok()) {
        spdlog::error("backup failed: {}", st.message());
        return make_error(ec::storage_error, st.message());
      }
      spdlog::info("backup {} written to {} ({} bytes)", info.id, info.path,
                   info.bytes);
      if (backups)
        backups->inc();
      if (store_bytes)
        store_bytes->set(static_cast<int64_t>(storage::store_bytes(db->dir())));
      return entry_of(info);
    },
    [opts](backups_atom) -> caf::result<std::vector<backup_entry>> {
      std::vector<storage::backup_info> found;
      auto st = storage::list_backups(opts.backup_dir, found);
      if (!st.ok())
        return make_error(ec::storage_error, st.message());
      std::vector<backup_entry> out;
      out.reserve(found.size());
      for (auto& b : found)
        out.push_back(entry_of(b));
      return out;
    },
    [db, store_bytes](compact_atom,
                      const key_ranges& ranges) -> caf::result<uint64_t> {
      for (auto& [begin, end] : ranges) {
        auto st = db->compact(begin, end);
        if (!st.ok()) {
          spdlog::error("compaction after retention failed: {}", st.message());
          return make_error(ec::storage_error, st.message());
        }
      }
      auto bytes = storage::store_bytes(db->dir());
      if (store_bytes)
        store_bytes->set(static_cast<int64_t>(bytes));
      return bytes;
    },
  };
}

} // namespace nod
