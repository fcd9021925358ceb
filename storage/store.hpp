#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

// The narrow interface between the journal and its backend. RocksDB stays
// in store.cpp; a replicated backend can later implement the same calls.

namespace nod::storage {

/// Outcome of a store operation: ok, not found, or a readable error.
class status {
public:
  enum class code { ok, not_found, error };

  status() = default;

  /// An error with a readable message.
  static status error(std::string message) {
    return status{code::error, std::move(message)};
  }

  /// The key was not there.
  static status not_found() {
    return status{code::not_found, "not found"};
  }

  bool ok() const noexcept {
    return code_ == code::ok;
  }

  bool is_not_found() const noexcept {
    return code_ == code::not_found;
  }

  const std::string& message() const noexcept {
    return message_;
  }

private:
  status(code c, std::string message)
    : code_(c), message_(std::move(message)) {}

  code code_ = code::ok;
  std::string message_;
};

/// Options for `store::open`.
struct store_options {
  /// fsync the write-ahead log on every `write` before it returns.
  bool sync = true;
  /// Create the store when the directory holds none.
  bool create_if_missing = true;
  /// Where the backup taken before migrating an older data format goes;
  /// empty: `<dir>/backups`.
  std::string backup_dir;
};

/// The data format this build reads and writes. A directory records its
/// format; an older one is migrated at open (after a backup), a newer one
/// refused.
int current_data_format();

/// What `store::open` did to the directory's format.
struct open_report {
  /// The format found (the current one for a fresh directory).
  int found_format = 0;
  /// When an older format was migrated: the backup taken first.
  std::string migration_backup;
};

/// A set of puts and deletes applied atomically by `store::write`.
class write_batch {
public:
  write_batch();
  ~write_batch();
  write_batch(write_batch&&) noexcept;
  write_batch& operator=(write_batch&&) noexcept;

  /// Sets `key` to `value`.
  void put(std::string_view key, std::string_view value);

  /// Removes `key`.
  void erase(std::string_view key);

  /// Number of puts and deletes.
  size_t size() const noexcept;

  /// Sets `last` to what the batch does to `key`: nothing (null), or its
  /// last operation on it, a put (the value) or a delete (null inside). A
  /// scan of the whole batch: for rare checks, not per operation.
  status find(std::string_view key,
              std::optional<std::optional<std::string>>& last) const;

  /// Drops every operation.
  void clear();

  /// The batch in its serialized form (RocksDB's write batch format), to
  /// ship it to another store.
  std::string_view data() const noexcept;

  /// Reads a batch `data()` gave; an error if it is damaged.
  static status from_data(std::string data, write_batch& out);

private:
  friend class store;
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// An embedded, ordered key-value store (RocksDB) with atomic, durable batch
/// writes. Reads and writes may run on several threads at once (the journal
/// reads while its writer writes); `close` only when no call is running.
class store {
public:
  ~store();

  /// Opens (or creates) the store in `dir`. On failure returns null and
  /// sets `error` to one readable line: the directory, what is wrong
  /// (locked by another process, damaged, not permitted) and what to do.
  static std::unique_ptr<store> open(const std::string& dir,
                                     const store_options& opts,
                                     std::string& error,
                                     open_report* report = nullptr);

  /// Applies `batch` atomically; durable when this returns if `sync` and
  /// the store's `sync` option are both on (else in the log, which a later
  /// synced write makes durable with it).
  status write(write_batch& batch, bool sync = true);

  /// Applies `batch` and a put of `key` atomically, leaving `batch` as it
  /// is (it may be read by other threads meanwhile): cluster mode records
  /// the replicated entry a batch came from with it.
  status write_with(const write_batch& batch, std::string_view key,
                    std::string_view value, bool sync);

  /// Reads `key` into `value`.
  status get(std::string_view key, std::string& value);

  /// Visits keys in [begin, end) in ascending order (descending with
  /// `reverse`), at most `limit`, until `visit` returns false. An empty
  /// `end` means the end of the key space.
  status scan(std::string_view begin, std::string_view end, size_t limit,
              const std::function<bool(std::string_view key,
                                       std::string_view value)>& visit,
              bool reverse = false);

  /// Writes a consistent copy of the store as it is now into `dir` (which
  /// must not exist; same file system: files are hard links where
  /// possible) while writes go on. Blocks for the flush and the copy.
  status checkpoint(const std::string& dir);

  /// Compacts the keys in [begin, end) down to the last level, so that
  /// deleted keys give their disk space back. Blocks until done.
  status compact(std::string_view begin, std::string_view end);

  /// Flushes and closes; further calls fail. Idempotent.
  status close();

  /// The directory the store lives in.
  const std::string& dir() const noexcept {
    return dir_;
  }

private:
  store() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string dir_;
};

} // namespace nod::storage
