#include "protocol/tasks.hpp"

#include "protocol/ids.hpp"
#include "protocol/records.hpp"
#include "protocol/time.hpp"

#include <algorithm>

namespace nod {

namespace {

bool fail(json::field_error& err, const char* field, const std::string& what) {
  err.field = field;
  err.message = std::string{field} + ": " + what;
  return false;
}

/// Reads optional ISO-8601 time `name`.
bool get_time(const json::value& obj, const char* name,
              std::optional<int64_t>& out, json::field_error& err) {
  std::optional<std::string> text;
  if (!json::get_string(obj, name, 64, text, err))
    return false;
  if (!text)
    return true;
  out = parse_iso8601(*text);
  if (!out)
    return fail(err, name,
                "must be an ISO-8601 time such as 2026-11-28T22:03:11Z");
  return true;
}

/// The JSON text of member `name`, any type, at most `max` bytes
/// serialized; empty when absent or null.
bool get_any(const json::value& obj, const char* name, size_t max,
             std::string& out, json::field_error& err) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || i->value.IsNull())
    return true;
  out = json::to_string(i->value);
  if (out.size() > max)
    return fail(err, name, "at most " + std::to_string(max) + " bytes");
  return true;
}

void time_or_null(json::writer& w, const char* key, int64_t ms) {
  w.key(key);
  if (ms > 0)
    w.string(iso8601(ms));
  else
    w.null();
}

void raw_or_null(json::writer& w, const char* key, const std::string& raw) {
  w.key(key);
  if (raw.empty())
    w.null();
  else
    w.raw_json(raw);
}

int64_t time_member(const json::value& obj, const char* name) {
  auto text = json::string_member(obj, name);
  if (!text)
    return 0;
  return parse_iso8601(*text).value_or(0);
}

std::string raw_member(const json::value& obj, const char* name) {
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || i->value.IsNull())
    return {};
  return json::to_string(i->value);
}

uint64_t id_member(const json::value& obj, const char* name,
                   std::string_view prefix) {
  auto text = json::string_member(obj, name);
  if (!text)
    return 0;
  return parse_id64(prefix, *text).value_or(0);
}

