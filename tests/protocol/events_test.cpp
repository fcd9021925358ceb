#include "protocol/credentials.hpp"
#include "protocol/events.hpp"

#include <gtest/gtest.h>

namespace nod {
namespace {

using namespace std::string_literals;

json::document parse(const std::string& text) {
  json::document doc;
  json::field_error err;
  EXPECT_TRUE(json::parse_object(text, doc, err)) << text << err.message;
  return doc;
}

// A JSON string literal of `s` (test data without quotes or backslashes).
std::string jstr(const std::string& s) {
  return "\"" + s + "\"";
}

// `base` (a JSON object text) with member `field` set to `raw`, or without
// `field` when `raw` is empty.
std::string with(const std::string& base, const std::string& field,
                 const std::string& raw) {
  auto doc = parse(base);
  doc.RemoveMember(field.c_str());
  if (!raw.empty()) {
    auto val = parse("{\"v\":" + raw + "}");
    json::value copy(val["v"], doc.GetAllocator());
    json::value key(field.c_str(), doc.GetAllocator());
    doc.AddMember(key, copy, doc.GetAllocator());
  }
  return json::to_string(doc);
}

bool parse_event(const std::string& text, agent_event& ev,
                 json::field_error& err) {
  auto doc = parse(text);
  return parse_agent_event(doc, ev, err);
}

agent_event parse_ok(const std::string& text) {
  agent_event ev;
  json::field_error err;
  EXPECT_TRUE(parse_event(text, ev, err)) << text << ": " << err.message;
  return ev;
}

// The error message for `text`, which must be rejected; checks that the
// error's field is the one the message starts with.
std::string parse_error(const std::string& text) {
  agent_event ev;
  json::field_error err;
  EXPECT_FALSE(parse_event(text, ev, err)) << text;
  EXPECT_EQ(err.field, err.message.substr(0, err.message.find(": ")));
  return err.message;
}

struct row {
  std::string field;
  std::string raw;     // empty: absent
  std::string message; // empty: accepted
};

// Runs every row against `base` with the row's field replaced.
void run(const std::string& base, const std::vector<row>& rows) {
  for (auto& r : rows) {
    auto text = with(base, r.field, r.raw);
    SCOPED_TRACE(text.substr(0, 200));
    agent_event ev;
    json::field_error err;
    bool ok = parse_event(text, ev, err);
    if (r.message.empty()) {
      EXPECT_TRUE(ok) << err.message;
    } else {
      EXPECT_FALSE(ok);
      EXPECT_EQ(err.message, r.message);
      EXPECT_EQ(err.field, r.message.substr(0, r.message.find(": ")));
    }
  }
}

struct type_case {
  event_type type;
  std::string minimal;
  std::vector<std::string> required;
  std::vector<std::string> optional_strings;
};

const std::string conv = "conv_0123456789abcdef";
const std::string run_id = "run_00ff";

std::vector<type_case> type_cases() {
  return {
    {event_type::message,
     R"({"type":"message","text":"hi"})",
     {"text"},
     {"conversation_id", "task_run_id", "report_title", "report_description",
      "image_base64"}},
    {event_type::decision,
     R"({"type":"decision","title":"Deploy?","kind":"approval"})",
     {"title", "kind"},
     {"description", "always_allow_label", "conversation_id", "task_run_id"}},
    {event_type::alert,
     R"({"type":"alert","title":"Disk full"})",
     {"title"},
     {"text", "task_run_id"}},
    {event_type::processing_start,
     R"({"type":"processing_start"})",
     {},
     {"conversation_id", "status_text"}},
    {event_type::processing_stop,
     R"({"type":"processing_stop"})",
     {},
     {"conversation_id"}},
    {event_type::agent_heartbeat,
     R"({"type":"agent_heartbeat"})",
     {},
     {"conversation_id", "status_text"}},
    {event_type::agent_idle,
     R"({"type":"agent_idle"})",
     {},
     {"conversation_id"}},
    {event_type::status,
     R"({"type":"status","action":"started"})",
     {"action"},
     {}},
    {event_type::task_proposal,
     R"({"type":"task_proposal","title":"Daily digest","task_name":"digest",)"
     R"("task_prompt":"Summarize","task_schedule":"0 9 * * *"})",
     {"title", "task_name", "task_prompt", "task_schedule"},
     {}},
  };
}

// ---- images ---------------------------------------------------------------

std::string bytes_of(std::initializer_list<int> values) {
  std::string out;
  for (int v : values)
    out += static_cast<char>(v);
  return out;
}

// A 1x1 RGBA PNG (valid chunks and CRCs).
std::string tiny_png() {
  return bytes_of({0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00,
                   0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01,
                   0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
                   0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41,
                   0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00,
                   0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00,
                   0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82});
}

// The start of a JFIF file: SOI, an APP0 segment, EOI.
std::string tiny_jpeg() {
  return bytes_of({0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J',  'F',
                   'I',  'F',  0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
                   0x00, 0x01, 0x00, 0x00, 0xff, 0xd9});
}

// The classic 1x1 transparent GIF.
std::string tiny_gif() {
  return bytes_of({'G',  'I',  'F',  '8',  '9',  'a',  0x01, 0x00, 0x01,
                   0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00,
                   0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,
                   0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
                   0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b});
}

// A 1x1 lossless WebP.
std::string tiny_webp() {
  return bytes_of({'R',  'I',  'F',  'F',  0x1a, 0x00, 0x00, 0x00, 'W',
                   'E',  'B',  'P',  'V',  'P',  '8',  'L',  0x0d, 0x00,
                   0x00, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10,
                   0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0x00});
}

struct image_case {
  std::string mime;
  std::string bytes;
};

std::vector<image_case> image_cases() {
  return {{"image/png", tiny_png()},
          {"image/jpeg", tiny_jpeg()},
          {"image/gif", tiny_gif()},
          {"image/webp", tiny_webp()}};
}

std::string message_with_image(const std::string& image_base64) {
  return R"({"type":"message","image_base64":")" + image_base64 + "\"}";
}

// Parses a message whose `image_base64` is `image` without writing (and
// re-parsing) JSON text, for the multi-megabyte cases.
bool parse_big_image(const std::string& image, agent_event& ev,
                     json::field_error& err) {
  json::document doc;
  doc.SetObject();
  auto& alloc = doc.GetAllocator();
  doc.AddMember("type", "message", alloc);
  doc.AddMember(
    "image_base64",
    json::value{rapidjson::StringRef(
      image.data(), static_cast<rapidjson::SizeType>(image.size()))},
    alloc);
  return parse_agent_event(doc, ev, err);
}

// ---- tests ----------------------------------------------------------------

TEST(agent_event, type_names) {
  std::vector<std::pair<event_type, std::string>> names{
    {event_type::message, "message"},
    {event_type::decision, "decision"},
    {event_type::alert, "alert"},
    {event_type::processing_start, "processing_start"},
    {event_type::processing_stop, "processing_stop"},
    {event_type::agent_heartbeat, "agent_heartbeat"},
    {event_type::agent_idle, "agent_idle"},
    {event_type::status, "status"},
    {event_type::task_proposal, "task_proposal"},
  };
  for (auto& [type, name] : names)
    EXPECT_EQ(to_string(type), name);
  EXPECT_STREQ(to_string(static_cast<event_type>(99)), "unknown");
}

TEST(agent_event, minimal_examples) {
  for (auto& c : type_cases()) {
    SCOPED_TRACE(c.minimal);
    auto ev = parse_ok(c.minimal);
    EXPECT_EQ(ev.type, c.type);
    EXPECT_FALSE(ev.request_id);
    EXPECT_FALSE(ev.conversation_id);
    EXPECT_FALSE(ev.task_run_id);
    EXPECT_FALSE(ev.image);
    EXPECT_FALSE(ev.details_json);
    EXPECT_FALSE(ev.expires_in);
    EXPECT_TRUE(ev.options.empty());
    bool thinking = c.type == event_type::processing_start
                    || c.type == event_type::agent_heartbeat;
    EXPECT_EQ(ev.status_text.value_or(""), thinking ? "Thinking" : "");
  }
}

TEST(agent_event, nod_quickstart_message) {
  auto ev = parse_ok(R"({"type":"message","text":"Hello from my agent!"})");
  EXPECT_EQ(ev.type, event_type::message);
  EXPECT_EQ(ev.text, "Hello from my agent!");
  EXPECT_FALSE(ev.conversation_id);
}

TEST(agent_event, full_message) {
  auto png = tiny_png();
  auto ev = parse_ok(R"({"type":"message","text":"**Report** ready",)"
                     R"("image_base64":")"
                     + base64_encode(png) + R"(","conversation_id":")" + conv
                     + R"(","task_run_id":")" + run_id
                     + R"(","report_title":"Weekly","report_description":)"
                       R"("All green","request_id":"r-1"})");
  EXPECT_EQ(ev.type, event_type::message);
  EXPECT_EQ(ev.text, "**Report** ready");
  ASSERT_TRUE(ev.image);
  EXPECT_EQ(ev.image->content_type, "image/png");
  EXPECT_EQ(ev.image->bytes, png);
  EXPECT_EQ(ev.conversation_id, conv);
  EXPECT_EQ(ev.task_run_id, run_id);
  EXPECT_EQ(ev.report_title, "Weekly");
  EXPECT_EQ(ev.report_description, "All green");
  EXPECT_EQ(ev.request_id, "r-1");
}

