#include "app/json_formatter.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <string>

namespace {

using nod::logging::json_formatter;

/// 2026-12-06T23:44:13.123Z.
const auto sample_time
  = spdlog::log_clock::time_point{std::chrono::milliseconds{1796600653123LL}};

/// The line `json_formatter` writes for `text` from logger `logger`.
std::string format(std::string_view text,
                   spdlog::level::level_enum level = spdlog::level::info,
                   std::string_view logger = "nod") {
  json_formatter f;
  spdlog::details::log_msg msg{sample_time,
                               spdlog::source_loc{},
                               {logger.data(), logger.size()},
                               level,
                               {text.data(), text.size()}};
  spdlog::memory_buf_t out;
  f.format(msg, out);
  return {out.data(), out.size()};
}

/// Parses `line` (which must end in its one newline) as a JSON object with
/// valid UTF-8.
rapidjson::Document parse_line(const std::string& line) {
  rapidjson::Document doc;
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n') << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(),
                                                   line.size() - 1);
  EXPECT_FALSE(doc.HasParseError())
    << rapidjson::GetParseError_En(doc.GetParseError()) << " in " << line;
  EXPECT_TRUE(doc.IsObject()) << line;
  return doc;
}

std::string field(const rapidjson::Document& doc, const char* name) {
  if (!doc.IsObject() || !doc.HasMember(name) || !doc[name].IsString())
    return "(missing)";
  return {doc[name].GetString(), doc[name].GetStringLength()};
}

bool has(const rapidjson::Document& doc, const char* name) {
  return doc.IsObject() && doc.HasMember(name);
}

TEST(json_formatter, writes_time_level_and_message) {
  auto line = format("nod-server 0.1.0 listening on http://127.0.0.1:8000");
  EXPECT_EQ(line, R"({"time":"2026-12-06T23:44:13.123Z","level":"info",)"
                  R"("msg":"nod-server 0.1.0 listening on )"
                  R"(http://127.0.0.1:8000"})"
                  "\n");
  parse_line(line);
}

TEST(json_formatter, names_levels_as_the_log_level_setting_does) {
  using spdlog::level::level_enum;
  const std::pair<level_enum, const char*> levels[] = {
    {level_enum::trace, "trace"}, {level_enum::debug, "debug"},
    {level_enum::info, "info"},   {level_enum::warn, "warn"},
    {level_enum::err, "error"},   {level_enum::critical, "critical"},
  };
  for (auto& [level, name] : levels)
    EXPECT_EQ(field(parse_line(format("x", level)), "level"), name);
}

TEST(json_formatter, keeps_the_time_of_each_record) {
  json_formatter f;
  auto at = [&](long long ms) {
    spdlog::details::log_msg msg{
      spdlog::log_clock::time_point{std::chrono::milliseconds{ms}},
      spdlog::source_loc{}, "nod", spdlog::level::info, "x"};
    spdlog::memory_buf_t out;
    f.format(msg, out);
    return field(parse_line({out.data(), out.size()}), "time");
  };
  // The same formatter, one second cached and the next one not.
  EXPECT_EQ(at(1796600653123LL), "2026-12-06T23:44:13.123Z");
  EXPECT_EQ(at(1796600653999LL), "2026-12-06T23:44:13.999Z");
  EXPECT_EQ(at(1796600654007LL), "2026-12-06T23:44:14.007Z");
  EXPECT_EQ(at(0), "1970-01-01T00:00:00.000Z");
}

TEST(json_formatter, escapes_quotes_backslashes_and_controls) {
  std::string text = "say \"hi\" \\ now\n\ttab\r\x01\x1f\x7f end";
  text += '\0';
  text += "after nul";
  auto line = format(text);
  auto doc = parse_line(line);
  EXPECT_EQ(field(doc, "msg"), text);
  EXPECT_NE(line.find(R"(\"hi\" \\ now\n\ttab\r\u0001\u001f\u007f end)"),
            std::string::npos)
    << line;
  EXPECT_NE(line.find(R"(\u0000after nul)"), std::string::npos) << line;
}

TEST(json_formatter, keeps_utf8_and_replaces_what_is_not) {
  // Two, three and four byte sequences stay as they are.
  std::string good = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  EXPECT_EQ(field(parse_line(format(good)), "msg"), good);
  const std::string replacement = "\xef\xbf\xbd";
  const std::pair<std::string, std::string> bad[] = {
    {"a\xff"
     "b",
     "a" + replacement + "b"},
    // Overlong '/'.
    {"\xc0\xaf", replacement + replacement},
    // A surrogate half.
    {"\xed\xa0\x80", replacement + replacement + replacement},
    // Above U+10FFFF.
    {"\xf4\x90\x80\x80", replacement + replacement + replacement + replacement},
    // Cut short at the end and in the middle.
    {"x\xe2\x82", "x" + replacement + replacement},
    {"\xe2\x82x", replacement + replacement + "x"},
    // A lone continuation byte.
    {"\x80", replacement},
  };
  for (auto& [in, out] : bad) {
    SCOPED_TRACE(out);
    EXPECT_EQ(field(parse_line(format(in)), "msg"), out);
  }
}

