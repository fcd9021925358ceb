#include "actors/outbox.hpp"

#include "actors/error.hpp"
#include "actors/notifier.hpp"
#include "actors/pending_marks.hpp"
#include "metrics/metrics.hpp"
#include "protocol/delivery.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <algorithm>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace nod {

namespace {

using self_ptr = outbox_actor::stateful_pointer<outbox_state>;
using storage::table;

/// The lane of `agent`, started if it has none.
outbox_state::lane& lane_of(self_ptr self, uint64_t agent, uint64_t owner) {
  auto& st = self->state;
  auto& lane = st.lanes[agent];
  if (!lane.actor) {
    lane.owner = owner;
    lane.in_lane = std::make_shared<std::atomic<uint64_t>>(0);
    lane.actor = self->spawn(delivery, agent, owner, st.deps, st.opts.lane,
                             caf::actor_cast<outbox_actor>(self), lane.in_lane);
    self->monitor(lane.actor);
  }
  return lane;
}

/// Hands events of `agent` to its lane (new ones, or resumed after a
/// restart; in seq order).
void enqueue(self_ptr self, uint64_t agent, uint64_t owner,
             std::vector<lane_item> items) {
  auto& lane = lane_of(self, agent, owner);
  lane.forwarded += 1;
  for (auto& item : items)
    if (!item.replay)
      lane.in_lane->fetch_add(1);
  self->send(lane.actor, enqueue_atom::value, std::move(items));
}

/// Moves the count of parked events of `agent` by `delta`.
void count_pending(self_ptr self, uint64_t agent, int64_t delta) {
  auto& st = self->state;
  auto& n = st.pending[agent];
  if (delta < 0 && static_cast<uint64_t>(-delta) > n)
    delta = -static_cast<int64_t>(n);
  n += delta;
  if (n == 0)
    st.pending.erase(agent);
  if (st.pending_gauge)
    st.pending_gauge->add(delta);
}

/// A lane's report: counts move, and an idle lane that has every message
/// sent to it stops.
void on_progress(self_ptr self, uint64_t agent, const lane_progress& p) {
  auto& st = self->state;
  auto i = st.lanes.find(agent);
  if (i == st.lanes.end())
    return;
  auto& lane = i->second;
  if (p.parked > 0)
    count_down(*lane.in_lane, p.parked);
  auto delta
    = static_cast<int64_t>(p.parked) - static_cast<int64_t>(p.unparked);
  if (delta != 0)
    count_pending(self, agent, delta);
  if (p.parked > 0 && st.deps.alerts) {
    // The person may want to know that an agent is not getting its events
    // (alerts throttles these per agent).
    self
      ->request(st.deps.accounts, caf::infinite, agent_find_atom::value, agent)
      .then(
        [self, agent, n = p.parked](agent_record& a) {
          person_alert alert;
          alert.kind = alert_kind::pending;
          alert.user = a.owner;
          alert.agent = agent;
          alert.agent_name = a.name;
          alert.title = a.name + " has undelivered events";
          alert.text = std::to_string(n) + (n == 1 ? " event" : " events")
                       + " could not be delivered and wait until the agent "
                         "polls or connects.";
          self->send(self->state.deps.alerts, alert_atom::value,
                     std::move(alert));
        },
        [](caf::error&) {});
  }
  if (p.idle && p.received == lane.forwarded) {
    self->demonitor(caf::actor_cast<caf::actor_addr>(lane.actor));
    self->send_exit(lane.actor, caf::exit_reason::user_shutdown);
    st.lanes.erase(i);
  }
}

caf::result<std::string> send(self_ptr self, outbound& o) {
  auto& st = self->state;
  auto at = now_ms();
  delivery_record record;
  record.event_id = o.event_id;
  record.agent = o.agent;
  record.type = o.type;
  record.hops = o.hops;
  record.created_ms = at;
  record.updated_ms = at;
  journal_write w = std::move(o.write);
  stream_append a;
  a.agent = o.agent;
  a.payload = o.event_json;
  a.indexes.emplace_back(static_cast<uint8_t>(table::deliveries),
                         to_json(record));
  a.indexes.emplace_back(static_cast<uint8_t>(table::in_flight),
                         storage::u64_bytes(o.owner));
  w.appends.push_back(std::move(a));
  auto rp = self->make_response_promise<std::string>();
  self
    ->request(st.deps.journal, caf::infinite, append_atom::value, std::move(w))
    .then(
      [self, rp, o = std::move(o),
       record = std::move(record)](journal_written& written) mutable {
        auto& st = self->state;
        auto seq = written.seqs.back();
        for (auto& f : o.frames)
          self->send(st.deps.directory, publish_atom::value, o.owner, f);
        for (auto& key : o.notify)
          self->send(st.deps.notifier, notify_atom::value, key);
        rp.deliver(std::move(o.reply));
        std::vector<lane_item> items(1);
        record.seq = seq;
        items[0].seq = seq;
        items[0].event_json = std::move(o.event_json);
        items[0].record = std::move(record);
        enqueue(self, o.agent, o.owner, std::move(items));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
  return rp;
}

caf::result<replay_result> replay(self_ptr self, uint64_t agent, uint64_t owner,
                                  uint64_t resume_from,
                                  agent_session_actor session) {
  auto rp = self->make_response_promise<replay_result>();
  // The lane reads the pending events for the socket and marks what the
  // agent says it has (`resume_from`): it alone knows when the events it
  // parked are written, so none is missed between a read and the socket.
  auto& lane = lane_of(self, agent, owner);
  lane.forwarded += 1;
  auto actor = lane.actor;
  self
    ->request(actor, caf::infinite, replay_atom::value, resume_from,
              std::move(session))
    .then(
      [rp, actor](uint64_t n) mutable {
        rp.deliver(replay_result{n, actor});
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
  return rp;
}

// Counts the pending table once (start-up): its size is the number of
// parked events, not the history.
void count_parked(self_ptr self) {
  scan_request req;
  req.begin = std::string(1, static_cast<char>(table::pending));
  req.end = storage::prefix_end(req.begin);
  req.limit = 100000000;
  self->request(self->state.deps.journal, caf::infinite, scan_atom::value, req)
    .then(
      [self](std::vector<kv_entry>& entries) {
        std::unordered_map<uint64_t, int64_t> counts;
        for (auto& e : entries)
          if (e.key.size() == 17)
            counts[storage::get_u64(std::string_view{e.key}.substr(1))] += 1;
        for (auto& [agent, n] : counts)
          count_pending(self, agent, n);
      },
      [](caf::error& err) {
        spdlog::error("cannot count pending events: {}", detail_of(err));
      });
}

caf::result<uint64_t> recover(self_ptr self) {
  // Counted before any resumed delivery can park an event (the journal
  // answers in order).
  count_parked(self);
  auto rp = self->make_response_promise<uint64_t>();
  scan_request req;
  req.begin = std::string(1, static_cast<char>(table::in_flight));
  req.end = storage::prefix_end(req.begin);
  req.limit = 10000000;
  self->request(self->state.deps.journal, caf::infinite, scan_atom::value, req)
    .then(
      [self, rp](std::vector<kv_entry>& entries) mutable {
        // Grouped by agent, in seq order (key order).
        std::unordered_map<uint64_t, std::vector<lane_item>> items;
        std::unordered_map<uint64_t, uint64_t> owners;
        for (auto& e : entries) {
          if (e.key.size() != 17 || e.value.size() != 8)
            continue;
          auto agent = storage::get_u64(std::string_view{e.key}.substr(1));
          owners[agent] = storage::get_u64(e.value);
          lane_item item;
          item.seq = storage::pair_second(e.key);
          items[agent].push_back(std::move(item));
        }
        for (auto& [agent, list] : items)
          enqueue(self, agent, owners[agent], std::move(list));
        rp.deliver(static_cast<uint64_t>(entries.size()));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
  return rp;
}

} // namespace

outbox_actor::behavior_type outbox(self_ptr self, delivery_deps deps,
                                   outbox_options opts) {
  self->state.deps = std::move(deps);
  self->state.opts = opts;
  if (auto* reg = self->state.deps.metrics)
    self->state.pending_gauge = &reg->get_gauge(
      "nod_pending_events", "Events parked for agents to poll or resume.");
  // Lanes stop with the outbox; the in-flight marks of their events make
  // the next start resume them.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [agent, lane] : self->state.lanes)
      self->send_exit(lane.actor, msg.reason);
    self->quit(msg.reason);
  });
  self->set_down_handler([self](const caf::down_msg& msg) {
    // A lane that failed: the next event starts a new one (what it held
    // keeps its in-flight marks for the next start).
    auto& lanes = self->state.lanes;
    for (auto i = lanes.begin(); i != lanes.end(); ++i)
      if (i->second.actor.address() == msg.source) {
        spdlog::error("delivery lane of agent {} ended: {}",
                      format_id64("agt_", i->first), to_string(msg.reason));
        lanes.erase(i);
        return;
      }
  });
  return {
    [self](send_atom, outbound& o) {
      return send(self, o);
    },
    [self](replay_atom, uint64_t agent, uint64_t owner, uint64_t resume_from,
           agent_session_actor& session) {
      return replay(self, agent, owner, resume_from, std::move(session));
    },
    [self](ack_atom, uint64_t agent, uint64_t owner,
           uint64_t seq) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      // The cursor refuses a seq past the stream's end (a 400 for the
      // caller); then the pending events up to it are marked.
      self
        ->request(self->state.deps.journal, caf::infinite, ack_atom::value,
                  agent, seq)
        .then(
          [self, rp, agent, owner, seq](uint64_t) mutable {
            mark_pending_delivered(
              self, self->state.deps, agent, owner, seq, "poll",
              [self, rp, agent, seq](caf::expected<uint64_t> n) mutable {
                if (!n) {
                  rp.deliver(n.error());
                  return;
                }
                count_pending(self, agent, -static_cast<int64_t>(*n));
                // Nobody replays what the agent already has.
                if (auto i = self->state.lanes.find(agent);
                    i != self->state.lanes.end())
                  self->send(i->second.actor, forget_atom::value, seq);
                rp.deliver(*n);
              });
          },
          [rp](caf::error& err) mutable {
            rp.deliver(std::move(err));
          });
      return rp;
    },
    [self](done_atom, uint64_t agent, const lane_progress& p) {
      on_progress(self, agent, p);
    },
    [self](recover_atom) {
      return recover(self);
    },
    [self](undelivered_atom, const std::vector<uint64_t>& agents) {
      auto& st = self->state;
      std::vector<uint64_t> counts;
      counts.reserve(agents.size());
      for (auto agent : agents) {
        uint64_t n = 0;
        if (auto i = st.pending.find(agent); i != st.pending.end())
          n += i->second;
        if (auto i = st.lanes.find(agent); i != st.lanes.end())
          n += i->second.in_lane->load();
        counts.push_back(n);
      }
      return counts;
    },
  };
}

} // namespace nod