/// Replaces bytes that are not valid UTF-8 with U+FFFD.
std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<uint8_t>(in[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= in.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<uint8_t>(in[i + k]) & 0xC0) == 0x80;
    if (ok && len > 1) {
      // Overlong forms, surrogates and values past U+10FFFF.
      uint32_t cp = c & (0x7F >> len);
      for (size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (static_cast<uint8_t>(in[i + k]) & 0x3F);
      static constexpr uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= min_cp[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

} // namespace

bool parse_task_input(const json::value& body, bool patch, task_input& out,
                      json::field_error& err) {
  if (patch) {
    if (!json::get_string(body, "name", task_limits::name, out.name, err)
        || !json::get_string(body, "prompt", task_limits::prompt, out.prompt,
                             err)
        || !json::get_string(body, "schedule", task_limits::schedule,
                             out.schedule, err))
      return false;
    if (out.name && out.name->empty())
      return fail(err, "name", "must not be empty");
    if (out.schedule && out.schedule->empty())
      return fail(err, "schedule", "must not be empty");
  } else {
    std::string name, prompt, schedule;
    if (!json::require_string(body, "name", task_limits::name, name, err)
        || !json::require_string(body, "prompt", task_limits::prompt, prompt,
                                 err)
        || !json::require_string(body, "schedule", task_limits::schedule,
                                 schedule, err))
      return false;
    out.name = std::move(name);
    out.prompt = std::move(prompt);
    out.schedule = std::move(schedule);
  }
  out.timezone_cleared = json::is_null(body, "timezone");
  out.trigger_secret_cleared = patch && json::is_null(body, "trigger_secret");
  if (!get_time(body, "run_at", out.run_at_ms, err)
      || !json::get_string(body, "timezone", task_limits::timezone,
                           out.timezone, err)
      || !json::get_bool(body, "enabled", out.enabled, err)
      || !json::get_string(body, "trigger_secret", task_limits::trigger_secret,
                           out.trigger_secret, err))
    return false;
  if (out.trigger_secret && out.trigger_secret->empty())
    return fail(err, "trigger_secret", "must not be empty (null removes it)");
  return true;
}

const char* to_string(trigger_type t) {
  switch (t) {
    case trigger_type::scheduled: return "scheduled";
    case trigger_type::once: return "once";
    case trigger_type::event: return "event";
  }
  return "scheduled";
}

bool check_schedule(std::string_view schedule, std::optional<int64_t> run_at_ms,
                    const std::optional<std::string>& timezone,
                    task_schedule& out, json::field_error& err) {
  out = {};
  if (timezone && !timezone->empty()) {
    out.zone = cron::find_zone(*timezone);
    if (!out.zone)
      return fail(err, "timezone",
                  "unknown time zone '" + *timezone
                    + "' (use an IANA name such as Europe/Berlin)");
  }
  if (schedule == "once") {
    out.type = trigger_type::once;
    if (!run_at_ms)
      return fail(err, "run_at", "is required when schedule is \"once\"");
    out.run_at_ms = *run_at_ms;
    return true;
  }
  if (schedule == "event") {
    out.type = trigger_type::event;
    return true;
  }
  std::string why;
  auto parsed = cron::parse(schedule, why);
  if (!parsed)
    return fail(err, "schedule",
                why
                  + " (expected a 5-field cron expression, \"once\" or "
                    "\"event\")");
  out.type = trigger_type::scheduled;
  out.cron = *parsed;
  return true;
}

std::string to_json(const task_record& t) {
  json::writer w;
  w.start_object();
  auto id = format_id64("tsk_", t.id);
  w.field("id", id);
  w.field("task_id", id);
  w.field("agent_id", agent_id_text(t.agent));
  w.field("name", t.name);
  w.field("prompt", t.prompt);
  w.field("schedule", t.schedule);
  w.field("trigger_type", to_string(t.type));
  w.field("enabled", t.enabled);
  time_or_null(w, "run_at", t.run_at_ms);
  w.key("timezone");
  if (t.timezone.empty())
    w.null();
  else
    w.string(t.timezone);
  w.key("trigger_url");
  if (t.trigger_url.empty())
    w.null();
  else
    w.string(t.trigger_url);
  if (!t.trigger_id.empty())
    w.field("trigger_id", t.trigger_id);
  w.field("trigger_secret_set", t.trigger_secret_set);
  time_or_null(w, "next_run_at", t.next_run_ms);
  time_or_null(w, "last_run_at", t.last_run_ms);
  w.field("created_at", iso8601(t.created_ms));
  w.field("updated_at", iso8601(t.updated_ms));
  w.end_object();
  return w.str();
}

std::optional<task_record> task_from_json(std::string_view text) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(text, doc, err))
    return std::nullopt;
  task_record t;
  t.id = id_member(doc, "id", "tsk_");
  t.agent = id_member(doc, "agent_id", "agt_");
  auto name = json::string_member(doc, "name");
  auto prompt = json::string_member(doc, "prompt");
  auto schedule = json::string_member(doc, "schedule");
  auto type = json::string_member(doc, "trigger_type");
  if (t.id == 0 || t.agent == 0 || !name || !prompt || !schedule || !type)
    return std::nullopt;
  t.name = std::move(*name);
  t.prompt = std::move(*prompt);
  t.schedule = std::move(*schedule);
  t.type = *type == "once"    ? trigger_type::once
           : *type == "event" ? trigger_type::event
                              : trigger_type::scheduled;
  t.enabled = doc.HasMember("enabled") && doc["enabled"].IsBool()
                ? doc["enabled"].GetBool()
                : true;
  t.run_at_ms = time_member(doc, "run_at");
  t.timezone = json::string_member(doc, "timezone").value_or("");
  t.trigger_id = json::string_member(doc, "trigger_id").value_or("");
  t.trigger_url = json::string_member(doc, "trigger_url").value_or("");
  t.trigger_secret_set = doc.HasMember("trigger_secret_set")
                         && doc["trigger_secret_set"].IsBool()
                         && doc["trigger_secret_set"].GetBool();
  t.next_run_ms = time_member(doc, "next_run_at");
  t.last_run_ms = time_member(doc, "last_run_at");
  t.created_ms = time_member(doc, "created_at");
  t.updated_ms = time_member(doc, "updated_at");
  return t;
}

int64_t next_fire(const task_record& t, int64_t after_ms) {
  if (!t.enabled)
    return 0;
  switch (t.type) {
    case trigger_type::event: return 0;
    case trigger_type::once:
      return t.last_run_ms >= t.run_at_ms && t.last_run_ms > 0 ? 0
                                                               : t.run_at_ms;
    case trigger_type::scheduled: {
      task_schedule s;
      json::field_error err;
      std::optional<std::string> zone;
      if (!t.timezone.empty())
        zone = t.timezone;
      if (!check_schedule(t.schedule, std::nullopt, zone, s, err))
        return 0;
      return cron::next_after(s.cron, after_ms, s.zone).value_or(0);
    }
  }
  return 0;
}

const char* to_string(run_origin o) {
  switch (o) {
    case run_origin::schedule: return "schedule";
    case run_origin::manual: return "manual";
    case run_origin::event: return "event";
    case run_origin::agent: return "agent";
  }
  return "schedule";
}

namespace {

// `headers_json` / `content_type` of an event run, as its events show them.
void trigger_details(json::writer& w, const run_record& r) {
  raw_or_null(w, "headers", r.headers_json);
  w.key("content_type");
  if (r.content_type.empty())
    w.null();
  else
    w.string(r.content_type);
}

} // namespace

std::string to_json(const run_record& r) {
  json::writer w;
  w.start_object();
  auto id = format_id64("run_", r.id);
  w.field("id", id);
  w.field("run_id", id);
  w.field("task_id", format_id64("tsk_", r.task));
  w.field("agent_id", agent_id_text(r.agent));
  w.field("origin", to_string(r.origin));
  w.field("status", r.status);
  w.field("task_name", r.task_name);
  w.field("task_prompt", r.task_prompt);
  w.field("schedule", r.schedule);
  w.field("trigger_type", r.trigger_type);
  w.key("event_id");
  if (r.event_id.empty())
    w.null();
  else
    w.string(r.event_id);
  raw_or_null(w, "payload", r.payload_json);
  time_or_null(w, "received_at", r.received_ms);
  trigger_details(w, r);
  raw_or_null(w, "result", r.result_json);
  raw_or_null(w, "error", r.error_json);
  w.key("summary");
  if (r.summary)
    w.string(*r.summary);
  else
    w.null();
  w.field("created_at", iso8601(r.created_ms));
  time_or_null(w, "completed_at", r.completed_ms);
  w.end_object();
  return w.str();
}

std::optional<run_record> run_from_json(std::string_view text) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(text, doc, err))
    return std::nullopt;
  run_record r;
  r.id = id_member(doc, "id", "run_");
  r.task = id_member(doc, "task_id", "tsk_");
  r.agent = id_member(doc, "agent_id", "agt_");
  auto status = json::string_member(doc, "status");
  if (r.id == 0 || r.task == 0 || r.agent == 0 || !status)
    return std::nullopt;
  r.status = std::move(*status);
  auto origin = json::string_member(doc, "origin").value_or("schedule");
  r.origin = origin == "manual"  ? run_origin::manual
             : origin == "event" ? run_origin::event
             : origin == "agent" ? run_origin::agent
                                 : run_origin::schedule;
  r.task_name = json::string_member(doc, "task_name").value_or("");
  r.task_prompt = json::string_member(doc, "task_prompt").value_or("");
  r.schedule = json::string_member(doc, "schedule").value_or("");
  r.trigger_type = json::string_member(doc, "trigger_type").value_or("");
  r.event_id = json::string_member(doc, "event_id").value_or("");
  r.payload_json = raw_member(doc, "payload");
  r.received_ms = time_member(doc, "received_at");
  r.headers_json = raw_member(doc, "headers");
  r.content_type = json::string_member(doc, "content_type").value_or("");
  r.result_json = raw_member(doc, "result");
  r.error_json = raw_member(doc, "error");
  r.summary = json::string_member(doc, "summary");
  r.created_ms = time_member(doc, "created_at");
  r.completed_ms = time_member(doc, "completed_at");
  return r;
}

