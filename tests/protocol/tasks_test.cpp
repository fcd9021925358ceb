// Pure parts of tasks (protocol/tasks.hpp) that the end-to-end tests reach
// only through the server: what an inbound trigger call keeps.

#include "protocol/tasks.hpp"

#include <gtest/gtest.h>

namespace nod {
namespace {

TEST(trigger_headers_json, keeps_headers_but_not_credentials) {
  auto json = trigger_headers_json({{"content-type", "application/json"},
                                    {"authorization", "Bearer x"},
                                    {"cookie", "a=b"},
                                    {"proxy-authorization", "Basic y"},
                                    {"x-hub-signature-256", "sha256=ab"},
                                    {"x-tag", "1"},
                                    {"x-tag", "2"}});
  EXPECT_EQ(json, R"({"content-type":"application/json",)"
                  R"("x-hub-signature-256":"sha256=ab","x-tag":"1, 2"})");
  EXPECT_EQ(trigger_headers_json({}), "{}");
  // Not UTF-8 (obs-text in a header value): replaced, still JSON.
  EXPECT_EQ(trigger_headers_json({{"x-a", "caf\xe9"}}),
            "{\"x-a\":\"caf\xef\xbf\xbd\"}");
}

TEST(run_completion, summary_is_kept_and_checked) {
  json::document doc;
  json::field_error err;
  ASSERT_TRUE(json::parse_object(
    R"({"status":"completed","summary":"Deployed v2.","result":{"n":1}})", doc,
    err));
  run_completion c;
  ASSERT_TRUE(parse_run_completion(doc, c, err)) << err.message;
  EXPECT_EQ(c.summary, std::optional<std::string>{"Deployed v2."});
  ASSERT_TRUE(
    json::parse_object(R"({"status":"failed","summary":1})", doc, err));
  EXPECT_FALSE(parse_run_completion(doc, c, err));
  EXPECT_EQ(err.message, "summary: must be a string");
}

TEST(run_record, trigger_details_and_summary_round_trip) {
  task_record t;
  t.id = 7;
  t.agent = 9;
  t.name = "n";
  t.prompt = "p";
  t.schedule = "event";
  t.type = trigger_type::event;
  auto r = new_run(t, 11, run_origin::event, "evt_1", 1'700'000'000'000);
  r.headers_json = R"({"x-github-event":"push"})";
  r.content_type = "application/json";
  r.summary = "done";
  auto back = run_from_json(to_json(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->headers_json, r.headers_json);
  EXPECT_EQ(back->content_type, r.content_type);
  EXPECT_EQ(back->summary, r.summary);
  auto event = task_trigger_event(r);
  EXPECT_NE(event.find(R"("headers":{"x-github-event":"push"})"),
            std::string::npos)
    << event;
  EXPECT_NE(event.find(R"("content_type":"application/json")"),
            std::string::npos)
    << event;
}

} // namespace
} // namespace nod
