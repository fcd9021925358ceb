// The reader on the deterministic scheduler: lists newest first with
// paging and filters, single objects and media, and nothing of anyone
// else's. What it reads is written by the real ingest.

#include "actors/error.hpp"
#include "actors/ingest.hpp"
#include "actors/reader.hpp"
#include "protocol/credentials.hpp"
#include "protocol/ids.hpp"
#include "protocol/json.hpp"
#include "tests/actors/people_fixture.hpp"

namespace nod {
namespace {

class reader_test : public test::people_fixture {
protected:
  reader_test() {
    ing = sys.spawn(ingest, journal, directory_,
                    ingest_options{"http://x", nullptr, {}, {}});
    read = sys.spawn(reader, journal, acc);
    owner = add_user("owner");
    stranger = add_user("stranger");
    agent = add_agent(owner.id, "worker").agent;
    other = add_agent(stranger.id, "theirs").agent;
    run();
  }

  ~reader_test() override {
    caf::anon_send_exit(ing, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(read, caf::exit_reason::user_shutdown);
    run();
  }

  /// Posts an agent event and returns the id the reply names in `field`.
  std::string post(const agent_record& who, const std::string& body,
                   const char* field) {
    auto reply
      = call<std::string>(ing, ingest_atom::value, who, body, std::string{});
    EXPECT_TRUE(reply) << caf::to_string(reply.error());
    json::document doc;
    json::field_error err;
    if (!reply || !json::parse_object(*reply, doc, err)
        || !doc.HasMember(field))
      return {};
    return doc[field].GetString();
  }

  /// The `field` of each object of a JSON array, in order.
  static std::vector<std::string> fields(const caf::expected<std::string>& a,
                                         const char* field) {
    std::vector<std::string> out;
    EXPECT_TRUE(a) << caf::to_string(a.error());
    if (!a)
      return out;
    rapidjson::Document doc;
    doc.Parse(a->c_str());
    EXPECT_TRUE(doc.IsArray());
    if (!doc.IsArray())
      return out;
    for (auto& v : doc.GetArray())
      out.emplace_back(v[field].GetString());
    return out;
  }

  static page_query page(uint32_t limit,
                         std::optional<uint64_t> before = std::nullopt) {
    page_query p;
    p.limit = limit;
    p.before = before;
    return p;
  }

  ingest_actor ing;
  reader_actor read;
  user_record owner;
  user_record stranger;
  agent_record agent;
  agent_record other;
};

TEST_F(reader_test, messages_page_newest_first) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(
      post(agent, R"({"type":"message","text":"m)" + std::to_string(i) + "\"}",
           "message_id"));
  auto conv = default_conversation(agent.id);
  auto first = fields(call<std::string>(read, messages_atom::value,
                                        read_scope{owner.id, 0}, conv, page(2)),
                      "id");
  EXPECT_EQ(first, (std::vector<std::string>{ids[4], ids[3]}));
  auto next = fields(call<std::string>(read, messages_atom::value,
                                       read_scope{owner.id, 0}, conv,
                                       page(2, parse_id64("msg_", ids[3]))),
                     "id");
  EXPECT_EQ(next, (std::vector<std::string>{ids[2], ids[1]}));
  auto convs
    = fields(call<std::string>(read, conversations_atom::value,
                               read_scope{owner.id, 0}, agent.id, page(50)),
             "id");
  EXPECT_EQ(convs, (std::vector<std::string>{format_id64("conv_", conv)}));
}

TEST_F(reader_test, another_persons_objects_are_not_found) {
  post(agent, R"({"type":"message","text":"private"})", "message_id");
  auto dec
    = post(agent, R"({"type":"decision","title":"ok?","kind":"approval"})",
           "decision_id");
  auto conv = default_conversation(agent.id);
  auto msgs = call<std::string>(read, messages_atom::value,
                                read_scope{stranger.id, 0}, conv, page(50));
  ASSERT_FALSE(msgs);
  EXPECT_EQ(code_of(msgs.error()), ec::not_found);
  EXPECT_EQ(detail_of(msgs.error()), "conversation not found");
  auto convs
    = call<std::string>(read, conversations_atom::value,
                        read_scope{stranger.id, 0}, agent.id, page(50));
  ASSERT_FALSE(convs);
  EXPECT_EQ(code_of(convs.error()), ec::not_found);
  auto d = call<std::string>(read, decision_atom::value, stranger.id,
                             *parse_id64("dec_", dec));
  ASSERT_FALSE(d);
  EXPECT_EQ(code_of(d.error()), ec::not_found);
  // Another agent does not see it either.
  auto theirs = call<agent_decision>(read, agent_decision_atom::value, other.id,
                                     *parse_id64("dec_", dec));
  ASSERT_FALSE(theirs);
  EXPECT_EQ(detail_of(theirs.error()), "decision not found");
  // The stranger's own lists are empty, not an error.
  auto mine = fields(call<std::string>(read, decisions_atom::value,
                                       read_scope{stranger.id, 0}, page(50),
                                       list_filter{}),
                     "id");
  EXPECT_TRUE(mine.empty());
}

TEST_F(reader_test, decisions_filter_by_status_and_agent) {
  auto mine
    = post(agent, R"({"type":"decision","title":"a","kind":"approval"})",
           "decision_id");
  auto second = add_agent(owner.id, "second").agent;
  auto theirs
    = post(second, R"({"type":"decision","title":"b","kind":"approval"})",
           "decision_id");
  auto all = fields(call<std::string>(read, decisions_atom::value,
                                      read_scope{owner.id, 0}, page(50),
                                      list_filter{}),
                    "id");
  EXPECT_EQ(all, (std::vector<std::string>{theirs, mine}));
  auto of_first = fields(
    call<std::string>(read, decisions_atom::value, read_scope{owner.id, 0},
                      page(50), list_filter{"", agent_id_text(agent.id)}),
    "id");
  EXPECT_EQ(of_first, (std::vector<std::string>{mine}));
  auto resolved = fields(call<std::string>(read, decisions_atom::value,
                                           read_scope{owner.id, 0}, page(50),
                                           list_filter{"resolved", ""}),
                         "id");
  EXPECT_TRUE(resolved.empty());
  auto one = call<std::string>(read, decision_atom::value, owner.id,
                               *parse_id64("dec_", mine));
  ASSERT_TRUE(one);
  EXPECT_NE(one->find(mine), std::string::npos);
  auto as_agent = call<agent_decision>(read, agent_decision_atom::value,
                                       agent.id, *parse_id64("dec_", mine));
  ASSERT_TRUE(as_agent);
  EXPECT_TRUE(as_agent->pending);
  auto counts = call<std::vector<int64_t>>(
    read, pending_count_atom::value, std::vector<uint64_t>{agent.id, other.id});
  ASSERT_TRUE(counts);
  EXPECT_EQ(*counts, (std::vector<int64_t>{1, 0}));
}

TEST_F(reader_test, activity_filters_by_agent) {
  auto a
    = post(agent, R"({"type":"alert","title":"Disk full"})", "activity_id");
  auto second = add_agent(owner.id, "second").agent;
  auto b = post(second, R"({"type":"alert","title":"CPU hot"})", "activity_id");
  auto all = fields(call<std::string>(read, activity_atom::value, owner.id,
                                      page(50), list_filter{}),
                    "id");
  EXPECT_EQ(all, (std::vector<std::string>{b, a}));
  auto one
    = fields(call<std::string>(read, activity_atom::value, owner.id, page(50),
                               list_filter{"", agent_id_text(second.id)}),
             "id");
  EXPECT_EQ(one, (std::vector<std::string>{b}));
}

TEST_F(reader_test, media_only_for_the_owner_of_its_agent) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  png += "pixels";
  post(agent,
       R"({"type":"message","image_base64":")" + base64_encode(png) + "\"}",
       "message_id");
  auto msgs
    = call<std::string>(read, messages_atom::value, read_scope{owner.id, 0},
                        default_conversation(agent.id), page(1));
  ASSERT_TRUE(msgs);
  auto at = msgs->find("/media/med_");
  ASSERT_NE(at, std::string::npos);
  auto id = parse_id64("med_", msgs->substr(at + 7, 20));
  ASSERT_TRUE(id);
  auto item
    = call<media_item>(read, media_atom::value, read_scope{owner.id, 0}, *id);
  ASSERT_TRUE(item) << caf::to_string(item.error());
  EXPECT_EQ(item->content_type, "image/png");
  EXPECT_EQ(item->bytes, png);
  auto hidden = call<media_item>(read, media_atom::value,
                                 read_scope{stranger.id, 0}, *id);
  ASSERT_FALSE(hidden);
  EXPECT_EQ(code_of(hidden.error()), ec::not_found);
  auto missing = call<media_item>(read, media_atom::value,
                                  read_scope{owner.id, 0}, *id + 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), ec::not_found);
}

TEST(media_record, round_trips_and_refuses_what_is_not_one) {
  media_item item;
  uint64_t agent = 0;
  auto stored = encode_media("image/gif", 0xab, std::string("a\nb\0c", 5));
  ASSERT_TRUE(decode_media(stored, item, agent));
  EXPECT_EQ(item.content_type, "image/gif");
  EXPECT_EQ(agent, 0xabu);
  EXPECT_EQ(item.bytes, std::string("a\nb\0c", 5));
  EXPECT_FALSE(decode_media("image/gif", item, agent));
  EXPECT_FALSE(decode_media("image/gif\nnot-an-agent\nbytes", item, agent));
}

} // namespace
} // namespace nod
