#pragma once

#include "actors/actors.hpp"
#include "actors/agent_cache.hpp"
#include "actors/alerts.hpp"
#include "protocol/delivery.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nod {

namespace metrics {
class counter;
class registry;
} // namespace metrics

/// The actors a delivery lane talks to.
struct delivery_deps {
  journal_actor journal;
  directory_actor directory;
  accounts_actor accounts;
  webhook_scheduler_actor webhooks;
  notifier_actor notifier;
  /// Told when events park as pending (the person may want to know); may
  /// be null.
  alerts_actor alerts;
  /// Where to count deliveries by channel and result; may be null.
  metrics::registry* metrics = nullptr;
  /// The accounts actor's agents epoch: a lane keeps its agent (webhook
  /// URL and secret) while it stands. Null: asked for every webhook.
  std::shared_ptr<const std::atomic<uint64_t>> agents_epoch;
};

/// Settings of delivery lanes.
struct delivery_options {
  /// Events pushed to one socket and not yet confirmed (acked, or for a
  /// socket without acks, written) at most; more wait their turn.
  uint32_t ack_window = 1000;
  /// Most pending events one authentication replays.
  uint32_t max_replay = 10000;
};

/// Takes `n` from `counter`, stopping at 0.
inline void count_down(std::atomic<uint64_t>& counter, uint64_t n) {
  auto now = counter.load();
  while (!counter.compare_exchange_weak(now, now - std::min(now, n))) {
  }
}

/// State of one agent's delivery lane.
struct delivery_state {
  static inline const char* name = "delivery";

  /// New events the outbox handed over and not yet delivered or parked:
  /// the outbox adds, the lane takes away what it delivered once the
  /// records are written (the outbox counts undelivered events with it).
  std::shared_ptr<std::atomic<uint64_t>> in_lane;
  /// Delivered since the last report, not yet taken from `in_lane`.
  uint64_t delivered = 0;

  /// An authenticated socket of the agent.
  struct socket {
    agent_session_actor session;
    /// Set by `attach`, once the session's `auth_ok` is out.
    std::optional<client_link> link;
    bool acks = false;
    /// Numbers the attachment in write reports.
    uint64_t id = 0;
  };

  /// A record change not yet written, and what it does to the marks.
  struct change {
    /// delivered: the in-flight mark goes; unparked: so does the pending
    /// mark (a replayed event); parked: in flight becomes pending.
    enum class mark { keep, delivered, unparked, parked };
    delivery_record record;
    mark marks = mark::keep;
  };

  uint64_t agent = 0;
  uint64_t owner = 0;
  delivery_deps deps;
  delivery_options opts;
  /// This lane's agent, as accounts last gave it.
  agent_cache agents;
  outbox_actor outbox;
  /// Events on no channel yet, in seq order.
  std::deque<lane_item> queue;
  /// Events pushed to the socket `sent_on`, awaiting their write or ack,
  /// by seq. They are all on one socket: never one event on two.
  std::map<uint64_t, lane_item> sent;
  uint64_t sent_on = 0;
  /// Authenticated sockets, oldest first; pushes go to the newest.
  std::vector<socket> sockets;
  uint64_t next_socket = 1;
  /// The event on the webhook (from the accounts lookup to the last
  /// attempt); the events behind it wait, so webhooks stay in seq order.
  std::optional<lane_item> hooked;
  /// The lane reads events or records of the queue's head.
  bool loading = false;
  /// Record changes to write, by seq; one write at a time.
  std::map<uint64_t, change> dirty;
  bool saving = false;
  /// Sockets that authenticated, waiting for the lane's record writes to
  /// land before their pending events are read (oldest first), and
  /// whether a read is under way.
  struct replay_wait {
    uint64_t resume_from = 0;
    caf::typed_response_promise<uint64_t> rp;
    /// The pending events up to `resume_from` were marked delivered.
    bool marked = false;
  };
  std::deque<replay_wait> replays;
  bool replay_reading = false;
  /// The highest `resume_from` a socket gave: the agent has every event
  /// up to it, so none of those is parked (it is delivered, channel
  /// resume).
  uint64_t resume_floor = 0;
  /// Progress since the last report to the outbox.
  lane_progress progress;
  bool reported_idle = false;
  /// Deliveries by channel and result; null without metrics.
  metrics::counter* counted_websocket = nullptr;
  metrics::counter* counted_websocket_failed = nullptr;
  metrics::counter* counted_webhook = nullptr;
  metrics::counter* counted_webhook_failed = nullptr;
  metrics::counter* counted_parked = nullptr;
};

/// Behavior of the delivery lane of `agent` (owned by `owner`): walks each
/// of its events WebSocket → webhook → pending (API.md A4) in seq order,
/// records every attempt in the event's delivery record and shows it to
/// the owner's app, and reports its progress to `outbox`.
delivery_actor::behavior_type
delivery(delivery_actor::stateful_pointer<delivery_state> self, uint64_t agent,
         uint64_t owner, delivery_deps deps, delivery_options opts,
         outbox_actor outbox, std::shared_ptr<std::atomic<uint64_t>> in_lane);

} // namespace nod