TEST(agent_event, full_decision) {
  auto ev = parse_ok(
    R"({"type":"decision","title":"Run rm?","kind":"permission",)"
    R"("description":"It deletes build/","options":["Yes","No"],)"
    R"("conversation_id":")"
    + conv + R"(","task_run_id":")" + run_id
    + R"(","allows_always":true,"always_allow_label":"Always",)"
      R"j("always_allow_options":[{"pattern":"Bash(rm:*)","label":"rm"},)j"
      R"j({"pattern":"Bash(ls:*)"}],"expires_in":3600})j");
  EXPECT_EQ(ev.type, event_type::decision);
  EXPECT_EQ(ev.title, "Run rm?");
  EXPECT_EQ(ev.kind, "permission");
  EXPECT_EQ(ev.description, "It deletes build/");
  EXPECT_EQ(ev.options, (std::vector<std::string>{"Yes", "No"}));
  EXPECT_EQ(ev.conversation_id, conv);
  EXPECT_EQ(ev.task_run_id, run_id);
  EXPECT_EQ(ev.allows_always, true);
  EXPECT_EQ(ev.always_allow_label, "Always");
  ASSERT_EQ(ev.always_allow_options.size(), 2u);
  EXPECT_EQ(ev.always_allow_options[0].pattern, "Bash(rm:*)");
  EXPECT_EQ(ev.always_allow_options[0].label, "rm");
  EXPECT_EQ(ev.always_allow_options[1].pattern, "Bash(ls:*)");
  EXPECT_EQ(ev.always_allow_options[1].label, "Bash(ls:*)");
  EXPECT_EQ(ev.expires_in, 3600);
}

