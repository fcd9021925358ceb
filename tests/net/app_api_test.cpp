// The read side of the app API, in process: a real actor system, journal,
// accounts and server on port 0, with conversations, messages, decisions
// and activity seeded straight into the journal (the agent API that writes
// them is a later issue).

#include "actors/accounts.hpp"
#include "actors/directory.hpp"
#include "actors/hasher.hpp"
#include "actors/journal.hpp"
#include "actors/reader.hpp"
#include "actors/system.hpp"
#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/agent_api.hpp"
#include "net/app_api.hpp"
#include "net/server.hpp"
#include "protocol/ids.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/e2e/http_client.hpp"
#include "tests/support/temp_dir.hpp"

#include <caf/all.hpp>
#include <fstream>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <set>
#include <sstream>

namespace nod {
namespace {

using storage::table;

struct system_config : caf::actor_system_config {
  system_config() {
    configure_actor_system(*this, 2);
  }
};

class app_api_test : public ::testing::Test {
protected:
  app_api_test() : sys(sys_cfg), self(sys, true) {
    std::string error;
    auto db = storage::store::open(dir.path(), {}, error);
    EXPECT_TRUE(db) << error;
    journal
      = spawn_journal(sys, std::shared_ptr<storage::store>{std::move(db)}, {});
    hash = sys.spawn(hasher, password_cost::minimum);
    acc = sys.spawn(accounts, journal, hash, accounts_options{});
    dir_actor = sys.spawn(directory, directory_options{});
    read = sys.spawn(reader, journal, acc);
    cfg.listen_port = 0;
    srv = std::make_unique<net::server>(cfg, reg, [] {
      return true;
    });
    net::app_api_context ctx;
    ctx.sys = &sys;
    ctx.accounts = acc;
    ctx.directory = dir_actor;
    ctx.reader = read;
    net::add_app_api(*srv, ctx);
    // The agent API's routes too (for the OpenAPI check; no agent calls).
    net::agent_api_context agent_ctx;
    agent_ctx.sys = &sys;
    net::add_agent_api(*srv, agent_ctx);
    EXPECT_FALSE(srv->start());
    port = srv->port();
  }

