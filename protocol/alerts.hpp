#pragma once

// Reaching a person outside the app (issue #19): what happened, their
// notification settings, their push subscriptions, and the requests each
// channel gets (Web Push payload, ntfy, Slack, email). Pure functions.

#include "protocol/json.hpp"
#include "protocol/webhook.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nod {

/// What needs the person.
enum class alert_kind : uint8_t {
  /// An agent asks for a decision.
  decision,
  /// An agent sent a chat message.
  message,
  /// A pending decision expires soon.
  expiring,
  /// An event for an agent could not be delivered and waits as pending.
  pending,
  /// The person pressed "send test".
  test,
};

/// "decision", "message", "expiring", "pending", "test".
const char* to_string(alert_kind k);

/// One thing to tell a person, with what a notification shows and links.
struct person_alert {
  alert_kind kind = alert_kind::decision;
  uint64_t user = 0;
  uint64_t agent = 0;
  std::string agent_name;
  /// The decision's title, or a short line saying what happened.
  std::string title;
  /// The message text, the decision's description (either may be empty).
  std::string text;
  /// `dec_…` when the alert is about a decision, with its kind.
  std::string decision_id;
  std::string decision_kind;
  std::string conversation_id;
  /// When the decision expires (Unix ms), 0 if it does not.
  int64_t expires_ms = 0;
};

/// A person's notification settings (`GET/PATCH /api/notifications`).
struct alert_prefs {
  /// Which alerts notify. By default every new decision and every agent
  /// message.
  bool on_decision = true;
  bool on_message = true;
  bool on_expiring = false;
  bool on_pending = false;
  /// Nothing is sent between `start` and `end` (minutes after local
  /// midnight in `timezone`; may wrap past midnight).
  struct quiet_hours {
    int start = 0;
    int end = 0;
    std::string timezone = "UTC";
  };
  std::optional<quiet_hours> quiet;
  /// Agents whose alerts never notify.
  std::vector<uint64_t> muted_agents;
  struct ntfy_channel {
    /// Base URL of the ntfy server, e.g. "https://ntfy.sh".
    std::string server;
    std::string topic;
    /// Access token (Bearer); empty for none. Never shown back.
    std::string token;
  };
  std::optional<ntfy_channel> ntfy;
  struct slack_channel {
    /// The incoming webhook URL (a secret: shown back masked).
    std::string webhook_url;
  };
  std::optional<slack_channel> slack;
  struct email_channel {
    std::string to;
  };
  std::optional<email_channel> email;
};

/// The settings as stored (`shown` false: secrets in clear) or as the API
/// shows them (`shown` true: the ntfy token as `token_set`, the Slack URL
/// masked).
std::string prefs_json(const alert_prefs& p, bool shown);

/// Reads stored settings (as `prefs_json(p, false)` wrote them); missing
/// fields keep their defaults.
alert_prefs parse_stored_prefs(std::string_view json);

/// Applies a PATCH body: each top-level member present replaces that part
/// (`null` clears a channel or the quiet hours; an ntfy `token` left out
/// keeps the old one). On a bad value returns false with `err` naming the
/// field, e.g. "quiet_hours.start: must be HH:MM".
bool apply_prefs_patch(const json::value& body, alert_prefs& p,
                       json::field_error& err);

/// True when the alert may notify now: its kind is on, its agent not
/// muted, and `now_ms` is outside quiet hours. Tests always notify.
bool wants_alert(const alert_prefs& p, const person_alert& a, int64_t now_ms);

/// A browser's push subscription (`PushSubscription.toJSON()`).
struct push_subscription {
  uint64_t id = 0;
  uint64_t user = 0;
  std::string endpoint;
  /// Decoded: the 65-byte P-256 point and the 16-byte secret.
  std::string p256dh;
  std::string auth;
  /// `expirationTime` (Unix ms) as the browser gave it; 0 for null.
  int64_t expiration_ms = 0;
  int64_t created_ms = 0;
};

/// Parses `{endpoint, expirationTime, keys: {p256dh, auth}}`: the endpoint
/// an http(s) URL of at most 2,048 bytes, the keys base64url of a P-256
/// point and of 16 bytes. False with `err` naming the field otherwise.
bool parse_push_subscription(const json::value& body, push_subscription& out,
                             json::field_error& err);

/// The subscription as stored and as the API shows it (`id` = `psub_…`).
std::string push_subscription_json(const push_subscription& s);

/// Reads a stored subscription; false if it is unreadable.
bool parse_stored_subscription(std::string_view json, push_subscription& out);

/// The app's link for an alert, relative ("#/…"): the decision's card, or
/// the agent's chat.
std::string alert_link(const person_alert& a);

/// The decrypted Web Push payload the service worker reads: type, agent
/// id and name, title, body, ids, link, tag.
std::string push_payload(const person_alert& a);

/// `Urgency` and `TTL` (seconds) for an alert's push.
const char* push_urgency(const person_alert& a);
int64_t push_ttl(const person_alert& a, int64_t now_ms);

/// The ntfy publish request (JSON to the server's root URL): title,
/// message, priority, a click link to the card at `public_url`, and for an
/// approval or permission "Open" actions only: one-tap answers go through
/// the app, signed in.
http_post ntfy_post(const alert_prefs::ntfy_channel& ch, const person_alert& a,
                    const std::string& public_url);

/// The Slack incoming-webhook request: Block Kit section and a button
/// linking to the card.
http_post slack_post(const alert_prefs::slack_channel& ch,
                     const person_alert& a, const std::string& public_url);

/// Subject and plain-text body of the email for an alert.
struct email_message {
  std::string subject;
  std::string body;
};
email_message alert_email(const person_alert& a, const std::string& public_url);

} // namespace nod
