#pragma once

// Tasks and their runs (API.md A5, B2): request parsing, schedules, the
// stored objects and the events that wake agents. Pure functions; the
// `tasks` actor does the I/O.

#include "protocol/cron.hpp"
#include "protocol/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nod {

/// Limits of task fields.
namespace task_limits {
constexpr size_t name = 200;
constexpr size_t prompt = 64 * 1024;
constexpr size_t schedule = 200;
constexpr size_t timezone = 64;
/// A run's `result` or `error`, serialized.
constexpr size_t result = 256 * 1024;
/// A run's `summary`: a line or a paragraph for the person.
constexpr size_t summary = 16 * 1024;
/// An inbound trigger's body (A5).
constexpr size_t trigger_body = 1024 * 1024;
/// A trigger URL's signing secret.
constexpr size_t trigger_secret = 256;
} // namespace task_limits

/// A create or patch request: `{name, prompt, schedule, run_at?,
/// timezone?, enabled?, trigger_secret?}`. Absent members stay absent (a
/// patch keeps them).
struct task_input {
  std::optional<std::string> name;
  std::optional<std::string> prompt;
  std::optional<std::string> schedule;
  /// ISO-8601, parsed.
  std::optional<int64_t> run_at_ms;
  /// Present and null in a patch: back to UTC.
  std::optional<std::string> timezone;
  bool timezone_cleared = false;
  std::optional<bool> enabled;
  /// Calls of the trigger URL must be signed with it (GitHub's
  /// `X-Hub-Signature-256`); present and null in a patch: no more.
  std::optional<std::string> trigger_secret;
  bool trigger_secret_cleared = false;
};

/// Reads a create (`patch` false: name, prompt, schedule required) or a
/// patch request. Checks types and sizes only; `check_schedule` checks
/// the schedule itself.
bool parse_task_input(const json::value& body, bool patch, task_input& out,
                      json::field_error& err);

/// What `schedule` means (A5): cron → scheduled, "once" → once, "event".
enum class trigger_type { scheduled, once, event };

const char* to_string(trigger_type t);

/// A checked schedule.
struct task_schedule {
  trigger_type type = trigger_type::scheduled;
  cron::schedule cron;
  /// `once`: when.
  int64_t run_at_ms = 0;
  /// Null: UTC.
  const date::time_zone* zone = nullptr;
};

/// Checks `schedule` with `run_at` and `timezone`: a cron expression that
/// can fire, "once" with `run_at`, or "event"; a time zone the system
/// knows. On failure `err` names the field and says what is wrong.
bool check_schedule(std::string_view schedule, std::optional<int64_t> run_at_ms,
                    const std::optional<std::string>& timezone,
                    task_schedule& out, json::field_error& err);

/// A stored task. Its JSON is the API object (A5, B2) plus `trigger_id`.
struct task_record {
  uint64_t id = 0;
  uint64_t agent = 0;
  std::string name;
  std::string prompt;
  std::string schedule;
  trigger_type type = trigger_type::scheduled;
  bool enabled = true;
  int64_t run_at_ms = 0;
  std::string timezone;
  /// Event tasks: the unguessable id of the trigger URL, and the URL.
  std::string trigger_id;
  std::string trigger_url;
  /// Calls of the trigger URL must be signed (the secret is kept apart).
  bool trigger_secret_set = false;
  /// When the clock fires it next (0: not scheduled).
  int64_t next_run_ms = 0;
  int64_t last_run_ms = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

std::string to_json(const task_record& t);
/// Reads a stored task; nothing if it is unreadable.
std::optional<task_record> task_from_json(std::string_view text);

/// When `t` fires next after `after_ms`, going by its stored fields:
/// scheduled → the cron's next time; once → `run_at` unless it already
/// ran at or after it; event or disabled → 0.
int64_t next_fire(const task_record& t, int64_t after_ms);

/// How a run came about.
enum class run_origin { schedule, manual, event, agent };

const char* to_string(run_origin o);

/// A stored run of a task. Carries the task's name, prompt and schedule
/// as they were, so the agent's lists need no second read.
struct run_record {
  uint64_t id = 0;
  uint64_t task = 0;
  uint64_t agent = 0;
  run_origin origin = run_origin::schedule;
  /// due (created, not yet started), running, completed or failed.
  std::string status = "due";
  std::string task_name;
  std::string task_prompt;
  std::string schedule;
  std::string trigger_type;
  /// The event that woke the agent (empty for runs the agent started).
  std::string event_id;
  /// Event runs: the trigger's body as JSON (a string when it was not
  /// JSON), and when it came.
  std::string payload_json;
  int64_t received_ms = 0;
  /// Event runs: the call's headers as a JSON object (empty: none) and its
  /// `Content-Type` (empty: none).
  std::string headers_json;
  std::string content_type;
  /// `result` and `error` as JSON values (empty: null).
  std::string result_json;
  std::string error_json;
  /// What the agent said it did, for the person (absent: null).
  std::optional<std::string> summary;
  int64_t created_ms = 0;
  int64_t completed_ms = 0;
};

std::string to_json(const run_record& r);
std::optional<run_record> run_from_json(std::string_view text);

/// A run has ended (completed or failed).
bool run_ended(const run_record& r);

/// A new run of `t`, created at `at_ms`.
run_record new_run(const task_record& t, uint64_t run_id, run_origin origin,
                   std::string event_id, int64_t at_ms);

/// `task_due` (A4, without `seq`).
std::string task_due_event(const run_record& r);
/// `task_trigger` (A4, without `seq`).
std::string task_trigger_event(const run_record& r);

/// An item of `GET /api/agent/tasks/due`.
std::string due_item_json(const run_record& r);
/// An item of `GET /api/agent/tasks/triggers/pending`.
std::string pending_trigger_json(const run_record& r);

/// A run's completion: `{status: completed|failed, result?, error?,
/// summary?}`; `run_id` is read too (the task-path variant needs it).
struct run_completion {
  std::string status;
  std::string result_json;
  std::string error_json;
  std::optional<std::string> summary;
  std::optional<std::string> run_id;
};

bool parse_run_completion(const json::value& body, run_completion& out,
                          json::field_error& err);

/// An inbound trigger's body as the `payload` JSON value: the body itself
/// when it is JSON, else a JSON string of it (invalid UTF-8 replaced).
std::string trigger_payload(std::string_view body);

/// An inbound trigger's headers (names in lower case, as received) as the
/// JSON object `task_trigger` carries: credentials (`authorization`,
/// `cookie`, `proxy-authorization`) left out, a repeated name's values
/// joined with ", " (RFC 9110 5.3), invalid UTF-8 replaced.
std::string trigger_headers_json(
  const std::vector<std::pair<std::string, std::string>>& headers);

} // namespace nod
