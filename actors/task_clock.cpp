#include "actors/task_clock.hpp"

#include "protocol/ids.hpp"
#include "protocol/time.hpp"

#include <algorithm>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace nod {

namespace {

using self_ptr = task_clock_actor::stateful_pointer<task_clock_state>;
using item = task_clock_state::item;

std::unordered_map<uint64_t, int64_t>& times_of(task_clock_state& st,
                                                bool decision) {
  return decision ? st.expiry_times : st.task_times;
}

void push(task_clock_state& st, item x) {
  st.heap.push_back(x);
  std::push_heap(st.heap.begin(), st.heap.end(), std::greater<item>{});
}

/// The heap item is still what its entry says (not replaced or removed).
bool live(task_clock_state& st, const item& x) {
  auto& times = times_of(st, x.decision);
  auto i = times.find(x.id);
  return i != times.end() && i->second == x.at;
}

/// Drops stale items from the top, and rebuilds the heap when most of it
/// is stale, so memory follows the live entries.
void prune(task_clock_state& st) {
  auto live_count = st.task_times.size() + st.expiry_times.size();
  if (st.heap.size() > 2 * live_count + 1024) {
    st.heap.clear();
    for (auto& [id, at] : st.task_times)
      st.heap.push_back({at, id, false});
    for (auto& [id, at] : st.expiry_times)
      st.heap.push_back({at, id, true});
    std::make_heap(st.heap.begin(), st.heap.end(), std::greater<item>{});
    return;
  }
  while (!st.heap.empty() && !live(st, st.heap.front())) {
    std::pop_heap(st.heap.begin(), st.heap.end(), std::greater<item>{});
    st.heap.pop_back();
  }
}

/// Makes sure a tick comes by the earliest entry's time (or the longest
/// sleep).
void arm(self_ptr self) {
  auto& st = self->state;
  prune(st);
  if (st.heap.empty())
    return;
  auto now = st.opts.now();
  auto at = std::min(st.heap.front().at, now + st.opts.max_sleep_ms);
  if (st.armed_at != 0 && st.armed_at <= at)
    return;
  st.armed_at = at;
  self->delayed_send(self,
                     std::chrono::milliseconds{std::max<int64_t>(0, at - now)},
                     tick_atom::value);
}

void set_entry(self_ptr self, uint64_t id, int64_t at, bool decision) {
  auto& times = times_of(self->state, decision);
  if (at <= 0) {
    times.erase(id);
    return;
  }
  times[id] = at;
  push(self->state, {at, id, decision});
  arm(self);
}

void run_due(self_ptr self);

void fire_task(self_ptr self, uint64_t id, int64_t at) {
  auto& st = self->state;
  ++st.in_flight;
  self->request(st.tasks, caf::infinite, fire_atom::value, id, at)
    .then(
      [self, id](fire_result& r) {
        auto& st = self->state;
        --st.in_flight;
        // A schedule that came meanwhile is newer than this reply.
        if (r.next_ms > 0 && !st.task_times.count(id))
          set_entry(self, id, r.next_ms, false);
        run_due(self);
      },
      [self, id, at](caf::error& err) {
        auto& st = self->state;
        --st.in_flight;
        spdlog::warn("task {}: firing failed ({}); retrying later",
                     format_id64("tsk_", id), caf::to_string(err));
        if (!st.task_times.count(id))
          set_entry(self, id, std::max(at, st.opts.now()) + st.opts.retry_ms,
                    false);
        run_due(self);
      });
}

void expire_decision(self_ptr self, uint64_t id) {
  auto& st = self->state;
  ++st.in_flight;
  self->request(st.actions, caf::infinite, expire_decision_atom::value, id)
    .then(
      [self](bool) {
        --self->state.in_flight;
        run_due(self);
      },
      [self, id](caf::error& err) {
        auto& st = self->state;
        --st.in_flight;
        spdlog::warn("decision {}: expiring failed ({}); retrying later",
                     format_id64("dec_", id), caf::to_string(err));
        if (!st.expiry_times.count(id))
          set_entry(self, id, st.opts.now() + st.opts.retry_ms, true);
        run_due(self);
      });
}

/// Hands out every due entry, up to the in-flight limit, then sleeps
/// until the next.
void run_due(self_ptr self) {
  auto& st = self->state;
  if (!st.tasks || !st.actions)
    return;
  auto now = st.opts.now();
  while (st.in_flight < st.opts.max_in_flight) {
    prune(st);
    if (st.heap.empty() || st.heap.front().at > now)
      break;
    auto x = st.heap.front();
    std::pop_heap(st.heap.begin(), st.heap.end(), std::greater<item>{});
    st.heap.pop_back();
    times_of(st, x.decision).erase(x.id);
    if (x.decision)
      expire_decision(self, x.id);
    else
      fire_task(self, x.id, x.at);
  }
  arm(self);
}

} // namespace

task_clock_actor::behavior_type task_clock(self_ptr self,
                                           task_clock_options opts) {
  if (!opts.now)
    opts.now = now_ms;
  self->state.opts = std::move(opts);
  return {
    [self](schedule_atom, uint64_t task, int64_t at) {
      set_entry(self, task, at, false);
    },
    [self](expire_atom, uint64_t decision, int64_t at) {
      set_entry(self, decision, at, true);
    },
    [self](join_atom, tasks_actor& tasks, actions_actor& actions) {
      self->state.tasks = std::move(tasks);
      self->state.actions = std::move(actions);
      run_due(self);
    },
    [self](tick_atom) {
      self->state.armed_at = 0;
      run_due(self);
    },
    [self](entry_count_atom) {
      auto& st = self->state;
      return static_cast<uint64_t>(st.task_times.size()
                                   + st.expiry_times.size());
    },
  };
}

} // namespace nod
