#pragma once

#include "actors/actors.hpp"

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nod {

namespace storage {
class store;
class write_batch;
} // namespace storage

namespace metrics {
class registry;
class counter;
class histogram;
} // namespace metrics

/// Settings of the journal actor.
struct journal_options {
  /// Most writes in one batch; a full batch is written at once.
  size_t max_batch = 4096;
  /// Bytes of one batch at most (0: no bound): a write that would take
  /// the open batch past it starts the next one. Cluster mode bounds
  /// batches by the message size NATS takes.
  size_t max_batch_bytes = 0;
  /// Where to record batch sizes and write latency; may be null.
  metrics::registry* metrics = nullptr;
  /// Writes one closed batch (sync: whether it must be fsynced) and
  /// returns an error line on failure; empty: the store's own `write`.
  /// Cluster mode replicates the batch before the store applies it.
  std::function<std::optional<std::string>(storage::write_batch&, bool sync)>
    write;
};

/// In-memory view of one agent's stream, loaded on first use so that
/// start-up does not read history.
struct agent_stream {
  /// Highest seq assigned (durable, being written or staged).
  uint64_t last_seq = 0;
  /// Highest seq known durable.
  uint64_t durable_seq = 0;
  /// Delivery cursor, including moves not yet durable.
  uint64_t cursor = 0;
  /// Delivery cursor known durable.
  uint64_t durable_cursor = 0;
};

/// One group commit: its operations (searched by expectations of later
/// writes), who waits for it and which streams it touched.
struct journal_unit {
  journal_unit();
  journal_unit(journal_unit&&) noexcept;
  journal_unit& operator=(journal_unit&&) noexcept;
  ~journal_unit();

  std::unique_ptr<storage::write_batch> batch;
  /// Whether any change in it must be fsynced (`journal_write::sync`).
  bool sync = false;
  std::vector<std::function<void(const caf::error&)>> waiting;
  /// Agents whose stream or cursor this unit moves (may repeat).
  std::vector<uint64_t> touched;
};

/// State of the journal actor.
struct journal_state {
  static inline const char* name = "journal";

  std::shared_ptr<storage::store> db;
  journal_options opts;

  /// Agents whose stream was touched since start.
  std::unordered_map<uint64_t, agent_stream> streams;

  /// The unit that takes new writes.
  journal_unit open;
  bool flush_scheduled = false;

  journal_stats stats;

  metrics::histogram* batch_size = nullptr;
  metrics::histogram* write_latency = nullptr;
  metrics::counter* appends_total = nullptr;
  metrics::counter* errors_total = nullptr;
};

/// Behavior of the journal actor. Stages writes and writes each batch
/// itself (group commit: what waits in the mailbox during a write goes in
/// the next batch). Reads and writes call the store directly, so spawn it
/// `detached` in the server (tests run it on the deterministic scheduler).
journal_actor::behavior_type
journal(journal_actor::stateful_pointer<journal_state> self,
        std::shared_ptr<storage::store> db, journal_options opts);

/// Spawns the journal; `detached` gives it its own thread.
journal_actor spawn_journal(caf::actor_system& sys,
                            std::shared_ptr<storage::store> db,
                            journal_options opts, bool detached = true);

} // namespace nod
