#pragma once

// Events agents send (API.md A2), as pure data: validation of the JSON an
// agent posts (REST body or WebSocket frame) into a typed event, or a
// `field_error` naming the field.

#include "protocol/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nod {

/// Limits of agent events, in bytes.
namespace event_limits {
constexpr size_t text = 64 * 1024;
constexpr size_t title = 500;
constexpr size_t description = 16 * 1024;
constexpr size_t option = 500;
constexpr size_t options = 50;
constexpr size_t status_text = 200;
constexpr size_t id = 64;
/// `details` of a status event, serialized.
constexpr size_t details = 64 * 1024;
/// Decoded image size (API.md A2: 5 MiB).
constexpr size_t image_bytes = 5 * 1024 * 1024;
/// `expires_in` bounds, seconds.
constexpr int64_t expires_min = 1;
constexpr int64_t expires_max = 30 * 24 * 3600;
} // namespace event_limits

/// The `type` of an agent event.
enum class event_type {
  message,
  decision,
  alert,
  processing_start,
  processing_stop,
  agent_heartbeat,
  agent_idle,
  status,
  task_proposal,
};

/// The wire name of `t`, e.g. "processing_start".
const char* to_string(event_type t);

/// An "always allow" choice offered with a permission decision.
struct always_allow_option {
  std::string pattern;
  std::string label;
};

/// A decoded image attached to a message.
struct image_data {
  /// "image/png", "image/jpeg", "image/gif" or "image/webp", from the
  /// bytes' signature (not from a `data:` prefix, which may lie).
  std::string content_type;
  std::string bytes;
};

/// One validated agent event. Which fields are set depends on `type`;
/// absent optionals were absent (or null) in the JSON.
struct agent_event {
  event_type type = event_type::message;
  /// Echoed in WebSocket replies (any string, at most 64 bytes... or a
  /// number, kept as its JSON text).
  std::optional<std::string> request_id;

  // message
  std::optional<std::string> text;
  std::optional<image_data> image;
  std::optional<std::string> report_title;
  std::optional<std::string> report_description;

  // message, decision, processing_*, heartbeat, idle
  std::optional<std::string> conversation_id;
  // message, decision, alert
  std::optional<std::string> task_run_id;

  // decision, alert, task_proposal
  std::optional<std::string> title;
  // decision: approval, choice, question, permission
  std::optional<std::string> kind;
  std::optional<std::string> description;
  std::vector<std::string> options;
  std::optional<bool> allows_always;
  std::optional<std::string> always_allow_label;
  std::vector<always_allow_option> always_allow_options;
  std::optional<int64_t> expires_in;

  // processing_start, agent_heartbeat (default "Thinking")
  std::optional<std::string> status_text;

  // status
  std::optional<std::string> action;
  /// `details` as compact JSON text (any JSON value), if given.
  std::optional<std::string> details_json;

  // task_proposal
  std::optional<std::string> task_name;
  std::optional<std::string> task_prompt;
  std::optional<std::string> task_schedule;
};

/// Validates an agent event object (API.md A2), as `json::parse_object`
/// returned it (which bounds its depth, so `details` is safe to
/// serialize). Rules:
/// - `type` required, one of the event types; unknown → "type: unknown
///   event type \"x\"".
/// - message: `text` required unless `image_base64` is given (empty text
///   counts as absent); `image_base64` base64 with an optional
///   `data:image/...;base64,` prefix, decoding to at most 5 MiB of PNG,
///   JPEG, GIF or WebP (checked by signature), else "image_base64: …"
///   (the URL-safe alphabet, missing padding and ASCII whitespace such as
///   the line breaks of `base64`'s output are accepted);
///   `conversation_id` must look like `conv_` + 16 hex; `task_run_id`
///   like `run_` + hex; `report_title`, `report_description` strings.
/// - decision: `title` and `kind` required; kind one of approval, choice,
///   question, permission; `options` an array of non-empty strings,
///   required and non-empty for choice ("options: required for a choice");
///   `allows_always` bool; `always_allow_label` string;
///   `always_allow_options` array of objects with string `pattern` and
///   `label` ("always_allow_options[2].pattern: is required"; a missing
///   label defaults to the pattern);
///   `expires_in` integer seconds within the limits; `conversation_id` null
///   or a conversation id.
/// - alert: `title` required; `text`, `task_run_id` optional.
/// - processing_start / agent_heartbeat: optional `conversation_id`,
///   `status_text` (default "Thinking"). processing_stop / agent_idle:
///   optional `conversation_id`.
/// - status: `action` required string; `details` any JSON value.
/// - task_proposal: `title`, `task_name`, `task_prompt`, `task_schedule`
///   required strings.
/// - `request_id`: optional string (or number, kept as text).
/// Unknown fields are ignored; wrong types are errors naming the field.
/// `request_id` is read first: on failure `out.request_id` still holds it
/// when it was valid, so that an error reply can echo it.
bool parse_agent_event(const json::value& obj, agent_event& out,
                       json::field_error& err);

/// Reads member `image_base64` of `obj` (absent or null: nothing), as a
/// message event's: an optional `data:image/...;base64,` prefix, base64
/// in either alphabet (whitespace and missing padding accepted), at most
/// 5 MiB decoded of PNG, JPEG, GIF or WebP by signature; else
/// "image_base64: …".
bool parse_image_field(const json::value& obj, std::optional<image_data>& out,
                       json::field_error& err);

/// True for a conversation id: `conv_` + 16 lowercase hex digits.
bool is_conversation_id(std::string_view text);

/// True for a task run id: `run_` + 1 to 64 lowercase hex digits.
bool is_task_run_id(std::string_view text);

/// "image/png", "image/jpeg", "image/gif" or "image/webp" from the
/// signature at the start of `bytes`; nullptr for anything else.
const char* image_content_type(std::string_view bytes);

} // namespace nod
