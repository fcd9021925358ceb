#pragma once

#include "actors/actors.hpp"
#include "protocol/delivery.hpp"

#include <caf/actor_addr.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace nod {

namespace metrics {
class registry;
} // namespace metrics

/// The actors a delivery talks to.
struct delivery_deps {
  journal_actor journal;
  directory_actor directory;
  accounts_actor accounts;
  webhook_scheduler_actor webhooks;
  notifier_actor notifier;
  /// Where to count deliveries by channel and result; may be null.
  metrics::registry* metrics = nullptr;
};

/// One event to deliver.
struct delivery_task {
  uint64_t agent = 0;
  uint64_t owner = 0;
  uint64_t seq = 0;
  /// The A4 event without `seq`; empty: read it from the journal.
  std::string event_json;
  /// A pending event replayed to a socket that just authenticated: only
  /// the WebSocket is tried, and it stays pending if that fails.
  bool replay = false;
  /// The delivery record as the outbox just wrote it; empty: read it from
  /// the journal (resumed or replayed events).
  std::optional<delivery_record> record;
};

/// State of one delivery.
struct delivery_state {
  static inline const char* name = "delivery";

  delivery_deps deps;
  outbox_actor outbox;
  delivery_task task;
  delivery_record record;
  /// The event as the agent receives it (with `seq`).
  std::string frame;
  /// The session a push waits on; its end fails the push.
  caf::actor_addr pushing_to;
  /// Bumped when a push is given up, so a late reply to it is ignored.
  uint64_t push_generation = 0;
  /// The WebSocket was tried again after the webhook gave up.
  bool retried_socket = false;
  /// The delivery has ended (no more steps).
  bool ended = false;
};

/// Behavior of a delivery: walks the event WebSocket → webhook → pending
/// (API.md A4), records every attempt in the delivery record and shows
/// it to the owner's app, then tells `outbox` and ends.
delivery_actor::behavior_type
delivery(delivery_actor::stateful_pointer<delivery_state> self,
         delivery_task task, delivery_deps deps, outbox_actor outbox);

} // namespace nod