bool run_ended(const run_record& r) {
  return r.status == "completed" || r.status == "failed";
}

run_record new_run(const task_record& t, uint64_t run_id, run_origin origin,
                   std::string event_id, int64_t at_ms) {
  run_record r;
  r.id = run_id;
  r.task = t.id;
  r.agent = t.agent;
  r.origin = origin;
  r.status = origin == run_origin::agent ? "running" : "due";
  r.task_name = t.name;
  r.task_prompt = t.prompt;
  r.schedule = t.schedule;
  r.trigger_type = to_string(t.type);
  r.event_id = std::move(event_id);
  r.created_ms = at_ms;
  return r;
}

std::string task_due_event(const run_record& r) {
  json::writer w;
  w.start_object();
  w.field("type", "task_due");
  w.field("event_id", r.event_id);
  w.field("task_id", format_id64("tsk_", r.task));
  w.field("run_id", format_id64("run_", r.id));
  w.field("task_name", r.task_name);
  w.field("task_prompt", r.task_prompt);
  w.field("schedule", r.schedule);
  w.end_object();
  return w.str();
}

std::string task_trigger_event(const run_record& r) {
  json::writer w;
  w.start_object();
  w.field("type", "task_trigger");
  w.field("event_id", r.event_id);
  w.field("task_id", format_id64("tsk_", r.task));
  w.field("run_id", format_id64("run_", r.id));
  w.field("task_name", r.task_name);
  w.field("task_prompt", r.task_prompt);
  raw_or_null(w, "payload", r.payload_json);
  trigger_details(w, r);
  w.field("received_at", iso8601(r.received_ms));
  w.end_object();
  return w.str();
}

