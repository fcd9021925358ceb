#include "actors/tasks.hpp"

#include "actors/error.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "protocol/webhook.hpp"
#include "storage/keys.hpp"

#include <algorithm>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace nod {

namespace {

using self_ptr = tasks_actor::stateful_pointer<tasks_state>;
using storage::table;
template <class T>
using promise = caf::typed_response_promise<T>;

std::string task_key(uint64_t id) {
  return storage::id_key(table::tasks, id);
}

std::string trigger_key(const std::string& trigger_id) {
  return storage::text_key(table::triggers, trigger_id);
}

std::string trigger_secret_key(uint64_t task) {
  return storage::id_key(table::trigger_secrets, task);
}

/// Adds a change of `in`'s trigger secret to `w` and to `t`.
void apply_trigger_secret(const task_input& in, task_record& t,
                          journal_write& w) {
  if (in.trigger_secret) {
    t.trigger_secret_set = true;
    w.puts.emplace_back(trigger_secret_key(t.id), *in.trigger_secret);
  } else if (in.trigger_secret_cleared) {
    t.trigger_secret_set = false;
    w.deletes.push_back(trigger_secret_key(t.id));
  }
}

/// Runs `next(agent)` when `caller` may act on `agent`'s tasks: its owner,
/// or the agent itself. Another's agent is `not_found`; approval-only
/// agents have no tasks (A1).
template <class T, class F>
void with_agent(self_ptr self, const task_caller& caller, uint64_t agent,
                promise<T> rp, F next) {
  self
    ->request(self->state.accounts, caf::infinite, agent_find_atom::value,
              agent)
    .then(
      [caller, rp, next](agent_record& a) mutable {
        if ((caller.user != 0 && a.owner != caller.user)
            || (caller.agent != 0 && a.id != caller.agent)) {
          rp.deliver(make_error(ec::not_found, "agent not found"));
          return;
        }
        if (a.type == "approval_only") {
          rp.deliver(
            make_error(ec::forbidden, "approval-only agents have no tasks"));
          return;
        }
        next(a);
      },
      [rp](caf::error& err) mutable {
        rp.deliver(code_of(err) == ec::not_found
                     ? make_error(ec::not_found, "agent not found")
                     : std::move(err));
      });
}

/// Runs `next(task, stored, agent)` with task `id` as stored, when
/// `caller` may see it; else `not_found`.
template <class T, class F>
void with_task(self_ptr self, const task_caller& caller, uint64_t id,
               promise<T> rp, F next) {
  self
    ->request(self->state.journal, caf::infinite, get_atom::value, task_key(id))
    .then(
      [self, caller, rp, next](std::string& stored) mutable {
        auto t = task_from_json(stored);
        if (!t) {
          rp.deliver(make_error(ec::storage_error, "task unreadable"));
          return;
        }
        with_agent(self, caller, t->agent, rp,
                   [t = *t, stored, next](const agent_record& a) mutable {
                     next(std::move(t), stored, a);
                   });
      },
      [rp](caf::error& err) mutable {
        rp.deliver(code_of(err) == ec::not_found
                     ? make_error(ec::not_found, "task not found")
                     : std::move(err));
      });
}

/// Writes `w`, then answers `reply` and tells the clock `t`'s next fire
/// time. A failed expectation is a 409: someone changed the task first.
void commit_task(self_ptr self, journal_write w, const task_record& t,
                 std::string reply, promise<std::string> rp) {
  self
    ->request(self->state.journal, caf::infinite, append_atom::value,
              std::move(w))
    .then(
      [self, rp, id = t.id, next = t.next_run_ms,
       reply = std::move(reply)](journal_written&) mutable {
        self->send(self->state.clock, schedule_atom::value, id, next);
        rp.deliver(std::move(reply));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(code_of(err) == ec::conflict
                     ? make_error(ec::conflict, "the task changed meanwhile; "
                                                "read it and try again")
                     : std::move(err));
      });
}

/// `ms` up to a whole second, the precision a stored time keeps
/// (ISO-8601 with seconds): a `once` task is timed from what is stored, and
/// rounding up never fires it before its `run_at`.
int64_t ceil_seconds(int64_t ms) {
  auto rest = ms % 1000;
  return rest == 0 ? ms : ms + (rest > 0 ? 1000 - rest : -rest);
}

/// Fills the schedule fields of `t` from `s` and `now`: trigger type, a
/// trigger for event tasks (kept if it has one), the next fire time.
void apply_schedule(self_ptr self, task_record& t, const task_schedule& s,
                    int64_t now) {
  t.type = s.type;
  t.run_at_ms = s.type == trigger_type::once ? ceil_seconds(s.run_at_ms) : 0;
  if (s.type == trigger_type::event) {
    if (t.trigger_id.empty()) {
      // 128 random bits: the URL is the only credential of a trigger.
      t.trigger_id = random_id("trg_", 32);
      t.trigger_url = self->state.opts.public_url + "/webhook/" + t.trigger_id;
    }
  } else {
    t.trigger_id.clear();
    t.trigger_url.clear();
  }
  t.next_run_ms = next_fire(t, now);
}

caf::result<std::string> create(self_ptr self, const task_caller& caller,
                                uint64_t agent, const task_input& in) {
  task_schedule s;
  json::field_error err;
  if (!check_schedule(*in.schedule, in.run_at_ms, in.timezone, s, err))
    return make_error(ec::invalid_argument, err.message);
  auto rp = self->make_response_promise<std::string>();
  with_agent(self, caller, agent, rp, [self, in, s, rp](const agent_record& a) {
    auto now = self->state.opts.now();
    task_record t;
    t.id = next_time_id();
    t.agent = a.id;
    t.name = *in.name;
    t.prompt = *in.prompt;
    t.schedule = *in.schedule;
    t.enabled = in.enabled.value_or(true);
    t.timezone = in.timezone.value_or("");
    t.created_ms = now;
    t.updated_ms = now;
    apply_schedule(self, t, s, now);
    journal_write w;
    apply_trigger_secret(in, t, w);
    put_task(w, t);
    commit_task(self, std::move(w), t, to_json(t), rp);
  });
  return rp;
}

caf::result<std::string> update(self_ptr self, const task_caller& caller,
                                uint64_t id, const task_input& in) {
  auto rp = self->make_response_promise<std::string>();
  with_task(self, caller, id, rp,
            [self, in, rp](task_record t, const std::string& stored,
                           const agent_record&) mutable {
              auto old = t;
              if (in.name)
                t.name = *in.name;
              if (in.prompt)
                t.prompt = *in.prompt;
              if (in.enabled)
                t.enabled = *in.enabled;
              if (in.timezone)
                t.timezone = *in.timezone;
              else if (in.timezone_cleared)
                t.timezone.clear();
              std::optional<std::string> zone;
              if (!t.timezone.empty())
                zone = t.timezone;
              if (in.schedule)
                t.schedule = *in.schedule;
              std::optional<int64_t> run_at = in.run_at_ms;
              if (!run_at && t.run_at_ms > 0)
                run_at = t.run_at_ms;
              task_schedule s;
              json::field_error err;
              if (!check_schedule(t.schedule, run_at, zone, s, err)) {
                rp.deliver(make_error(ec::invalid_argument, err.message));
                return;
              }
              auto now = self->state.opts.now();
              // A new time for a `once` task arms it again.
              if (in.run_at_ms && ceil_seconds(*in.run_at_ms) != old.run_at_ms)
                t.last_run_ms = 0;
              apply_schedule(self, t, s, now);
              t.updated_ms = now;
              journal_write w;
              w.expects.push_back({task_key(t.id), true, stored});
              if (!old.trigger_id.empty() && old.trigger_id != t.trigger_id)
                w.deletes.push_back(trigger_key(old.trigger_id));
              apply_trigger_secret(in, t, w);
              put_task(w, t);
              commit_task(self, std::move(w), t, to_json(t), rp);
            });
  return rp;
}

caf::result<bool> remove(self_ptr self, const task_caller& caller,
                         uint64_t id) {
  auto rp = self->make_response_promise<bool>();
  with_task(
    self, caller, id, rp,
    [self, rp](task_record t, const std::string& stored,
               const agent_record&) mutable {
      journal_write w;
      w.expects.push_back({task_key(t.id), true, stored});
      w.deletes.push_back(task_key(t.id));
      w.deletes.push_back(storage::pair_key(table::agent_tasks, t.agent, t.id));
      if (!t.trigger_id.empty())
        w.deletes.push_back(trigger_key(t.trigger_id));
      if (t.trigger_secret_set)
        w.deletes.push_back(trigger_secret_key(t.id));
      self
        ->request(self->state.journal, caf::infinite, append_atom::value,
                  std::move(w))
        .then(
          [self, rp, id = t.id](journal_written&) mutable {
            self->send(self->state.clock, schedule_atom::value, id, int64_t{0});
            rp.deliver(true);
          },
          [rp](caf::error& err) mutable {
            rp.deliver(code_of(err) == ec::conflict
                         ? make_error(ec::conflict, "the task changed "
                                                    "meanwhile; try again")
                         : std::move(err));
          });
    });
  return rp;
}

/// The writes that store run `r` (and keep it in the agent's open runs
/// while it has not ended).
void put_run(journal_write& w, const run_record& r) {
  auto obj = to_json(r);
  w.puts.emplace_back(storage::id_key(table::runs, r.id), obj);
  w.puts.emplace_back(storage::pair_key(table::task_runs, r.task, r.id), obj);
  auto open = storage::pair_key(table::open_runs, r.agent, r.id);
  if (run_ended(r) || r.origin == run_origin::agent)
    w.deletes.push_back(std::move(open));
  else
    w.puts.emplace_back(std::move(open), obj);
}

/// Creates a run of `t` and delivers its event (`task_due`, or
/// `task_trigger` for an inbound call) through the outbox, with `extra`
/// written in the same batch. `done` gets the run, or the error.
template <class F>
void start_run(self_ptr self, const task_record& t, const agent_record& a,
               run_origin origin, const trigger_call* call, journal_write extra,
               F done) {
  auto now = self->state.opts.now();
  auto event_id = format_id64("evt_", next_time_id());
  auto run = new_run(t, next_time_id(), origin, event_id, now);
  if (call) {
    run.payload_json = call->payload_json;
    run.headers_json = call->headers_json;
    run.content_type = call->content_type;
    run.received_ms = call->received_ms;
  }
  outbound o;
  o.agent = a.id;
  o.owner = a.owner;
  o.event_id = event_id;
  o.type = call ? "task_trigger" : "task_due";
  o.hops = call ? call->hops : 0;
  o.event_json = call ? task_trigger_event(run) : task_due_event(run);
  o.write = std::move(extra);
  put_run(o.write, run);
  o.frames.push_back(app_frame("task_run", "run", to_json(run)));
  self
    ->request(self->state.outbox, caf::infinite, send_atom::value, std::move(o))
    .then(
      [done, run](std::string&) mutable {
        done(caf::expected<run_record>{std::move(run)});
      },
      [done](caf::error& err) mutable {
        done(caf::expected<run_record>{std::move(err)});
      });
}

caf::result<std::string> run_now(self_ptr self, const task_caller& caller,
                                 uint64_t id) {
  auto rp = self->make_response_promise<std::string>();
  with_task(self, caller, id, rp,
            [self, rp](task_record t, const std::string&,
                       const agent_record& a) mutable {
              start_run(self, t, a, run_origin::manual, nullptr, {},
                        [rp](caf::expected<run_record> r) mutable {
                          if (r)
                            rp.deliver(to_json(*r));
                          else
                            rp.deliver(std::move(r.error()));
                        });
            });
  return rp;
}

caf::result<std::string> run_start(self_ptr self, const task_caller& caller,
                                   uint64_t id) {
  auto rp = self->make_response_promise<std::string>();
  with_task(self, caller, id, rp,
            [self, rp](task_record t, const std::string&,
                       const agent_record& a) mutable {
              auto run = new_run(t, next_time_id(), run_origin::agent, "",
                                 self->state.opts.now());
              journal_write w;
              put_run(w, run);
              auto obj = to_json(run);
              self
                ->request(self->state.journal, caf::infinite,
                          append_atom::value, std::move(w))
                .then(
                  [self, rp, owner = a.owner, obj](journal_written&) mutable {
                    self->send(self->state.dir, publish_atom::value, owner,
                               app_frame("task_run", "run", obj));
                    rp.deliver(obj);
                  },
                  [rp](caf::error& err) mutable {
                    rp.deliver(std::move(err));
                  });
            });
  return rp;
}

caf::result<std::string> run_done(self_ptr self, const task_caller& caller,
                                  uint64_t id, uint64_t task,
                                  const run_completion& c) {
  auto rp = self->make_response_promise<std::string>();
  auto key = storage::id_key(table::runs, id);
  self->request(self->state.journal, caf::infinite, get_atom::value, key)
    .then(
      [self, caller, task, rp, c, key](std::string& stored) mutable {
        auto r = run_from_json(stored);
        if (!r) {
          rp.deliver(make_error(ec::storage_error, "run unreadable"));
          return;
        }
        if ((caller.agent != 0 && r->agent != caller.agent)
            || (task != 0 && r->task != task)) {
          rp.deliver(make_error(ec::not_found, "run not found"));
          return;
        }
        if (run_ended(*r)) {
          rp.deliver(make_error(ec::conflict, "run already " + r->status));
          return;
        }
        r->status = c.status;
        r->result_json = c.result_json;
        r->error_json = c.error_json;
        r->summary = c.summary;
        r->completed_ms = self->state.opts.now();
        journal_write w;
        // Completing twice at once: one wins, the other gets the 409.
        w.expects.push_back({key, true, stored});
        put_run(w, *r);
        auto obj = to_json(*r);
        self
          ->request(self->state.journal, caf::infinite, append_atom::value,
                    std::move(w))
          .then(
            [self, rp, obj, agent = r->agent](journal_written&) mutable {
              rp.deliver(obj);
              // The owner's app sees the run end.
              self
                ->request(self->state.accounts, caf::infinite,
                          agent_find_atom::value, agent)
                .then(
                  [self, obj](agent_record& a) {
                    self->send(self->state.dir, publish_atom::value, a.owner,
                               app_frame("task_run", "run", obj));
                  },
                  [](caf::error&) {});
            },
            [rp](caf::error& err) mutable {
              rp.deliver(code_of(err) == ec::conflict
                           ? make_error(ec::conflict, "run already ended")
                           : std::move(err));
            });
      },
      [rp](caf::error& err) mutable {
        rp.deliver(code_of(err) == ec::not_found
                     ? make_error(ec::not_found, "run not found")
                     : std::move(err));
      });
  return rp;
}

} // namespace