TEST(agent_event, full_alert) {
  auto ev = parse_ok(R"({"type":"alert","title":"Disk full","text":"98%",)"
                     R"("task_run_id":")"
                     + run_id + "\"}");
  EXPECT_EQ(ev.type, event_type::alert);
  EXPECT_EQ(ev.title, "Disk full");
  EXPECT_EQ(ev.text, "98%");
  EXPECT_EQ(ev.task_run_id, run_id);
}

TEST(agent_event, full_processing_events) {
  for (auto type : {"processing_start", "agent_heartbeat"}) {
    auto ev
      = parse_ok(std::string{R"({"type":")"} + type + R"(","conversation_id":")"
                 + conv + R"(","status_text":"Compiling"})");
    EXPECT_EQ(ev.conversation_id, conv);
    EXPECT_EQ(ev.status_text, "Compiling");
    for (auto raw : {"", "null", "\"\""}) {
      auto base = std::string{R"({"type":")"} + type + "\"}";
      EXPECT_EQ(parse_ok(with(base, "status_text", raw)).status_text,
                "Thinking");
    }
  }
  for (auto type : {"processing_stop", "agent_idle"}) {
    auto ev
      = parse_ok(std::string{R"({"type":")"} + type + R"(","conversation_id":")"
                 + conv + R"(","status_text":"ignored"})");
    EXPECT_EQ(ev.conversation_id, conv);
    EXPECT_FALSE(ev.status_text);
  }
}

TEST(agent_event, full_status) {
  auto ev = parse_ok(
    R"({"type":"status","action":"stopped","details":{ "code" : [1, 2] }})");
  EXPECT_EQ(ev.type, event_type::status);
  EXPECT_EQ(ev.action, "stopped");
  EXPECT_EQ(ev.details_json, R"({"code":[1,2]})");
}

TEST(agent_event, full_task_proposal) {
  auto ev = parse_ok(type_cases().back().minimal);
  EXPECT_EQ(ev.type, event_type::task_proposal);
  EXPECT_EQ(ev.title, "Daily digest");
  EXPECT_EQ(ev.task_name, "digest");
  EXPECT_EQ(ev.task_prompt, "Summarize");
  EXPECT_EQ(ev.task_schedule, "0 9 * * *");
}

// The schedule is checked when the proposal arrives, so approving it
// cannot fail later.
TEST(agent_event, task_proposal_schedules) {
  auto base = type_cases().back().minimal;
  run(base,
      {{"task_schedule", jstr("*/5 9-17 * * MON-FRI"), ""},
       {"task_schedule", jstr("@daily"), ""},
       {"task_schedule", jstr("event"), ""},
       {"task_schedule", jstr("61 * * * *"),
        "task_schedule: minute: 61 is out of range 0-59 (expected a 5-field "
        "cron expression, \"once\" or \"event\")"},
       {"task_schedule", jstr("once"),
        "task_schedule: is required when schedule is \"once\""}});
}

TEST(agent_event, required_fields) {
  for (auto& c : type_cases()) {
    std::vector<row> rows;
    for (auto& f : c.required)
      for (auto raw : {"", "null", "\"\""})
        rows.push_back({f, raw, f + ": is required"});
    run(c.minimal, rows);
  }
}

