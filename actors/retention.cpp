// The retention sweeper: deletes finished history older than its settings
// in small batches (one journal write per batch, a pause between them),
// then compacts the key ranges it deleted from (each agent's, user's or
// conversation's old end, not whole tables) so that the space comes back.
//
// What is never deleted: an event whose delivery has not finished (its
// record's state is written in the same batch as its pending and in-flight
// marks, so "delivered" is final), a pending decision, a run that has not
// ended. Deleting the newest events of a stream is fine: the stream's
// floor key keeps its seq numbering.

#include "actors/error.hpp"
#include "actors/ingest.hpp"
#include "actors/maintenance.hpp"
#include "metrics/metrics.hpp"
#include "protocol/delivery.hpp"
#include "protocol/ids.hpp"
#include "protocol/json.hpp"
#include "protocol/records.hpp"
#include "protocol/tasks.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>
#include <spdlog/spdlog.h>
#include <unordered_map>
#include <unordered_set>

namespace nod {

using storage::table;

/// One pass: its steps, what it deleted and who waits for it.
struct retention_pass {
  int64_t now = 0;
  std::deque<std::function<void()>> steps;
  retention_counts counts;
  /// How much of `counts` the metric has (it counts written deletions).
  uint64_t counted = 0;
  std::vector<caf::typed_response_promise<retention_counts>> waiting;
  /// The smallest and largest key deleted per region: the table and first
  /// id of a pair key (one agent's stream, one user's activity), or the
  /// table of an id key (time-ordered ids: the old end of the table).
  std::map<std::string, std::pair<std::string, std::string>> deleted;
  /// Agent → owner, read when decisions are swept (their owner's index).
  std::unordered_map<uint64_t, uint64_t> agent_owner;
};

namespace {

using self_ptr = retention_actor::stateful_pointer<retention_state>;

// Keys of time-ordered ids below this were made before `ms`.
uint64_t time_id_floor(int64_t ms) {
  return ms <= 0 ? 0 : static_cast<uint64_t>(ms) << 16;
}

// A scan over [begin, end) whose entries `visit` turns into deletes (or
// stops the range at); `before_write` may add to the batch first.
struct range_job {
  std::string begin;
  std::string end;
  std::function<bool(const kv_entry&, journal_write&)> visit;
  std::function<void(journal_write&, std::function<void()>)> before_write;
};

void run_next(self_ptr self);

uint64_t total_of(const retention_counts& c) {
  return c.activity + c.events + c.runs + c.messages + c.decisions + c.media
         + c.idempotency_keys;
}

// Adds what the pass deleted since the last call to the metric: called once
// a batch is written, so the metric never runs behind the store (a pass's
// compaction can take seconds).
void count_written(self_ptr self) {
  auto& pass = *self->state.pass;
  auto total = total_of(pass.counts);
  if (self->state.deleted_total && total > pass.counted)
    self->state.deleted_total->inc(total - pass.counted);
  pass.counted = total;
}

void finish(self_ptr self) {
  auto pass = self->state.pass;
  self->state.pass.reset();
  auto reply = [pass] {
    auto& c = pass->counts;
    auto total = total_of(c);
    if (total > 0)
      spdlog::info("retention deleted {} activity entries, {} delivered "
                   "events, {} runs, {} messages, {} decisions, {} images, "
                   "{} idempotency keys",
                   c.activity, c.events, c.runs, c.messages, c.decisions,
                   c.media, c.idempotency_keys);
    for (auto& rp : pass->waiting)
      rp.deliver(pass->counts);
  };
  if (pass->deleted.empty()) {
    reply();
    return;
  }
  key_ranges ranges;
  for (auto& [region, r] : pass->deleted)
    ranges.emplace_back(r.first, r.second + '\0');
  // Thousands of regions (agents, users): neighbours in the same table
  // merged in groups, so that a pass makes at most about `max_ranges`
  // compaction calls (`ranges` is in key order: the map's).
  constexpr size_t max_ranges = 256;
  if (ranges.size() > max_ranges) {
    auto group = (ranges.size() + max_ranges - 1) / max_ranges;
    key_ranges merged;
    size_t in_last = 0;
    for (auto& r : ranges) {
      if (!merged.empty() && in_last < group
          && merged.back().first[0] == r.first[0]) {
        merged.back().second = r.second;
        ++in_last;
      } else {
        merged.push_back(r);
        in_last = 1;
      }
    }
    ranges = std::move(merged);
  }
  self
    ->request(self->state.maintenance, caf::infinite, compact_atom::value,
              std::move(ranges))
    .then(
      [pass, reply](uint64_t bytes) {
        pass->counts.store_bytes = bytes;
        reply();
      },
      [reply](caf::error&) {
        reply();
      });
}

// Stops the pass after a failed read or write: what it did stays done.
void abort_pass(self_ptr self, const caf::error& err) {
  spdlog::error("retention pass stopped: {}", detail_of(err));
  if (self->state.pass)
    self->state.pass->steps.clear();
  finish(self);
}

void continue_later(self_ptr self) {
  self->delayed_send(self, self->state.opts.pause, step_atom::value);
}

void note_deleted(retention_pass& pass, const journal_write& w) {
  for (auto& k : w.deletes) {
    if (k.empty())
      continue;
    auto region = k.substr(0, k.size() >= 17 ? 9 : 1);
    auto i = pass.deleted.find(region);
    if (i == pass.deleted.end())
      pass.deleted.emplace(std::move(region), std::make_pair(k, k));
    else {
      i->second.first = std::min(i->second.first, k);
      i->second.second = std::max(i->second.second, k);
    }
  }
}

void sweep_range(self_ptr self, std::shared_ptr<range_job> job) {
  auto limit = self->state.opts.batch;
  scan_request req{job->begin, job->end, limit, false};
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [self, job, limit](std::vector<kv_entry>& entries) {
        auto w = std::make_shared<journal_write>();
        bool stopped = false;
        for (auto& e : entries)
          if (!job->visit(e, *w)) {
            stopped = true;
            break;
          }
        bool more = !stopped && entries.size() == limit;
        if (more)
          job->begin = entries.back().key + '\0';
        auto proceed = [self, job, more] {
          if (more)
            self->state.pass->steps.push_front([self, job] {
              sweep_range(self, job);
            });
          continue_later(self);
        };
        auto write = [self, w, proceed] {
          if (w->deletes.empty() && w->puts.empty()) {
            proceed();
            return;
          }
          note_deleted(*self->state.pass, *w);
          self
            ->request(self->state.journal, caf::infinite, append_atom::value,
                      std::move(*w))
            .then(
              [self, proceed](journal_written&) {
                count_written(self);
                proceed();
              },
              [self](caf::error& err) {
                abort_pass(self, err);
              });
        };
        if (job->before_write && !w->deletes.empty())
          job->before_write(*w, write);
        else
          write();
      },
      [self](caf::error& err) {
        abort_pass(self, err);
      });
}

std::function<void()> range_step(self_ptr self,
                                 std::shared_ptr<range_job> job) {
  return [self, job] {
    sweep_range(self, job);
  };
}

void add_range(self_ptr self, std::shared_ptr<range_job> job) {
  self->state.pass->steps.push_back(range_step(self, std::move(job)));
}

using step_list = std::vector<std::function<void()>>;

// A step that reads the whole of table `t` (users, agents, conversations:
// one row per person, agent or conversation) and puts the steps `plan`
// makes of it first in line. Only passes that need a table read it.
void plan_over_table(self_ptr self, table t,
                     std::function<step_list(std::vector<kv_entry>&)> plan) {
  self->state.pass->steps.push_back([self, t, plan] {
    auto begin = std::string(1, static_cast<char>(t));
    scan_request req{begin, storage::prefix_end(begin), 100000000, false};
    self->request(self->state.journal, caf::infinite, scan_atom::value, req)
      .then(
        [self, plan](std::vector<kv_entry>& rows) {
          auto first = plan(rows);
          auto& steps = self->state.pass->steps;
          steps.insert(steps.begin(), std::make_move_iterator(first.begin()),
                       std::make_move_iterator(first.end()));
          run_next(self);
        },
        [self](caf::error& err) {
          abort_pass(self, err);
        });
  });
}

// The first id of a key `t` + id (8).
uint64_t row_id(const kv_entry& e) {
  return storage::get_u64(std::string_view{e.key}.substr(1));
}

// -- what each setting deletes -----------------------------------------------

/// A visit that deletes every key it is shown, counted in `count`.
std::function<bool(const kv_entry&, journal_write&)>
delete_each(self_ptr self, uint64_t retention_counts::*count) {
  return [self, count](const kv_entry& e, journal_write& w) {
    w.deletes.push_back(e.key);
    ++(self->state.pass->counts.*count);
    return true;
  };
}

/// For each row of table `over` (a user, a conversation), deletes what
/// `target` holds under the row's id from before `cutoff` (keys end in
/// time-ordered ids), counted in `count`.
void plan_per_row(self_ptr self, table over, table target, int64_t cutoff,
                  uint64_t retention_counts::*count) {
  plan_over_table(self, over, [self, target, cutoff, count](auto& rows) {
    step_list steps;
    for (auto& row : rows) {
      auto job = std::make_shared<range_job>();
      job->begin = storage::pair_key(target, row_id(row), 0);
      job->end = storage::pair_key(target, row_id(row), time_id_floor(cutoff));
      job->visit = delete_each(self, count);
      steps.push_back(range_step(self, job));
    }
    return steps;
  });
}

void plan_activity(self_ptr self, int64_t cutoff) {
  plan_per_row(self, table::users, table::user_activity, cutoff,
               &retention_counts::activity);
}

// The steps for the delivered events of `agent`: its stream floor as
// stored (it only ever moves up), then its delivery records in seq order.
std::function<void()> agent_events_step(self_ptr self, uint64_t agent,
                                        int64_t cutoff) {
  auto floor = std::make_shared<uint64_t>(0);
  auto job = std::make_shared<range_job>();
  job->begin = storage::pair_key(table::deliveries, agent, 0);
  job->end = storage::prefix_end(storage::id_key(table::deliveries, agent));
  job->visit = [self, agent, cutoff](const kv_entry& e, journal_write& w) {
    delivery_record r;
    if (!from_json(e.value, r))
      return true;
    // Records are in seq order, which is creation order.
    if (r.created_ms >= cutoff)
      return false;
    if (r.state != delivery_states::delivered || r.updated_ms >= cutoff)
      return true;
    auto seq = storage::pair_second(e.key);
    w.deletes.push_back(e.key);
    w.deletes.push_back(storage::stream_key(agent, seq));
    ++self->state.pass->counts.events;
    return true;
  };
  job->before_write
    = [agent, floor](journal_write& w, std::function<void()> done) {
        uint64_t top = 0;
        for (auto& k : w.deletes)
          if (auto d = storage::decode_stream_key(k))
            top = std::max(top, d->second);
        if (top > *floor) {
          *floor = top;
          w.puts.emplace_back(storage::stream_floor_key(agent),
                              storage::u64_bytes(top));
        }
        done();
      };
  return [self, agent, floor, job] {
    self
      ->request(self->state.journal, caf::infinite, get_atom::value,
                storage::stream_floor_key(agent))
      .then(
        [self, floor, job](std::string& v) {
          if (v.size() == 8)
            *floor = storage::get_u64(v);
          sweep_range(self, job);
        },
        [self, job](caf::error& err) {
          if (code_of(err) == ec::not_found)
            sweep_range(self, job);
          else
            abort_pass(self, err);
        });
  };
}

// Finds the next agent from `from` on with delivery records (deleted
// agents' too: their delivered events age like any other) and puts its
// steps, then the search for the one after, first in line.
void next_agent_events(self_ptr self, int64_t cutoff, uint64_t from) {
  auto table_start = std::string(1, static_cast<char>(table::deliveries));
  scan_request req{storage::id_key(table::deliveries, from),
                   storage::prefix_end(table_start), 1, false};
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [self, cutoff](std::vector<kv_entry>& found) {
        if (found.empty() || found[0].key.size() < 9) {
          run_next(self);
          return;
        }
        auto agent = storage::get_u64(std::string_view{found[0].key}.substr(1));
        auto& steps = self->state.pass->steps;
        if (agent != UINT64_MAX)
          steps.push_front([self, cutoff, agent] {
            next_agent_events(self, cutoff, agent + 1);
          });
        steps.push_front(agent_events_step(self, agent, cutoff));
        run_next(self);
      },
      [self](caf::error& err) {
        abort_pass(self, err);
      });
}

