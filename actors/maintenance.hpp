#pragma once

// Keeping the store in shape while it serves: online backups, retention
// (deleting finished history in small batches) and compaction.

#include "actors/actors.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nod {

namespace storage {
class store;
}

namespace metrics {
class registry;
class counter;
} // namespace metrics

/// Take a backup, or list them.
using backup_atom = caf::atom_constant<caf::atom("backup")>;
/// List the backups.
using backups_atom = caf::atom_constant<caf::atom("backups")>;
/// Compact key ranges.
using compact_atom = caf::atom_constant<caf::atom("compact")>;
/// Run a retention pass.
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
/// Internal: the next step of a retention pass.
using step_atom = caf::atom_constant<caf::atom("step")>;

/// One backup (API: `{"id", "path", "bytes", "created_at"}`).
struct backup_entry {
  std::string id;
  std::string path;
  uint64_t bytes = 0;
  int64_t created_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_entry& x) {
  return f(x.id, x.path, x.bytes, x.created_ms);
}

/// Key ranges [first, second) to compact.
using key_ranges = std::vector<std::pair<std::string, std::string>>;

/// The actor that makes the store's blocking calls (checkpoint, compaction,
/// disk usage) on its own thread, one at a time: spawn it `detached`.
using maintenance_actor = caf::typed_actor<
  caf::replies_to<backup_atom>::with<backup_entry>,
  caf::replies_to<backups_atom>::with<std::vector<backup_entry>>,
  // Compacts the ranges; replies with the store's bytes on disk after.
  caf::replies_to<compact_atom, key_ranges>::with<uint64_t>>;

/// Settings of the maintenance actor.
struct maintenance_options {
  /// Where backups go.
  std::string backup_dir;
  metrics::registry* metrics = nullptr;
};

maintenance_actor::behavior_type maintenance(maintenance_actor::pointer self,
                                             std::shared_ptr<storage::store> db,
                                             maintenance_options opts);

/// What one retention pass deleted.
struct retention_counts {
  uint64_t activity = 0;
  uint64_t events = 0;
  uint64_t runs = 0;
  uint64_t messages = 0;
  uint64_t decisions = 0;
  /// Images of messages (with `messages`).
  uint64_t media = 0;
  /// `Idempotency-Key` records past their 24 hours (every pass).
  uint64_t idempotency_keys = 0;
  /// The store's bytes on disk after the pass's compaction (0: none ran).
  uint64_t store_bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retention_counts& x) {
  return f(x.activity, x.events, x.runs, x.messages, x.decisions, x.media,
           x.idempotency_keys, x.store_bytes);
}

/// How long each kind of finished history is kept and how often a pass
/// runs, in milliseconds (0 keeps it; an interval of 0: only when asked).
struct retention_periods {
  int64_t activity_ms = 0;
  int64_t delivered_events_ms = 0;
  int64_t runs_ms = 0;
  int64_t messages_ms = 0;
  int64_t interval_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retention_periods& x) {
  return f(x.activity_ms, x.delivered_events_ms, x.runs_ms, x.messages_ms,
           x.interval_ms);
}

/// The retention sweeper: `sweep` runs a pass (or joins the one running)
/// and replies with what it deleted; a timer asks for one every interval
/// (its generation tells a timer of older settings to do nothing); new
/// periods (SIGHUP) apply from the next pass.
using retention_actor
  = caf::typed_actor<caf::replies_to<sweep_atom>::with<retention_counts>,
                     caf::reacts_to<step_atom>,
                     caf::reacts_to<timeout_atom, uint64_t>,
                     caf::reacts_to<retention_periods>>;

/// Settings of the retention sweeper (how long things are kept comes as
/// `retention_periods` messages).
struct retention_options {
  /// Keys read per step; a step's deletes are one journal write.
  uint32_t batch = 500;
  /// Pause between steps, so that a pass never holds the journal long.
  std::chrono::milliseconds pause{20};
  /// Unix ms now (tests move it).
  std::function<int64_t()> clock;
  metrics::registry* metrics = nullptr;
};

struct retention_pass;

/// State of the retention sweeper.
struct retention_state {
  static inline const char* name = "retention";
  journal_actor journal;
  maintenance_actor maintenance;
  retention_options opts;
  /// What to keep how long; nothing is deleted until the first periods
  /// arrive (the server sends them at start and on SIGHUP).
  retention_periods periods;
  std::shared_ptr<retention_pass> pass;
  metrics::counter* deleted_total = nullptr;
  /// Moves when the interval changes: older timers are ignored.
  uint64_t timer_generation = 0;
};

retention_actor::behavior_type
retention(retention_actor::stateful_pointer<retention_state> self,
          journal_actor journal, maintenance_actor maintenance,
          retention_options opts);

} // namespace nod
