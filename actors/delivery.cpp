#include "actors/delivery.hpp"

#include "actors/error.hpp"
#include "actors/notifier.hpp"
#include "metrics/metrics.hpp"
#include "protocol/credentials.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace nod {

namespace {

using self_ptr = delivery_actor::stateful_pointer<delivery_state>;
using storage::table;

/// What to do when the WebSocket push does not work out.
enum class then_do { webhook, park };

void try_socket(self_ptr self, then_do on_fail);
void try_webhook(self_ptr self);

std::string record_key(const delivery_state& st) {
  return storage::pair_key(table::deliveries, st.task.agent, st.task.seq);
}

void count(self_ptr self, const char* channel, const char* result) {
  if (auto* reg = self->state.deps.metrics)
    reg
      ->get_counter("nod_deliveries_total",
                    "Deliveries of events to agents, by channel and result.",
                    std::string{"channel=\""} + channel + "\",result=\""
                      + result + "\"")
      .inc();
}

void publish(self_ptr self) {
  auto& st = self->state;
  json::writer w;
  w.start_object();
  w.field("type", "delivery");
  w.key("delivery");
  w.raw_json(to_json(st.record));
  w.end_object();
  self->send(st.deps.directory, publish_atom::value, st.task.owner, w.str());
}

/// Writes the record (and `more`), shows it to the app, then `next()`.
template <class F>
void save(self_ptr self, journal_write more, F next) {
  auto& st = self->state;
  st.record.updated_ms = now_ms();
  more.puts.emplace_back(record_key(st), to_json(st.record));
  self
    ->request(st.deps.journal, caf::infinite, append_atom::value,
              std::move(more))
    .then(
      [self, next](journal_written&) mutable {
        publish(self);
        next();
      },
      [self, next](caf::error& err) mutable {
        // The in-flight mark stays, so a restart tries again.
        spdlog::error("delivery of {} seq {}: journal: {}",
                      self->state.record.event_id, self->state.task.seq,
                      detail_of(err));
        next();
      });
}

/// Ends the delivery: the outbox moves on to the agent's next event.
void end(self_ptr self, bool parked) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  self->send(st.outbox, done_atom::value, st.task.agent, st.task.seq, parked);
  self->quit();
}

void delivered(self_ptr self, const char* channel) {
  auto& st = self->state;
  st.record.state = delivery_states::delivered;
  st.record.channel = channel;
  st.record.next_attempt_ms.reset();
  count(self, channel, "delivered");
  journal_write w;
  w.deletes.push_back(
    storage::pair_key(table::in_flight, st.task.agent, st.task.seq));
  w.deletes.push_back(
    storage::pair_key(table::pending, st.task.agent, st.task.seq));
  save(self, std::move(w), [self] {
    end(self, false);
  });
}

// Parks the event: it waits, durable, for a poll or the next socket.
void park(self_ptr self) {
  auto& st = self->state;
  st.record.state = delivery_states::pending;
  st.record.next_attempt_ms.reset();
  count(self, "none", "pending");
  journal_write w;
  w.deletes.push_back(
    storage::pair_key(table::in_flight, st.task.agent, st.task.seq));
  w.puts.emplace_back(
    storage::pair_key(table::pending, st.task.agent, st.task.seq), "");
  save(self, std::move(w), [self] {
    auto& st = self->state;
    self->send(st.deps.notifier, notify_atom::value, inbox_key(st.task.agent));
    end(self, true);
  });
}

void add_attempt(self_ptr self, delivery_attempt a) {
  self->state.record.attempts.push_back(std::move(a));
}

void socket_failed(self_ptr self, then_do on_fail, std::string why) {
  auto& st = self->state;
  st.pushing_to = caf::actor_addr{};
  st.push_generation += 1;
  delivery_attempt a;
  a.at_ms = now_ms();
  a.channel = "websocket";
  a.error = std::move(why);
  add_attempt(self, std::move(a));
  count(self, "websocket", "failed");
  if (on_fail == then_do::park) {
    park(self);
    return;
  }
  // Recorded and shown before the webhook is tried.
  save(self, {}, [self] {
    auto& st = self->state;
    if (st.task.replay)
      park(self);
    else
      try_webhook(self);
  });
}

void try_webhook(self_ptr self) {
  auto& st = self->state;
  self
    ->request(st.deps.accounts, caf::infinite, agent_find_atom::value,
              st.task.agent)
    .then(
      [self](agent_record& agent) {
        auto& st = self->state;
        auto key = webhook_secret_key(agent.webhook_secret);
        if (!agent.webhook_url || !key) {
          // No webhook: one last look for a socket, then pending.
          st.retried_socket = true;
          try_socket(self, then_do::park);
          return;
        }
        webhook_job job;
        job.agent = st.task.agent;
        job.url = *agent.webhook_url;
        job.key = std::move(*key);
        job.event_id = st.record.event_id;
        job.body = st.frame;
        self->send(st.deps.webhooks, webhook_atom::value, std::move(job),
                   caf::actor_cast<delivery_actor>(self));
      },
      [self](caf::error&) {
        // The agent is gone; keep the event all the same.
        park(self);
      });
}