  ~app_api_test() override {
    srv->stop();
    for (auto a :
         {caf::actor_cast<caf::actor>(read), caf::actor_cast<caf::actor>(acc),
          caf::actor_cast<caf::actor>(dir_actor),
          caf::actor_cast<caf::actor>(hash),
          caf::actor_cast<caf::actor>(journal)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  template <class R, class... Ts>
  R must(Ts&&... xs) {
    R result{};
    self->request(acc, caf::infinite, std::forward<Ts>(xs)...)
      .receive(
        [&](R& r) {
          result = std::move(r);
        },
        [&](caf::error& err) {
          ADD_FAILURE() << caf::to_string(err);
        });
    return result;
  }

  /// A user with one agent; returns (user, token, agent).
  std::tuple<user_record, std::string, agent_record>
  user_with_agent(const std::string& name) {
    auto user = must<user_record>(user_add_atom::value, name,
                                  std::string{"password-long"}, false);
    auto login = must<login_result>(login_atom::value, name,
                                    std::string{"password-long"},
                                    std::string{"127.0.0.1:1"});
    agent_input in;
    in.name = name + "'s agent";
    auto agent = must<agent_created>(agent_new_atom::value, user.id, in);
    return {user, login.token, agent.agent};
  }

  void seed(journal_write w) {
    self->request(journal, caf::infinite, append_atom::value, std::move(w))
      .receive([](journal_written&) {},
               [](caf::error& err) {
                 ADD_FAILURE() << caf::to_string(err);
               });
  }

  test::http_reply get(const std::string& target, const std::string& token) {
    return test::http_call(port, "GET", target, {},
                           {{"Authorization", "Bearer " + token}});
  }

  /// The `id`s of a JSON array reply, in order.
  static std::vector<std::string> ids(const test::http_reply& r) {
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    std::vector<std::string> out;
    if (!doc.IsArray())
      return out;
    for (auto& item : doc.GetArray())
      out.emplace_back(item["id"].GetString());
    return out;
  }

  test::temp_dir dir;
  system_config sys_cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  journal_actor journal;
  hasher_actor hash;
  accounts_actor acc;
  directory_actor dir_actor;
  reader_actor read;
  config cfg;
  metrics::registry reg;
  std::unique_ptr<net::server> srv;
  uint16_t port = 0;
};

std::string object(const std::string& id, const std::string& agent,
                   const std::string& extra = {}) {
  return R"({"id":")" + id + R"(","agent_id":")" + agent + "\"" + extra + "}";
}

TEST_F(app_api_test, messages_page_newest_first_and_stay_private) {
  auto [alice, alice_token, agent] = user_with_agent("alice");
  auto [bob, bob_token, bobs_agent] = user_with_agent("bob");
  auto agent_text = agent_id_text(agent.id);
  uint64_t conv = 0x100;
  journal_write w;
  auto conv_obj = object(format_id64("conv_", conv), agent_text);
  w.puts.emplace_back(storage::id_key(table::conversations, conv), conv_obj);
  w.puts.emplace_back(
    storage::pair_key(table::agent_conversations, agent.id, conv), conv_obj);
  for (uint64_t m = 1; m <= 5; ++m)
    w.puts.emplace_back(storage::pair_key(table::messages, conv, m),
                        object(format_id64("msg_", m), agent_text));
  seed(w);
  auto convs = get("/api/agents/" + agent_text + "/conversations", alice_token);
  EXPECT_EQ(convs.status, 200u);
  EXPECT_EQ(ids(convs), std::vector<std::string>{format_id64("conv_", conv)});
  auto base = "/api/conversations/" + format_id64("conv_", conv) + "/messages";
  auto first = get(base + "?limit=2", alice_token);
  EXPECT_EQ(ids(first), (std::vector<std::string>{format_id64("msg_", 5),
                                                  format_id64("msg_", 4)}));
  auto next
    = get(base + "?limit=2&before=" + format_id64("msg_", 4), alice_token);
  EXPECT_EQ(ids(next), (std::vector<std::string>{format_id64("msg_", 3),
                                                 format_id64("msg_", 2)}));
  EXPECT_EQ(
    ids(get(base + "?before=" + format_id64("msg_", 1), alice_token)).size(),
    0u);
  EXPECT_EQ(get(base, bob_token).status, 404u);
  EXPECT_EQ(
    get("/api/agents/" + agent_text + "/conversations", bob_token).status,
    404u);
  EXPECT_EQ(get(base + "?limit=0", alice_token).status, 400u);
  EXPECT_EQ(get(base + "?limit=201", alice_token).status, 400u);
  EXPECT_EQ(get(base + "?before=dec_1", alice_token).status, 400u);
  EXPECT_EQ(get("/api/conversations/" + format_id64("conv_", 999) + "/messages",
                alice_token)
              .status,
            404u);
}

TEST_F(app_api_test, decisions_filter_by_status_and_agent) {
  auto [alice, token, agent] = user_with_agent("alice");
  auto agent_text = agent_id_text(agent.id);
  journal_write w;
  // 150 decisions so filtered listings must read more than one chunk.
  for (uint64_t d = 1; d <= 150; ++d) {
    auto status = d % 3 == 0 ? "pending" : "approved";
    w.puts.emplace_back(storage::pair_key(table::user_decisions, alice.id, d),
                        object(format_id64("dec_", d),
                               d == 10 ? "agt_other" : agent_text,
                               std::string{R"(,"status":")"} + status + "\""));
  }
  seed(w);
  auto all = ids(get("/api/decisions?limit=200", token));
  ASSERT_EQ(all.size(), 150u);
  EXPECT_EQ(all.front(), format_id64("dec_", 150));
  auto pending = ids(get("/api/decisions?status=pending&limit=200", token));
  EXPECT_EQ(pending.size(), 50u);
  auto few = ids(get("/api/decisions?status=pending&limit=3", token));
  EXPECT_EQ(few, (std::vector<std::string>{format_id64("dec_", 150),
                                           format_id64("dec_", 147),
                                           format_id64("dec_", 144)}));
  auto other = ids(get("/api/decisions?agent_id=agt_other", token));
  EXPECT_EQ(other, std::vector<std::string>{format_id64("dec_", 10)});
  auto one = get("/api/decisions/" + format_id64("dec_", 3), token);
  EXPECT_EQ(one.status, 200u);
  EXPECT_NE(one.body.find("pending"), std::string::npos);
  auto [bob, bob_token, bobs] = user_with_agent("bob");
  EXPECT_EQ(get("/api/decisions/" + format_id64("dec_", 3), bob_token).status,
            404u);
  EXPECT_EQ(get("/api/decisions", bob_token).body, "[]");
}

TEST_F(app_api_test, activity_feed_per_user_and_agent) {
  auto [alice, token, agent] = user_with_agent("alice");
  auto agent_text = agent_id_text(agent.id);
  journal_write w;
  for (uint64_t a = 1; a <= 4; ++a)
    w.puts.emplace_back(storage::pair_key(table::user_activity, alice.id, a),
                        object(format_id64("act_", a),
                               a % 2 ? agent_text : "agt_00000000000000ff"));
  seed(w);
  EXPECT_EQ(ids(get("/api/activity", token)).size(), 4u);
  EXPECT_EQ(
    ids(get("/api/activity?agent_id=" + agent_text, token)),
    (std::vector<std::string>{format_id64("act_", 3), format_id64("act_", 1)}));
  EXPECT_EQ(ids(get("/api/activity?before=" + format_id64("act_", 2), token)),
            std::vector<std::string>{format_id64("act_", 1)});
}

/// `pattern` with every `{name}` as `{}`: OpenAPI counts paths that differ
/// only in placeholder names as one.
std::string placeholders_unnamed(const std::string& pattern) {
  std::string out;
  bool inside = false;
  for (char c : pattern) {
    if (c == '{') {
      inside = true;
      out += "{}";
    } else if (c == '}') {
      inside = false;
    } else if (!inside) {
      out += c;
    }
  }
  return out;
}

TEST_F(app_api_test, the_openapi_document_has_every_route_and_is_served) {
  std::ifstream in{NOD_OPENAPI};
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  ASSERT_FALSE(doc.HasParseError());
  ASSERT_TRUE(doc.HasMember("paths"));
  std::set<std::string> documented;
  for (auto& path : doc["paths"].GetObject())
    for (auto& method : path.value.GetObject()) {
      std::string m = method.name.GetString();
      for (auto& c : m)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(m + " " + placeholders_unnamed(path.name.GetString()));
    }
  auto routes = srv->routes().list();
  ASSERT_GT(routes.size(), 40u);
  for (auto& [method, pattern] : routes)
    EXPECT_EQ(documented.count(method + " " + placeholders_unnamed(pattern)),
              1u)
      << method << " " << pattern << " is not in docs/openapi.json "
      << "(scripts/openapi.py)";
  // The served document is the committed one.
  auto served = test::http_call(port, "GET", "/api/openapi.json");
  EXPECT_EQ(served.status, 200u);
  EXPECT_EQ(served.header("Content-Type"), "application/json");
  EXPECT_EQ(served.body, text.str());
}

} // namespace
} // namespace nod
