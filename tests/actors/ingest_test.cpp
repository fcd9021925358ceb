// ingest on the deterministic scheduler: what an agent event writes, what
// the owner's app sessions see, idempotency and processing indicators.

#include "actors/error.hpp"
#include "actors/ingest.hpp"
#include "protocol/credentials.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"
#include "tests/actors/people_fixture.hpp"

namespace nod {
namespace {

using namespace std::chrono_literals;
using storage::table;

app_session_actor::behavior_type
recorder(app_session_actor::pointer,
         std::shared_ptr<std::vector<std::string>> pushed) {
  return {
    [](frame_atom, const std::string&) {},
    [pushed](push_atom, const std::string& f) {
      pushed->push_back(f);
    },
    [](closed_atom) {},
    [](timeout_atom) {},
    [](kick_atom, uint16_t, const std::string&) {},
  };
}

class ingest_test : public test::people_fixture {
protected:
  ingest_test() {
    ing = sys.spawn(ingest, journal, directory_,
                    ingest_options{"http://x", nullptr, {}, {}});
    owner = add_user("owner");
    agent = add_agent(owner.id, "worker").agent;
    app = sys.spawn(recorder, pushed);
    self->send(directory_, join_atom::value, owner.id, app);
    run();
  }

  ~ingest_test() override {
    caf::anon_send_exit(ing, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(app, caf::exit_reason::user_shutdown);
    run();
  }

  caf::expected<std::string> post(const std::string& body,
                                  const std::string& idem = {},
                                  const agent_record* who = nullptr) {
    return call<std::string>(ing, ingest_atom::value, who ? *who : agent, body,
                             idem);
  }

  std::vector<kv_entry> scan(const std::string& prefix) {
    scan_request req{prefix, storage::prefix_end(prefix), 1000, false};
    auto r = call<std::vector<kv_entry>>(journal, scan_atom::value, req);
    EXPECT_TRUE(r);
    return r ? *r : std::vector<kv_entry>{};
  }

  size_t pushed_of(const std::string& type) {
    size_t n = 0;
    for (auto& f : *pushed)
      if (f.find("\"type\":\"" + type + "\"") != std::string::npos)
        ++n;
    return n;
  }

  ingest_actor ing;
  user_record owner;
  agent_record agent;
  std::shared_ptr<std::vector<std::string>> pushed
    = std::make_shared<std::vector<std::string>>();
  app_session_actor app;
};

TEST_F(ingest_test, quickstart_message_lands_in_the_default_conversation) {
  auto reply = post(R"({"type":"message","text":"Hello from my agent!"})");
  ASSERT_TRUE(reply) << caf::to_string(reply.error());
  auto conv = format_id64("conv_", default_conversation(agent.id));
  EXPECT_EQ(reply->rfind(R"({"status":"ok","message_id":"msg_)", 0), 0u)
    << *reply;
  EXPECT_NE(reply->find(R"("conversation_id":")" + conv + "\""),
            std::string::npos);
  auto messages
    = scan(storage::id_key(table::messages, default_conversation(agent.id)));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].value.find("Hello from my agent!"), std::string::npos);
  EXPECT_EQ(scan(storage::id_key(table::agent_conversations, agent.id)).size(),
            1u);
  EXPECT_EQ(scan(storage::id_key(table::user_activity, owner.id)).size(), 1u);
  EXPECT_EQ(pushed_of("message"), 1u);
  EXPECT_EQ(pushed_of("activity"), 1u);
}

TEST_F(ingest_test, every_event_type_is_answered_as_the_contract_says) {
  struct event_case {
    std::string body;
    std::string reply_prefix;
    std::string pushed_type;
  };
  for (
    auto& c : std::vector<event_case>{
      {R"({"type":"decision","title":"Deploy?","kind":"approval"})",
       R"({"status":"ok","decision_id":"dec_)", "decision_created"},
      {R"({"type":"decision","title":"Pick","kind":"choice","options":["a","b"]})",
       R"({"status":"ok","decision_id":"dec_)", "decision_created"},
      {R"({"type":"alert","title":"Disk full"})",
       R"({"status":"ok","activity_id":"act_)", "activity"},
      {R"({"type":"status","action":"started","details":{"v":1}})",
       R"({"status":"ok","activity_id":"act_)", "activity"},
      {R"({"type":"task_proposal","title":"t","task_name":"n","task_prompt":"p","task_schedule":"0 9 * * *"})",
       R"({"status":"ok","decision_id":"dec_)", "decision_created"},
      {R"({"type":"processing_start","status_text":"Reading"})",
       R"({"status":"ok"})", "processing"},
    }) {
    pushed->clear();
    auto reply = post(c.body);
    ASSERT_TRUE(reply) << c.body << ": " << caf::to_string(reply.error());
    EXPECT_EQ(reply->rfind(c.reply_prefix, 0), 0u) << *reply;
    EXPECT_GE(pushed_of(c.pushed_type), 1u) << c.body;
  }
  EXPECT_EQ(scan(storage::id_key(table::user_decisions, owner.id)).size(), 3u);
}

TEST_F(ingest_test, invalid_events_name_the_field) {
  auto r = post(R"({"type":"decision","title":"x","kind":"choice"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::invalid_argument);
  EXPECT_NE(detail_of(r.error()).find("options"), std::string::npos);
  auto unknown = post(R"({"type":"teleport"})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(detail_of(unknown.error()).find("type"), std::string::npos);
}

TEST_F(ingest_test, approval_only_agents_cannot_chat) {
  agent_input patch;
  patch.type = "approval_only";
  auto changed
    = call<agent_record>(acc, agent_set_atom::value, owner.id, agent.id, patch);
  ASSERT_TRUE(changed);
  auto chat = post(R"({"type":"message","text":"hi"})", {}, &*changed);
  ASSERT_FALSE(chat);
  EXPECT_EQ(code_of(chat.error()), ec::forbidden);
  EXPECT_TRUE(post(R"({"type":"decision","title":"ok?","kind":"approval"})", {},
                   &*changed));
}

TEST_F(ingest_test, a_repeated_idempotency_key_returns_the_first_reply) {
  auto first = post(R"({"type":"message","text":"once"})", "key-1");
  auto second = post(R"({"type":"message","text":"once"})", "key-1");
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(
    scan(storage::id_key(table::messages, default_conversation(agent.id)))
      .size(),
    1u);
  auto other = post(R"({"type":"message","text":"twice"})", "key-2");
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *first);
}

TEST_F(ingest_test, a_key_reused_with_another_body_is_422) {
  auto first = post(R"({"type":"message","text":"deploy v1"})", "key-1");
  ASSERT_TRUE(first);
  // The same event with other spacing is the same request.
  auto same
    = post("{ \"type\" : \"message\",\n \"text\":\"deploy v1\" }", "key-1");
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, *first);
  auto other = post(R"({"type":"message","text":"deploy v2"})", "key-1");
  ASSERT_FALSE(other);
  EXPECT_EQ(code_of(other.error()), ec::unprocessable);
  EXPECT_NE(detail_of(other.error()).find("different request body"),
            std::string::npos);
  EXPECT_EQ(
    scan(storage::id_key(table::messages, default_conversation(agent.id)))
      .size(),
    1u);
}

TEST_F(ingest_test, a_record_without_a_request_hash_still_answers) {
  // As a key's first use left it before the request hash was kept.
  journal_write w;
  auto key
    = storage::id_key(table::idempotency, agent.id) + sha256_hex("legacy");
  w.puts.emplace_back(key, std::to_string(now_ms()) + "\n{\"status\":\"ok\"}");
  ASSERT_TRUE(call<journal_written>(journal, append_atom::value, w));
  auto reply = post(R"({"type":"message","text":"anything"})", "legacy");
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, R"({"status":"ok"})");
}

