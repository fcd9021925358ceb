// Running it as a service (issue #20): online backup and restore, data
// format upgrades and retention, against the real binary.

#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/e2e/server_fixture.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace nod::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Runs `cmd` (a nod-server subcommand) to its end; exit status and output.
std::pair<int, std::string> run_command(const std::vector<std::string>& args,
                                        const std::vector<std::string>& env
                                        = std::vector<std::string>{}) {
  child_process p{NOD_SERVER_BINARY, args, env};
  auto status = p.wait(seconds(60));
  return {status.value_or(-1), p.output()};
}

// Waits until `done` holds, up to `limit`.
bool eventually(const std::function<bool()>& done,
                milliseconds limit = seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done())
      return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return done();
}

class ops_fixture : public server_fixture {
protected:
  using server_fixture::server_fixture;

  // Every message text in the conversations of agent `agent`.
  std::set<std::string> message_texts(const std::string& agent) {
    std::set<std::string> texts;
    auto convs = app("GET", "/api/agents/" + agent + "/conversations");
    EXPECT_EQ(convs.status, 200u) << convs.body;
    auto doc = parse(convs.body);
    const auto& list = doc.IsArray() ? doc : doc["conversations"];
    for (auto& c : list.GetArray()) {
      std::string before;
      for (;;) {
        auto r = app("GET", "/api/conversations/" + str(c, "id")
                              + "/messages?limit=100"
                              + (before.empty() ? "" : "&before=" + before));
        EXPECT_EQ(r.status, 200u) << r.body;
        auto page = parse(r.body);
        const auto& msgs = page.IsArray() ? page : page["messages"];
        if (msgs.Empty())
          break;
        for (auto& m : msgs.GetArray()) {
          texts.insert(str(m, "text"));
          before = str(m, "id");
        }
      }
    }
    return texts;
  }
};

class backup_test : public ops_fixture {};

TEST_F(backup_test, a_backup_under_write_load_restores_what_was_acknowledged) {
  auto a = create_agent("writer");
  // One client writes as fast as the server answers; `answered` is how
  // many messages have been acknowledged, in order.
  std::atomic<int> answered{0};
  std::atomic<bool> stop_writing{false};
  std::thread writer([&] {
    for (int i = 0; !stop_writing; ++i) {
      auto r = app("POST", "/api/agents/" + a.id + "/messages",
                   R"({"text":"m)" + std::to_string(i) + "\"}");
      if (r.status != 201) {
        ADD_FAILURE() << r.status << " " << r.body;
        return;
      }
      answered = i + 1;
    }
  });
  ASSERT_TRUE(eventually([&] {
    return answered >= 100;
  }));
  int before_backup = answered;
  auto r = app("POST", "/api/admin/backups");
  int at_reply = answered;
  ASSERT_TRUE(eventually([&] {
    return answered >= at_reply + 100;
  }));
  stop_writing = true;
  writer.join();
  ASSERT_EQ(r.status, 201u) << r.body;
  auto backup = parse(r.body);
  auto path = str(backup, "path");
  EXPECT_TRUE(fs::is_directory(path)) << r.body;
  EXPECT_GT(testkit::uint(backup, "bytes"), 0u) << r.body;
  EXPECT_FALSE(str(backup, "created_at").empty()) << r.body;
  EXPECT_EQ(fs::path(path).parent_path(), fs::path(dir / "data") / "backups");

  auto listed = app("GET", "/api/admin/backups");
  ASSERT_EQ(listed.status, 200u) << listed.body;
  auto list = parse(listed.body);
  ASSERT_EQ(list["backups"].Size(), 1u) << listed.body;
  EXPECT_EQ(str(list["backups"][0], "id"), str(backup, "id"));

  // Anyone but an admin: 403, and no backup taken.
  ASSERT_EQ(app("POST", "/api/users",
                R"({"username":"bob","password":"bob-Pw-0123456789"})")
              .status,
            201u);
  auto bob = http_call(port, "POST", "/api/auth/login",
                       R"({"username":"bob","password":"bob-Pw-0123456789"})",
                       {{"Content-Type", "application/json"}});
  auto bob_token = str(parse(bob.body), "token");
  EXPECT_EQ(app_as(bob_token, "POST", "/api/admin/backups").status, 403u);
  EXPECT_EQ(app_as(bob_token, "GET", "/api/admin/backups").status, 403u);
  EXPECT_EQ(http_call(port, "POST", "/api/admin/backups").status, 401u);
  stop();

  auto restored = dir / "restored";
  auto [status, out]
    = run_command({"restore", "--from", path, "--data-dir", restored});
  ASSERT_EQ(status, 0) << out;
  // Never over existing data.
  auto [again, again_out]
    = run_command({"restore", "--from", path, "--data-dir", restored});
  EXPECT_EQ(again, 2) << again_out;
  EXPECT_NE(again_out.find("is not empty"), std::string::npos) << again_out;

  start({{"NOD_DATA_DIR", restored}});
  token = login();
  auto texts = message_texts(a.id);
  for (int i = 0; i < before_backup; ++i)
    EXPECT_TRUE(texts.count("m" + std::to_string(i))) << "m" << i;
  // Sent after the backup's answer: not in it.
  for (int i = at_reply + 1; i < answered; ++i)
    EXPECT_FALSE(texts.count("m" + std::to_string(i))) << "m" << i;
  // The restored server takes new writes.
  say(a, "after the restore");
  EXPECT_TRUE(message_texts(a.id).count("after the restore"));
}

