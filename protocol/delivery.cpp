#include "protocol/delivery.hpp"

#include "protocol/ids.hpp"
#include "protocol/json.hpp"
#include "protocol/records.hpp"
#include "protocol/time.hpp"
#include "protocol/webhook.hpp"

namespace nod {

namespace {

template <class T>
void opt_int(json::writer& w, const char* key, const std::optional<T>& v) {
  w.key(key);
  if (v)
    w.integer(static_cast<int64_t>(*v));
  else
    w.null();
}

std::optional<int64_t> opt_int64(const json::value& obj, const char* name) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || !i->value.IsInt64())
    return std::nullopt;
  return i->value.GetInt64();
}

std::optional<int64_t> opt_time(const json::value& obj, const char* name) {
  auto text = json::string_member(obj, name);
  return text ? parse_iso8601(*text) : std::nullopt;
}

} // namespace

std::string to_json(const delivery_record& r) {
  json::writer w;
  w.start_object();
  w.field("id", r.event_id);
  w.field("event_id", r.event_id);
  w.field("agent_id", agent_id_text(r.agent));
  w.field("seq", static_cast<int64_t>(r.seq));
  w.field("type", r.type);
  w.field("state", r.state);
  w.field("channel", r.channel);
  w.key("attempts");
  w.start_array();
  for (auto& a : r.attempts) {
    w.start_object();
    w.field("at", iso8601(a.at_ms));
    w.field("channel", a.channel);
    w.field("result", a.ok ? "ok" : "failed");
    w.field("delivery_id", a.delivery_id);
    opt_int(w, "retry_num", a.retry_num);
    opt_int(w, "status_code", a.status_code);
    w.field("error", a.error);
    opt_int(w, "duration_ms", a.duration_ms);
    w.end_object();
  }
  w.end_array();
  w.key("next_attempt_at");
  if (r.next_attempt_ms)
    w.string(iso8601(*r.next_attempt_ms));
  else
    w.null();
  w.key("sent_at");
  if (r.sent_ms)
    w.string(iso8601(*r.sent_ms));
  else
    w.null();
  w.field("created_at", iso8601(r.created_ms));
  w.field("updated_at", iso8601(r.updated_ms));
  if (r.hops > 0)
    w.field("hops", static_cast<int64_t>(r.hops));
  w.end_object();
  return w.str();
}

bool from_json(std::string_view text, delivery_record& r) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(text, doc, err))
    return false;
  auto event_id = json::string_member(doc, "event_id");
  auto agent = json::string_member(doc, "agent_id");
  auto seq = opt_int64(doc, "seq");
  auto type = json::string_member(doc, "type");
  auto state = json::string_member(doc, "state");
  auto created = opt_time(doc, "created_at");
  auto updated = opt_time(doc, "updated_at");
  auto attempts = doc.FindMember("attempts");
  if (!event_id || !agent || !seq || *seq < 0 || !type || !state || !created
      || !updated || attempts == doc.MemberEnd() || !attempts->value.IsArray())
    return false;
  auto agent_id = parse_id64("agt_", *agent);
  if (!agent_id)
    return false;
  r = delivery_record{};
  r.event_id = *event_id;
  r.agent = *agent_id;
  r.seq = static_cast<uint64_t>(*seq);
  r.type = *type;
  r.state = *state;
  r.channel = json::string_member(doc, "channel");
  r.next_attempt_ms = opt_time(doc, "next_attempt_at");
  r.sent_ms = opt_time(doc, "sent_at");
  r.created_ms = *created;
  r.updated_ms = *updated;
  auto hops = opt_int64(doc, "hops");
  if (hops && (*hops < 0 || *hops > max_webhook_hops))
    return false;
  r.hops = static_cast<unsigned>(hops.value_or(0));
  for (auto& item : attempts->value.GetArray()) {
    if (!item.IsObject())
      return false;
    delivery_attempt a;
    auto at = opt_time(item, "at");
    auto channel = json::string_member(item, "channel");
    auto result = json::string_member(item, "result");
    if (!at || !channel || !result)
      return false;
    a.at_ms = *at;
    a.channel = *channel;
    a.ok = *result == "ok";
    a.delivery_id = json::string_member(item, "delivery_id");
    a.retry_num = opt_int64(item, "retry_num");
    a.status_code = opt_int64(item, "status_code");
    a.error = json::string_member(item, "error");
    a.duration_ms = opt_int64(item, "duration_ms");
    r.attempts.push_back(std::move(a));
  }
  return true;
}

} // namespace nod