TEST_F(ingest_test, a_key_older_than_24_h_is_new_again) {
  // A record written 25 h ago, as the first use of "old-key" left it.
  journal_write w;
  auto key
    = storage::id_key(table::idempotency, agent.id) + sha256_hex("old-key");
  auto stale_at = std::to_string(now_ms() - 25 * 3600 * 1000);
  w.puts.emplace_back(key, stale_at + "\n{\"status\":\"ok\",\"old\":true}");
  ASSERT_TRUE(call<journal_written>(journal, append_atom::value, w));
  auto reply = post(R"({"type":"message","text":"again"})", "old-key");
  ASSERT_TRUE(reply) << caf::to_string(reply.error());
  EXPECT_EQ(reply->find("\"old\""), std::string::npos) << *reply;
  EXPECT_EQ(
    scan(storage::id_key(table::messages, default_conversation(agent.id)))
      .size(),
    1u);
  // And now it answers with the new reply.
  auto repeat = post(R"({"type":"message","text":"again"})", "old-key");
  ASSERT_TRUE(repeat);
  EXPECT_EQ(*repeat, *reply);
}

TEST_F(ingest_test, another_agents_conversation_is_not_found) {
  auto other = add_agent(owner.id, "other").agent;
  auto theirs = format_id64("conv_", default_conversation(other.id));
  ASSERT_TRUE(post(R"({"type":"message","text":"mine"})", {}, &other));
  auto r = post(R"({"type":"message","text":"x","conversation_id":")" + theirs
                + "\"}");
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::not_found);
  // A new conversation id of its own is fine.
  auto fresh = post(
    R"({"type":"message","text":"x","conversation_id":"conv_00000000000000aa"})");
  EXPECT_TRUE(fresh);
}

