#include "protocol/alerts.hpp"

#include "protocol/cron.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "protocol/validate.hpp"
#include "protocol/webpush.hpp"

#include <algorithm>
#include <chrono>
#include <date/tz.h>

namespace nod {

namespace {

bool fail(json::field_error& err, std::string field, const std::string& what) {
  err.message = field + ": " + what;
  err.field = std::move(field);
  return false;
}

/// "HH:MM" → minutes after midnight.
std::optional<int> parse_clock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':')
    return std::nullopt;
  for (size_t i : {0, 1, 3, 4})
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59)
    return std::nullopt;
  return h * 60 + m;
}

std::string format_clock(int minutes) {
  std::string out = "00:00";
  out[0] = static_cast<char>('0' + minutes / 600);
  out[1] = static_cast<char>('0' + minutes / 60 % 10);
  out[3] = static_cast<char>('0' + minutes % 60 / 10);
  out[4] = static_cast<char>('0' + minutes % 10);
  return out;
}

/// An ntfy topic: what ntfy itself accepts.
bool valid_topic(std::string_view t) {
  if (t.empty() || t.size() > 64)
    return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

/// A plain address: local@domain, no spaces, brackets or line breaks
/// (it goes into SMTP commands and headers).
bool valid_email(std::string_view a) {
  if (a.size() > 254)
    return false;
  auto at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= a.size()
      || a.find('@', at + 1) != std::string_view::npos)
    return false;
  if (a.substr(at + 1).find('.') == std::string_view::npos)
    return false;
  return std::none_of(a.begin(), a.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>'
           || c == '(' || c == ')' || c == ',' || c == ';' || c == ':'
           || c == '\\' || c == '"' || static_cast<unsigned char>(c) >= 0x7f;
  });
}

bool member_set(const json::value& obj, const char* name) {
  return obj.IsObject() && obj.HasMember(name);
}

/// Cuts `s` to at most `max` bytes at a UTF-8 boundary, with an ellipsis.
std::string clip(const std::string& s, size_t max) {
  if (s.size() <= max)
    return s;
  size_t n = max;
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80)
    --n;
  return s.substr(0, n) + "…";
}

std::string headline(const person_alert& a) {
  switch (a.kind) {
    case alert_kind::decision: return a.agent_name + " asks: " + a.title;
    case alert_kind::message: return a.agent_name;
    case alert_kind::expiring: return "Expires soon: " + a.title;
    case alert_kind::pending: return a.agent_name + " has undelivered events";
    case alert_kind::test: return "Nod test notification";
  }
  return a.title;
}

std::string body_line(const person_alert& a) {
  switch (a.kind) {
    case alert_kind::message:
      return clip(a.text.empty() ? std::string{"(image)"} : a.text, 300);
    case alert_kind::test: return "Notifications reach you here.";
    default: return clip(a.text.empty() ? a.title : a.text, 300);
  }
}

bool answerable(const person_alert& a) {
  return !a.decision_id.empty()
         && (a.decision_kind == "approval" || a.decision_kind == "permission"
             || a.decision_kind == "task_proposal");
}

std::string absolute(const std::string& public_url, const std::string& link) {
  return public_url + "/" + link;
}

} // namespace

const char* to_string(alert_kind k) {
  switch (k) {
    case alert_kind::decision: return "decision";
    case alert_kind::message: return "message";
    case alert_kind::expiring: return "expiring";
    case alert_kind::pending: return "pending";
    case alert_kind::test: return "test";
  }
  return "decision";
}

// -- settings ----------------------------------------------------------------