TEST_F(backup_test, the_backup_command_asks_a_running_server) {
  auto url = "http://127.0.0.1:" + std::to_string(port);
  auto [status, out] = run_command({"backup", "--url", url},
                                   {"NOD_USER_PASSWORD=" + admin_password});
  ASSERT_EQ(status, 0) << out;
  auto doc = parse(out.substr(0, out.find('\n')));
  EXPECT_TRUE(fs::is_directory(str(doc, "path"))) << out;
  auto list = parse(app("GET", "/api/admin/backups").body);
  EXPECT_EQ(str(list["backups"][0], "id"), str(doc, "id"));

  auto [bad, bad_out] = run_command({"backup", "--url", url},
                                    {"NOD_USER_PASSWORD=wrong-password"});
  EXPECT_EQ(bad, 1) << bad_out;
  EXPECT_NE(bad_out.find("sign-in as admin failed"), std::string::npos)
    << bad_out;
  auto [usage, usage_out] = run_command({"backup"});
  EXPECT_EQ(usage, 2) << usage_out;
}

// -- upgrades ----------------------------------------------------------------

class upgrade_test : public ops_fixture {};

// Rewrites the format stamp of the (stopped) server's data directory.
void stamp_format(const std::string& data_dir, const std::string& version) {
  std::string error;
  storage::store_options opts;
  opts.backup_dir = data_dir + "/../ignored-backups";
  auto db = storage::store::open(data_dir, opts, error);
  ASSERT_TRUE(db) << error;
  storage::write_batch batch;
  batch.put(storage::schema_version_key(), version);
  ASSERT_TRUE(db->write(batch).ok());
}

TEST_F(upgrade_test, an_older_directory_is_migrated_once_a_newer_refused) {
  auto a = create_agent("old");
  say(a, "written by format 1");
  stop();
  // What a format-1 server leaves: the same keys, stamped 1.
  stamp_format(dir / "data", "1");
  start();
  token = login();
  ASSERT_TRUE(
    server->wait_for_output("migrated data directory", milliseconds(5000)))
    << server->output();
  EXPECT_NE(server->output().find("from data format 1 to "), std::string::npos);
  EXPECT_TRUE(message_texts(a.id).count("written by format 1"));
  // The backup taken first is there, holding format 1.
  std::vector<fs::path> backups;
  for (auto& e : fs::directory_iterator(fs::path(dir / "data") / "backups"))
    backups.push_back(e.path());
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_NE(backups[0].filename().string().find("pre-format-"),
            std::string::npos);
  stop();
  // Once: the next start does not migrate again.
  start();
  EXPECT_EQ(server->output().find("migrated data directory"),
            std::string::npos);
  stop();

  // A directory from a newer release: one line, exit 1.
  stamp_format(dir / "data", "99");
  child_process p{NOD_SERVER_BINARY,
                  {},
                  {"NOD_LISTEN=127.0.0.1:0", "NOD_DATA_DIR=" + dir / "data"}};
  EXPECT_EQ(p.wait(seconds(20)), 1) << p.output();
  EXPECT_NE(p.output().find("has data format 99, newer than this nod-server"),
            std::string::npos)
    << p.output();
}

// -- retention ---------------------------------------------------------------

class retention_test : public ops_fixture {
protected:
  retention_test()
    : ops_fixture({{"NOD_ACTIVITY_RETENTION", "2s"},
                   {"NOD_DELIVERED_EVENT_RETENTION", "2s"},
                   {"NOD_MESSAGE_RETENTION", "2s"},
                   {"NOD_RETENTION_INTERVAL", "1s"}}) {}

  // Bytes of the store's files (the RocksDB info logs left out).
  uint64_t store_bytes() {
    uint64_t total = 0;
    for (auto& e : fs::directory_iterator(dir / "data"))
      if (e.is_regular_file()
          && e.path().filename().string().rfind("LOG", 0) != 0)
        total += e.file_size();
    return total;
  }
};