TEST_F(ingest_test, images_are_stored_as_media) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  png += "rest-of-image";
  auto r = post(R"({"type":"message","image_base64":")" + base64_encode(png)
                + "\"}");
  ASSERT_TRUE(r) << caf::to_string(r.error());
  auto media = scan(std::string(1, static_cast<char>(table::media)));
  ASSERT_EQ(media.size(), 1u);
  EXPECT_EQ(
    media[0].value.rfind("image/png\n" + agent_id_text(agent.id) + "\n", 0),
    0u);
  EXPECT_NE(media[0].value.find("rest-of-image"), std::string::npos);
  auto msgs
    = scan(storage::id_key(table::messages, default_conversation(agent.id)));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs[0].value.find(R"("image_url":"http://x/media/med_)"),
            std::string::npos);
}

TEST_F(ingest_test, processing_clears_itself_30_s_after_the_last_heartbeat) {
  ASSERT_TRUE(post(R"({"type":"processing_start","status_text":"Reading"})"));
  EXPECT_EQ(pushed_of("processing"), 1u);
  auto live = call<std::vector<agent_live>>(directory_, online_atom::value,
                                            std::vector<uint64_t>{agent.id});
  ASSERT_TRUE(live && live->size() == 1);
  EXPECT_TRUE(live->front().processing);
  EXPECT_EQ(live->front().status_text, "Reading");
  advance_time(20s);
  ASSERT_TRUE(post(R"({"type":"agent_heartbeat","status_text":"Reading"})"));
  EXPECT_EQ(pushed_of("processing"), 1u); // unchanged: not pushed again
  advance_time(20s);
  EXPECT_EQ(pushed_of("processing"), 1u); // 20 s after the heartbeat
  advance_time(11s);
  ASSERT_EQ(pushed_of("processing"), 2u);
  EXPECT_NE(pushed->back().find(R"("processing":false)"), std::string::npos);
  ASSERT_TRUE(post(R"({"type":"processing_start"})"));
  ASSERT_TRUE(post(R"({"type":"processing_stop"})"));
  EXPECT_EQ(pushed_of("processing"), 4u);
}

} // namespace
} // namespace nod
