// Request bodies and agent events (protocol/events.hpp, validate.hpp,
// tasks.hpp): the first byte picks the validator, the rest is the JSON. Any
// input is either refused with a message naming what is wrong, or gives a
// typed value within the documented limits. Task schedules that validate
// are then checked (cron, "once", time zone), as the server does next.

#include "fuzz/fuzz_check.hpp"
#include "protocol/events.hpp"
#include "protocol/tasks.hpp"
#include "protocol/validate.hpp"

#include <cstddef>
#include <cstdint>

namespace {

using namespace nod;

void check_event(const json::value& body) {
  agent_event ev;
  json::field_error err;
  if (!parse_agent_event(body, ev, err)) {
    FUZZ_CHECK(!err.message.empty());
    return;
  }
  if (ev.text)
    FUZZ_CHECK(ev.text->size() <= event_limits::text);
  if (ev.title)
    FUZZ_CHECK(ev.title->size() <= event_limits::title);
  if (ev.description)
    FUZZ_CHECK(ev.description->size() <= event_limits::description);
  FUZZ_CHECK(ev.options.size() <= event_limits::options);
  for (auto& o : ev.options)
    FUZZ_CHECK(!o.empty() && o.size() <= event_limits::option);
  if (ev.expires_in)
    FUZZ_CHECK(*ev.expires_in >= event_limits::expires_min
               && *ev.expires_in <= event_limits::expires_max);
  if (ev.details_json) {
    FUZZ_CHECK(ev.details_json->size() <= event_limits::details);
    json::document details;
    FUZZ_CHECK(json::parse_value(*ev.details_json, details, err));
  }
  if (ev.image) {
    FUZZ_CHECK(ev.image->bytes.size() <= event_limits::image_bytes);
    auto type = image_content_type(ev.image->bytes);
    FUZZ_CHECK(type != nullptr && ev.image->content_type == type);
  }
  if (ev.conversation_id)
    FUZZ_CHECK(is_conversation_id(*ev.conversation_id));
  if (ev.task_run_id)
    FUZZ_CHECK(is_task_run_id(*ev.task_run_id));
  if (ev.type == event_type::message)
    FUZZ_CHECK((ev.text && !ev.text->empty()) || ev.image);
  if (ev.type == event_type::decision && ev.kind == "choice")
    FUZZ_CHECK(!ev.options.empty());
}

void check_agent(const json::value& body, bool patch) {
  agent_input in;
  json::field_error err;
  bool ok = patch ? parse_agent_patch(body, in, err)
                  : parse_agent_create(body, in, err);
  if (!ok) {
    FUZZ_CHECK(!err.message.empty());
    return;
  }
  if (!patch)
    FUZZ_CHECK(in.name.has_value());
  if (in.name)
    FUZZ_CHECK(!in.name->empty() && in.name->size() <= limits::agent_name);
  if (in.webhook_url)
    FUZZ_CHECK(is_webhook_url(*in.webhook_url));
  if (in.type)
    FUZZ_CHECK(*in.type == "interactive" || *in.type == "approval_only");
}

void check_user(const json::value& body, bool create) {
  std::string username, password;
  json::field_error err;
  bool ok = create ? parse_new_user(body, username, password, err)
                   : parse_login(body, username, password, err);
  if (!ok) {
    FUZZ_CHECK(!err.message.empty());
    return;
  }
  if (create)
    FUZZ_CHECK(!check_username(username) && !check_password(password));
}

void check_task(const json::value& body, bool patch) {
  task_input in;
  json::field_error err;
  if (!parse_task_input(body, patch, in, err)) {
    FUZZ_CHECK(!err.message.empty());
    return;
  }
  if (!patch)
    FUZZ_CHECK(in.name && in.prompt && in.schedule);
  if (!in.schedule)
    return;
  FUZZ_CHECK(in.schedule->size() <= task_limits::schedule);
  task_schedule sched;
  if (!check_schedule(*in.schedule, in.run_at_ms, in.timezone, sched, err)) {
    FUZZ_CHECK(!err.message.empty());
    return;
  }
  if (sched.type == trigger_type::scheduled) {
    auto next = cron::next_after(sched.cron, 1'700'000'000'000, sched.zone);
    if (next)
      FUZZ_CHECK(*next > 1'700'000'000'000);
  }
}

void check_completion(const json::value& body) {
  run_completion c;
  json::field_error err;
  if (!parse_run_completion(body, c, err)) {
    FUZZ_CHECK(!err.message.empty());
    return;
  }
  FUZZ_CHECK(c.status == "completed" || c.status == "failed");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};
  json::document doc;
  json::field_error err;
  if (!json::parse_object(body, doc, err))
    return 0;
  switch (data[0] % 8) {
    case 0: check_event(doc); break;
    case 1: check_agent(doc, false); break;
    case 2: check_agent(doc, true); break;
    case 3: check_user(doc, false); break;
    case 4: check_user(doc, true); break;
    case 5: check_task(doc, false); break;
    case 6: check_task(doc, true); break;
    case 7: check_completion(doc); break;
  }
  return 0;
}