TEST_F(retention_test, old_history_goes_and_nothing_pending_is_lost) {
  auto busy = create_agent("busy");
  auto offline = create_agent("offline");
  // Parked: no socket, no webhook. It must survive retention.
  say(offline, "wait for me");
  // An image goes with its message.
  auto pic = agent_call(
    busy, "POST", "/api/agent/events",
    R"({"type":"message","image_base64":"data:image/png;base64,iVBORw0KGgpwaXhlbHM="})");
  ASSERT_EQ(pic.status, 200u) << pic.body;
  auto pic_msgs = parse(app("GET", "/api/conversations/"
                                     + str(parse(pic.body), "conversation_id")
                                     + "/messages")
                          .body);
  auto pic_url = str(pic_msgs[0], "image_url");
  auto pic_path = pic_url.substr(pic_url.find("/media/"));
  ASSERT_EQ(app("GET", pic_path).status, 200u);
  auto pending_decision = ask_decision(busy, "still open");
  auto resolved = ask_decision(busy, "answered");
  ASSERT_EQ(resolve(resolved, R"({"status":"approved"})").status, 200u);
  // Enough activity to see the disk space come back: text that does not
  // compress.
  std::string noise;
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 1500; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    noise += "0123456789abcdef"[x & 15];
  }
  for (int i = 0; i < 300; ++i)
    ASSERT_EQ(agent_call(busy, "POST", "/api/agent/events",
                         R"({"type":"alert","title":"a)" + std::to_string(i)
                           + R"(","description":")" + noise + "\"}")
                .status,
              200u);
  uint64_t last_seq = 0;
  {
    // Delivered over the socket (no acks: a completed write counts), the
    // parked decision_resolved first.
    auto ws = connect_agent(busy, false);
    for (int i = 0; i < 5; ++i) {
      say(busy, "hello " + std::to_string(i));
      auto frame = next_of(*ws, "user_message");
      ASSERT_FALSE(frame.empty());
      last_seq = testkit::uint(parse(frame), "seq");
    }
    ASSERT_TRUE(eventually([&] {
      auto d = parse(app("GET", "/api/agents/" + busy.id + "/deliveries").body);
      if (d.Size() != last_seq)
        return false;
      for (auto& r : d.GetArray())
        if (str(r, "state") != "delivered")
          return false;
      return true;
    }));
  }
  auto full = store_bytes();

  // Everything above is older than 2 s after a while; a pass runs every
  // second.
  ASSERT_TRUE(eventually([&] {
    auto act = parse(app("GET", "/api/activity").body);
    return act.IsArray() && act.Empty();
  }))
    << app("GET", "/api/activity").body;
  ASSERT_TRUE(eventually([&] {
    auto d = parse(app("GET", "/api/agents/" + busy.id + "/deliveries").body);
    return d.IsArray() && d.Empty();
  }));
  ASSERT_TRUE(eventually([&] {
    return message_texts(busy.id).empty();
  }));
  // Decisions come after messages in a pass.
  EXPECT_TRUE(eventually([&] {
    return app("GET", "/api/decisions/" + resolved).status == 404u;
  }));
  EXPECT_EQ(app("GET", "/api/decisions/" + pending_decision).status, 200u);
  EXPECT_TRUE(eventually([&] {
    return app("GET", pic_path).status == 404u;
  }));
  ASSERT_TRUE(eventually([&] {
    return store_bytes() < full / 2;
  }))
    << full << " -> " << store_bytes();
  auto metrics = http_call(port, "GET", "/metrics").body;
  // At least the 300 alerts; the counter is there from the start, so its
  // value is what tells.
  auto at = metrics.find("\nnod_retention_deleted_total ");
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GE(std::stoll(metrics.substr(at + 29)), 300) << metrics.substr(at, 60);

  // The pending event, older than the setting, is still delivered.
  {
    auto ws = connect_agent(offline, false);
    auto msg = next_of(*ws, "user_message");
    EXPECT_NE(msg.find("wait for me"), std::string::npos) << msg;
  }
  // Numbering goes on after the deleted events, across a restart too.
  stop();
  start();
  token = login();
  auto ws = connect_agent(busy, false);
  say(busy, "after the sweep");
  auto next = parse(next_of(*ws, "user_message"));
  EXPECT_EQ(testkit::uint(next, "seq"), last_seq + 1);
}

class retention_reload_test : public ops_fixture {};

TEST_F(retention_reload_test, sighup_applies_new_retention_settings) {
  auto conf = dir / "nod.conf";
  auto write = [&](const std::string& text) {
    std::ofstream{conf} << text;
  };
  write("activity-retention = off\nretention-interval = 1h\n");
  stop();
  start({{"NOD_CONFIG", conf}});
  token = login();
  auto a = create_agent("reloaded");
  ASSERT_EQ(agent_call(a, "POST", "/api/agent/events",
                       R"({"type":"alert","title":"kept until reload"})")
              .status,
            200u);
  std::this_thread::sleep_for(seconds(3));
  EXPECT_EQ(parse(app("GET", "/api/activity").body).Size(), 1u);

  write("activity-retention = 1s\nretention-interval = 1s\n");
  server->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    auto act = parse(app("GET", "/api/activity").body);
    return act.IsArray() && act.Empty();
  }));
  EXPECT_EQ(server->output().find("activity-retention changed"),
            std::string::npos)
    << server->output();
}

} // namespace
} // namespace nod::test
