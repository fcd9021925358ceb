#pragma once

// Reaching the person outside the app (issue #19): Web Push to each of
// their browsers, and the ntfy, Slack and email channels of their
// settings. The actor owns the server's VAPID key, the people's push
// subscriptions and notification settings (kept in the store), and sends
// with retries through the same outbound HTTP path as webhooks (its
// address policy included).

#include "actors/actors.hpp"
#include "protocol/alerts.hpp"
#include "protocol/webpush.hpp"

#include <caf/typed_response_promise.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nod {

/// Something needs a person (`person_alert`).
using alert_atom = caf::atom_constant<caf::atom("alert")>;
/// The server's VAPID public key.
using push_key_atom = caf::atom_constant<caf::atom("pushkey")>;
/// Add, list, remove a person's push subscriptions.
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using subs_atom = caf::atom_constant<caf::atom("subs")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsub")>;
/// Read or change a person's notification settings.
using prefs_atom = caf::atom_constant<caf::atom("prefs")>;
/// Send a test notification on one channel.
using test_atom = caf::atom_constant<caf::atom("test")>;

/// An email to send: recipient, subject, plain-text body.
struct mail_message {
  std::string to;
  std::string subject;
  std::string body;
};

/// Sends one email and calls the callback (any thread, once) with an
/// empty string on success, else the reason. The network layer provides
/// it; null when `smtp-host` is not set.
using mail_sender
  = std::function<void(mail_message, std::function<void(std::string)>)>;

} // namespace nod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::person_alert)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::push_subscription)

namespace nod {

using alerts_actor = caf::typed_actor<
  // Start-up: load (or create) the VAPID key, subscriptions and settings
  // → the number of subscriptions.
  caf::replies_to<recover_atom>::with<uint64_t>,
  // Something needs the person: notify on what their settings ask for.
  caf::reacts_to<alert_atom, person_alert>,
  // → the VAPID public key, base64url.
  caf::replies_to<push_key_atom>::with<std::string>,
  // user, subscription → it as stored (the same endpoint again replaces
  // the old one). Errors: `conflict` (too many devices), `storage_error`.
  caf::replies_to<subscribe_atom, uint64_t,
                  push_subscription>::with<std::string>,
  // user → their subscriptions (JSON array, with each one's last error).
  caf::replies_to<subs_atom, uint64_t>::with<std::string>,
  // user, subscription → removed (`not_found` when not theirs).
  caf::replies_to<unsubscribe_atom, uint64_t, uint64_t>::with<bool>,
  // user → their settings with each channel's last result.
  caf::replies_to<prefs_atom, uint64_t>::with<std::string>,
  // user, PATCH body → the settings after it (`invalid_argument`).
  caf::replies_to<prefs_atom, uint64_t, std::string>::with<std::string>,
  // user, channel ("push", "ntfy", "slack", "email") → the outcome of a
  // test notification, `{"channel","ok","error"}`, once its first attempt
  // ended.
  caf::replies_to<test_atom, uint64_t, std::string>::with<std::string>,
  // Internal: job, outcome of its HTTP request or email.
  caf::reacts_to<result_atom, uint64_t, http_post_result>,
  // Internal: job whose backoff ended.
  caf::reacts_to<retry_atom, uint64_t>,
  // Internal: a decision's "expires soon" time came.
  caf::reacts_to<timeout_atom, person_alert>>;

/// Settings of the alerts actor.
struct alerts_options {
  /// Outbound HTTP (the webhook client, with its address policy).
  http_poster post;
  /// Email; null without `smtp-host`.
  mail_sender mail;
  /// Base of links to the app, e.g. "https://nod.example.com".
  std::string public_url;
  /// The VAPID `sub` claim: a `mailto:` or `https:` contact.
  std::string vapid_subject = "mailto:nod-server@localhost";
  /// Retries of failed sends (429, 5xx, timeouts, connection errors).
  retry_policy policy;
  int64_t timeout_ms = 30000;
  /// "Expires soon" comes this long before a decision expires (or at half
  /// its life, when that is shorter).
  int64_t expiring_lead_ms = 5 * 60 * 1000;
  /// Browsers (subscriptions) one person may have.
  size_t max_subscriptions = 20;
  /// "Undelivered events" alerts of one agent at most this often.
  int64_t pending_alert_interval_ms = 15 * 60 * 1000;
  /// Random draws in [0, 1) for jitter; tests fix them.
  std::function<double()> unit_random;
};

/// State of the alerts actor.
struct alerts_state {
  static inline const char* name = "alerts";

  journal_actor journal;
  alerts_options opts;
  webpush::key_pair vapid;
  std::unordered_map<uint64_t, alert_prefs> prefs;
  std::unordered_map<uint64_t, std::vector<push_subscription>> subs;

  /// The last outcome of a channel ("push:<sub id>", "ntfy", …) per user.
  struct channel_status {
    std::string last_error;
    int64_t last_error_ms = 0;
    int64_t last_sent_ms = 0;
  };
  std::unordered_map<uint64_t, std::map<std::string, channel_status>> status;

  /// One notification on one channel, until it succeeded or gave up.
  struct job {
    uint64_t user = 0;
    /// "push", "ntfy", "slack", "email".
    std::string channel;
    uint64_t subscription = 0;
    /// Built once; a push's JWT is valid for 12 h, longer than any retry.
    http_post request;
    mail_message mail;
    unsigned attempt = 1;
    /// A "send test": one attempt, its outcome the answer.
    bool test = false;
    std::optional<caf::typed_response_promise<std::string>> test_reply;
  };
  std::unordered_map<uint64_t, job> jobs;
  uint64_t next_job = 1;
  /// When each agent last alerted about undelivered events: one such
  /// alert per agent per `pending_alert_interval_ms`.
  std::unordered_map<uint64_t, int64_t> pending_alerted;
};

/// Behavior of the alerts actor.
alerts_actor::behavior_type
alerts(alerts_actor::stateful_pointer<alerts_state> self, journal_actor journal,
       alerts_options opts);

} // namespace nod
