#pragma once

// The record of one event's delivery to its agent (API.md A4, B2): every
// attempt on every channel and where the event stands now.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nod {

/// Where a delivery stands.
namespace delivery_states {
/// Created; no attempt finished yet.
constexpr const char* queued = "queued";
/// Pushed to a socket that acknowledges events (A6 `acks: true`), since
/// `sent_ms`; waits for the agent's ack.
constexpr const char* sent = "sent";
/// A webhook attempt failed; another follows at `next_attempt_ms`.
constexpr const char* retrying = "retrying";
/// The agent has it (WebSocket write or ack, webhook 2xx, poll ack).
constexpr const char* delivered = "delivered";
/// Parked: waits for the agent to poll or reconnect.
constexpr const char* pending = "pending";
} // namespace delivery_states

/// One try on one channel.
struct delivery_attempt {
  int64_t at_ms = 0;
  /// websocket, webhook, poll or resume.
  std::string channel;
  bool ok = false;
  /// Webhook attempts: the `X-Nod-Delivery-Id` and `X-Nod-Retry-Num`.
  std::optional<std::string> delivery_id;
  std::optional<int64_t> retry_num;
  /// Webhook attempts that got an answer.
  std::optional<int64_t> status_code;
  /// Why it failed.
  std::optional<std::string> error;
  std::optional<int64_t> duration_ms;
};

/// The delivery of one event.
struct delivery_record {
  std::string event_id;
  uint64_t agent = 0;
  uint64_t seq = 0;
  /// The event's type (user_message, decision_resolved, …).
  std::string type;
  std::string state = delivery_states::queued;
  /// The channel that delivered it, once delivered.
  std::optional<std::string> channel;
  std::vector<delivery_attempt> attempts;
  /// When `retrying`: the time of the next attempt.
  std::optional<int64_t> next_attempt_ms;
  /// When `sent`: the time of the push.
  std::optional<int64_t> sent_ms;
  /// Webhooks the call behind this event had passed through (the
  /// `X-Nod-Hops` of the trigger call of a `task_trigger`); 0 otherwise.
  /// Its webhook carries one more.
  unsigned hops = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

/// The API and store form: `{"id": event_id, "event_id", "agent_id",
/// "seq", "type", "state", "channel", "attempts": [{"at", "channel",
/// "result": "ok"|"failed", "delivery_id", "retry_num", "status_code",
/// "error", "duration_ms"}], "next_attempt_at", "sent_at", "created_at",
/// "updated_at"}`, and `"hops"` when not 0.
std::string to_json(const delivery_record& r);

/// Reads what `to_json` wrote; false when malformed.
bool from_json(std::string_view text, delivery_record& r);

} // namespace nod