std::string due_item_json(const run_record& r) {
  json::writer w;
  w.start_object();
  w.field("id", format_id64("tsk_", r.task));
  w.field("name", r.task_name);
  w.field("prompt", r.task_prompt);
  w.field("schedule", r.schedule);
  w.field("trigger_type", r.trigger_type);
  w.field("enabled", true);
  w.field("run_id", format_id64("run_", r.id));
  w.end_object();
  return w.str();
}

std::string pending_trigger_json(const run_record& r) {
  json::writer w;
  w.start_object();
  w.field("id", r.event_id);
  w.field("task_id", format_id64("tsk_", r.task));
  w.field("task_name", r.task_name);
  w.field("task_prompt", r.task_prompt);
  raw_or_null(w, "payload", r.payload_json);
  trigger_details(w, r);
  w.field("run_id", format_id64("run_", r.id));
  w.field("received_at", iso8601(r.received_ms));
  w.end_object();
  return w.str();
}

bool parse_run_completion(const json::value& body, run_completion& out,
                          json::field_error& err) {
  std::string status;
  if (!json::require_string(body, "status", 16, status, err))
    return false;
  if (status != "completed" && status != "failed")
    return fail(err, "status", "must be \"completed\" or \"failed\"");
  out.status = std::move(status);
  return get_any(body, "result", task_limits::result, out.result_json, err)
         && get_any(body, "error", task_limits::result, out.error_json, err)
         && json::get_string(body, "summary", task_limits::summary, out.summary,
                             err)
         && json::get_string(body, "run_id", 80, out.run_id, err);
}

std::string trigger_payload(std::string_view body) {
  json::document doc;
  json::field_error err;
  if (!body.empty() && json::parse_value(body, doc, err))
    return json::to_string(doc);
  json::writer w;
  w.string(valid_utf8(body));
  return w.str();
}

std::string trigger_headers_json(
  const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::pair<std::string, std::string>> kept;
  for (auto& header : headers) {
    auto& name = header.first;
    if (name == "authorization" || name == "cookie"
        || name == "proxy-authorization")
      continue;
    auto same = std::find_if(kept.begin(), kept.end(), [&](auto& k) {
      return k.first == name;
    });
    if (same != kept.end())
      same->second += ", " + header.second;
    else
      kept.push_back(header);
  }
  json::writer w;
  w.start_object();
  for (auto& [name, value] : kept)
    w.field(valid_utf8(name), valid_utf8(value));
  w.end_object();
  return w.str();
}

} // namespace nod
