#include "protocol/events.hpp"

#include "protocol/credentials.hpp"
#include "protocol/tasks.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace nod {

namespace {

constexpr size_t no_limit = std::numeric_limits<size_t>::max();

constexpr char conversation_id_message[]
  = "must be conv_ followed by 16 lowercase hex digits";
constexpr char task_run_id_message[]
  = "must be run_ followed by 1 to 64 lowercase hex digits";
constexpr char not_an_image[] = "not a PNG, JPEG, GIF or WebP image";
constexpr char too_large[] = "larger than 5 MiB";

// A `data:` prefix is short; looking for its comma only this far keeps a
// huge value without one from being scanned twice.
constexpr size_t max_data_prefix = 256;

// Base64 digits of the largest acceptable image, padded: anything longer
// decodes to more than the limit (or is not base64 at all).
constexpr size_t max_image_chars = (event_limits::image_bytes + 2) / 3 * 4;

struct type_entry {
  const char* name;
  event_type type;
};

constexpr type_entry type_table[] = {
  {"message", event_type::message},
  {"decision", event_type::decision},
  {"alert", event_type::alert},
  {"processing_start", event_type::processing_start},
  {"processing_stop", event_type::processing_stop},
  {"agent_heartbeat", event_type::agent_heartbeat},
  {"agent_idle", event_type::agent_idle},
  {"status", event_type::status},
  {"task_proposal", event_type::task_proposal},
};

constexpr const char* decision_kinds[]
  = {"approval", "choice", "question", "permission"};

bool fail(json::field_error& err, std::string field, std::string_view what) {
  err.message = field;
  err.message += ": ";
  err.message += what;
  err.field = std::move(field);
  return false;
}

// Puts `prefix` + "." before the field an error from a nested object names,
// e.g. "pattern: is required" → "always_allow_options[2].pattern: …".
bool nest_error(json::field_error& err, const std::string& prefix) {
  err.field = prefix + "." + err.field;
  err.message = prefix + "." + err.message;
  return false;
}

// The member `name` of `obj`, or null when absent.
const json::value* find(const json::value& obj, const char* name) {
  auto i = obj.FindMember(name);
  return i == obj.MemberEnd() ? nullptr : &i->value;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
    if (x != b[i])
      return false;
  }
  return true;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// At most `n` bytes of `s`, cut at a UTF-8 character boundary so that an
// error message quoting it stays valid UTF-8.
std::string_view utf8_prefix(std::string_view s, size_t n) {
  if (s.size() <= n)
    return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return s.substr(0, n);
}

bool get_conversation_id(const json::value& obj,
                         std::optional<std::string>& out,
                         json::field_error& err) {
  if (!json::get_string(obj, "conversation_id", no_limit, out, err))
    return false;
  if (out && !is_conversation_id(*out))
    return fail(err, "conversation_id", conversation_id_message);
  return true;
}

bool get_task_run_id(const json::value& obj, std::optional<std::string>& out,
                     json::field_error& err) {
  if (!json::get_string(obj, "task_run_id", no_limit, out, err))
    return false;
  if (out && !is_task_run_id(*out))
    return fail(err, "task_run_id", task_run_id_message);
  return true;
}

bool get_request_id(const json::value& obj, std::optional<std::string>& out,
                    json::field_error& err) {
  auto v = find(obj, "request_id");
  if (v == nullptr || v->IsNull())
    return true;
  if (v->IsNumber()) {
    out = json::to_string(*v);
    return true;
  }
  return json::get_string(obj, "request_id", event_limits::id, out, err);
}

bool get_type(const json::value& obj, event_type& out, json::field_error& err) {
  std::string name;
  if (!json::require_string(obj, "type", no_limit, name, err))
    return false;
  for (auto& entry : type_table) {
    if (name == entry.name) {
      out = entry.type;
      return true;
    }
  }
  return fail(err, "type",
              "unknown event type \"" + std::string{utf8_prefix(name, 64)}
                + "\"");
}

// Decodes `image_base64`: an optional `data:<mime>;base64,` prefix, then
// base64 in either alphabet.
bool parse_image(std::string_view text, image_data& out,
                 json::field_error& err) {
  const char* f = "image_base64";
  if (text.size() >= 5 && iequals(text.substr(0, 5), "data:")) {
    auto comma = text.substr(0, max_data_prefix).find(',');
    constexpr std::string_view marker = ";base64";
    if (comma == std::string_view::npos || comma < marker.size()
        || !iequals(text.substr(comma - marker.size(), marker.size()), marker))
      return fail(err, f, "a data: prefix must end with ;base64,");
    text.remove_prefix(comma + 1);
  }
  // Bound the size before copying or decoding anything, so that a huge
  // value costs one scan at most.
  std::string digits;
  digits.reserve(std::min(text.size(), max_image_chars));
  for (char c : text) {
    if (is_space(c))
      continue;
    if (digits.size() == max_image_chars)
      return fail(err, f, too_large);
    digits += c == '-' ? '+' : c == '_' ? '/' : c;
  }
  auto n = digits.size();
  while (n > 0 && digits[n - 1] == '=')
    --n;
  auto decoded_size = n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0);
  if (decoded_size > event_limits::image_bytes)
    return fail(err, f, too_large);
  auto bytes = base64_decode(digits);
  if (!bytes)
    return fail(err, f, "invalid base64");
  auto type = image_content_type(*bytes);
  if (type == nullptr)
    return fail(err, f, not_an_image);
  out.content_type = type;
  out.bytes = std::move(*bytes);
  return true;
}

} // namespace

