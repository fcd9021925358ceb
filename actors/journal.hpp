#pragma once

#include "actors/actors.hpp"

#include <caf/fwd.hpp>
#include <cstddef>
#include <functional>
#include <map>
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
  /// Where to record batch sizes and write latency; may be null.
  metrics::registry* metrics = nullptr;
};

/// In-memory view of one agent's stream, loaded on first use so that
/// start-up does not read history.
struct agent_stream {
  /// Highest seq assigned (durable or in the open batch).
  uint64_t last_seq = 0;
  /// Highest seq known durable.
  uint64_t durable_seq = 0;
  /// Delivery cursor, including moves in the open batch.
  uint64_t cursor = 0;
  /// Delivery cursor known durable.
  uint64_t durable_cursor = 0;
};

/// State of the journal actor.
struct journal_state {
  static inline const char* name = "journal";

  std::shared_ptr<storage::store> db;
  journal_options opts;

  /// Agents whose stream was touched since start.
  std::unordered_map<uint64_t, agent_stream> streams;

  /// The open batch: operations, what it changes in keys (for
  /// expectations of later writes in the same batch), who waits for it.
  std::unique_ptr<storage::write_batch> batch;
  std::map<std::string, std::optional<std::string>> overlay;
  std::vector<std::function<void(const caf::error&)>> waiting;
  std::vector<uint64_t> touched;
  bool flush_scheduled = false;

  journal_stats stats;

  metrics::histogram* batch_size = nullptr;
  metrics::histogram* write_latency = nullptr;
  metrics::counter* appends_total = nullptr;
  metrics::counter* errors_total = nullptr;

  journal_state();
  ~journal_state();
};

/// Behavior of the journal actor. Runs blocking store calls, so spawn it
/// `detached` in the server (tests run it on the deterministic scheduler).
journal_actor::behavior_type
journal(journal_actor::stateful_pointer<journal_state> self,
        std::shared_ptr<storage::store> db, journal_options opts);

/// Spawns the journal; `detached` gives it its own thread.
journal_actor spawn_journal(caf::actor_system& sys,
                            std::shared_ptr<storage::store> db,
                            journal_options opts, bool detached = true);

} // namespace nod