TEST(agent_event, wrong_types) {
  std::vector<std::string> not_strings{"1",  "-1.5", "true",   "false",
                                       "[]", "{}",   "[\"x\"]"};
  for (auto& c : type_cases()) {
    std::vector<row> rows;
    auto fields = c.required;
    fields.insert(fields.end(), c.optional_strings.begin(),
                  c.optional_strings.end());
    fields.push_back("type");
    for (auto& f : fields)
      for (auto& bad : not_strings)
        rows.push_back({f, bad, f + ": must be a string"});
    for (auto& f : c.optional_strings)
      rows.push_back({f, "null", ""});
    run(c.minimal, rows);
  }
  auto decision = type_cases()[1].minimal;
  std::vector<row> rows;
  for (auto bad : {"1", "0", "\"true\"", "[]", "{}"})
    rows.push_back(
      {"allows_always", bad, "allows_always: must be true or false"});
  for (auto ok : {"true", "false", "null"})
    rows.push_back({"allows_always", ok, ""});
  for (auto bad : {"1", "\"a\"", "true", "{}"}) {
    rows.push_back({"options", bad, "options: must be an array of strings"});
    rows.push_back({"always_allow_options", bad,
                    "always_allow_options: must be an array of objects"});
  }
  for (auto bad : {"\"10\"", "true", "[]", "{}", "1.5"})
    rows.push_back({"expires_in", bad, "expires_in: must be an integer"});
  run(decision, rows);
}

TEST(agent_event, length_limits) {
  auto cases = type_cases();
  auto limit_rows = [](std::vector<std::pair<std::string, size_t>> fields) {
    std::vector<row> rows;
    for (auto& [f, max] : fields) {
      rows.push_back({f, jstr(std::string(max, 'a')), ""});
      rows.push_back({f, jstr(std::string(max + 1, 'a')),
                      f + ": at most " + std::to_string(max) + " characters"});
    }
    return rows;
  };
  run(cases[0].minimal,
      limit_rows({{"text", event_limits::text},
                  {"report_title", event_limits::title},
                  {"report_description", event_limits::description},
                  {"request_id", event_limits::id}}));
  run(cases[1].minimal,
      limit_rows({{"title", event_limits::title},
                  {"description", event_limits::description},
                  {"always_allow_label", event_limits::option}}));
  run(cases[2].minimal, limit_rows({{"title", event_limits::title},
                                    {"text", event_limits::text}}));
  run(cases[3].minimal,
      limit_rows({{"status_text", event_limits::status_text}}));
  run(cases[5].minimal,
      limit_rows({{"status_text", event_limits::status_text}}));
  run(cases[7].minimal, limit_rows({{"action", event_limits::title}}));
  run(cases[8].minimal, limit_rows({{"title", event_limits::title},
                                    {"task_name", event_limits::title},
                                    {"task_prompt", event_limits::text}}));
  // A schedule that long is no cron expression: the length is checked
  // first.
  run(cases[8].minimal,
      {{"task_schedule", jstr(std::string(event_limits::title + 1, 'a')),
        "task_schedule: at most " + std::to_string(event_limits::title)
          + " characters"}});
  // Limits count bytes: "é" is two.
  std::string e2;
  for (int i = 0; i < 100; ++i)
    e2 += "\xc3\xa9";
  run(cases[3].minimal,
      {{"status_text", jstr(e2), ""},
       {"status_text", jstr(e2 + "a"), "status_text: at most 200 characters"}});
}

TEST(agent_event, decision_kinds) {
  auto base = type_cases()[1].minimal;
  auto kind_error = "kind: must be one of approval, choice, question, "
                    "permission";
  run(base, {
              {"kind", "\"approval\"", ""},
              {"kind", "\"question\"", ""},
              {"kind", "\"permission\"", ""},
              {"kind", "\"Approval\"", kind_error},
              {"kind", "\"approve\"", kind_error},
              {"kind", "\" choice\"", kind_error},
            });
  auto ev = parse_ok(with(base, "kind", "\"question\""));
  EXPECT_EQ(ev.kind, "question");
}