std::string prefs_json(const alert_prefs& p, bool shown) {
  json::writer w;
  w.start_object();
  w.key("events");
  w.start_object();
  w.field("decision", p.on_decision);
  w.field("message", p.on_message);
  w.field("expiring", p.on_expiring);
  w.field("pending", p.on_pending);
  w.end_object();
  w.key("quiet_hours");
  if (p.quiet) {
    w.start_object();
    w.field("start", format_clock(p.quiet->start));
    w.field("end", format_clock(p.quiet->end));
    w.field("timezone", p.quiet->timezone);
    w.end_object();
  } else {
    w.null();
  }
  w.key("muted_agents");
  w.start_array();
  for (auto a : p.muted_agents)
    w.string(format_id64("agt_", a));
  w.end_array();
  w.key("channels");
  w.start_object();
  w.key("ntfy");
  if (p.ntfy) {
    w.start_object();
    w.field("server", p.ntfy->server);
    w.field("topic", p.ntfy->topic);
    if (shown)
      w.field("token_set", !p.ntfy->token.empty());
    else
      w.field("token", p.ntfy->token);
    w.end_object();
  } else {
    w.null();
  }
  w.key("slack");
  if (p.slack) {
    w.start_object();
    if (shown) {
      // The path of an incoming webhook is its secret.
      auto url = parse_http_url(p.slack->webhook_url);
      w.field("webhook_url",
              url ? (url->tls ? "https://" : "http://") + url->host + "/…"
                  : std::string{"…"});
    } else {
      w.field("webhook_url", p.slack->webhook_url);
    }
    w.end_object();
  } else {
    w.null();
  }
  w.key("email");
  if (p.email) {
    w.start_object();
    w.field("to", p.email->to);
    w.end_object();
  } else {
    w.null();
  }
  w.end_object();
  w.end_object();
  return w.str();
}

alert_prefs parse_stored_prefs(std::string_view text) {
  alert_prefs p;
  json::document doc;
  json::field_error err;
  // The stored form is what prefs_json wrote: the API's own parser reads
  // it back, so stored and accepted settings cannot drift apart.
  if (json::parse_object(text, doc, err))
    apply_prefs_patch(doc, p, err);
  return p;
}