void put_task(journal_write& w, const task_record& t) {
  auto obj = to_json(t);
  w.puts.emplace_back(task_key(t.id), obj);
  w.puts.emplace_back(storage::pair_key(table::agent_tasks, t.agent, t.id),
                      obj);
  if (!t.trigger_id.empty())
    w.puts.emplace_back(trigger_key(t.trigger_id), storage::u64_bytes(t.id));
}

std::optional<task_record> proposed_task(const std::string& decision_json,
                                         const std::string& public_url,
                                         int64_t now, journal_write& w) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(decision_json, doc, err))
    return std::nullopt;
  auto agent = json::string_member(doc, "agent_id");
  auto name = json::string_member(doc, "task_name");
  auto prompt = json::string_member(doc, "task_prompt");
  auto schedule = json::string_member(doc, "task_schedule");
  if (!agent || !name || !prompt || !schedule)
    return std::nullopt;
  task_schedule s;
  if (!check_schedule(*schedule, std::nullopt, std::nullopt, s, err))
    return std::nullopt;
  task_record t;
  t.id = next_time_id();
  t.agent = parse_id64("agt_", *agent).value_or(0);
  if (t.agent == 0)
    return std::nullopt;
  t.name = std::move(*name);
  t.prompt = std::move(*prompt);
  t.schedule = std::move(*schedule);
  t.type = s.type;
  if (s.type == trigger_type::event) {
    t.trigger_id = random_id("trg_", 32);
    t.trigger_url = public_url + "/webhook/" + t.trigger_id;
  }
  t.created_ms = now;
  t.updated_ms = now;
  t.next_run_ms = next_fire(t, now);
  put_task(w, t);
  return t;
}

