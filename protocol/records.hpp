#pragma once

// Stored records of the people's side and their JSON forms: one form for
// the store (complete, private fields included) and one for the app API
// (API.md B2; never secrets or hashes unless the function says so).

#include "protocol/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// A person who can log in.
struct user_record {
  uint64_t id = 0;
  std::string username;
  /// Argon2id string from `hash_password`.
  std::string password_hash;
  bool admin = false;
  int64_t created_ms = 0;
};

/// A logged-in session: what a bearer token or session cookie stands for.
/// Stored under the SHA-256 of the token, never the token itself.
struct session_record {
  uint64_t user = 0;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
};

/// An agent owned by a user.
struct agent_record {
  uint64_t id = 0;
  uint64_t owner = 0;
  std::string name;
  std::optional<std::string> avatar;
  std::optional<std::string> description;
  std::optional<std::string> webhook_url;
  /// "interactive" or "approval_only".
  std::string type = "interactive";
  /// `sha256_hex` of the agent secret.
  std::string secret_hash;
  /// The `whsec_` signing secret; kept in clear because the server signs
  /// with it.
  std::string webhook_secret;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

/// Live facts about an agent that are not stored with it.
struct agent_live {
  bool online = false;
  bool processing = false;
  std::optional<std::string> status_text;
  int64_t pending_decisions = 0;
  int64_t undelivered_events = 0;
};

/// Store forms: JSON objects with every field. `from_storage` returns false
/// for a malformed record.
std::string to_storage(const user_record& x);
std::string to_storage(const session_record& x);
std::string to_storage(const agent_record& x);
bool from_storage(std::string_view text, user_record& x);
bool from_storage(std::string_view text, session_record& x);
bool from_storage(std::string_view text, agent_record& x);

/// `{"id":"usr_…","username":…,"admin":…,"created_at":…}`.
void write_user(json::writer& w, const user_record& x);

/// The app API agent object: `id` and `agent_id` (both `agt_…`), `name`,
/// `avatar`, `description`, `webhook_url`, `type`, `created_at`,
/// `updated_at` (nulls for absent optionals), then the live fields
/// `online`, `processing`, `status_text`, `pending_decisions`,
/// `undelivered_events`. With `include_webhook_secret`, also
/// `webhook_secret`. Never the agent secret or its hash.
void write_agent(json::writer& w, const agent_record& x, const agent_live& live,
                 bool include_webhook_secret);

/// The members of `write_agent`'s object without its braces, for replies
/// that add fields at its top level (the `secret` of a new agent).
void write_agent_fields(json::writer& w, const agent_record& x,
                        const agent_live& live, bool include_webhook_secret);

/// The app API conversation object of conversation `conv` of `agent`.
std::string conversation_json(uint64_t conv, uint64_t agent, int64_t created_ms,
                              int64_t updated_ms);

/// The app API activity entry `act_…` `id` of `agent` (API.md A2, B2):
/// `kind`, `title`, `text`, `ref_id` (the object it is about),
/// `details` (already serialized JSON), `created_at`.
std::string activity_json(uint64_t id, uint64_t agent, std::string_view kind,
                          const std::string& title,
                          const std::optional<std::string>& text,
                          const std::optional<std::string>& ref_id,
                          const std::optional<std::string>& details_json,
                          int64_t at_ms);

/// An app WebSocket push (B3): `{"type": type, key: object}`.
std::string app_frame(std::string_view type, std::string_view key,
                      const std::string& object_json);

/// Printable ids of records: `usr_` and `agt_` + 16 hex digits.
std::string user_id_text(uint64_t id);
std::string agent_id_text(uint64_t id);

} // namespace nod
