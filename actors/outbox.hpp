#pragma once

#include "actors/delivery.hpp"

namespace nod::metrics {
class gauge;
} // namespace nod::metrics

#include <caf/actor_addr.hpp>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace nod {

/// Settings of the outbox.
struct outbox_options {
  /// Most pending events one authentication replays.
  uint32_t max_replay = 10000;
};

/// State of the outbox.
struct outbox_state {
  static inline const char* name = "outbox";

  /// An event waiting for its delivery.
  struct item {
    uint64_t seq = 0;
    std::string event_json;
    bool replay = false;
    /// The delivery record as just written, if known.
    std::optional<delivery_record> record;
  };

  /// The events of one agent: one delivery at a time, in seq order.
  struct lane {
    uint64_t owner = 0;
    std::deque<item> queue;
    /// The running delivery. A strong handle: nothing else may keep it
    /// alive while it waits for a socket that goes away.
    delivery_actor current;
    uint64_t current_seq = 0;
    bool current_replay = false;
  };

  delivery_deps deps;
  outbox_options opts;
  std::unordered_map<uint64_t, lane> lanes;
  /// Parked events per agent, counted from the pending table at start-up
  /// and kept up to date since.
  std::unordered_map<uint64_t, uint64_t> pending;
  /// All of `pending`, exported as a gauge; may be null.
  metrics::gauge* pending_gauge = nullptr;
};

/// Behavior of the outbox actor.
outbox_actor::behavior_type
outbox(outbox_actor::stateful_pointer<outbox_state> self, delivery_deps deps,
       outbox_options opts);

} // namespace nod