namespace {

/// Scans [begin, end) newest first, at most `limit` values and about
/// `max_reply_bytes`; `done` gets the values.
template <class T, class F>
void scan_values(self_ptr self, std::string begin, std::string end,
                 uint32_t limit, promise<T> rp, F done) {
  scan_request req{std::move(begin), std::move(end), limit, true,
                   max_reply_bytes};
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [done](std::vector<kv_entry>& entries) mutable {
        std::vector<std::string> values;
        values.reserve(entries.size());
        for (auto& e : entries)
          values.push_back(std::move(e.value));
        done(std::move(values));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
}

/// Tasks of `agents[i..]`, each newest first, at most `limit` each,
/// collected into `acc`; then all of them newest first, at most `limit`.
void list_from(
  self_ptr self, std::shared_ptr<std::vector<uint64_t>> agents, size_t i,
  uint64_t before, uint32_t limit,
  std::shared_ptr<std::vector<std::pair<uint64_t, std::string>>> acc,
  promise<std::string> rp) {
  if (i == agents->size()) {
    std::sort(acc->begin(), acc->end(), [](auto& x, auto& y) {
      return x.first > y.first;
    });
    if (acc->size() > limit)
      acc->resize(limit);
    std::vector<std::string> items;
    for (auto& x : *acc)
      items.push_back(std::move(x.second));
    rp.deliver(json::array_of(items));
    return;
  }
  auto agent = (*agents)[i];
  auto begin = storage::pair_key(table::agent_tasks, agent, 0);
  auto end
    = before != 0
        ? storage::pair_key(table::agent_tasks, agent, before)
        : storage::prefix_end(storage::id_key(table::agent_tasks, agent));
  scan_request req{begin, end, limit, true};
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [=](std::vector<kv_entry>& entries) {
        for (auto& e : entries)
          acc->emplace_back(storage::pair_second(e.key), std::move(e.value));
        list_from(self, agents, i + 1, before, limit, acc, rp);
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
}

/// Most items of one run a run list shows.
constexpr uint32_t max_run_items = 100;

/// Adds to each of `runs[i..]` what the agent sent for it (`task_run_id`):
/// `"items":[{"type","id"},…]`, oldest first; then answers with the list.
void with_items(self_ptr self, std::shared_ptr<std::vector<std::string>> runs,
                size_t i, promise<std::string> rp) {
  if (i == runs->size()) {
    rp.deliver(json::array_of(*runs));
    return;
  }
  auto r = run_from_json((*runs)[i]);
  if (!r) {
    with_items(self, runs, i + 1, rp);
    return;
  }
  auto begin = storage::id_key(table::run_items, r->id);
  scan_request req{begin, storage::prefix_end(begin), max_run_items, false};
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [self, runs, i, rp](std::vector<kv_entry>& entries) mutable {
        std::vector<std::string> items;
        for (auto& e : entries)
          items.push_back(std::move(e.value));
        auto& run = (*runs)[i];
        run.pop_back(); // the object's closing brace
        run += ",\"items\":" + json::array_of(items) + "}";
        with_items(self, runs, i + 1, rp);
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
}

/// The agent's open runs that `keep` selects, rendered by `render`.
template <class Keep, class Render>
caf::result<std::string> open_runs(self_ptr self, uint64_t agent, Keep keep,
                                   Render render) {
  auto rp = self->make_response_promise<std::string>();
  auto begin = storage::id_key(table::open_runs, agent);
  auto end = storage::prefix_end(begin);
  scan_request req{begin, end, 10000, false};
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [rp, keep, render](std::vector<kv_entry>& entries) mutable {
        std::vector<std::string> items;
        for (auto& e : entries)
          if (auto r = run_from_json(e.value); r && keep(*r))
            items.push_back(render(*r));
        rp.deliver(json::array_of(items));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
  return rp;
}

/// Starts the run of a trigger call to task `t` and answers `rp` (202's
/// body).
void run_triggered(self_ptr self, promise<std::string> rp, task_record t,
                   const agent_record& a, const trigger_call& call) {
  start_run(self, t, a, run_origin::event, &call, {},
            [rp](caf::expected<run_record> r) mutable {
              if (!r) {
                rp.deliver(std::move(r.error()));
                return;
              }
              json::writer w;
              w.start_object();
              w.field("status", "accepted");
              w.field("event_id", r->event_id);
              w.field("run_id", format_id64("run_", r->id));
              w.end_object();
              rp.deliver(w.str());
            });
}

caf::result<std::string> trigger(self_ptr self, const trigger_call& call) {
  auto rp = self->make_response_promise<std::string>();
  auto not_found = [rp](caf::error& err) mutable {
    rp.deliver(code_of(err) == ec::not_found
                 ? make_error(ec::not_found, "trigger not found")
                 : std::move(err));
  };
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              trigger_key(call.trigger_id))
    .then(
      [self, rp, call, not_found](std::string& value) mutable {
        if (value.size() != 8) {
          rp.deliver(make_error(ec::storage_error, "trigger unreadable"));
          return;
        }
        with_task(
          self, task_caller{}, storage::get_u64(value), rp,
          [self, rp, call](task_record t, const std::string&,
                           const agent_record& a) mutable {
            if (!t.enabled) {
              rp.deliver(make_error(ec::conflict, "task is disabled"));
              return;
            }
            if (!t.trigger_secret_set) {
              run_triggered(self, rp, std::move(t), a, call);
              return;
            }
            // A signed trigger: the call proves it knows the secret.
            self
              ->request(self->state.journal, caf::infinite, get_atom::value,
                        trigger_secret_key(t.id))
              .then(
                [self, rp, t, a, call](std::string& secret) mutable {
                  if (call.signature.empty()) {
                    rp.deliver(make_error(
                      ec::unauthenticated,
                      "X-Hub-Signature-256: required by this trigger "
                      "(sha256= and the hex HMAC-SHA256 of the body)"));
                    return;
                  }
                  if (!valid_hub_signature(secret, call.body, call.signature)) {
                    rp.deliver(make_error(ec::unauthenticated,
                                          "X-Hub-Signature-256: does not "
                                          "match the body and the trigger "
                                          "secret"));
                    return;
                  }
                  run_triggered(self, rp, std::move(t), a, call);
                },
                [rp](caf::error& err) mutable {
                  rp.deliver(code_of(err) == ec::not_found ? make_error(
                               ec::storage_error, "trigger secret unreadable")
                                                           : std::move(err));
                });
          });
      },
      not_found);
  return rp;
}

/// The clock says task `id` is due (its fire time was `due_ms`).
caf::result<fire_result> fire(self_ptr self, uint64_t id, int64_t due_ms) {
  auto rp = self->make_response_promise<fire_result>();
  self
    ->request(self->state.journal, caf::infinite, get_atom::value, task_key(id))
    .then(
      [self, rp, id, due_ms](std::string& stored) mutable {
        auto t = task_from_json(stored);
        // Fires when the stored time has come by the clock's. A time moved
        // later since the clock heard of it is not due yet (whoever moved
        // it told the clock); one moved earlier is due anyway. Two fires of
        // one time cannot both apply: the write is a compare-and-set on
        // the task as read here.
        auto due = std::max(due_ms, self->state.opts.now());
        if (!t || !t->enabled || t->next_run_ms <= 0 || t->next_run_ms > due) {
          rp.deliver(fire_result{fire_result::unchanged});
          return;
        }
        self
          ->request(self->state.accounts, caf::infinite, agent_find_atom::value,
                    t->agent)
          .then(
            [self, rp, t = *t, stored](agent_record& a) mutable {
              auto now = self->state.opts.now();
              // Missed slots while the server was down fire once: the
              // next time counts from now, not from the missed one.
              t.last_run_ms = now;
              t.next_run_ms = next_fire(t, std::max(now, t.next_run_ms));
              journal_write w;
              w.expects.push_back({task_key(t.id), true, stored});
              put_task(w, t);
              start_run(self, t, a, run_origin::schedule, nullptr, std::move(w),
                        [rp, next = t.next_run_ms](
                          caf::expected<run_record> r) mutable {
                          if (r)
                            rp.deliver(fire_result{next});
                          else if (code_of(r.error()) == ec::conflict)
                            rp.deliver(fire_result{fire_result::unchanged});
                          else
                            rp.deliver(std::move(r.error()));
                        });
            },
            [rp](caf::error& err) mutable {
              // The agent is gone: so are its tasks' runs.
              if (code_of(err) == ec::not_found)
                rp.deliver(fire_result{0});
              else
                rp.deliver(std::move(err));
            });
      },
      [rp](caf::error& err) mutable {
        if (code_of(err) == ec::not_found)
          rp.deliver(fire_result{0});
        else
          rp.deliver(std::move(err));
      });
  return rp;
}

/// Start-up: hands the clock every task's next fire time and every
/// decision's expiry, a chunk of keys at a time, from `begin` on.
void recover_from(self_ptr self, table t, std::string begin, uint64_t count,
                  promise<uint64_t> rp) {
  auto end = storage::prefix_end(std::string(1, static_cast<char>(t)));
  scan_request req{begin, end, self->state.opts.recover_chunk, false};
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [self, t, count, rp](std::vector<kv_entry>& entries) mutable {
        for (auto& e : entries) {
          if (t == table::tasks) {
            auto task = task_from_json(e.value);
            if (task && task->enabled && task->next_run_ms > 0) {
              self->send(self->state.clock, schedule_atom::value, task->id,
                         task->next_run_ms);
              ++count;
            }
          } else if (e.value.size() == 8 && e.key.size() == 9) {
            self->send(self->state.clock, expire_atom::value,
                       storage::get_u64(std::string_view{e.key}.substr(1)),
                       static_cast<int64_t>(storage::get_u64(e.value)));
            ++count;
          }
        }
        if (entries.size() == self->state.opts.recover_chunk) {
          auto next = entries.back().key;
          next.push_back('\0');
          recover_from(self, t, std::move(next), count, rp);
        } else if (t == table::tasks) {
          recover_from(self, table::expiries,
                       std::string(1, static_cast<char>(table::expiries)),
                       count, rp);
        } else {
          rp.deliver(count);
        }
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
}

} // namespace

tasks_actor::behavior_type tasks(self_ptr self, journal_actor journal,
                                 accounts_actor accounts, outbox_actor outbox,
                                 directory_actor dir, task_clock_actor clock,
                                 tasks_options opts) {
  auto& st = self->state;
  st.journal = std::move(journal);
  st.accounts = std::move(accounts);
  st.outbox = std::move(outbox);
  st.dir = std::move(dir);
  st.clock = std::move(clock);
  st.opts = std::move(opts);
  if (!st.opts.now)
    st.opts.now = now_ms;
  return {
    [self](task_new_atom, const task_caller& caller, uint64_t agent,
           const task_input& in) {
      return create(self, caller, agent, in);
    },
    [self](task_list_atom, std::vector<uint64_t>& agents, uint64_t before,
           uint32_t limit) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      list_from(
        self, std::make_shared<std::vector<uint64_t>>(std::move(agents)), 0,
        before, limit,
        std::make_shared<std::vector<std::pair<uint64_t, std::string>>>(), rp);
      return rp;
    },
    [self](task_get_atom, const task_caller& caller, uint64_t id) {
      auto rp = self->make_response_promise<std::string>();
      with_task(
        self, caller, id, rp,
        [rp](task_record t, const std::string&, const agent_record&) mutable {
          rp.deliver(to_json(t));
        });
      return rp;
    },
    [self](task_set_atom, const task_caller& caller, uint64_t id,
           const task_input& in) {
      return update(self, caller, id, in);
    },
    [self](task_del_atom, const task_caller& caller, uint64_t id) {
      return remove(self, caller, id);
    },
    [self](run_now_atom, const task_caller& caller, uint64_t id) {
      return run_now(self, caller, id);
    },
    [self](runs_atom, const task_caller& caller, uint64_t id, uint64_t before,
           uint32_t limit) {
      auto rp = self->make_response_promise<std::string>();
      with_task(
        self, caller, id, rp,
        [self, rp, before, limit](task_record t, const std::string&,
                                  const agent_record&) mutable {
          auto begin = storage::pair_key(table::task_runs, t.id, 0);
          auto end
            = before != 0
                ? storage::pair_key(table::task_runs, t.id, before)
                : storage::prefix_end(storage::id_key(table::task_runs, t.id));
          scan_values(self, begin, end, limit, rp,
                      [self, rp](std::vector<std::string> runs) mutable {
                        with_items(self,
                                   std::make_shared<std::vector<std::string>>(
                                     std::move(runs)),
                                   0, rp);
                      });
        });
      return rp;
    },
    [self](run_start_atom, const task_caller& caller, uint64_t id) {
      return run_start(self, caller, id);
    },
    [self](run_done_atom, const task_caller& caller, uint64_t id, uint64_t task,
           const run_completion& c) {
      return run_done(self, caller, id, task, c);
    },
    [self](due_atom, uint64_t agent) {
      return open_runs(
        self, agent,
        [](const run_record& r) {
          return r.origin != run_origin::event && r.status == "due";
        },
        due_item_json);
    },
    [self](triggers_atom, uint64_t agent) {
      return open_runs(
        self, agent,
        [](const run_record& r) {
          return r.origin == run_origin::event;
        },
        pending_trigger_json);
    },
    [self](trigger_atom, const trigger_call& call) {
      return trigger(self, call);
    },
    [self](fire_atom, uint64_t id, int64_t due_ms) {
      return fire(self, id, due_ms);
    },
    [self](recover_atom) {
      auto rp = self->make_response_promise<uint64_t>();
      recover_from(self, table::tasks,
                   std::string(1, static_cast<char>(table::tasks)), 0, rp);
      return rp;
    },
  };
}

} // namespace nod