void plan_events(self_ptr self, int64_t cutoff) {
  self->state.pass->steps.push_back([self, cutoff] {
    next_agent_events(self, cutoff, 0);
  });
}

void plan_runs(self_ptr self, int64_t cutoff) {
  auto job = std::make_shared<range_job>();
  job->begin = storage::id_key(table::runs, 0);
  job->end = storage::id_key(table::runs, time_id_floor(cutoff));
  job->visit = [self](const kv_entry& e, journal_write& w) {
    auto r = run_from_json(e.value);
    if (!r || !run_ended(*r))
      return true;
    w.deletes.push_back(e.key);
    w.deletes.push_back(storage::pair_key(table::task_runs, r->task, r->id));
    ++self->state.pass->counts.runs;
    return true;
  };
  // What agents sent for those runs goes with them.
  job->before_write = [self](journal_write& w, std::function<void()> done) {
    std::unordered_set<uint64_t> runs;
    uint64_t lo = UINT64_MAX;
    uint64_t hi = 0;
    for (auto& k : w.deletes)
      if (!k.empty() && static_cast<uint8_t>(k[0]) == uint8_t(table::runs)) {
        auto id = storage::get_u64(std::string_view{k}.substr(1));
        runs.insert(id);
        lo = std::min(lo, id);
        hi = std::max(hi, id);
      }
    if (runs.empty()) {
      done();
      return;
    }
    scan_request req{storage::id_key(table::run_items, lo),
                     storage::id_key(table::run_items, hi + 1), 1000000, false};
    auto wp = &w;
    self->request(self->state.journal, caf::infinite, scan_atom::value, req)
      .then(
        [wp, runs = std::move(runs), done](std::vector<kv_entry>& items) {
          for (auto& e : items)
            if (runs.count(storage::get_u64(std::string_view{e.key}.substr(1))))
              wp->deletes.push_back(e.key);
          done();
        },
        [self](caf::error& err) {
          abort_pass(self, err);
        });
  };
  add_range(self, job);
}

