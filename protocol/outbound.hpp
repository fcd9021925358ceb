#pragma once

// What people do that agents must hear about (API.md B2 → A4): resolving a
// decision and sending a chat message. Pure functions from the request and
// the stored objects to the new stored objects and the event for the agent.

#include "protocol/events.hpp"
#include "protocol/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// `POST /api/decisions/{id}/resolve`.
struct resolution {
  /// approved, rejected, responded or dismissed.
  std::string status;
  std::optional<std::string> note;
  std::optional<bool> always_allow;
  std::optional<std::string> always_allow_pattern;
};

/// Reads a resolution: `status` required (one of the four), `note` (at
/// most 16 KiB), `always_allow`, `always_allow_pattern` optional.
bool parse_resolution(const json::value& body, resolution& out,
                      json::field_error& err);

/// Why a resolution was refused.
enum class resolve_refusal {
  none,
  /// The status does not fit the decision's kind, or a `responded`
  /// without `note` (400).
  invalid,
  /// The decision is no longer pending (409).
  already_resolved,
  /// The stored decision is unreadable.
  corrupt,
};

/// A resolved decision: the stored object as it is now, and the
/// `decision_resolved` event for its agent (A4, without `seq`).
struct resolved_decision {
  std::string decision_json;
  std::string event_json;
  /// The agent the decision belongs to.
  uint64_t agent = 0;
};

/// Applies `r` to the stored decision `decision_json` at `now_ms`. Status
/// must fit the kind: approval, permission and task_proposal take
/// approved/rejected; choice and question take responded (with a note);
/// any kind may be dismissed. `expired` is the server's own status and is
/// accepted only with `by_server`. On refusal `detail` says why.
resolve_refusal resolve_decision(std::string_view decision_json,
                                 const resolution& r, std::string_view event_id,
                                 int64_t now_ms, bool by_server,
                                 resolved_decision& out, std::string& detail);

/// Records in `out` (the decision and its `decision_resolved`) the task an
/// approved task proposal created, as `task_id`.
void add_created_task(resolved_decision& out, std::string_view task_id);

/// `POST /api/agents/{id}/messages`.
struct user_message_input {
  /// Absent only with an image.
  std::optional<std::string> text;
  std::optional<image_data> image;
  std::optional<std::string> conversation_id;
  std::optional<std::string> reply_to_id;
};

/// Reads a person's message: `text` (at most 64 KiB) required unless
/// `image_base64` is given (as in an agent's message event, empty text
/// counting as absent), `conversation_id` (`conv_…`) and `reply_to_id`
/// (`msg_…`) optional.
bool parse_user_message(const json::value& body, user_message_input& out,
                        json::field_error& err);

/// A person's chat message: the stored message object and the
/// `user_message` event for the agent (A4, without `seq`).
struct user_message_out {
  std::string message_json;
  std::string event_json;
};

/// Renders message `message_id` of conversation `conversation_id` to
/// agent `agent`, sent by `sender_name`; `reply_to_text` is the text of
/// the message replied to, if any.
user_message_out
render_user_message(uint64_t message_id, uint64_t conversation_id,
                    uint64_t agent, const user_message_input& in,
                    const std::string& sender_name,
                    const std::optional<std::string>& reply_to_text,
                    const std::optional<std::string>& image_url,
                    std::string_view event_id, int64_t now_ms);

/// `event_json` with `"seq":seq` added as its last member: the form an
/// agent receives.
std::string with_seq(std::string_view event_json, uint64_t seq);

} // namespace nod