TEST(json_formatter, lifts_the_ids_a_message_names) {
  auto doc = parse_line(format(
    "agent agt_00000000000000a1 of usr_00000000000000b2 asked "
    "dec_00000000000000c3 in msg_00000000000000d4 conv_00000000000000e5; "
    "tsk_00000000000000f6 run_0000000000000107 evt_0000000000000118 "
    "/media/med_0000000000000129 act_000000000000013a "
    "push:psub_000000000000014b req_000000000000015c; later "
    "agt_00000000000000ff"));
  EXPECT_EQ(field(doc, "agent_id"), "agt_00000000000000a1"); // the first
  EXPECT_EQ(field(doc, "user_id"), "usr_00000000000000b2");
  EXPECT_EQ(field(doc, "decision_id"), "dec_00000000000000c3");
  EXPECT_EQ(field(doc, "message_id"), "msg_00000000000000d4");
  EXPECT_EQ(field(doc, "conversation_id"), "conv_00000000000000e5");
  EXPECT_EQ(field(doc, "task_id"), "tsk_00000000000000f6");
  EXPECT_EQ(field(doc, "run_id"), "run_0000000000000107");
  EXPECT_EQ(field(doc, "event_id"), "evt_0000000000000118");
  EXPECT_EQ(field(doc, "media_id"), "med_0000000000000129");
  EXPECT_EQ(field(doc, "activity_id"), "act_000000000000013a");
  EXPECT_EQ(field(doc, "subscription_id"), "psub_000000000000014b");
  EXPECT_EQ(field(doc, "request_id"), "req_000000000000015c");
}

TEST(json_formatter, lifts_only_whole_ids) {
  for (auto text : {
         "agt_0123456789abcde",   // 15 digits
         "agt_0123456789abcdef0", // 17 digits
         "agt_0123456789ABCDEF",  // upper case
         "xagt_0123456789abcdef", // inside a word
         "agt_0123456789abcdefx", // followed by a letter
         "agt_0123456789abcdef_", // and by an underscore
         "AGT_0123456789abcdef", "agt-0123456789abcdef",
         "trg_0123456789abcdef", // not one of the kinds
       }) {
    SCOPED_TRACE(text);
    auto doc = parse_line(format(text));
    EXPECT_FALSE(has(doc, "agent_id"));
    EXPECT_EQ(doc.MemberCount(), 3u); // time, level, msg
  }
  auto doc = parse_line(format("(agt_0123456789abcdef)"));
  EXPECT_EQ(field(doc, "agent_id"), "agt_0123456789abcdef");
}

TEST(json_formatter, takes_a_request_id_of_any_shape_whole) {
  auto doc = parse_line(
    format("http: handler threw request_id=agt_0123456789abcdef\"x y"));
  EXPECT_EQ(field(doc, "request_id"), "agt_0123456789abcdef\"x");
  // What the client wrote is not the agent's id.
  EXPECT_FALSE(has(doc, "agent_id"));
  // The first request id wins, bare or named.
  doc = parse_line(format("req_0123456789abcdef request_id=abc"));
  EXPECT_EQ(field(doc, "request_id"), "req_0123456789abcdef");
}

TEST(json_formatter, gives_access_lines_their_fields) {
  auto line = format("access method=GET path=/api/agents/agt_0123456789abcdef "
                     "status=200 bytes=1234 duration_ms=0.512 "
                     "client=203.0.113.7 request_id=client-chosen-1",
                     spdlog::level::info, "access");
  auto doc = parse_line(line);
  EXPECT_EQ(field(doc, "msg").rfind("access method=GET ", 0), 0u);
  EXPECT_EQ(field(doc, "method"), "GET");
  EXPECT_EQ(field(doc, "path"), "/api/agents/agt_0123456789abcdef");
  ASSERT_TRUE(has(doc, "status") && doc["status"].IsInt()) << line;
  EXPECT_EQ(doc["status"].GetInt(), 200);
  ASSERT_TRUE(has(doc, "bytes") && doc["bytes"].IsInt()) << line;
  EXPECT_EQ(doc["bytes"].GetInt(), 1234);
  ASSERT_TRUE(has(doc, "duration_ms") && doc["duration_ms"].IsDouble()) << line;
  EXPECT_DOUBLE_EQ(doc["duration_ms"].GetDouble(), 0.512);
  EXPECT_EQ(field(doc, "client"), "203.0.113.7");
  EXPECT_EQ(field(doc, "request_id"), "client-chosen-1");
  EXPECT_EQ(field(doc, "agent_id"), "agt_0123456789abcdef");
  // Each field once.
  EXPECT_EQ(line.find("\"request_id\""), line.rfind("\"request_id\""));
}

TEST(json_formatter, takes_ids_of_access_lines_from_the_path_alone) {
  auto doc = parse_line(
    format("access method=GET path=/x status=0x1 bytes=01 duration_ms=1. "
           "client=agt_0123456789abcdef request_id=usr_0123456789abcdef",
           spdlog::level::info, "access"));
  EXPECT_FALSE(has(doc, "agent_id"));
  EXPECT_FALSE(has(doc, "user_id"));
  EXPECT_EQ(field(doc, "request_id"), "usr_0123456789abcdef");
  // What is not a plain number stays a string.
  EXPECT_EQ(field(doc, "status"), "0x1");
  EXPECT_EQ(field(doc, "bytes"), "01");
  EXPECT_EQ(field(doc, "duration_ms"), "1.");
}

TEST(json_formatter, clones_into_a_json_formatter) {
  json_formatter f;
  auto copy = f.clone();
  spdlog::details::log_msg msg{sample_time, spdlog::source_loc{}, "nod",
                               spdlog::level::warn, "cloned"};
  spdlog::memory_buf_t out;
  copy->format(msg, out);
  EXPECT_EQ(field(parse_line({out.data(), out.size()}), "msg"), "cloned");
}

} // namespace