std::function<void()> decisions_step(self_ptr self, int64_t cutoff);

void plan_messages(self_ptr self, int64_t cutoff) {
  plan_per_row(self, table::conversations, table::messages, cutoff,
               &retention_counts::messages);
  plan_over_table(self, table::agents, [self, cutoff](auto& agents) {
    for (auto& row : agents) {
      agent_record a;
      if (from_storage(row.value, a))
        self->state.pass->agent_owner[a.id] = a.owner;
    }
    return step_list{decisions_step(self, cutoff)};
  });
}

// Decisions no longer pending, with their expiry and their owner's index
// key (known from `agent_owner`).
std::function<void()> decisions_step(self_ptr self, int64_t cutoff) {
  auto job = std::make_shared<range_job>();
  job->begin = storage::id_key(table::decisions, 0);
  job->end = storage::id_key(table::decisions, time_id_floor(cutoff));
  job->visit = [self](const kv_entry& e, journal_write& w) {
    json::document doc;
    json::field_error err;
    if (!json::parse_object(e.value, doc, err))
      return true;
    auto status = json::string_member(doc, "status");
    auto agent_text = json::string_member(doc, "agent_id");
    if (!status || *status == "pending" || !agent_text)
      return true;
    auto agent = parse_id64("agt_", *agent_text);
    auto& owners = self->state.pass->agent_owner;
    // Without its agent the owner's index key is unknown: keep it.
    auto owner = agent ? owners.find(*agent) : owners.end();
    if (owner == owners.end())
      return true;
    auto id = storage::get_u64(std::string_view{e.key}.substr(1));
    w.deletes.push_back(e.key);
    w.deletes.push_back(storage::id_key(table::expiries, id));
    w.deletes.push_back(
      storage::pair_key(table::user_decisions, owner->second, id));
    ++self->state.pass->counts.decisions;
    return true;
  };
  return range_step(self, job);
}