bool apply_prefs_patch(const json::value& body, alert_prefs& out,
                       json::field_error& err) {
  alert_prefs p = out;
  if (member_set(body, "events")) {
    auto& ev = body["events"];
    if (!ev.IsObject())
      return fail(err, "events", "must be an object");
    struct flag {
      const char* name;
      bool* target;
    };
    for (auto [name, target] :
         {flag{"decision", &p.on_decision}, flag{"message", &p.on_message},
          flag{"expiring", &p.on_expiring}, flag{"pending", &p.on_pending}}) {
      std::optional<bool> v;
      if (!json::get_bool(ev, name, v, err))
        return fail(err, std::string{"events."} + name,
                    "must be true or false");
      if (v)
        *target = *v;
    }
  }
  if (member_set(body, "quiet_hours")) {
    auto& q = body["quiet_hours"];
    if (q.IsNull()) {
      p.quiet.reset();
    } else if (!q.IsObject()) {
      return fail(err, "quiet_hours", "must be an object or null");
    } else {
      alert_prefs::quiet_hours qh;
      std::optional<std::string> start, end, zone;
      if (!json::get_string(q, "start", 5, start, err) || !start
          || !parse_clock(*start))
        return fail(err, "quiet_hours.start", "must be HH:MM");
      if (!json::get_string(q, "end", 5, end, err) || !end
          || !parse_clock(*end))
        return fail(err, "quiet_hours.end", "must be HH:MM");
      qh.start = *parse_clock(*start);
      qh.end = *parse_clock(*end);
      if (qh.start == qh.end)
        return fail(err, "quiet_hours.end", "must differ from start");
      if (!json::get_string(q, "timezone", 64, zone, err))
        return fail(err, "quiet_hours.timezone", "must be a string");
      if (zone && *zone != "UTC" && !cron::find_zone(*zone))
        return fail(err, "quiet_hours.timezone",
                    "unknown time zone \"" + *zone + "\"");
      if (zone)
        qh.timezone = *zone;
      p.quiet = qh;
    }
  }
  if (member_set(body, "muted_agents")) {
    auto& m = body["muted_agents"];
    if (!m.IsArray() || m.Size() > 1000)
      return fail(err, "muted_agents", "must be an array of agent ids");
    p.muted_agents.clear();
    for (auto& v : m.GetArray()) {
      auto id = v.IsString() ? parse_id64("agt_", v.GetString()) : std::nullopt;
      if (!id)
        return fail(err, "muted_agents", "must be an array of agent ids");
      if (std::find(p.muted_agents.begin(), p.muted_agents.end(), *id)
          == p.muted_agents.end())
        p.muted_agents.push_back(*id);
    }
  }
  if (member_set(body, "channels")) {
    auto& ch = body["channels"];
    if (!ch.IsObject())
      return fail(err, "channels", "must be an object");
    if (member_set(ch, "ntfy")) {
      auto& n = ch["ntfy"];
      if (n.IsNull()) {
        p.ntfy.reset();
      } else if (!n.IsObject()) {
        return fail(err, "channels.ntfy", "must be an object or null");
      } else {
        alert_prefs::ntfy_channel c;
        std::optional<std::string> server, topic, token;
        if (!json::get_string(n, "server", 512, server, err) || !server
            || !is_webhook_url(*server))
          return fail(err, "channels.ntfy.server",
                      "must be an http(s) URL, e.g. https://ntfy.sh");
        if (!json::get_string(n, "topic", 64, topic, err) || !topic
            || !valid_topic(*topic))
          return fail(err, "channels.ntfy.topic",
                      "must be 1-64 letters, digits, - or _");
        if (!json::get_string(n, "token", 512, token, err))
          return fail(err, "channels.ntfy.token", "must be a string");
        c.server = *server;
        while (!c.server.empty() && c.server.back() == '/')
          c.server.pop_back();
        c.topic = *topic;
        // Left out: keep the token already set (the API never shows it).
        if (token)
          c.token = *token;
        else if (p.ntfy)
          c.token = p.ntfy->token;
        p.ntfy = c;
      }
    }
    if (member_set(ch, "slack")) {
      auto& s = ch["slack"];
      if (s.IsNull()) {
        p.slack.reset();
      } else if (!s.IsObject()) {
        return fail(err, "channels.slack", "must be an object or null");
      } else {
        std::optional<std::string> url;
        if (!json::get_string(s, "webhook_url", 512, url, err) || !url
            || !is_webhook_url(*url))
          return fail(err, "channels.slack.webhook_url",
                      "must be an http(s) URL (Slack's incoming webhook)");
        p.slack = alert_prefs::slack_channel{*url};
      }
    }
    if (member_set(ch, "email")) {
      auto& e = ch["email"];
      if (e.IsNull()) {
        p.email.reset();
      } else if (!e.IsObject()) {
        return fail(err, "channels.email", "must be an object or null");
      } else {
        std::optional<std::string> to;
        if (!json::get_string(e, "to", 254, to, err) || !to
            || !valid_email(*to))
          return fail(err, "channels.email.to",
                      "must be an email address, e.g. alice@example.com");
        p.email = alert_prefs::email_channel{*to};
      }
    }
  }
  out = std::move(p);
  return true;
}

bool wants_alert(const alert_prefs& p, const person_alert& a, int64_t now) {
  if (a.kind == alert_kind::test)
    return true;
  bool on = false;
  switch (a.kind) {
    case alert_kind::decision: on = p.on_decision; break;
    case alert_kind::message: on = p.on_message; break;
    case alert_kind::expiring: on = p.on_expiring; break;
    case alert_kind::pending: on = p.on_pending; break;
    case alert_kind::test: break;
  }
  if (!on
      || std::find(p.muted_agents.begin(), p.muted_agents.end(), a.agent)
           != p.muted_agents.end())
    return false;
  if (!p.quiet)
    return true;
  using std::chrono::duration_cast;
  using std::chrono::minutes;
  date::sys_time<std::chrono::milliseconds> t{std::chrono::milliseconds{now}};
  int minute;
  const auto* zone
    = p.quiet->timezone == "UTC" ? nullptr : cron::find_zone(p.quiet->timezone);
  if (zone) {
    auto local = zone->to_local(t);
    auto since = local - date::floor<date::days>(local);
    minute = static_cast<int>(duration_cast<minutes>(since).count());
  } else {
    auto since = t - date::floor<date::days>(t);
    minute = static_cast<int>(duration_cast<minutes>(since).count());
  }
  bool quiet = p.quiet->start < p.quiet->end
                 ? minute >= p.quiet->start && minute < p.quiet->end
                 : minute >= p.quiet->start || minute < p.quiet->end;
  return !quiet;
}

