#pragma once

#include "actors/actors.hpp"
#include "actors/task_interfaces.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace nod {

/// Settings of the tasks actor.
struct tasks_options {
  /// Base of trigger URLs, e.g. "http://127.0.0.1:8000" (NOD_PUBLIC_URL).
  std::string public_url;
  /// Keys read per scan while handing tasks to the clock at start-up.
  uint32_t recover_chunk = 4096;
  /// Wall clock, Unix ms (null: `now_ms`; tests give one that follows
  /// virtual time, like the clock's).
  std::function<int64_t()> now;
};

/// State of the tasks actor. It keeps nothing of tasks in memory: the
/// journal holds them, and the clock holds their next fire times.
struct tasks_state {
  static inline const char* name = "tasks";

  journal_actor journal;
  accounts_actor accounts;
  outbox_actor outbox;
  directory_actor dir;
  task_clock_actor clock;
  tasks_options opts;
};

/// Behavior of the tasks actor (API.md A5, B2 tasks).
tasks_actor::behavior_type
tasks(tasks_actor::stateful_pointer<tasks_state> self, journal_actor journal,
      accounts_actor accounts, outbox_actor outbox, directory_actor dir,
      task_clock_actor clock, tasks_options opts);

/// The new task of an approved `task_proposal` decision, with its writes
/// added to `w` (shared with the actions actor, which resolves the
/// decision in the same batch). Nothing if the proposal's schedule no
/// longer parses.
std::optional<task_record> proposed_task(const std::string& decision_json,
                                         const std::string& public_url,
                                         int64_t now, journal_write& w);

/// Adds the writes that store `t` (task, agent index, trigger) to `w`.
void put_task(journal_write& w, const task_record& t);

} // namespace nod