bool parse_image_field(const json::value& obj, std::optional<image_data>& out,
                       json::field_error& err) {
  // Read in place: the text may be many megabytes, or far too long.
  auto image = find(obj, "image_base64");
  if (image == nullptr || image->IsNull())
    return true;
  if (!image->IsString())
    return fail(err, "image_base64", "must be a string");
  out.emplace();
  return parse_image({image->GetString(), image->GetStringLength()}, *out, err);
}

namespace {

bool parse_message(const json::value& obj, agent_event& out,
                   json::field_error& err) {
  if (!json::get_string(obj, "text", event_limits::text, out.text, err))
    return false;
  if (out.text && out.text->empty())
    out.text.reset();
  if (!parse_image_field(obj, out.image, err))
    return false;
  if (!out.text && !out.image)
    return fail(err, "text", "is required");
  return get_conversation_id(obj, out.conversation_id, err)
         && get_task_run_id(obj, out.task_run_id, err)
         && json::get_string(obj, "report_title", event_limits::title,
                             out.report_title, err)
         && json::get_string(obj, "report_description",
                             event_limits::description, out.report_description,
                             err);
}

bool parse_options(const json::value& obj, std::vector<std::string>& out,
                   json::field_error& err) {
  auto v = find(obj, "options");
  if (v == nullptr || v->IsNull())
    return true;
  if (!v->IsArray())
    return fail(err, "options", "must be an array of strings");
  if (v->Size() > event_limits::options)
    return fail(err, "options",
                "at most " + std::to_string(event_limits::options)
                  + " options");
  size_t i = 0;
  for (auto& o : v->GetArray()) {
    auto name = "options[" + std::to_string(i++) + "]";
    if (!o.IsString())
      return fail(err, name, "must be a string");
    if (o.GetStringLength() == 0)
      return fail(err, name, "must not be empty");
    if (o.GetStringLength() > event_limits::option)
      return fail(err, name,
                  "at most " + std::to_string(event_limits::option)
                    + " characters");
    out.emplace_back(o.GetString(), o.GetStringLength());
  }
  return true;
}

bool parse_always_allow_options(const json::value& obj,
                                std::vector<always_allow_option>& out,
                                json::field_error& err) {
  const char* f = "always_allow_options";
  auto v = find(obj, f);
  if (v == nullptr || v->IsNull())
    return true;
  if (!v->IsArray())
    return fail(err, f, "must be an array of objects");
  if (v->Size() > event_limits::options)
    return fail(
      err, f, "at most " + std::to_string(event_limits::options) + " options");
  size_t i = 0;
  for (auto& o : v->GetArray()) {
    auto name = std::string{f} + "[" + std::to_string(i++) + "]";
    if (!o.IsObject())
      return fail(err, name, "must be an object");
    always_allow_option opt;
    std::optional<std::string> label;
    if (!json::require_string(o, "pattern", event_limits::option, opt.pattern,
                              err)
        || !json::get_string(o, "label", event_limits::option, label, err))
      return nest_error(err, name);
    opt.label = label && !label->empty() ? std::move(*label) : opt.pattern;
    out.push_back(std::move(opt));
  }
  return true;
}

bool parse_decision(const json::value& obj, agent_event& out,
                    json::field_error& err) {
  std::string title;
  std::string kind;
  if (!json::require_string(obj, "title", event_limits::title, title, err)
      || !json::require_string(obj, "kind", no_limit, kind, err))
    return false;
  out.title = std::move(title);
  bool known = false;
  for (auto k : decision_kinds)
    known = known || kind == k;
  if (!known)
    return fail(err, "kind",
                "must be one of approval, choice, question, permission");
  out.kind = std::move(kind);
  if (!json::get_string(obj, "description", event_limits::description,
                        out.description, err)
      || !parse_options(obj, out.options, err))
    return false;
  if (*out.kind == "choice" && out.options.empty())
    return fail(err, "options", "required for a choice");
  return get_conversation_id(obj, out.conversation_id, err)
         && get_task_run_id(obj, out.task_run_id, err)
         && json::get_bool(obj, "allows_always", out.allows_always, err)
         && json::get_string(obj, "always_allow_label", event_limits::option,
                             out.always_allow_label, err)
         && parse_always_allow_options(obj, out.always_allow_options, err)
         && json::get_int(obj, "expires_in", event_limits::expires_min,
                          event_limits::expires_max, out.expires_in, err);
}

bool parse_alert(const json::value& obj, agent_event& out,
                 json::field_error& err) {
  std::string title;
  if (!json::require_string(obj, "title", event_limits::title, title, err))
    return false;
  out.title = std::move(title);
  return json::get_string(obj, "text", event_limits::text, out.text, err)
         && get_task_run_id(obj, out.task_run_id, err);
}

bool parse_processing(const json::value& obj, agent_event& out,
                      json::field_error& err, bool with_status) {
  if (!get_conversation_id(obj, out.conversation_id, err))
    return false;
  if (!with_status)
    return true;
  if (!json::get_string(obj, "status_text", event_limits::status_text,
                        out.status_text, err))
    return false;
  if (!out.status_text || out.status_text->empty())
    out.status_text = "Thinking";
  return true;
}

bool parse_status(const json::value& obj, agent_event& out,
                  json::field_error& err) {
  std::string action;
  if (!json::require_string(obj, "action", event_limits::title, action, err))
    return false;
  out.action = std::move(action);
  auto details = find(obj, "details");
  if (details == nullptr || details->IsNull())
    return true;
  // Bounded in depth by parse_object, so serializing it is safe.
  out.details_json = json::to_string(*details);
  if (out.details_json->size() > event_limits::details) {
    err.field = "details";
    err.message = "details: at most " + std::to_string(event_limits::details)
                  + " bytes as JSON";
    return false;
  }
  return true;
}

bool parse_task_proposal(const json::value& obj, agent_event& out,
                         json::field_error& err) {
  std::string title;
  std::string name;
  std::string prompt;
  std::string schedule;
  if (!json::require_string(obj, "title", event_limits::title, title, err)
      || !json::require_string(obj, "task_name", event_limits::title, name, err)
      || !json::require_string(obj, "task_prompt", event_limits::text, prompt,
                               err)
      || !json::require_string(obj, "task_schedule", event_limits::title,
                               schedule, err))
    return false;
  // Checked now, so that approving the proposal cannot fail on it. A
  // proposal has no run_at: "once" cannot be proposed.
  task_schedule checked;
  if (!check_schedule(schedule, std::nullopt, std::nullopt, checked, err)) {
    err.field = "task_schedule";
    err.message
      = "task_schedule: " + err.message.substr(err.message.find(": ") + 2);
    return false;
  }
  out.title = std::move(title);
  out.task_name = std::move(name);
  out.task_prompt = std::move(prompt);
  out.task_schedule = std::move(schedule);
  return true;
}

} // namespace