TEST(agent_event, choice_options) {
  auto base = R"({"type":"decision","title":"Pick","kind":"choice",)"
              R"("options":["a","b"]})";
  std::string fifty_json = "[";
  for (int i = 0; i < 50; ++i)
    fifty_json += (i ? ",\"o" : "\"o") + std::to_string(i) + "\"";
  fifty_json += "]";
  auto fifty_one = fifty_json.substr(0, fifty_json.size() - 1) + ",\"x\"]";
  run(base,
      {
        {"options", "", "options: required for a choice"},
        {"options", "null", "options: required for a choice"},
        {"options", "[]", "options: required for a choice"},
        {"options", "[\"only\"]", ""},
        {"options", "[1]", "options[0]: must be a string"},
        {"options", "[\"a\",null]", "options[1]: must be a string"},
        {"options", "[\"a\",[\"b\"]]", "options[1]: must be a string"},
        {"options", "[\"a\",{}]", "options[1]: must be a string"},
        {"options", "[\"a\",true]", "options[1]: must be a string"},
        {"options", "[\"a\",\"b\",\"\"]", "options[2]: must not be empty"},
        {"options", fifty_json, ""},
        {"options", fifty_one, "options: at most 50 options"},
        {"options", "[" + jstr(std::string(500, 'x')) + "]", ""},
        {"options", "[\"a\"," + jstr(std::string(501, 'x')) + "]",
         "options[1]: at most 500 characters"},
      });
  auto ev = parse_ok(base);
  EXPECT_EQ(ev.kind, "choice");
  EXPECT_EQ(ev.options, (std::vector<std::string>{"a", "b"}));
  // Other kinds may carry options (kept) or none at all.
  auto approval = type_cases()[1].minimal;
  run(approval, {{"options", "[]", ""}, {"options", "[\"Ship\"]", ""}});
  EXPECT_EQ(parse_ok(with(approval, "options", "[\"Ship\"]")).options,
            std::vector<std::string>{"Ship"});
}

TEST(agent_event, always_allow_options) {
  auto base = R"({"type":"decision","title":"Run?","kind":"permission"})";
  auto f = std::string{"always_allow_options"};
  auto npm_test
    = std::string{R"j([{"pattern":"Bash(npm test:*)","label":"npm test"}])j"};
  std::string many = "[";
  for (int i = 0; i < 51; ++i)
    many += (i ? "," : "") + std::string{R"({"pattern":"p"})"};
  many += "]";
  run(base,
      {
        {f, "", ""},
        {f, "null", ""},
        {f, "[]", ""},
        {f, npm_test, ""},
        {f, R"([{"pattern":"p"}])", ""},
        {f, R"([{"pattern":"p","label":null}])", ""},
        {f, R"([{"label":"x"}])", f + "[0].pattern: is required"},
        {f, R"([{"pattern":"a","label":"b"},{"pattern":"c"},{"label":"x"}])",
         f + "[2].pattern: is required"},
        {f, R"([{"pattern":""}])", f + "[0].pattern: is required"},
        {f, R"([{"pattern":null}])", f + "[0].pattern: is required"},
        {f, R"([{"pattern":1}])", f + "[0].pattern: must be a string"},
        {f, R"([{"pattern":["p"]}])", f + "[0].pattern: must be a string"},
        {f, R"([{"pattern":"p","label":true}])",
         f + "[0].label: must be a string"},
        {f, R"(["p"])", f + "[0]: must be an object"},
        {f, R"([{"pattern":"p"},3])", f + "[1]: must be an object"},
        {f, R"([{"pattern":"p"},null])", f + "[1]: must be an object"},
        {f, R"([[{"pattern":"p"}]])", f + "[0]: must be an object"},
        {f, R"({"pattern":"p"})", f + ": must be an array of objects"},
        {f, many, f + ": at most 50 options"},
        {f, "[{\"pattern\":" + jstr(std::string(501, 'p')) + "}]",
         f + "[0].pattern: at most 500 characters"},
      });
  auto ev = parse_ok(with(base, f, npm_test));
  ASSERT_EQ(ev.always_allow_options.size(), 1u);
  EXPECT_EQ(ev.always_allow_options[0].pattern, "Bash(npm test:*)");
  EXPECT_EQ(ev.always_allow_options[0].label, "npm test");
}

TEST(agent_event, expires_in_bounds) {
  auto base = type_cases()[1].minimal;
  auto range = "expires_in: must be between 1 and 2592000";
  auto integer = "expires_in: must be an integer";
  run(base, {
              {"expires_in", "", ""},
              {"expires_in", "null", ""},
              {"expires_in", "0", range},
              {"expires_in", "-1", range},
              {"expires_in", "1", ""},
              {"expires_in", "2592000", ""},
              {"expires_in", "2592001", range},
              {"expires_in", "18446744073709551615", range},
              {"expires_in", "1.5", integer},
              {"expires_in", "1.0", integer},
              {"expires_in", "\"10\"", integer},
            });
  EXPECT_EQ(parse_ok(with(base, "expires_in", "1")).expires_in, 1);
  EXPECT_EQ(parse_ok(with(base, "expires_in", "2592000")).expires_in,
            event_limits::expires_max);
}