// -- push subscriptions ------------------------------------------------------

bool parse_push_subscription(const json::value& body, push_subscription& out,
                             json::field_error& err) {
  std::string endpoint;
  if (!json::require_string(body, "endpoint", 2048, endpoint, err))
    return false;
  if (!is_webhook_url(endpoint))
    return fail(err, "endpoint", "must be an http(s) URL");
  if (!member_set(body, "keys") || !body["keys"].IsObject())
    return fail(err, "keys", "must be an object with p256dh and auth");
  auto& keys = body["keys"];
  std::string p256dh, auth;
  if (!json::require_string(keys, "p256dh", 200, p256dh, err))
    return fail(err, "keys.p256dh", "is required");
  if (!json::require_string(keys, "auth", 100, auth, err))
    return fail(err, "keys.auth", "is required");
  auto point = webpush::base64url_decode(p256dh);
  if (!point || !webpush::valid_public_key(*point))
    return fail(err, "keys.p256dh",
                "must be base64url of an uncompressed P-256 public key");
  auto secret = webpush::base64url_decode(auth);
  if (!secret || secret->size() != 16)
    return fail(err, "keys.auth", "must be base64url of 16 bytes");
  std::optional<int64_t> expiration;
  if (member_set(body, "expirationTime") && !body["expirationTime"].IsNull()) {
    auto& e = body["expirationTime"];
    if (!e.IsNumber() || e.GetDouble() < 0 || e.GetDouble() > 1e15)
      return fail(err, "expirationTime", "must be null or Unix milliseconds");
    expiration = static_cast<int64_t>(e.GetDouble());
  }
  out.endpoint = std::move(endpoint);
  out.p256dh = std::move(*point);
  out.auth = std::move(*secret);
  out.expiration_ms = expiration.value_or(0);
  return true;
}

std::string push_subscription_json(const push_subscription& s) {
  json::writer w;
  w.start_object();
  w.field("id", format_id64("psub_", s.id));
  w.field("endpoint", s.endpoint);
  w.key("expirationTime");
  if (s.expiration_ms)
    w.integer(s.expiration_ms);
  else
    w.null();
  w.key("keys");
  w.start_object();
  w.field("p256dh", webpush::base64url_encode(s.p256dh));
  w.field("auth", webpush::base64url_encode(s.auth));
  w.end_object();
  w.field("created_at", iso8601(s.created_ms));
  w.end_object();
  return w.str();
}

bool parse_stored_subscription(std::string_view text, push_subscription& out) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(text, doc, err)
      || !parse_push_subscription(doc, out, err))
    return false;
  auto id = json::string_member(doc, "id");
  auto created = json::string_member(doc, "created_at");
  auto parsed_id = id ? parse_id64("psub_", *id) : std::nullopt;
  if (!parsed_id)
    return false;
  out.id = *parsed_id;
  if (created)
    out.created_ms = parse_iso8601(*created).value_or(0);
  return true;
}

// -- what each channel gets --------------------------------------------------

std::string alert_link(const person_alert& a) {
  if (!a.decision_id.empty())
    return "#/decisions/" + a.decision_id;
  if (a.agent != 0)
    return "#/agents/" + format_id64("agt_", a.agent);
  return "#/agents";
}

std::string push_payload(const person_alert& a) {
  json::writer w;
  w.start_object();
  w.field("type", to_string(a.kind));
  if (a.agent != 0)
    w.field("agent_id", format_id64("agt_", a.agent));
  w.field("agent_name", a.agent_name);
  w.field("title", clip(headline(a), 200));
  w.field("body", body_line(a));
  if (!a.decision_id.empty()) {
    w.field("decision_id", a.decision_id);
    w.field("decision_kind", a.decision_kind);
  }
  if (!a.conversation_id.empty())
    w.field("conversation_id", a.conversation_id);
  w.field("url", "/" + alert_link(a));
  // One notification per decision (a later "expires soon" replaces it),
  // one per agent's chat.
  w.field("tag", !a.decision_id.empty()
                   ? a.decision_id
                   : "chat-" + format_id64("agt_", a.agent));
  w.field("actions", answerable(a));
  w.end_object();
  return w.str();
}

