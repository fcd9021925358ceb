#pragma once

#include "actors/actors.hpp"
#include "actors/alerts.hpp"
#include "actors/task_interfaces.hpp"
#include "protocol/events.hpp"

#include <array>
#include <string>
#include <unordered_map>

namespace nod {

/// How long an `Idempotency-Key` holds its first reply; retention deletes
/// records older than this.
constexpr int64_t idempotency_ttl_ms = 24 * 3600 * 1000;

namespace metrics {
class counter;
class registry;
} // namespace metrics

/// Settings of the ingest actor.
struct ingest_options {
  /// Base of media links, e.g. "http://127.0.0.1:8000".
  std::string public_url;
  /// Where to count events by type and outcome; may be null.
  metrics::registry* metrics = nullptr;
  /// Where decisions with `expires_in` are timed; may be null (tests).
  task_clock_actor clock;
  /// Who tells the person about new decisions and messages outside the
  /// app; may be null (tests).
  alerts_actor alerts;
};

/// Where `ingest_state::event_counters` keeps invalid events: after the
/// last `event_type`.
constexpr size_t invalid_event_slot
  = static_cast<size_t>(event_type::task_proposal) + 1;

/// State of the ingest actor.
struct ingest_state {
  static inline const char* name = "ingest";

  journal_actor journal;
  directory_actor dir;
  ingest_options opts;

  /// Conversations seen since start: id → (agent, created_ms). Saves a
  /// read per message for the common case of an agent's known
  /// conversations.
  struct conversation {
    uint64_t agent = 0;
    int64_t created_ms = 0;
    /// The conversation object is in the store; until then every message
    /// to it (re)writes it.
    bool stored = false;
  };
  std::unordered_map<uint64_t, conversation> conversations;

  /// `nod_agent_events_total` by type (index: `event_type`, then one for
  /// invalid events), looked up once per type.
  std::array<metrics::counter*, invalid_event_slot + 1> event_counters{};
};

/// Behavior of the ingest actor.
ingest_actor::behavior_type
ingest(ingest_actor::stateful_pointer<ingest_state> self, journal_actor journal,
       directory_actor dir, ingest_options opts);

/// The id of an agent's default conversation: `conv_` + the agent's own
/// 16 hex digits, so that concurrent first messages agree on it.
uint64_t default_conversation(uint64_t agent);

} // namespace nod