TEST(agent_event, conversation_and_run_ids) {
  auto conv_error = "conversation_id: must be conv_ followed by 16 lowercase "
                    "hex digits";
  auto run_error = "task_run_id: must be run_ followed by 1 to 64 lowercase "
                   "hex digits";
  auto cases = type_cases();
  for (auto i : {0, 1, 3, 4, 5, 6}) {
    run(cases[i].minimal,
        {
          {"conversation_id", jstr(conv), ""},
          {"conversation_id", "null", ""},
          {"conversation_id", "\"\"", conv_error},
          {"conversation_id", "\"conv_0123456789ABCDEF\"", conv_error},
          {"conversation_id", "\"conv_0123456789abcde\"", conv_error},
          {"conversation_id", "\"conv_0123456789abcdef0\"", conv_error},
          {"conversation_id", "\"agt_0123456789abcdef\"", conv_error},
          {"conversation_id", "\"conv_0123456789abcdeg\"", conv_error},
        });
  }
  for (auto i : {0, 1, 2}) {
    run(cases[i].minimal,
        {
          {"task_run_id", "\"run_0\"", ""},
          {"task_run_id", jstr("run_" + std::string(64, 'f')), ""},
          {"task_run_id", jstr("run_" + std::string(65, 'f')), run_error},
          {"task_run_id", "null", ""},
          {"task_run_id", "\"\"", run_error},
          {"task_run_id", "\"run_\"", run_error},
          {"task_run_id", "\"run_xyz\"", run_error},
          {"task_run_id", "\"run_AB\"", run_error},
          {"task_run_id", "\"RUN_00\"", run_error},
          {"task_run_id", "\"tsk_00\"", run_error},
        });
  }
  EXPECT_FALSE(parse_ok(with(cases[1].minimal, "conversation_id", "null"))
                 .conversation_id);
}

TEST(agent_event, images_of_each_kind) {
  for (auto& c : image_cases()) {
    SCOPED_TRACE(c.mime);
    auto b64 = base64_encode(c.bytes);
    auto unpadded = b64.substr(0, b64.find('='));
    std::string wrapped; // as `base64` prints it: lines of 76
    for (size_t i = 0; i < b64.size(); i += 76)
      wrapped += b64.substr(i, 76) + "\\n";
    for (auto& text : {b64, "data:" + c.mime + ";base64," + b64,
                       "DATA:IMAGE/X;BASE64," + b64,
                       "data:application/octet-stream;base64," + b64,
                       "data:image/png;name=a.png;base64," + b64,
                       "data:;base64," + b64, unpadded, wrapped}) {
      SCOPED_TRACE(text);
      auto ev = parse_ok(message_with_image(text));
      EXPECT_FALSE(ev.text);
      ASSERT_TRUE(ev.image);
      EXPECT_EQ(ev.image->content_type, c.mime);
      EXPECT_EQ(ev.image->bytes, c.bytes);
    }
  }
}

TEST(agent_event, image_url_safe_alphabet) {
  // Bytes whose standard encoding has both '+' and '/': padded to 72 bytes
  // (24 whole groups), then groups that encode as "++++" and "////".
  auto bytes = tiny_png() + std::string(2, '\0')
               + bytes_of({0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, 0x01});
  auto b64 = base64_encode(bytes);
  ASSERT_NE(b64.find('+'), std::string::npos);
  ASSERT_NE(b64.find('/'), std::string::npos);
  auto url = b64;
  for (auto& ch : url)
    ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  url = url.substr(0, url.find('='));
  auto ev = parse_ok(message_with_image(url));
  ASSERT_TRUE(ev.image);
  EXPECT_EQ(ev.image->bytes, bytes);
  EXPECT_EQ(ev.image->content_type, "image/png");
}

TEST(agent_event, image_errors) {
  auto base = R"({"type":"message","text":"see image"})";
  auto not_image = "image_base64: not a PNG, JPEG, GIF or WebP image";
  auto invalid = "image_base64: invalid base64";
  auto prefix = "image_base64: a data: prefix must end with ;base64,";
  auto b64 = [](const std::string& s) {
    return jstr(base64_encode(s));
  };
  auto png = tiny_png();
  auto f = std::string{"image_base64"};
  run(base, {
              {f, b64("hello, world"), not_image},
              {f, b64(png.substr(0, 7)), not_image},
              {f, b64("GIF88a" + std::string(10, '\0')), not_image},
              {f, b64("RIFF\x10\0\0\0WAVEfmt "s), not_image},
              {f, b64("RIFF\x10\0\0\0WEB"s), not_image},
              {f, b64(std::string{"\xff\xd8"}), not_image},
              {f, "\"\"", not_image},
              {f, "\" \\n \"", not_image},
              {f, jstr("data:image/png;base64,"), not_image},
              {f, "\"not base64!\"", invalid},
              {f, "\"AAAAA\"", invalid},
              {f, "\"QQ=\"", invalid},
              {f, "\"QQ===\"", invalid},
              {f, "\"QR==\"", invalid}, // non-zero leftover bits
              {f, "\"iVBO\\u00e9\"", invalid},
              {f, jstr("data:image/png," + base64_encode(png)), prefix},
              {f, jstr("data:image/png;base64" + base64_encode(png)), prefix},
              {f, jstr("data:base64," + base64_encode(png)), prefix},
              {f, jstr("data:," + base64_encode(png)), prefix},
              {f, b64(png), ""},
            });
  // A bad image is an error even with text.
  auto ev_text = with(base, f, b64("nope"));
  EXPECT_EQ(parse_error(ev_text), not_image);
}