// Images are made with their message (time ids): those older than the
// cutoff belong to deleted messages.
void plan_media(self_ptr self, int64_t cutoff) {
  auto job = std::make_shared<range_job>();
  job->begin = storage::id_key(table::media, 0);
  job->end = storage::id_key(table::media, time_id_floor(cutoff));
  job->visit = delete_each(self, &retention_counts::media);
  add_range(self, job);
}

// Idempotency records answer repeats for 24 hours; after that they are
// dead weight. Keyed by agent and hash, not time: the whole table is read.
void plan_idempotency(self_ptr self, int64_t now) {
  auto job = std::make_shared<range_job>();
  auto table_start = std::string(1, static_cast<char>(table::idempotency));
  job->begin = table_start;
  job->end = storage::prefix_end(table_start);
  job->visit = [self, now](const kv_entry& e, journal_write& w) {
    // The record starts with its time, Unix ms, and a newline.
    int64_t at = 0;
    auto nl = e.value.find('\n');
    if (nl == std::string::npos)
      return true;
    auto [end, ec] = std::from_chars(e.value.data(), e.value.data() + nl, at);
    if (ec != std::errc{} || now - at <= idempotency_ttl_ms)
      return true;
    w.deletes.push_back(e.key);
    ++self->state.pass->counts.idempotency_keys;
    return true;
  };
  add_range(self, job);
}

