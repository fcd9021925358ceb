#include "actors/delivery.hpp"

#include "actors/error.hpp"
#include "actors/notifier.hpp"
#include "actors/pending_marks.hpp"
#include "metrics/metrics.hpp"
#include "protocol/credentials.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <algorithm>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace nod {

std::string delivery_frame(const delivery_record& r) {
  json::writer w;
  w.start_object();
  w.field("type", "delivery");
  w.key("delivery");
  w.raw_json(to_json(r));
  w.end_object();
  return w.str();
}

namespace {

using self_ptr = delivery_actor::stateful_pointer<delivery_state>;
using storage::table;
using mark = delivery_state::change::mark;

/// Most queued events one read from the journal fills in.
constexpr uint64_t max_load = 1000;

void pump(self_ptr self);

void count(metrics::counter* c) {
  if (c)
    c->inc();
}

// -- reporting --------------------------------------------------------------

bool is_idle(const delivery_state& st) {
  return st.queue.empty() && st.sent.empty() && st.sockets.empty() && !st.hooked
         && !st.loading && !st.saving && st.dirty.empty() && st.replays.empty()
         && !st.replay_reading;
}

/// Tells the outbox what changed since the last report: counts once their
/// records are written, and when the lane has nothing left to do.
void report(self_ptr self) {
  auto& st = self->state;
  if (st.saving)
    return;
  if (st.delivered > 0) {
    count_down(*st.in_lane, st.delivered);
    st.delivered = 0;
  }
  auto& p = st.progress;
  bool idle = is_idle(st);
  bool counts = p.parked > 0 || p.unparked > 0;
  if (!counts && (!idle || st.reported_idle))
    return;
  p.idle = idle;
  st.reported_idle = idle;
  self->send(st.outbox, done_atom::value, st.agent, p);
  auto received = p.received;
  p = lane_progress{};
  p.received = received;
}

// -- records ----------------------------------------------------------------

void read_replay(self_ptr self);

/// Writes the changed records (and their marks) in one journal write; one
/// write at a time, so a record's states land in order.
void flush(self_ptr self) {
  auto& st = self->state;
  if (st.saving || st.dirty.empty())
    return;
  journal_write w;
  // A lost outcome (OS crash) leaves the in-flight mark: the event is
  // delivered again at the next start, as after any crash mid-delivery.
  w.sync = false;
  std::vector<std::string> frames;
  bool parked = false;
  auto at = now_ms();
  for (auto& [seq, ch] : st.dirty) {
    ch.record.updated_ms = at;
    w.puts.emplace_back(storage::pair_key(table::deliveries, st.agent, seq),
                        to_json(ch.record));
    switch (ch.marks) {
      case mark::keep: break;
      case mark::delivered:
        w.deletes.push_back(storage::pair_key(table::in_flight, st.agent, seq));
        break;
      case mark::unparked:
        // No pending mark to delete otherwise: a tombstone per event for
        // nothing.
        w.deletes.push_back(storage::pair_key(table::in_flight, st.agent, seq));
        w.deletes.push_back(storage::pair_key(table::pending, st.agent, seq));
        break;
      case mark::parked:
        w.deletes.push_back(storage::pair_key(table::in_flight, st.agent, seq));
        w.puts.emplace_back(storage::pair_key(table::pending, st.agent, seq),
                            std::string{});
        parked = true;
        break;
    }
    frames.push_back(delivery_frame(ch.record));
  }
  st.dirty.clear();
  st.saving = true;
  self
    ->request(st.deps.journal, caf::infinite, append_atom::value, std::move(w))
    .then(
      [self, frames = std::move(frames), parked](journal_written&) {
        auto& st = self->state;
        st.saving = false;
        for (auto& f : frames)
          self->send(st.deps.directory, publish_atom::value, st.owner, f);
        if (parked)
          self->send(st.deps.notifier, notify_atom::value, inbox_key(st.agent));
        flush(self);
        read_replay(self);
        report(self);
      },
      [self](caf::error& err) {
        // The in-flight marks stay, so a restart tries these again.
        auto& st = self->state;
        spdlog::error("delivery to agent {}: journal: {}",
                      format_id64("agt_", st.agent), detail_of(err));
        st.saving = false;
        flush(self);
        read_replay(self);
        report(self);
      });
}

/// Queues the record of `item` for writing, with what it does to the
/// event's marks.
void save(self_ptr self, const lane_item& item, mark marks = mark::keep) {
  auto& ch = self->state.dirty[item.seq];
  ch.record = *item.record;
  // A final state stays final until written.
  if (marks != mark::keep || ch.marks == mark::keep)
    ch.marks = marks;
  flush(self);
}

void add_attempt(lane_item& item, const char* channel, bool ok,
                 std::optional<std::string> error = std::nullopt) {
  delivery_attempt a;
  a.at_ms = now_ms();
  a.channel = channel;
  a.ok = ok;
  a.error = std::move(error);
  item.record->attempts.push_back(std::move(a));
}

/// The agent has `item`.
void delivered(self_ptr self, lane_item& item, const char* channel) {
  auto& st = self->state;
  auto& r = *item.record;
  r.state = delivery_states::delivered;
  r.channel = channel;
  r.next_attempt_ms.reset();
  r.sent_ms.reset();
  if (item.replay)
    st.progress.unparked += 1;
  else
    st.delivered += 1;
  save(self, item, item.replay ? mark::unparked : mark::delivered);
}

/// Parks `item`: it waits, durable, for a poll or the next socket.
void park(self_ptr self, lane_item& item) {
  auto& st = self->state;
  if (!item.replay && item.seq <= st.resume_floor) {
    // A socket said the agent has it (`resume_from`) while it was on its
    // way here: parked now, it would wait for no one.
    add_attempt(item, "resume", true);
    delivered(self, item, "resume");
    return;
  }
  auto& r = *item.record;
  r.state = delivery_states::pending;
  r.next_attempt_ms.reset();
  r.sent_ms.reset();
  count(st.counted_parked);
  if (item.replay) {
    // It was pending all along.
    save(self, item);
    return;
  }
  st.progress.parked += 1;
  save(self, item, mark::parked);
}

// -- the queue --------------------------------------------------------------

bool holds(const delivery_state& st, uint64_t seq) {
  if (st.sent.count(seq) > 0 || (st.hooked && st.hooked->seq == seq))
    return true;
  return std::any_of(st.queue.begin(), st.queue.end(),
                     [seq](const lane_item& x) {
                       return x.seq == seq;
                     });
}

/// Puts `item` into the queue at its place by seq (unless the lane already
/// holds that event).
void insert(self_ptr self, lane_item item) {
  auto& st = self->state;
  auto& q = st.queue;
  // New events mostly come last.
  if (q.empty() || q.back().seq < item.seq) {
    if (!st.sent.count(item.seq) && !(st.hooked && st.hooked->seq == item.seq))
      q.push_back(std::move(item));
    return;
  }
  if (holds(st, item.seq))
    return;
  auto pos = std::upper_bound(q.begin(), q.end(), item.seq,
                              [](uint64_t seq, const lane_item& x) {
                                return seq < x.seq;
                              });
  q.insert(pos, std::move(item));
}

bool needs_load(const lane_item& item) {
  return item.event_json.empty() || !item.record;
}

/// Reads the events and records the queue's head lacks (resumed after a
/// restart, or replayed), then pumps again.
void load(self_ptr self) {
  auto& st = self->state;
  st.loading = true;
  auto first = st.queue.front().seq;
  uint64_t last = first;
  for (auto& item : st.queue) {
    if (!needs_load(item) || item.seq - first >= max_load)
      break;
    last = item.seq;
  }
  auto remaining = std::make_shared<int>(2);
  auto events = std::make_shared<std::vector<stream_event>>();
  auto records = std::make_shared<std::vector<kv_entry>>();
  auto fill = [self, first, last, events, records] {
    auto& st = self->state;
    st.loading = false;
    std::map<uint64_t, std::string*> payloads;
    for (auto& e : *events)
      payloads[e.seq] = &e.payload;
    std::map<uint64_t, std::string*> texts;
    for (auto& e : *records)
      texts[storage::pair_second(e.key)] = &e.value;
    for (auto i = st.queue.begin(); i != st.queue.end();) {
      if (i->seq < first || i->seq > last) {
        ++i;
        continue;
      }
      if (i->event_json.empty()) {
        auto p = payloads.find(i->seq);
        if (p == payloads.end()) {
          spdlog::error("delivery: event {} of agent {} is missing", i->seq,
                        format_id64("agt_", st.agent));
          if (!i->replay)
            st.delivered += 1;
          i = st.queue.erase(i);
          continue;
        }
        i->event_json = std::move(*p->second);
      }
      if (!i->record) {
        delivery_record r;
        auto t = texts.find(i->seq);
        if (t == texts.end() || !from_json(*t->second, r)) {
          spdlog::warn("delivery record of agent {} seq {} unreadable; "
                       "starting a new one",
                       format_id64("agt_", st.agent), i->seq);
          r = delivery_record{};
          r.created_ms = now_ms();
        }
        r.agent = st.agent;
        r.seq = i->seq;
        i->record = std::move(r);
      }
      ++i;
    }
    pump(self);
    report(self);
  };
  auto one_done = [remaining, fill]() mutable {
    if (--*remaining == 0)
      fill();
  };
  auto failed = [self, one_done](caf::error& err) mutable {
    spdlog::error("delivery to agent {}: cannot read the journal: {}",
                  format_id64("agt_", self->state.agent), detail_of(err));
    one_done();
  };
  self
    ->request(st.deps.journal, caf::infinite, read_atom::value, st.agent,
              first - 1, static_cast<uint32_t>(last - first + 1))
    .then(
      [events, one_done](std::vector<stream_event>& found) mutable {
        *events = std::move(found);
        one_done();
      },
      failed);
  scan_request req;
  req.begin = storage::pair_key(table::deliveries, st.agent, first);
  req.end = storage::pair_key(table::deliveries, st.agent, last + 1);
  req.limit = static_cast<uint32_t>(last - first + 1);
  self->request(st.deps.journal, caf::infinite, scan_atom::value, req)
    .then(
      [records, one_done](std::vector<kv_entry>& found) mutable {
        *records = std::move(found);
        one_done();
      },
      failed);
}

// -- sockets ----------------------------------------------------------------

delivery_state::socket* find_socket(delivery_state& st, uint64_t id) {
  for (auto& s : st.sockets)
    if (s.id == id)
      return &s;
  return nullptr;
}

/// The socket `id` is gone: its unconfirmed events go back to the queue,
/// in seq order, to take the normal path again.
void socket_lost(self_ptr self, uint64_t id, const std::string& why) {
  auto& st = self->state;
  st.sockets.erase(std::remove_if(st.sockets.begin(), st.sockets.end(),
                                  [id](const delivery_state::socket& s) {
                                    return s.id == id;
                                  }),
                   st.sockets.end());
  if (st.sent_on != id)
    return;
  auto sent = std::move(st.sent);
  st.sent.clear();
  st.sent_on = 0;
  for (auto i = sent.rbegin(); i != sent.rend(); ++i) {
    auto& item = i->second;
    add_attempt(item, "websocket", false, why);
    count(st.counted_websocket_failed);
    auto& r = *item.record;
    r.state = item.replay ? delivery_states::pending : delivery_states::queued;
    r.sent_ms.reset();
    save(self, item);
    st.queue.push_front(std::move(item));
  }
}

/// Confirms the pushes on socket `id` up to `seq` (all of them, with
/// `cumulative`, else only `seq`).
void confirm(self_ptr self, uint64_t id, uint64_t seq, bool cumulative) {
  auto& st = self->state;
  if (st.sent_on != id || st.sent.empty())
    return;
  auto end = st.sent.upper_bound(seq);
  auto begin = cumulative ? st.sent.begin() : st.sent.find(seq);
  if (begin == st.sent.end())
    return;
  for (auto i = begin; i != end; ++i) {
    add_attempt(i->second, "websocket", true);
    count(st.counted_websocket);
    delivered(self, i->second, "websocket");
  }
  st.sent.erase(begin, end);
  if (st.sent.empty())
    st.sent_on = 0;
}

/// Pushes the queue's head to socket `s`; false when the socket refused
/// it (it is closing), which ends the socket for this lane.
bool push(self_ptr self, delivery_state::socket& s) {
  auto& st = self->state;
  auto item = std::move(st.queue.front());
  st.queue.pop_front();
  auto frame = with_seq(item.event_json, item.seq);
  bool queued = false;
  if (s.acks) {
    // Confirmed by the agent's ack, not by the write.
    queued = s.link->send(std::move(frame));
  } else {
    auto me = caf::actor_cast<delivery_actor>(self);
    queued = s.link->send_tracked(
      std::move(frame), [me, id = s.id, seq = item.seq](bool written) {
        caf::anon_send(me, written_atom::value, id, seq, written);
      });
  }
  st.sent_on = s.id;
  auto seq = item.seq;
  auto& placed = st.sent.emplace(seq, std::move(item)).first->second;
  if (!queued) {
    socket_lost(self, s.id, "socket closed before the event was written");
    return false;
  }
  if (s.acks) {
    auto& r = *placed.record;
    r.state = delivery_states::sent;
    r.sent_ms = now_ms();
    save(self, placed);
  }
  return true;
}

// -- webhook ----------------------------------------------------------------

void on_webhook_attempt(self_ptr self, webhook_attempt& a) {
  auto& st = self->state;
  if (!st.hooked)
    return;
  auto& item = *st.hooked;
  delivery_attempt rec;
  rec.at_ms = a.at_ms;
  rec.channel = "webhook";
  rec.ok = is_success(a.result);
  rec.delivery_id = a.delivery_id;
  rec.retry_num = a.retry_num;
  rec.duration_ms = a.result.elapsed_us / 1000;
  if (a.result.failure == post_failure::none) {
    rec.status_code = a.result.status;
    if (!rec.ok)
      rec.error = "HTTP " + std::to_string(a.result.status);
  } else {
    rec.error
      = a.result.error.empty() ? retry_reason(a.result) : a.result.error;
  }
  item.record->attempts.push_back(std::move(rec));
  count(is_success(a.result) ? st.counted_webhook : st.counted_webhook_failed);
  if (is_success(a.result)) {
    delivered(self, item, "webhook");
    st.hooked.reset();
    pump(self);
    return;
  }
  if (a.final) {
    // Every attempt failed: the agent may have connected meanwhile, else
    // the event is parked (never a second round of webhooks).
    auto back = std::move(item);
    st.hooked.reset();
    back.webhook_done = true;
    if (!st.sockets.empty()) {
      back.record->state = delivery_states::queued;
      back.record->next_attempt_ms.reset();
      save(self, back);
      st.queue.push_front(std::move(back));
    } else {
      park(self, back);
    }
    pump(self);
    return;
  }
  item.record->state = delivery_states::retrying;
  item.record->next_attempt_ms = a.next_attempt_ms;
  save(self, item);
}

/// The pending events read for the oldest waiting socket join the queue
/// (as replays: only sockets are tried for them), and its session learns
/// how many.
void replayed(self_ptr self, std::vector<stream_event>& events) {
  auto& st = self->state;
  st.replay_reading = false;
  auto wait = std::move(st.replays.front());
  st.replays.pop_front();
  for (auto& e : events) {
    lane_item item;
    item.seq = e.seq;
    item.event_json = std::move(e.payload);
    item.replay = true;
    insert(self, std::move(item));
  }
  wait.rp.deliver(static_cast<uint64_t>(events.size()));
  read_replay(self);
  pump(self);
  report(self);
}

/// Reads the pending events of the oldest socket waiting for them, once
/// the lane's own record writes have landed: an event it just parked is
/// then in the read, not lost between the read and the socket.
void read_replay(self_ptr self) {
  auto& st = self->state;
  if (st.replays.empty() || st.replay_reading || st.saving || !st.dirty.empty())
    return;
  st.replay_reading = true;
  auto& wait = st.replays.front();
  if (wait.resume_from > 0 && !wait.marked) {
    // First what the agent says it has: parked events up to `resume_from`
    // are delivered (channel resume). Then the read, once the writes this
    // lane made meanwhile have landed too.
    wait.marked = true;
    mark_pending_delivered(
      self, st.deps, st.agent, st.owner, wait.resume_from, "resume",
      [self, upto = wait.resume_from](caf::expected<uint64_t> n) {
        auto& st = self->state;
        if (n) {
          st.progress.unparked += *n;
          auto& q = st.queue;
          q.erase(std::remove_if(q.begin(), q.end(),
                                 [upto](const lane_item& x) {
                                   return x.replay && x.seq <= upto;
                                 }),
                  q.end());
        } else {
          spdlog::error("cannot mark events of agent {} resumed: {}",
                        format_id64("agt_", st.agent), detail_of(n.error()));
        }
        st.replay_reading = false;
        read_replay(self);
        report(self);
      });
    return;
  }
  self
    ->request(st.deps.journal, caf::infinite, inbox_atom::value, st.agent,
              st.replays.front().resume_from, st.opts.max_replay)
    .then(
      [self](std::vector<stream_event>& events) {
        replayed(self, events);
      },
      [self](caf::error& err) {
        // The socket is served all the same: what cannot be read now waits
        // for the next poll or socket.
        spdlog::error("cannot read pending events of agent {}: {}",
                      format_id64("agt_", self->state.agent), detail_of(err));
        std::vector<stream_event> none;
        replayed(self, none);
      });
}

/// Hands the hooked event to `agent`'s webhook, or parks it when the agent
/// has none.
void send_webhook(self_ptr self, const agent_record& agent) {
  auto& st = self->state;
  if (!st.hooked)
    return;
  auto key = webhook_secret_key(agent.webhook_secret);
  if (!agent.webhook_url || !key) {
    // A socket that authenticated meanwhile takes it: its replay
    // read may already be done, and a parked event would wait for
    // the next one.
    if (!st.sockets.empty())
      st.queue.push_front(std::move(*st.hooked));
    else
      park(self, *st.hooked);
    st.hooked.reset();
    pump(self);
    report(self);
    return;
  }
  webhook_job job;
  job.agent = st.agent;
  job.url = *agent.webhook_url;
  job.key = std::move(*key);
  job.event_id = st.hooked->record->event_id;
  job.body = with_seq(st.hooked->event_json, st.hooked->seq);
  job.hops = st.hooked->record->hops + 1;
  self->send(st.deps.webhooks, webhook_atom::value, std::move(job),
             caf::actor_cast<webhook_listener_actor>(self));
}

/// Takes the queue's head to the webhook (the agent's from the cache, or
/// asked for).
void start_webhook(self_ptr self) {
  auto& st = self->state;
  st.hooked = std::move(st.queue.front());
  st.queue.pop_front();
  if (auto* agent = st.agents.find(st.agent)) {
    send_webhook(self, *agent);
    return;
  }
  auto epoch = st.agents.epoch();
  self
    ->request(st.deps.accounts, caf::infinite, agent_find_atom::value, st.agent)
    .then(
      [self, epoch](agent_record& agent) {
        self->state.agents.put(agent, epoch);
        send_webhook(self, agent);
      },
      [self](caf::error&) {
        // The agent is gone; keep the event all the same.
        auto& st = self->state;
        if (!st.hooked)
          return;
        park(self, *st.hooked);
        st.hooked.reset();
        pump(self);
        report(self);
      });
}

// -- the pump ---------------------------------------------------------------

/// Moves the queue forward as far as the channels allow, in seq order:
/// the newest socket (up to the window), else the webhook (one event at a
/// time), else pending.
void pump(self_ptr self) {
  auto& st = self->state;
  while (!st.queue.empty() && !st.loading && !st.hooked) {
    if (needs_load(st.queue.front())) {
      load(self);
      return;
    }
    if (auto& head = st.queue.front(); head.seq <= st.resume_floor) {
      // The agent said it has this one (`resume_from`): no push, no park.
      // (A replayed, pending one is marked with the others of its kind.)
      if (!head.replay) {
        add_attempt(head, "resume", true);
        delivered(self, head, "resume");
      }
      st.queue.pop_front();
      continue;
    }
    if (!st.sockets.empty()) {
      auto& newest = st.sockets.back();
      // Its `auth_ok` is on the way; an older socket's pushes drain
      // first (one event never on two sockets, never N+1 before N on
      // one); a full window waits for acks.
      if (!newest.link || (!st.sent.empty() && st.sent_on != newest.id)
          || st.sent.size() >= st.opts.ack_window)
        return;
      push(self, newest);
      continue;
    }
    auto& head = st.queue.front();
    if (head.replay) {
      // Offline again: it stays pending, as it was.
      st.queue.pop_front();
      continue;
    }
    if (head.webhook_done) {
      park(self, head);
      st.queue.pop_front();
      continue;
    }
    start_webhook(self);
  }
}

} // namespace