void on_webhook_attempt(self_ptr self, webhook_attempt& a) {
  auto& st = self->state;
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
  add_attempt(self, std::move(rec));
  count(self, "webhook", is_success(a.result) ? "ok" : "failed");
  if (is_success(a.result)) {
    delivered(self, "webhook");
    return;
  }
  if (a.final) {
    // Every attempt failed: the agent may have connected meanwhile.
    st.retried_socket = true;
    try_socket(self, then_do::park);
    return;
  }
  st.record.state = delivery_states::retrying;
  st.record.next_attempt_ms = a.next_attempt_ms;
  save(self, {}, [] {});
}

void try_socket(self_ptr self, then_do on_fail) {
  auto& st = self->state;
  self
    ->request(st.deps.directory, caf::infinite, route_atom::value,
              st.task.agent)
    .then(
      [self, on_fail](agent_session_actor& session) {
        auto& st = self->state;
        self->monitor(session);
        st.pushing_to = session.address();
        auto generation = ++st.push_generation;
        self
          ->request(session, caf::infinite, deliver_atom::value, st.task.seq,
                    st.frame)
          .then(
            [self, on_fail, generation](bool ok) {
              auto& st = self->state;
              if (generation != st.push_generation)
                return;
              if (!ok) {
                socket_failed(self, on_fail,
                              "socket closed before the event was written");
                return;
              }
              st.pushing_to = caf::actor_addr{};
              delivery_attempt a;
              a.at_ms = now_ms();
              a.channel = "websocket";
              a.ok = true;
              add_attempt(self, std::move(a));
              delivered(self, "websocket");
            },
            [self, on_fail, generation](caf::error& err) {
              if (generation == self->state.push_generation)
                socket_failed(self, on_fail, detail_of(err));
            });
      },
      [self, on_fail](caf::error&) {
        // Offline: nothing was tried on this channel.
        if (on_fail == then_do::park)
          park(self);
        else if (self->state.task.replay)
          park(self);
        else
          try_webhook(self);
      });
}

void start(self_ptr self) {
  auto& st = self->state;
  st.frame = with_seq(st.task.event_json, st.task.seq);
  if (st.task.record) {
    // A new event: the outbox hands over the record it wrote with it.
    st.record = std::move(*st.task.record);
    st.task.record.reset();
    try_socket(self, then_do::webhook);
    return;
  }
  self->request(st.deps.journal, caf::infinite, get_atom::value, record_key(st))
    .then(
      [self](std::string& text) {
        auto& st = self->state;
        if (!from_json(text, st.record))
          spdlog::warn("delivery record of agent {} seq {} unreadable; "
                       "starting a new one",
                       st.task.agent, st.task.seq);
        st.record.agent = st.task.agent;
        st.record.seq = st.task.seq;
        try_socket(self, then_do::webhook);
      },
      [self](caf::error&) {
        // Written with the event, so this is a store error: carry on
        // with a fresh record.
        auto& st = self->state;
        st.record.agent = st.task.agent;
        st.record.seq = st.task.seq;
        try_socket(self, then_do::webhook);
      });
}

} // namespace

delivery_actor::behavior_type delivery(self_ptr self, delivery_task task,
                                       delivery_deps deps,
                                       outbox_actor outbox) {
  auto& st = self->state;
  st.task = std::move(task);
  st.deps = std::move(deps);
  st.outbox = std::move(outbox);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source == st.pushing_to && !st.ended)
      socket_failed(self, st.retried_socket ? then_do::park : then_do::webhook,
                    "socket closed");
  });
  if (st.task.event_json.empty()) {
    // Resumed after a restart: the event comes from the journal.
    self
      ->request(st.deps.journal, caf::infinite, read_atom::value, st.task.agent,
                st.task.seq - 1, uint32_t{1})
      .then(
        [self](std::vector<stream_event>& events) {
          auto& st = self->state;
          if (events.empty() || events[0].seq != st.task.seq) {
            spdlog::error("delivery: event {} of agent {} is missing",
                          st.task.seq, st.task.agent);
            end(self, false);
            return;
          }
          st.task.event_json = std::move(events[0].payload);
          start(self);
        },
        [self](caf::error& err) {
          spdlog::error("delivery: cannot read event {} of agent {}: {}",
                        self->state.task.seq, self->state.task.agent,
                        detail_of(err));
          end(self, false);
        });
  } else {
    start(self);
  }
  return {
    [self](attempt_atom, webhook_attempt& a) {
      on_webhook_attempt(self, a);
    },
  };
}

} // namespace nod
