#pragma once

#include "actors/delivery.hpp"

namespace nod::metrics {
class gauge;
} // namespace nod::metrics

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace nod {

/// Settings of the outbox.
struct outbox_options {
  /// Settings of each agent's delivery lane.
  delivery_options lane;
};

/// State of the outbox.
struct outbox_state {
  static inline const char* name = "outbox";

  /// The delivery lane of one agent.
  struct lane {
    delivery_actor actor;
    uint64_t owner = 0;
    /// `enqueue` and `replay` messages sent to it; an idle lane that has
    /// received them all can stop.
    uint64_t forwarded = 0;
    /// New events handed to it and not yet delivered or parked (the lane
    /// counts delivered ones down itself).
    std::shared_ptr<std::atomic<uint64_t>> in_lane;
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