const char* push_urgency(const person_alert& a) {
  switch (a.kind) {
    case alert_kind::decision:
    case alert_kind::expiring: return "high";
    case alert_kind::pending: return "low";
    default: return "normal";
  }
}

int64_t push_ttl(const person_alert& a, int64_t now) {
  // A decision's notification is worth nothing once it expired.
  if (a.expires_ms > now)
    return std::max<int64_t>(1, (a.expires_ms - now) / 1000);
  switch (a.kind) {
    case alert_kind::decision: return 7 * 24 * 3600;
    case alert_kind::test: return 300;
    default: return 24 * 3600;
  }
}

http_post ntfy_post(const alert_prefs::ntfy_channel& ch, const person_alert& a,
                    const std::string& public_url) {
  http_post req;
  req.url = ch.server + "/";
  req.headers.emplace_back("Content-Type", "application/json");
  if (!ch.token.empty())
    req.headers.emplace_back("Authorization", "Bearer " + ch.token);
  json::writer w;
  w.start_object();
  w.field("topic", ch.topic);
  w.field("title", clip(headline(a), 200));
  w.field("message", body_line(a));
  w.field("priority",
          a.kind == alert_kind::decision || a.kind == alert_kind::expiring ? 4
                                                                           : 3);
  auto link = absolute(public_url, alert_link(a));
  w.field("click", link);
  w.key("tags");
  w.start_array();
  w.string(a.kind == alert_kind::decision ? "question" : "robot");
  w.end_array();
  // Buttons open the card in the app, signed in: no one-tap token travels
  // through ntfy.
  w.key("actions");
  w.start_array();
  if (answerable(a)) {
    for (auto [label, answer] :
         {std::pair{"Approve", "approve"}, std::pair{"Deny", "reject"}}) {
      w.start_object();
      w.field("action", "view");
      w.field("label", label);
      w.field("url", link + "/" + answer);
      w.end_object();
    }
  } else {
    w.start_object();
    w.field("action", "view");
    w.field("label", "Open");
    w.field("url", link);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  req.body = w.str();
  return req;
}

http_post slack_post(const alert_prefs::slack_channel& ch,
                     const person_alert& a, const std::string& public_url) {
  http_post req;
  req.url = ch.webhook_url;
  req.headers.emplace_back("Content-Type", "application/json");
  auto title = clip(headline(a), 150);
  auto link = absolute(public_url, alert_link(a));
  json::writer w;
  w.start_object();
  // The plain text is what Slack shows in notifications and previews.
  w.field("text", title);
  w.key("blocks");
  w.start_array();
  w.start_object();
  w.field("type", "section");
  w.key("text");
  w.start_object();
  w.field("type", "mrkdwn");
  w.field("text", "*" + title + "*\n" + body_line(a));
  w.end_object();
  w.end_object();
  w.start_object();
  w.field("type", "actions");
  w.key("elements");
  w.start_array();
  w.start_object();
  w.field("type", "button");
  w.key("text");
  w.start_object();
  w.field("type", "plain_text");
  w.field("text", a.decision_id.empty() ? "Open in Nod" : "Answer in Nod");
  w.end_object();
  w.field("url", link);
  w.end_object();
  w.end_array();
  w.end_object();
  w.end_array();
  w.end_object();
  req.body = w.str();
  return req;
}

email_message alert_email(const person_alert& a,
                          const std::string& public_url) {
  email_message m;
  m.subject = "[Nod] " + clip(headline(a), 150);
  m.body = body_line(a) + "\r\n\r\nOpen it in Nod: "
           + absolute(public_url, alert_link(a)) + "\r\n";
  return m;
}

} // namespace nod