const char* to_string(event_type t) {
  for (auto& entry : type_table)
    if (entry.type == t)
      return entry.name;
  return "unknown";
}

bool parse_agent_event(const json::value& obj, agent_event& out,
                       json::field_error& err) {
  out = agent_event{};
  if (!obj.IsObject()) {
    err.field.clear();
    err.message = "body: must be a JSON object";
    return false;
  }
  if (!get_request_id(obj, out.request_id, err)
      || !get_type(obj, out.type, err))
    return false;
  switch (out.type) {
    case event_type::message: return parse_message(obj, out, err);
    case event_type::decision: return parse_decision(obj, out, err);
    case event_type::alert: return parse_alert(obj, out, err);
    case event_type::processing_start:
    case event_type::agent_heartbeat:
      return parse_processing(obj, out, err, true);
    case event_type::processing_stop:
    case event_type::agent_idle: return parse_processing(obj, out, err, false);
    case event_type::status: return parse_status(obj, out, err);
    case event_type::task_proposal: return parse_task_proposal(obj, out, err);
  }
  return fail(err, "type", "unknown event type");
}

bool is_conversation_id(std::string_view text) {
  constexpr std::string_view prefix = "conv_";
  return text.size() == prefix.size() + 16 && starts_with(text, prefix)
         && is_lower_hex(text.substr(prefix.size()));
}

bool is_task_run_id(std::string_view text) {
  constexpr std::string_view prefix = "run_";
  return text.size() > prefix.size()
         && text.size() <= prefix.size() + event_limits::id
         && starts_with(text, prefix)
         && is_lower_hex(text.substr(prefix.size()));
}

const char* image_content_type(std::string_view bytes) {
  using namespace std::string_view_literals;
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n"sv))
    return "image/png";
  if (starts_with(bytes, "\xff\xd8\xff"sv))
    return "image/jpeg";
  if (starts_with(bytes, "GIF87a"sv) || starts_with(bytes, "GIF89a"sv))
    return "image/gif";
  if (bytes.size() >= 12 && starts_with(bytes, "RIFF"sv)
      && bytes.substr(8, 4) == "WEBP"sv)
    return "image/webp";
  return nullptr;
}

} // namespace nod