TEST(agent_event, image_size_limit) {
  agent_event ev;
  json::field_error err;
  auto exact = tiny_png();
  exact.resize(event_limits::image_bytes, 'x');
  auto b64 = base64_encode(exact);
  ASSERT_TRUE(parse_big_image(b64, ev, err)) << err.message;
  EXPECT_EQ(ev.image->bytes.size(), event_limits::image_bytes);
  // Unpadded, the longest accepted text is one digit shorter.
  ASSERT_TRUE(parse_big_image(b64.substr(0, b64.find('=')), ev, err));

  exact += 'x';
  ASSERT_FALSE(parse_big_image(base64_encode(exact), ev, err));
  EXPECT_EQ(err.message, "image_base64: larger than 5 MiB");
  EXPECT_EQ(err.field, "image_base64");

  // Far too large: rejected on its length, without decoding.
  std::string huge(100 * 1024 * 1024, 'A');
  ASSERT_FALSE(parse_big_image(huge, ev, err));
  EXPECT_EQ(err.message, "image_base64: larger than 5 MiB");
}

TEST(agent_event, message_text_or_image) {
  auto gif = base64_encode(tiny_gif());
  auto ev = parse_ok(message_with_image(gif));
  EXPECT_FALSE(ev.text);
  ASSERT_TRUE(ev.image);
  // Empty text counts as absent.
  ev = parse_ok(with(message_with_image(gif), "text", "\"\""));
  EXPECT_FALSE(ev.text);
  EXPECT_TRUE(ev.image);
  ev = parse_ok(with(message_with_image(gif), "text", "null"));
  EXPECT_FALSE(ev.text);
  ev = parse_ok(with(message_with_image(gif), "text", "\"caption\""));
  EXPECT_EQ(ev.text, "caption");
  for (auto text : {R"({"type":"message"})", R"({"type":"message","text":""})",
                    R"({"type":"message","text":null,"image_base64":null})"})
    EXPECT_EQ(parse_error(text), "text: is required") << text;
}

TEST(agent_event, type_field) {
  EXPECT_EQ(parse_error(R"({"text":"hi"})"), "type: is required");
  EXPECT_EQ(parse_error(R"({"type":null})"), "type: is required");
  EXPECT_EQ(parse_error(R"({"type":""})"), "type: is required");
  EXPECT_EQ(parse_error(R"({"type":7})"), "type: must be a string");
  for (auto name : {"nope", "Message", "auth", "ping", "user_message"}) {
    EXPECT_EQ(parse_error(std::string{R"({"type":")"} + name + "\"}"),
              std::string{"type: unknown event type \""} + name + "\"");
  }
  // A long name is cut in the message, never inside a UTF-8 character.
  auto long_name = std::string(63, 'a') + "\xc3\xa9" + "tail";
  EXPECT_EQ(parse_error(R"({"type":")" + long_name + "\"}"),
            "type: unknown event type \"" + std::string(63, 'a') + "\"");
}

TEST(agent_event, unknown_fields_ignored) {
  auto ev = parse_ok(
    R"({"type":"message","text":"hi","foo":{"bar":[1]},"extra":null,)"
    R"("kind":5,"title":[],"options":"x","action":{},"expires_in":"soon"})");
  EXPECT_EQ(ev.text, "hi");
  EXPECT_FALSE(ev.title);
  EXPECT_FALSE(ev.kind);
  EXPECT_FALSE(ev.expires_in);
  ev = parse_ok(R"({"type":"processing_stop","status_text":5,"text":[]})");
  EXPECT_EQ(ev.type, event_type::processing_stop);
}

