#pragma once

// Online backups of the store and restoring them: each backup is a
// directory under the backup directory holding a RocksDB checkpoint and a
// small manifest (`nod-backup.json`), written last, so only complete
// backups are listed.

#include "storage/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace nod::storage {

/// One backup as the admin API shows it.
struct backup_info {
  /// The directory name under the backup directory, e.g.
  /// `20261206T234413Z-0001`.
  std::string id;
  /// Absolute path of the backup directory.
  std::string path;
  /// Bytes of its files (what a copy of it takes).
  uint64_t bytes = 0;
  int64_t created_ms = 0;
  /// Data format of the store it holds.
  int format = 0;
};

/// Marks the checkpoint in `dir` a complete backup of a store of `format`
/// (the manifest, synced; its directory name is the backup's id).
status write_manifest(const std::string& dir, int64_t created_ms, int format);

/// Takes a backup of `db` into a new directory under `backup_dir`
/// (created if missing), named `prefix` + `backup_name(now)`, its manifest
/// naming `format` (0: the current one; a migration backs up the format it
/// found). Blocks for the flush and the copy: call it off the io threads
/// and the actors on CAF's workers (the maintenance actor has a thread).
status take_backup(store& db, const std::string& backup_dir, backup_info& out,
                   const std::string& prefix = {}, int format = 0);

/// A backup's name for a time, Unix ms: 20261206T234413.123Z (sorts by
/// time, safe in any file system).
std::string backup_name(int64_t ms);

/// The complete backups under `backup_dir`, newest first (none when the
/// directory does not exist).
status list_backups(const std::string& backup_dir,
                    std::vector<backup_info>& out);

/// Copies the backup in `from` into `to`, which must be missing or empty,
/// syncing every file. On failure `error` is one readable line and
/// `usage_error` tells whether the arguments were at fault (not a backup,
/// target not empty) rather than the file system.
bool restore_backup(const std::string& from, const std::string& to,
                    std::string& error, bool& usage_error);

/// Bytes of the files of the store's directory `dir`, its subdirectories
/// (backups) left out.
uint64_t store_bytes(const std::string& dir);

} // namespace nod::storage
