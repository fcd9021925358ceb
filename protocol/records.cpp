#include "protocol/records.hpp"

#include "protocol/ids.hpp"
#include "protocol/time.hpp"

#include <utility>

namespace nod {

namespace {

// Store forms keep ids as JSON numbers (RapidJSON holds all 64 bits) and
// times as Unix milliseconds; an absent optional is `null`, which keeps it
// apart from an empty string. Unknown members are ignored, so a newer
// server can add fields without breaking an older reader.

void write_u64(json::writer& w, std::string_view k, uint64_t v) {
  w.key(k);
  w.raw().Uint64(v);
}

// Readers: false if `name` is missing or has the wrong type.
bool read(const json::value& obj, const char* name, uint64_t& out) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || !i->value.IsUint64())
    return false;
  out = i->value.GetUint64();
  return true;
}

bool read(const json::value& obj, const char* name, int64_t& out) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || !i->value.IsInt64())
    return false;
  out = i->value.GetInt64();
  return true;
}

bool read(const json::value& obj, const char* name, bool& out) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || !i->value.IsBool())
    return false;
  out = i->value.GetBool();
  return true;
}

bool read(const json::value& obj, const char* name, std::string& out) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || !i->value.IsString())
    return false;
  out.assign(i->value.GetString(), i->value.GetStringLength());
  return true;
}

// Optional strings may be missing (older records) or null.
bool read(const json::value& obj, const char* name,
          std::optional<std::string>& out) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || i->value.IsNull()) {
    out.reset();
    return true;
  }
  if (!i->value.IsString())
    return false;
  out.emplace(i->value.GetString(), i->value.GetStringLength());
  return true;
}

bool parse_storage(std::string_view text, json::document& doc) {
  json::field_error err;
  return json::parse_object(text, doc, err);
}

} // namespace

std::string to_storage(const user_record& x) {
  json::writer w;
  w.start_object();
  write_u64(w, "id", x.id);
  w.field("username", x.username);
  w.field("password_hash", x.password_hash);
  w.field("admin", x.admin);
  w.field("created_ms", x.created_ms);
  w.end_object();
  return w.str();
}

std::string to_storage(const session_record& x) {
  json::writer w;
  w.start_object();
  write_u64(w, "user", x.user);
  w.field("created_ms", x.created_ms);
  w.field("expires_ms", x.expires_ms);
  w.end_object();
  return w.str();
}

std::string to_storage(const agent_record& x) {
  json::writer w;
  w.start_object();
  write_u64(w, "id", x.id);
  write_u64(w, "owner", x.owner);
  w.field("name", x.name);
  w.field("avatar", x.avatar);
  w.field("description", x.description);
  w.field("webhook_url", x.webhook_url);
  w.field("type", x.type);
  w.field("secret_hash", x.secret_hash);
  w.field("webhook_secret", x.webhook_secret);
  w.field("created_ms", x.created_ms);
  w.field("updated_ms", x.updated_ms);
  w.end_object();
  return w.str();
}

bool from_storage(std::string_view text, user_record& x) {
  json::document doc;
  user_record r;
  if (!parse_storage(text, doc) || !read(doc, "id", r.id)
      || !read(doc, "username", r.username)
      || !read(doc, "password_hash", r.password_hash)
      || !read(doc, "admin", r.admin) || !read(doc, "created_ms", r.created_ms))
    return false;
  x = std::move(r);
  return true;
}

bool from_storage(std::string_view text, session_record& x) {
  json::document doc;
  session_record r;
  if (!parse_storage(text, doc) || !read(doc, "user", r.user)
      || !read(doc, "created_ms", r.created_ms)
      || !read(doc, "expires_ms", r.expires_ms))
    return false;
  x = r;
  return true;
}

bool from_storage(std::string_view text, agent_record& x) {
  json::document doc;
  agent_record r;
  if (!parse_storage(text, doc) || !read(doc, "id", r.id)
      || !read(doc, "owner", r.owner) || !read(doc, "name", r.name)
      || !read(doc, "avatar", r.avatar)
      || !read(doc, "description", r.description)
      || !read(doc, "webhook_url", r.webhook_url) || !read(doc, "type", r.type)
      || !read(doc, "secret_hash", r.secret_hash)
      || !read(doc, "webhook_secret", r.webhook_secret)
      || !read(doc, "created_ms", r.created_ms)
      || !read(doc, "updated_ms", r.updated_ms))
    return false;
  x = std::move(r);
  return true;
}

void write_user(json::writer& w, const user_record& x) {
  w.start_object();
  w.field("id", user_id_text(x.id));
  w.field("username", x.username);
  w.field("admin", x.admin);
  w.field("created_at", iso8601(x.created_ms));
  w.end_object();
}

void write_agent(json::writer& w, const agent_record& x, const agent_live& live,
                 bool include_webhook_secret) {
  w.start_object();
  write_agent_fields(w, x, live, include_webhook_secret);
  w.end_object();
}

void write_agent_fields(json::writer& w, const agent_record& x,
                        const agent_live& live, bool include_webhook_secret) {
  auto id = agent_id_text(x.id);
  w.field("id", id);
  w.field("agent_id", id);
  w.field("name", x.name);
  w.field("avatar", x.avatar);
  w.field("description", x.description);
  w.field("webhook_url", x.webhook_url);
  w.field("type", x.type);
  w.field("created_at", iso8601(x.created_ms));
  w.field("updated_at", iso8601(x.updated_ms));
  w.field("online", live.online);
  w.field("processing", live.processing);
  w.field("status_text", live.status_text);
  w.field("pending_decisions", live.pending_decisions);
  w.field("undelivered_events", live.undelivered_events);
  if (include_webhook_secret)
    w.field("webhook_secret", x.webhook_secret);
}

std::string user_id_text(uint64_t id) {
  return format_id64("usr_", id);
}

std::string agent_id_text(uint64_t id) {
  return format_id64("agt_", id);
}

std::string conversation_json(uint64_t conv, uint64_t agent, int64_t created_ms,
                              int64_t updated_ms) {
  json::writer w;
  w.start_object();
  w.field("id", format_id64("conv_", conv));
  w.field("agent_id", agent_id_text(agent));
  w.field("created_at", iso8601(created_ms));
  w.field("updated_at", iso8601(updated_ms));
  w.end_object();
  return w.str();
}

std::string activity_json(uint64_t id, uint64_t agent, std::string_view kind,
                          const std::string& title,
                          const std::optional<std::string>& text,
                          const std::optional<std::string>& ref_id,
                          const std::optional<std::string>& details_json,
                          int64_t at_ms) {
  json::writer w;
  w.start_object();
  w.field("id", format_id64("act_", id));
  w.field("agent_id", agent_id_text(agent));
  w.field("kind", kind);
  w.field("title", title);
  w.field("text", text);
  w.field("ref_id", ref_id);
  w.key("details");
  if (details_json)
    w.raw_json(*details_json);
  else
    w.null();
  w.field("created_at", iso8601(at_ms));
  w.end_object();
  return w.str();
}

std::string app_frame(std::string_view type, std::string_view key,
                      const std::string& object_json) {
  json::writer w;
  w.start_object();
  w.field("type", type);
  w.key(key);
  w.raw_json(object_json);
  w.end_object();
  return w.str();
}

} // namespace nod