TEST(agent_event, status_details) {
  auto base = type_cases()[7].minimal;
  std::vector<std::pair<std::string, std::string>> details{
    {R"({ "a" : { "b" : null } })", R"({"a":{"b":null}})"},
    {R"([1, "two", false])", R"([1,"two",false])"},
    {R"("text")", R"("text")"},
    {"42", "42"},
    {"-1.5", "-1.5"},
    {"true", "true"},
    {"{}", "{}"},
  };
  for (auto& [raw, compact] : details)
    EXPECT_EQ(parse_ok(with(base, "details", raw)).details_json, compact);
  EXPECT_FALSE(parse_ok(with(base, "details", "null")).details_json);
  EXPECT_FALSE(parse_ok(base).details_json);

  // The body may nest json::max_depth levels: the event object is one,
  // so `details` gets the rest; deeper bodies are refused by the parser.
  auto nested = [](size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  EXPECT_TRUE(
    parse_ok(with(base, "details", nested(json::max_depth - 1))).details_json);
  json::document doc;
  json::field_error err;
  for (size_t depth : {json::max_depth, size_t{100000}}) {
    auto deep
      = R"({"type":"status","action":"x","details":)" + nested(depth) + "}";
    EXPECT_FALSE(json::parse_object(deep, doc, err)) << depth;
    EXPECT_EQ(err.message, "body: nested deeper than 64 levels");
  }
}

TEST(agent_event, request_id) {
  auto base = std::string{R"({"type":"agent_idle"})"};
  auto string_error = "request_id: must be a string";
  run(base, {
              {"request_id", "\"abc\"", ""},
              {"request_id", "\"\"", ""},
              {"request_id", "42", ""},
              {"request_id", "null", ""},
              {"request_id", "true", string_error},
              {"request_id", "[]", string_error},
              {"request_id", "{}", string_error},
            });
  EXPECT_EQ(parse_ok(with(base, "request_id", "\"abc\"")).request_id, "abc");
  EXPECT_EQ(parse_ok(with(base, "request_id", "42")).request_id, "42");
  EXPECT_EQ(parse_ok(with(base, "request_id", "-7")).request_id, "-7");
  EXPECT_EQ(parse_ok(with(base, "request_id", "1.5")).request_id, "1.5");
  EXPECT_FALSE(parse_ok(with(base, "request_id", "null")).request_id);

  // Kept for the error reply when the event itself is bad.
  agent_event ev;
  json::field_error err;
  EXPECT_FALSE(parse_event(R"({"type":"nope","request_id":"r1"})", ev, err));
  EXPECT_EQ(ev.request_id, "r1");
  EXPECT_FALSE(parse_event(R"({"type":"decision","request_id":7})", ev, err));
  EXPECT_EQ(ev.request_id, "7");
  EXPECT_EQ(err.message, "title: is required");
}

TEST(agent_event, output_is_reset) {
  agent_event ev;
  json::field_error err;
  ASSERT_TRUE(parse_event(R"({"type":"alert","title":"t","text":"x",)"
                          R"("request_id":"r"})",
                          ev, err));
  ASSERT_TRUE(parse_event(R"({"type":"agent_idle"})", ev, err));
  EXPECT_EQ(ev.type, event_type::agent_idle);
  EXPECT_FALSE(ev.title);
  EXPECT_FALSE(ev.text);
  EXPECT_FALSE(ev.request_id);
}

TEST(agent_event, rejects_non_objects) {
  json::document doc;
  doc.SetArray();
  agent_event ev;
  json::field_error err;
  EXPECT_FALSE(parse_agent_event(doc, ev, err));
  EXPECT_EQ(err.message, "body: must be a JSON object");
  EXPECT_EQ(err.field, "");
}

TEST(event_helpers, is_conversation_id) {
  EXPECT_TRUE(is_conversation_id(conv));
  EXPECT_TRUE(is_conversation_id("conv_ffffffffffffffff"));
  for (auto bad :
       {"", "conv_", "conv_0123456789abcde", "conv_0123456789abcdef0",
        "conv_0123456789abcdeF", "Conv_0123456789abcdef",
        "conv-0123456789abcdef", "conv_0123456789abcd f"})
    EXPECT_FALSE(is_conversation_id(bad)) << bad;
}

TEST(event_helpers, is_task_run_id) {
  EXPECT_TRUE(is_task_run_id("run_0"));
  EXPECT_TRUE(is_task_run_id("run_0123456789abcdef"));
  EXPECT_TRUE(is_task_run_id("run_" + std::string(64, 'a')));
  EXPECT_FALSE(is_task_run_id("run_" + std::string(65, 'a')));
  for (auto bad : {"", "run_", "run_g", "run_A", "run-00", "tsk_00", " run_0"})
    EXPECT_FALSE(is_task_run_id(bad)) << bad;
}

TEST(event_helpers, image_content_type) {
  for (auto& c : image_cases())
    EXPECT_STREQ(image_content_type(c.bytes), c.mime.c_str());
  EXPECT_STREQ(image_content_type("GIF87a"), "image/gif");
  EXPECT_STREQ(image_content_type(std::string_view{"RIFF\0\0\0\0WEBP", 12}),
               "image/webp");
  EXPECT_EQ(image_content_type(""), nullptr);
  EXPECT_EQ(image_content_type("RIFF"), nullptr);
  EXPECT_EQ(image_content_type("\x89PNG"), nullptr);
  EXPECT_EQ(image_content_type("<svg/>"), nullptr);
}

} // namespace
} // namespace nod
