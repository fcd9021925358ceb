#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Key layout of the store. Keys are byte strings ordered bytewise: a
// one-byte table prefix, then big-endian numbers, so that a range scan
// returns ascending ids and `seq` order. Variable-length strings only ever
// end a key. Values are opaque to this file.

namespace nod::storage {

/// One-byte prefix of every key; each table is a contiguous key range.
enum class table : uint8_t {
  /// Store-wide facts, e.g. the schema version.
  meta = 0x01,
  /// Per-agent outbound stream: agent (8) + seq (8) → event.
  stream = 0x10,
  /// Per-agent delivery cursor: agent (8) → seq delivered up to (8).
  cursor = 0x11,
  /// Users: user (8) → user record.
  users = 0x20,
  /// Unique usernames: username → user (8).
  usernames = 0x21,
  /// Login sessions: SHA-256 hex of the token → session record.
  sessions = 0x22,
  /// Agents: agent (8) → agent record.
  agents = 0x23,
  /// Conversations: conversation (8) → conversation object.
  conversations = 0x30,
  /// Conversations of an agent: agent (8) + conversation (8) → "".
  agent_conversations = 0x31,
  /// Messages of a conversation: conversation (8) + message (8) → message.
  messages = 0x32,
  /// Decisions: decision (8) → decision object.
  decisions = 0x33,
  /// Decisions of a user: user (8) + decision (8) → "".
  user_decisions = 0x34,
  /// Activity feed of a user: user (8) + entry (8) → activity object.
  user_activity = 0x35,
  /// Images agents sent: media (8) → content type, agent, bytes.
  media = 0x36,
  /// Idempotency keys: agent (8) + SHA-256 hex of the key → first reply.
  idempotency = 0x37,
  /// Deliveries of events to agents: agent (8) + seq (8) → delivery record
  /// (every attempt and the current state; the seq is the key's).
  deliveries = 0x40,
  /// Events parked as pending (served to polling and resume): agent (8) +
  /// seq (8) → "".
  pending = 0x41,
  /// Events whose delivery has not finished: agent (8) + seq (8) → owner
  /// (8). Read whole at start-up to resume them.
  in_flight = 0x42,
  /// Tasks: task (8) → task object (API.md A5, with `trigger_id`).
  tasks = 0x50,
  /// Tasks of an agent: agent (8) + task (8) → task object.
  agent_tasks = 0x51,
  /// Inbound triggers: trigger id → task (8).
  triggers = 0x52,
  /// Runs: run (8) → run object.
  runs = 0x53,
  /// Runs of a task: task (8) + run (8) → run object.
  task_runs = 0x54,
  /// Runs not yet ended, per agent (its due list and pending triggers):
  /// agent (8) + run (8) → run object.
  open_runs = 0x55,
  /// Pending decisions that expire: decision (8) → expiry, Unix ms (8).
  expiries = 0x56,
  /// What agents sent for a run (`task_run_id`): run (8) + item (8) →
  /// `{"type","id"}`.
  run_items = 0x57,
  /// Decisions still pending, per agent (the agent list's counts):
  /// agent (8) + decision (8) → "".
  pending_decisions = 0x58,
  /// Secrets of trigger URLs (`X-Hub-Signature-256`): task (8) → secret.
  /// Apart from the task, whose stored object is what the APIs show.
  trigger_secrets = 0x59,
  /// Browsers' push subscriptions: user (8) + subscription (8) → the
  /// subscription as the API shows it.
  push_subscriptions = 0x60,
  /// Notification settings: user (8) → settings (with channel secrets).
  alert_prefs = 0x61,
  /// Streams whose oldest events retention deleted: agent (8) → the
  /// highest seq deleted (8), so that numbering goes on from there even
  /// when no event of the stream is left (data format 2).
  stream_floor = 0x62,
  /// First prefix free for the tables of later features.
  next_free = 0x63,
};

/// Appends `x` as 8 big-endian bytes.
void put_u64(std::string& out, uint64_t x);

/// `x` as 8 big-endian bytes (a value such as an id or a time).
std::string u64_bytes(uint64_t x);

/// Reads 8 big-endian bytes at `in[0..8)`; `in` must hold at least 8.
uint64_t get_u64(std::string_view in);

/// The key `t` + `id` (8 bytes).
std::string id_key(table t, uint64_t id);

/// The key `t` + `a` (8) + `b` (8), for indexes such as a user's
/// decisions; ids are time-ordered, so a reverse scan is newest first.
std::string pair_key(table t, uint64_t a, uint64_t b);

/// The key `t` + `suffix` (a string that ends the key).
std::string text_key(table t, std::string_view suffix);

/// The second id of a `pair_key`; 0 if `key` is too short.
uint64_t pair_second(std::string_view key);

/// Key of event `seq` in the outbound stream of `agent`.
std::string stream_key(uint64_t agent, uint64_t seq);

/// Prefix shared by every stream key of `agent`.
std::string stream_prefix(uint64_t agent);

/// Decodes a stream key into (agent, seq); nothing if it is not one.
std::optional<std::pair<uint64_t, uint64_t>>
decode_stream_key(std::string_view key);

/// Key of the delivery cursor of `agent`.
std::string cursor_key(uint64_t agent);

/// The smallest key greater than every key starting with `prefix`, or an
/// empty string when no such key exists (prefix of all 0xFF bytes), which
/// range scans read as "to the end".
std::string prefix_end(std::string_view prefix);

/// Key holding the store's data format version (a decimal number).
std::string schema_version_key();

/// Key holding, in cluster mode, the sequence number of the last entry of
/// the replicated journal stream this store has applied (8 bytes), written
/// in the same batch as the entry.
std::string cluster_applied_key();

/// Key holding, in cluster mode, the identity of the replicated journal
/// stream the store follows (its creation time), so that a store is never
/// fed entries of another stream.
std::string cluster_stream_key();

/// Key of the stream floor of `agent` (table `stream_floor`).
std::string stream_floor_key(uint64_t agent);

} // namespace nod::storage