// Plans what the periods ask for, then runs the steps one by one.
void start_pass(self_ptr self) {
  auto pass = std::make_shared<retention_pass>();
  self->state.pass = pass;
  auto& opts = self->state.opts;
  pass->now = opts.clock ? opts.clock() : now_ms();
  const auto& p = self->state.periods;
  auto now = pass->now;
  if (p.activity_ms > 0)
    plan_activity(self, now - p.activity_ms);
  if (p.delivered_events_ms > 0)
    plan_events(self, now - p.delivered_events_ms);
  if (p.runs_ms > 0)
    plan_runs(self, now - p.runs_ms);
  if (p.messages_ms > 0) {
    plan_messages(self, now - p.messages_ms);
    plan_media(self, now - p.messages_ms);
  }
  plan_idempotency(self, now);
  run_next(self);
}

void run_next(self_ptr self) {
  auto& pass = self->state.pass;
  if (!pass)
    return;
  if (pass->steps.empty()) {
    finish(self);
    return;
  }
  auto step = std::move(pass->steps.front());
  pass->steps.pop_front();
  step();
}

void arm_timer(self_ptr self) {
  auto& st = self->state;
  if (st.periods.interval_ms > 0)
    self->delayed_send(self, std::chrono::milliseconds{st.periods.interval_ms},
                       timeout_atom::value, st.timer_generation);
}

} // namespace

retention_actor::behavior_type
retention(retention_actor::stateful_pointer<retention_state> self,
          journal_actor journal, maintenance_actor maintenance,
          retention_options opts) {
  self->state.journal = std::move(journal);
  self->state.maintenance = std::move(maintenance);
  self->state.opts = std::move(opts);
  if (auto* m = self->state.opts.metrics)
    self->state.deleted_total = &m->get_counter(
      "nod_retention_deleted_total",
      "Entries retention deleted (activity, delivered events, runs, "
      "messages, decisions).");
  arm_timer(self);
  return {
    [self](sweep_atom) -> caf::result<retention_counts> {
      auto rp = self->make_response_promise<retention_counts>();
      bool idle = !self->state.pass;
      if (idle)
        start_pass(self);
      if (self->state.pass)
        self->state.pass->waiting.push_back(rp);
      return rp;
    },
    [self](step_atom) {
      run_next(self);
    },
    [self](timeout_atom, uint64_t generation) {
      if (generation != self->state.timer_generation)
        return;
      if (!self->state.pass)
        start_pass(self);
      arm_timer(self);
    },
    [self](const retention_periods& p) {
      auto& st = self->state;
      bool rearm = st.periods.interval_ms != p.interval_ms;
      st.periods = p;
      if (rearm) {
        ++st.timer_generation;
        arm_timer(self);
      }
    },
  };
}

} // namespace nod