delivery_actor::behavior_type
delivery(self_ptr self, uint64_t agent, uint64_t owner, delivery_deps deps,
         delivery_options opts, outbox_actor outbox,
         std::shared_ptr<std::atomic<uint64_t>> in_lane) {
  auto& st = self->state;
  st.in_lane = std::move(in_lane);
  st.agent = agent;
  st.owner = owner;
  st.deps = std::move(deps);
  st.agents = agent_cache{st.deps.agents_epoch};
  st.opts = opts;
  if (st.opts.ack_window == 0)
    st.opts.ack_window = 1;
  st.outbox = std::move(outbox);
  if (auto* reg = st.deps.metrics) {
    auto counter = [reg](const char* channel, const char* result) {
      return &reg->get_counter(
        "nod_deliveries_total",
        "Deliveries of events to agents, by channel and result.",
        std::string{"channel=\""} + channel + "\",result=\"" + result + "\"");
    };
    st.counted_websocket = counter("websocket", "delivered");
    st.counted_websocket_failed = counter("websocket", "failed");
    st.counted_webhook = counter("webhook", "delivered");
    st.counted_webhook_failed = counter("webhook", "failed");
    st.counted_parked = counter("none", "pending");
  }
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    for (auto& s : st.sockets)
      if (s.session.address() == msg.source) {
        socket_lost(self, s.id, "socket closed");
        pump(self);
        report(self);
        return;
      }
  });
  return {
    [self](attempt_atom, webhook_attempt& a) {
      on_webhook_attempt(self, a);
      report(self);
    },
    [self](enqueue_atom, std::vector<lane_item>& items) {
      auto& st = self->state;
      st.progress.received += 1;
      for (auto& item : items)
        insert(self, std::move(item));
      pump(self);
      report(self);
    },
    [self](replay_atom, uint64_t resume_from,
           agent_session_actor& session) -> caf::result<uint64_t> {
      auto& st = self->state;
      st.progress.received += 1;
      // The agent says it has everything up to `resume_from`: nothing up
      // to there is pushed again. Queued events are taken care of by
      // `pump` (the floor), pending ones by the marking before the replay
      // read (`read_replay`), those on an older socket here.
      st.resume_floor = std::max(st.resume_floor, resume_from);
      if (resume_from > 0) {
        if (!st.sent.empty() && st.sent.begin()->first <= resume_from) {
          auto end = st.sent.upper_bound(resume_from);
          for (auto i = st.sent.begin(); i != end; ++i)
            if (!i->second.replay) {
              add_attempt(i->second, "resume", true);
              delivered(self, i->second, "resume");
            }
          st.sent.erase(st.sent.begin(), end);
          if (st.sent.empty())
            st.sent_on = 0;
        }
      }
      self->monitor(session);
      st.sockets.push_back(
        {std::move(session), std::nullopt, false, st.next_socket++});
      auto rp = self->make_response_promise<uint64_t>();
      st.replays.push_back({resume_from, rp});
      read_replay(self);
      pump(self);
      report(self);
      return rp;
    },
    [self](attach_atom, client_link& link, bool acks) {
      auto& st = self->state;
      auto sender = self->current_sender();
      for (auto& s : st.sockets)
        if (sender && s.session.address() == sender->address()) {
          s.link = std::move(link);
          s.acks = acks;
        }
      pump(self);
      report(self);
    },
    [self](ack_atom, uint64_t seq) {
      auto& st = self->state;
      auto sender = self->current_sender();
      for (auto& s : st.sockets)
        if (sender && s.session.address() == sender->address() && s.acks)
          confirm(self, s.id, seq, true);
      pump(self);
      report(self);
    },
    [self](written_atom, uint64_t id, uint64_t seq, bool ok) {
      // A dropped frame ends the socket for this lane: its unconfirmed
      // events take the normal path again.
      if (ok)
        confirm(self, id, seq, false);
      else if (find_socket(self->state, id))
        socket_lost(self, id, "socket closed before the event was written");
      pump(self);
      report(self);
    },
    [self](forget_atom, uint64_t seq) {
      // Polled and acked: replays of those are not needed any more.
      auto& q = self->state.queue;
      q.erase(std::remove_if(q.begin(), q.end(),
                             [seq](const lane_item& x) {
                               return x.replay && x.seq <= seq;
                             }),
              q.end());
      report(self);
    },
  };
}

} // namespace nod
