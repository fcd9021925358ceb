#include "protocol/outbound.hpp"

#include "protocol/events.hpp"
#include "protocol/ids.hpp"
#include "protocol/records.hpp"
#include "protocol/time.hpp"

#include <algorithm>

namespace nod {

namespace {

using json::string_member;

void set_string(json::document& doc, const char* name,
                const std::optional<std::string>& v) {
  auto& alloc = doc.GetAllocator();
  json::value val;
  if (v)
    val.SetString(v->data(), static_cast<rapidjson::SizeType>(v->size()),
                  alloc);
  if (auto i = doc.FindMember(name); i != doc.MemberEnd())
    i->value = val;
  else
    doc.AddMember(json::value{name, alloc}, val, alloc);
}

void set_bool(json::document& doc, const char* name, bool v) {
  auto& alloc = doc.GetAllocator();
  if (auto i = doc.FindMember(name); i != doc.MemberEnd())
    i->value.SetBool(v);
  else
    doc.AddMember(json::value{name, alloc}, json::value{v}, alloc);
}

bool fits_kind(const std::string& kind, const std::string& status) {
  if (status == "dismissed")
    return true;
  if (kind == "approval" || kind == "permission" || kind == "task_proposal")
    return status == "approved" || status == "rejected";
  if (kind == "choice" || kind == "question")
    return status == "responded";
  return false;
}

} // namespace

bool parse_resolution(const json::value& body, resolution& out,
                      json::field_error& err) {
  if (!json::require_string(body, "status", 32, out.status, err))
    return false;
  if (out.status != "approved" && out.status != "rejected"
      && out.status != "responded" && out.status != "dismissed") {
    err = {"status", "status: must be approved, rejected, responded or "
                     "dismissed"};
    return false;
  }
  return json::get_string(body, "note", event_limits::description, out.note,
                          err)
         && json::get_bool(body, "always_allow", out.always_allow, err)
         && json::get_string(body, "always_allow_pattern", event_limits::option,
                             out.always_allow_pattern, err);
}

namespace {

/// "an approval", "a choice": the article a word takes.
std::string with_article(const std::string& word) {
  bool vowel
    = !word.empty()
      && std::string_view{"aeiouAEIOU"}.find(word[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + word;
}

} // namespace

resolve_refusal resolve_decision(std::string_view decision_json,
                                 const resolution& r, std::string_view event_id,
                                 int64_t now_ms, bool by_server,
                                 resolved_decision& out, std::string& detail) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(decision_json, doc, err))
    return resolve_refusal::corrupt;
  auto id = string_member(doc, "id");
  auto kind = string_member(doc, "kind");
  auto status = string_member(doc, "status");
  auto agent_text = string_member(doc, "agent_id");
  auto agent = agent_text ? parse_id64("agt_", *agent_text) : std::nullopt;
  if (!id || !kind || !status || !agent)
    return resolve_refusal::corrupt;
  if (*status != "pending") {
    detail = "decision already " + *status;
    return resolve_refusal::already_resolved;
  }
  bool expiring = by_server && r.status == "expired";
  if (!expiring && !fits_kind(*kind, r.status)) {
    detail = "status: " + r.status + " does not fit " + with_article(*kind)
             + " decision";
    return resolve_refusal::invalid;
  }
  if (r.status == "responded" && !r.note) {
    detail = "note: is required to respond to " + with_article(*kind);
    return resolve_refusal::invalid;
  }
  bool always = r.always_allow.value_or(false);
  if (always && (*kind != "permission" || r.status != "approved")) {
    detail = "always_allow: only when approving a permission";
    return resolve_refusal::invalid;
  }
  std::optional<std::string> pattern;
  if (always) {
    // When the agent offered patterns, the person picks one of them: an
    // "always allow" without one would leave the agent guessing the scope.
    auto offered = doc.FindMember("always_allow_options");
    std::vector<std::string> patterns;
    if (offered != doc.MemberEnd() && offered->value.IsArray())
      for (auto& o : offered->value.GetArray())
        if (auto p = o.IsObject() ? string_member(o, "pattern") : std::nullopt)
          patterns.push_back(std::move(*p));
    bool found
      = r.always_allow_pattern
        && std::find(patterns.begin(), patterns.end(), *r.always_allow_pattern)
             != patterns.end();
    if (!patterns.empty() && !r.always_allow_pattern) {
      detail = "always_allow_pattern: is required when the decision offers "
               "always_allow_options (one of their patterns)";
      return resolve_refusal::invalid;
    }
    if (!patterns.empty() && !found) {
      detail = "always_allow_pattern: not one of the decision's "
               "always_allow_options";
      return resolve_refusal::invalid;
    }
    pattern = r.always_allow_pattern;
  }
  // The stored object, resolved.
  set_string(doc, "status", r.status);
  set_string(doc, "note", r.note);
  set_bool(doc, "always_allow", always);
  set_string(doc, "always_allow_pattern", pattern);
  set_string(doc, "resolved_at", iso8601(now_ms));
  out.decision_json = json::to_string(doc);
  out.agent = *agent;
  // The event for the agent (A4).
  json::writer w;
  w.start_object();
  w.field("type", "decision_resolved");
  w.field("event_id", event_id);
  w.field("decision_id", *id);
  w.field("status", r.status);
  w.field("note", r.note);
  w.field("conversation_id", string_member(doc, "conversation_id"));
  w.field("task_run_id", string_member(doc, "task_run_id"));
  w.field("always_allow", always);
  w.field("always_allow_pattern", pattern);
  w.end_object();
  out.event_json = w.str();
  return resolve_refusal::none;
}

bool parse_user_message(const json::value& body, user_message_input& out,
                        json::field_error& err) {
  if (!json::get_string(body, "text", event_limits::text, out.text, err)
      || !parse_image_field(body, out.image, err))
    return false;
  if (out.text && out.text->empty())
    out.text.reset();
  if (!out.text && !out.image) {
    err = {"text", "text: is required"};
    return false;
  }
  if (!json::get_string(body, "conversation_id", event_limits::id,
                        out.conversation_id, err)
      || !json::get_string(body, "reply_to_id", event_limits::id,
                           out.reply_to_id, err))
    return false;
  if (out.conversation_id && !parse_id64("conv_", *out.conversation_id)) {
    err = {"conversation_id", "conversation_id: must be a conv_… id"};
    return false;
  }
  if (out.reply_to_id && !parse_id64("msg_", *out.reply_to_id)) {
    err = {"reply_to_id", "reply_to_id: must be a msg_… id"};
    return false;
  }
  return true;
}

user_message_out
render_user_message(uint64_t message_id, uint64_t conversation_id,
                    uint64_t agent, const user_message_input& in,
                    const std::string& sender_name,
                    const std::optional<std::string>& reply_to_text,
                    const std::optional<std::string>& image_url,
                    std::string_view event_id, int64_t now_ms) {
  auto msg = format_id64("msg_", message_id);
  auto conv = format_id64("conv_", conversation_id);
  user_message_out out;
  {
    json::writer w;
    w.start_object();
    w.field("id", msg);
    w.field("message_id", msg);
    w.field("conversation_id", conv);
    w.field("agent_id", agent_id_text(agent));
    w.field("role", "user");
    w.field("text", in.text);
    w.field("sender_name", sender_name);
    w.field("image_url", image_url);
    w.field("reply_to_id", in.reply_to_id);
    w.field("reply_to_text", reply_to_text);
    w.field("event_id", event_id);
    w.field("created_at", iso8601(now_ms));
    w.end_object();
    out.message_json = w.str();
  }
  json::writer w;
  w.start_object();
  w.field("type", "user_message");
  w.field("event_id", event_id);
  w.field("message_id", msg);
  w.field("conversation_id", conv);
  w.field("text", in.text);
  w.field("sender_name", sender_name);
  w.field("image_url", image_url);
  w.key("image_urls");
  w.start_array();
  if (image_url)
    w.string(*image_url);
  w.end_array();
  w.key("audio_url");
  w.null();
  w.field("reply_to_id", in.reply_to_id);
  w.field("reply_to_text", reply_to_text);
  w.end_object();
  out.event_json = w.str();
  return out;
}

void add_created_task(resolved_decision& out, std::string_view task_id) {
  for (auto* text : {&out.decision_json, &out.event_json}) {
    json::document doc;
    json::field_error err;
    if (!json::parse_object(*text, doc, err))
      continue;
    set_string(doc, "task_id", std::string{task_id});
    *text = json::to_string(doc);
  }
}

std::string with_seq(std::string_view event_json, uint64_t seq) {
  std::string out{event_json.substr(0, event_json.size() - 1)};
  out += ",\"seq\":";
  out += std::to_string(seq);
  out += '}';
  return out;
}

} // namespace nod
