#pragma once

#include "actors/actors.hpp"
#include "actors/task_interfaces.hpp"

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace nod {

/// Settings of the task clock.
struct task_clock_options {
  /// Wall clock, Unix ms (tests give one that follows virtual time).
  std::function<int64_t()> now;
  /// Longest sleep: a wall clock stepped by NTP is noticed within it.
  int64_t max_sleep_ms = 60'000;
  /// Most fires and expiries waiting for their actor at once; the rest
  /// wait their turn (thousands of tasks missed while the server was
  /// down do not flood the journal at start-up).
  size_t max_in_flight = 256;
  /// Wait before retrying an expiry that failed (storage trouble).
  int64_t retry_ms = 60'000;
};

/// State of the task clock: the time of every entry, and a min-heap over
/// them. A changed or removed entry leaves its old heap item behind,
/// skipped when it comes up (lazy deletion).
struct task_clock_state {
  static inline const char* name = "task_clock";

  struct item {
    int64_t at = 0;
    uint64_t id = 0;
    bool decision = false;
    bool operator>(const item& x) const {
      return at > x.at;
    }
  };

  task_clock_options opts;
  tasks_actor tasks;
  actions_actor actions;
  std::unordered_map<uint64_t, int64_t> task_times;
  std::unordered_map<uint64_t, int64_t> expiry_times;
  std::vector<item> heap;
  /// Earliest tick on its way (0: none).
  int64_t armed_at = 0;
  size_t in_flight = 0;
};

/// Behavior of the task clock (docs/tasks.md). Due tasks go to `fire` on
/// the tasks actor, due expiries to `expire_decision` on the actions actor;
/// both are given with `join`, after spawning.
task_clock_actor::behavior_type
task_clock(task_clock_actor::stateful_pointer<task_clock_state> self,
           task_clock_options opts);

} // namespace nod
