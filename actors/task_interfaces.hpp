#pragma once

// The tasks actor and the task clock: their interfaces and the messages
// they exchange (the task half of actors/actors.hpp, which has the rest).

#include "actors/actors.hpp"
#include "protocol/tasks.hpp"

namespace nod {

/// Tasks and runs: create, list, read, change, delete; run now; the
/// agent's runs; inbound triggers; the clock firing a task.
using task_new_atom = caf::atom_constant<caf::atom("tasknew")>;
using task_list_atom = caf::atom_constant<caf::atom("tasklist")>;
using task_get_atom = caf::atom_constant<caf::atom("taskget")>;
using task_set_atom = caf::atom_constant<caf::atom("taskset")>;
using task_del_atom = caf::atom_constant<caf::atom("taskdel")>;
using run_now_atom = caf::atom_constant<caf::atom("runnow")>;
using runs_atom = caf::atom_constant<caf::atom("runs")>;
using run_start_atom = caf::atom_constant<caf::atom("runstart")>;
using run_done_atom = caf::atom_constant<caf::atom("rundone")>;
using due_atom = caf::atom_constant<caf::atom("due")>;
using triggers_atom = caf::atom_constant<caf::atom("triggers")>;
using trigger_atom = caf::atom_constant<caf::atom("trigger")>;
using fire_atom = caf::atom_constant<caf::atom("fire")>;
/// Clock entries: a task's next fire time, a decision's expiry.
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
/// Internal to the clock: the earliest entry may be due.
using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// Who asks the tasks actor: a person (`user`) or an agent (`agent`).
/// Anything not theirs is `not_found`.
struct task_caller {
  uint64_t user = 0;
  uint64_t agent = 0;
};

/// An inbound trigger call (A5).
struct trigger_call {
  std::string trigger_id;
  /// The body as the `payload` JSON value.
  std::string payload_json;
  int64_t received_ms = 0;
  /// The call's `X-Nod-Hops` (0 without one).
  unsigned hops = 0;
  /// The call's headers as a JSON object (`trigger_headers_json`) and its
  /// `Content-Type` (empty: none).
  std::string headers_json;
  std::string content_type;
  /// The body as it came, and its `X-Hub-Signature-256` (empty: none):
  /// checked when the task has a trigger secret.
  std::string body;
  std::string signature;
};

/// Reply to a clock's `fire`: when the task fires next (0: not again),
/// or `unchanged` when its schedule moved meanwhile (the clock has been
/// told the new one).
struct fire_result {
  static constexpr int64_t unchanged = -1;
  int64_t next_ms = 0;
};

} // namespace nod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::task_caller)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::task_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::trigger_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::fire_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::run_completion)

namespace nod {

/// Tasks and runs over the journal; wakes agents through the outbox.
/// Errors: `invalid_argument`, `forbidden` (approval-only agent),
/// `not_found`, `conflict` (run already ended; trigger of a disabled task),
/// `storage_error`. Replies are API JSON.
using tasks_actor = caf::typed_actor<
  // caller, agent, input → the task.
  caf::replies_to<task_new_atom, task_caller, uint64_t,
                  task_input>::with<std::string>,
  // agents, before (0: newest), limit → their tasks, newest first.
  caf::replies_to<task_list_atom, std::vector<uint64_t>, uint64_t,
                  uint32_t>::with<std::string>,
  caf::replies_to<task_get_atom, task_caller, uint64_t>::with<std::string>,
  // caller, task, patch → the task.
  caf::replies_to<task_set_atom, task_caller, uint64_t,
                  task_input>::with<std::string>,
  caf::replies_to<task_del_atom, task_caller, uint64_t>::with<bool>,
  // caller, task → the new run (delivers `task_due`).
  caf::replies_to<run_now_atom, task_caller, uint64_t>::with<std::string>,
  // caller, task, before, limit → runs, newest first.
  caf::replies_to<runs_atom, task_caller, uint64_t, uint64_t,
                  uint32_t>::with<std::string>,
  // caller (agent), task → the new run, started by the agent.
  caf::replies_to<run_start_atom, task_caller, uint64_t>::with<std::string>,
  // caller (agent), run, its task (0: any of the caller's), completion →
  // the run.
  caf::replies_to<run_done_atom, task_caller, uint64_t, uint64_t,
                  run_completion>::with<std::string>,
  // agent → `GET /api/agent/tasks/due`.
  caf::replies_to<due_atom, uint64_t>::with<std::string>,
  // agent → `GET /api/agent/tasks/triggers/pending`.
  caf::replies_to<triggers_atom, uint64_t>::with<std::string>,
  // An inbound trigger → `{"status":"accepted","event_id","run_id"}`.
  caf::replies_to<trigger_atom, trigger_call>::with<std::string>,
  // From the clock: task, the fire time it had.
  caf::replies_to<fire_atom, uint64_t, int64_t>::with<fire_result>,
  // Start-up: hand every task's next fire time and every decision's
  // expiry to the clock → how many entries.
  caf::replies_to<recover_atom>::with<uint64_t>>;

/// Timers of tasks and decision expiries: keeps every entry's time and
/// sleeps until the earliest, so idle entries cost nothing per tick.
using task_clock_actor = caf::typed_actor<
  // task, Unix ms (0: remove).
  caf::reacts_to<schedule_atom, uint64_t, int64_t>,
  // decision, Unix ms (0: remove).
  caf::reacts_to<expire_atom, uint64_t, int64_t>,
  // Where due entries go.
  caf::reacts_to<join_atom, tasks_actor, actions_actor>,
  caf::reacts_to<tick_atom>,
  // → entries held (tasks + decisions).
  caf::replies_to<entry_count_atom>::with<uint64_t>>;

} // namespace nod
