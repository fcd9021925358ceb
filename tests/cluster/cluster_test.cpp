// Cluster mode against three real nats-servers and three real nod-servers
// (docs/cluster.md): any node serves the API, one node writes, a dead or
// cut-off leader loses nothing acknowledged, and work moves to the next.

#include "tests/cluster/cluster_fixture.hpp"
#include "tests/e2e/webhook_sink.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>

namespace nod::test {
namespace {

using namespace std::chrono_literals;

int64_t num(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject())
    return -1;
  auto i = v.FindMember(name);
  return i != v.MemberEnd() && i->value.IsInt64() ? i->value.GetInt64() : -1;
}

// Message texts of a conversation, as any node reads them.
std::multiset<std::string> texts_of(const rapidjson::Document& doc) {
  std::multiset<std::string> out;
  if (doc.IsArray())
    for (auto& m : doc.GetArray())
      out.insert(str(m, "text"));
  return out;
}

std::string conversation_of(const std::string& agent_id) {
  return "conv_" + agent_id.substr(4);
}

class cluster_test : public cluster_fixture {
protected:
  /// Checks through `node` that each acknowledged message text (by agent
  /// index) is in its agent's conversation exactly once; how many it checked.
  size_t expect_each_once(size_t node, const std::vector<agent>& agents,
                          std::map<size_t, std::set<std::string>>& acked) {
    size_t checked = 0;
    for (size_t ai = 0; ai < agents.size(); ++ai) {
      // An agent none of whose messages was acknowledged (a slow run) may
      // have no conversation at all.
      if (acked[ai].empty())
        continue;
      auto history = app(node, "GET",
                         "/api/conversations/" + conversation_of(agents[ai].id)
                           + "/messages?limit=200");
      EXPECT_EQ(history.status, 200u) << history.body;
      auto texts = texts_of(parse(history.body));
      for (auto& key : acked[ai]) {
        EXPECT_EQ(texts.count(key), 1u)
          << "acknowledged message " << key << " of agent " << ai;
        ++checked;
      }
    }
    return checked;
  }
};

// -- the API on any node
// -------------------------------------------------------

TEST_F(cluster_test, any_node_serves_the_api_and_writes_go_through_one_leader) {
  ASSERT_GE(leader_, 0) << logs();
  for (size_t i = 0; i < nodes; ++i) {
    EXPECT_EQ(call(i, "GET", "/readyz").status, 200u) << "node " << i + 1;
    EXPECT_EQ(metric(i, "nod_cluster_leading"), i == size_t(leader_) ? 1 : 0);
  }
  auto a = create_agent(random_node(), "anywhere");
  ASSERT_FALSE(a.id.empty());

  // Agent events through random nodes, each with its Idempotency-Key; one
  // key sent again to another node gets the first answer.
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    auto r
      = agent_call(random_node(), a, "POST", "/api/agent/events",
                   R"({"type":"message","text":"m)" + std::to_string(i) + "\"}",
                   {{"Idempotency-Key", "k" + std::to_string(i)}});
    ASSERT_EQ(r.status, 200u) << r.body;
    ids.push_back(str(parse(r.body), "message_id"));
  }
  for (size_t n = 0; n < nodes; ++n) {
    auto again = agent_call(n, a, "POST", "/api/agent/events",
                            R"({"type":"message","text":"m5"})",
                            {{"Idempotency-Key", "k5"}});
    ASSERT_EQ(again.status, 200u) << again.body;
    EXPECT_EQ(str(parse(again.body), "message_id"), ids[5]) << "node " << n;
  }
  auto history = app(random_node(), "GET",
                     "/api/conversations/" + conversation_of(a.id)
                       + "/messages?limit=100");
  ASSERT_EQ(history.status, 200u) << history.body;
  auto texts = texts_of(parse(history.body));
  EXPECT_EQ(texts.size(), 30u);
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(texts.count("m" + std::to_string(i)), 1u) << i;

  // A person's messages through random nodes reach the agent's inbox in
  // order, gapless; an ack through another node empties it.
  for (int i = 0; i < 10; ++i) {
    auto r = app(random_node(), "POST", "/api/agents/" + a.id + "/messages",
                 R"({"text":"p)" + std::to_string(i) + "\"}");
    ASSERT_EQ(r.status, 201u) << r.body;
  }
  // The last ones may still be on their way to pending.
  http_reply inbox;
  rapidjson::Document events;
  auto until = clock_type::now() + 5s;
  do {
    inbox = agent_call(random_node(), a, "GET", "/api/agent/inbox");
    ASSERT_EQ(inbox.status, 200u) << inbox.body;
    events = parse(inbox.body);
  } while (!(events.IsArray() && events.Size() == 10)
           && clock_type::now() < until);
  const rapidjson::Value& list = events.IsObject() && events.HasMember("events")
                                   ? events["events"]
                                   : events;
  ASSERT_TRUE(list.IsArray()) << inbox.body;
  ASSERT_EQ(list.Size(), 10u) << inbox.body;
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i)
    EXPECT_EQ(num(list[i], "seq"), static_cast<int64_t>(i) + 1) << inbox.body;
  auto acked = agent_call(random_node(), a, "POST", "/api/agent/inbox/ack",
                          R"({"seq":10})");
  EXPECT_EQ(acked.status, 200u) << acked.body;

  // First resolution wins, whichever nodes the two come through.
  auto asked = agent_call(random_node(), a, "POST", "/api/agent/events",
                          R"({"type":"decision","title":"Ship?",)"
                          R"("kind":"approval"})");
  ASSERT_EQ(asked.status, 200u) << asked.body;
  auto decision = str(parse(asked.body), "decision_id");
  auto first = app((leader_ + 1) % nodes, "POST",
                   "/api/decisions/" + decision + "/resolve",
                   R"({"status":"approved"})");
  EXPECT_EQ(first.status, 200u) << first.body;
  auto second = app((leader_ + 2) % nodes, "POST",
                    "/api/decisions/" + decision + "/resolve",
                    R"({"status":"rejected"})");
  EXPECT_EQ(second.status, 409u) << second.body;

  // Every node's store has every entry soon after.
  auto deadline = clock_type::now() + 10s;
  long long target = metric(leader_, "nod_cluster_applied_entry");
  EXPECT_GT(target, 40);
  for (size_t i = 0; i < nodes; ++i) {
    while (metric(i, "nod_cluster_applied_entry") < target
           && clock_type::now() < deadline)
      std::this_thread::sleep_for(20ms);
    EXPECT_GE(metric(i, "nod_cluster_applied_entry"), target) << i;
  }
}

// -- agent on one node, person on another ----------------------------------

TEST_F(cluster_test,
       an_agent_on_one_node_gets_a_persons_messages_from_another) {
  ASSERT_GE(leader_, 0) << logs();
  // Both through nodes that do not lead: every hop is a relay.
  size_t agent_node = (leader_ + 1) % nodes;
  size_t person_node = (leader_ + 2) % nodes;
  auto a = create_agent(person_node, "far away");
  auto ws = connect_agent(agent_node, a);
  ASSERT_TRUE(ws) << logs();
  std::vector<double> latency_ms;
  for (int i = 1; i <= 100; ++i) {
    auto sent = clock_type::now();
    auto r = app(person_node, "POST", "/api/agents/" + a.id + "/messages",
                 R"({"text":"n)" + std::to_string(i) + "\"}");
    ASSERT_EQ(r.status, 201u) << r.body;
    // Frames other than user_message (status) are skipped.
    for (;;) {
      auto frame = ws->read_text(5s);
      ASSERT_TRUE(frame) << "message " << i << " did not arrive";
      auto doc = parse(*frame);
      if (str(doc, "type") != "user_message")
        continue;
      EXPECT_EQ(num(doc, "seq"), i) << *frame;
      EXPECT_EQ(str(doc, "text"), "n" + std::to_string(i)) << *frame;
      break;
    }
    latency_ms.push_back(
      std::chrono::duration<double, std::milli>(clock_type::now() - sent)
        .count());
  }
  std::sort(latency_ms.begin(), latency_ms.end());
  RecordProperty("p50_ms", std::to_string(latency_ms[49]));
  RecordProperty("p99_ms", std::to_string(latency_ms[98]));
  std::printf("person (node %zu) -> agent (node %zu), leader node %d: "
              "p50 %.2f ms, p99 %.2f ms\n",
              person_node + 1, agent_node + 1, leader_ + 1, latency_ms[49],
              latency_ms[98]);
}

// -- the leader dies
// -----------------------------------------------------------

TEST_F(cluster_test,
       killing_the_leader_under_load_loses_no_acknowledged_write) {
  ASSERT_GE(leader_, 0) << logs();
  constexpr size_t agent_count = 100;
  std::vector<agent> agents;
  for (size_t i = 0; i < agent_count; ++i)
    agents.push_back(create_agent(random_node(), "load" + std::to_string(i)));
  // Sockets of every agent, spread over the nodes.
  std::vector<std::unique_ptr<ws_client>> sockets;
  for (size_t i = 0; i < agent_count; ++i) {
    sockets.push_back(connect_agent(i % nodes, agents[i]));
    ASSERT_TRUE(sockets.back()) << i;
  }

  // Writers: agent events with a key each, retried with the same key on
  // other nodes until acknowledged; and a person's messages to agents.
  std::mutex mtx;
  std::map<size_t, std::set<std::string>> acked_events;  // agent -> texts
  std::map<size_t, std::set<std::string>> acked_replies; // agent -> event ids
  load_threads load;
  std::atomic<int> unanswered{0};
  auto writer = [&](int w) {
    std::mt19937 rng{static_cast<unsigned>(w)};
    for (int n = 0; !load.stop; ++n) {
      size_t ai = rng() % agent_count;
      auto key = "w" + std::to_string(w) + "-" + std::to_string(n);
      bool person = n % 4 == 3;
      auto give_up = clock_type::now() + 30s;
      for (;;) {
        size_t node = rng() % nodes;
        http_reply r
          = person
              ? app(node, "POST", "/api/agents/" + agents[ai].id + "/messages",
                    R"({"text":")" + key + "\"}")
              : agent_call(node, agents[ai], "POST", "/api/agent/events",
                           R"({"type":"message","text":")" + key + "\"}",
                           {{"Idempotency-Key", key}});
        if (r.status == 200u || r.status == 201u) {
          std::lock_guard<std::mutex> guard{mtx};
          if (person)
            acked_replies[ai].insert(str(parse(r.body), "event_id"));
          else
            acked_events[ai].insert(key);
          break;
        }
        // A person's message has no key: an unanswered one is not
        // retried (it may or may not be in).
        if (person || clock_type::now() > give_up) {
          ++unanswered;
          break;
        }
        std::this_thread::sleep_for(100ms);
      }
    }
  };
  for (int w = 0; w < 4; ++w)
    load.threads.emplace_back(writer, w);
  std::this_thread::sleep_for(1500ms);
  auto old_leader = static_cast<size_t>(leader_);
  kill_node(old_leader);
  auto killed_at = clock_type::now();
  int next = wait_for_leader(30s, leader_);
  auto took = std::chrono::duration<double>(clock_type::now() - killed_at);
  ASSERT_GE(next, 0) << logs();
  std::printf("node %zu killed; node %d leads %.1f s later\n", old_leader + 1,
              next + 1, took.count());
  std::this_thread::sleep_for(2s);
  load.finish();
  leader_ = next;
  token = login(next);

  size_t total = expect_each_once(next, agents, acked_events);
  for (size_t ai = 0; ai < agent_count; ++ai) {
    // A person's acknowledged message is delivered or waits as pending.
    auto deliveries
      = app(next, "GET", "/api/agents/" + agents[ai].id + "/deliveries");
    ASSERT_EQ(deliveries.status, 200u) << deliveries.body;
    auto list = parse(deliveries.body);
    std::map<std::string, std::string> state;
    if (list.IsArray())
      for (auto& d : list.GetArray())
        state[str(d, "event_id")] = str(d, "state");
    for (auto& id : acked_replies[ai]) {
      ASSERT_TRUE(state.count(id)) << "no delivery of " << id;
      EXPECT_TRUE(state[id] == "delivered" || state[id] == "pending"
                  || state[id] == "queued" || state[id] == "sent")
        << id << " is " << state[id];
      ++total;
    }
  }
  std::printf("%zu acknowledged writes checked, %d unanswered\n", total,
              unanswered.load());
  EXPECT_GT(total, 100u);
}

// -- a leader cut off from NATS --------------------------------------------

class cut_off_test : public cluster_fixture {
protected:
  // The default lease, longer than the NATS elections that stopping and
  // resuming a server sets off (4-9 s): the lease moves only for the cut.
  cut_off_test() : cluster_fixture({{"NOD_CLUSTER_LEASE", "10s"}}, true) {}
};

TEST_F(cut_off_test, a_leader_cut_off_from_nats_acknowledges_nothing) {
  ASSERT_GE(leader_, 0) << logs();
  auto old_leader = static_cast<size_t>(leader_);
  auto a = create_agent(old_leader, "cut");
  // The leader's only NATS server stops answering: a partition.
  nats_[old_leader].proc->signal(SIGSTOP);
  std::atomic<bool> answered_ok{false};
  std::thread attempt{[&] {
    auto r = agent_call(old_leader, a, "POST", "/api/agent/events",
                        R"({"type":"message","text":"lost in the cut"})");
    if (r.status == 200u)
      answered_ok = true;
  }};
  // Joined on every way out (a failed ASSERT returns early).
  struct joiner {
    std::thread& t;
    ~joiner() {
      if (t.joinable())
        t.join();
    }
  } join_attempt{attempt};
  int next = wait_for_leader(30s, static_cast<int>(old_leader));
  ASSERT_GE(next, 0) << logs();
  // The others go on (with a 3 s lease, the NATS election the stopped
  // server causes may move the lease once more: the write is retried,
  // with its key, through the other nodes).
  http_reply r;
  auto until = clock_type::now() + 30s;
  do {
    r = agent_call(next, a, "POST", "/api/agent/events",
                   R"({"type":"message","text":"after the cut"})",
                   {{"Idempotency-Key", "after-the-cut"}});
    if (r.status != 200u) {
      std::this_thread::sleep_for(200ms);
      // Any node but the cut-off one.
      auto after = (static_cast<size_t>(next) + 1) % nodes;
      next
        = static_cast<int>(after == old_leader ? (after + 1) % nodes : after);
    }
  } while (r.status != 200u && clock_type::now() < until);
  EXPECT_EQ(r.status, 200u) << r.body << logs();
  // The cut-off node answers 503 with Retry-After, not 2xx.
  auto there = agent_call(old_leader, a, "POST", "/api/agent/events",
                          R"({"type":"message","text":"also lost"})");
  EXPECT_NE(there.status, 200u);
  if (there.status != 0u) {
    EXPECT_EQ(there.status, 503u) << there.body;
    EXPECT_FALSE(there.header("Retry-After").empty());
  }
  nats_[old_leader].proc->signal(SIGCONT);
  attempt.join();
  EXPECT_FALSE(answered_ok) << "a write was acknowledged without a quorum";
  // Healed: the old leader is back in the cluster with everything (with a
  // 3 s lease, a NATS election may even hand it the lease again).
  int serving = -1;
  auto deadline = clock_type::now() + 30s;
  while (clock_type::now() < deadline) {
    serving = wait_for_leader(5s);
    if (serving >= 0
        && metric(old_leader, "nod_cluster_applied_entry")
             >= metric(serving, "nod_cluster_applied_entry"))
      break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_GE(serving, 0) << logs();
  EXPECT_GE(metric(old_leader, "nod_cluster_applied_entry"),
            metric(serving, "nod_cluster_applied_entry"))
    << logs();
  token = login(serving);
  auto history
    = app(serving, "GET",
          "/api/conversations/" + conversation_of(a.id) + "/messages");
  auto texts = texts_of(parse(history.body));
  EXPECT_EQ(texts.count("after the cut"), 1u) << history.body;
  EXPECT_EQ(texts.count("lost in the cut"), 0u) << history.body;
  EXPECT_EQ(texts.count("also lost"), 0u) << history.body;
}

// -- work moves on: webhooks, tasks, sockets --------------------------------

class webhook_lease_test : public cluster_fixture {
protected:
  webhook_lease_test()
    : cluster_fixture({{"NOD_WEBHOOK_ALLOWED_HOSTS", "loopback"},
                       {"NOD_WEBHOOK_TIMEOUT", "25s"}}) {}
};

TEST_F(webhook_lease_test, a_hung_leaders_webhook_is_sent_again_by_the_next) {
  ASSERT_GE(leader_, 0) << logs();
  webhook_sink sink;
  sink.set_sequence({sink_action::hang(), sink_action::reply(200)});
  auto a = create_agent(leader_, "hooked", sink.url());
  auto sent = app(random_node(), "POST", "/api/agents/" + a.id + "/messages",
                  R"({"text":"deliver me"})");
  ASSERT_EQ(sent.status, 201u) << sent.body;
  auto first = sink.wait_for(1, 10s);
  ASSERT_TRUE(first) << logs();
  // The leader hangs too (stopped, not dead): its lease runs out.
  auto old_leader = static_cast<size_t>(leader_);
  nodes_[old_leader].proc->signal(SIGSTOP);
  int next = wait_for_leader(30s, static_cast<int>(old_leader));
  ASSERT_GE(next, 0) << logs();
  auto second = sink.wait_for(2, 15s);
  ASSERT_TRUE(second) << logs();
  EXPECT_FALSE(first->header("webhook-id").empty());
  EXPECT_EQ(second->header("webhook-id"), first->header("webhook-id"));
  EXPECT_EQ(second->body, first->body);
  nodes_[old_leader].proc->signal(SIGCONT);
  // Back, it steps down rather than deliver again.
  auto deadline = clock_type::now() + 20s;
  while (clock_type::now() < deadline
         && metric(old_leader, "nod_cluster_leading") != 0)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(metric(old_leader, "nod_cluster_leading"), 0);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(sink.count(), 2u);
}

TEST_F(cluster_test, a_due_task_fires_once_though_its_leader_dies_before) {
  ASSERT_GE(leader_, 0) << logs();
  size_t agent_node = (leader_ + 1) % nodes;
  auto a = create_agent(agent_node, "scheduled");
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  auto run_at = (now_ms + 3000 + 999) / 1000 * 1000;
  std::time_t secs = run_at / 1000;
  char iso[32];
  std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&secs));
  auto r = agent_call(agent_node, a, "POST", "/api/agent/tasks",
                      R"({"name":"once","prompt":"p","schedule":"once",)"
                      R"("run_at":")"
                        + std::string{iso} + "\"}");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto task_id = str(parse(r.body), "task_id");
  kill_node(leader_);
  int next = wait_for_leader(30s, leader_);
  ASSERT_GE(next, 0) << logs();
  leader_ = next;
  token = login(next);
  // The agent comes for it through a node that is alive.
  std::unique_ptr<ws_client> ws;
  for (size_t i = 0; i < nodes && !ws; ++i)
    if (nodes_[i].proc && metric(i, "nod_cluster_connected") == 1)
      ws = connect_agent(i, a);
  ASSERT_TRUE(ws) << logs();
  int due = 0;
  auto deadline = clock_type::now() + 10s;
  while (clock_type::now() < deadline) {
    auto frame = ws->read_text(500ms);
    if (frame && str(parse(*frame), "type") == "task_due")
      ++due;
  }
  EXPECT_EQ(due, 1);
  auto runs = app(next, "GET", "/api/tasks/" + task_id + "/runs");
  ASSERT_EQ(runs.status, 200u) << runs.body;
  auto list = parse(runs.body);
  const rapidjson::Value& items
    = list.IsObject() && list.HasMember("runs") ? list["runs"] : list;
  ASSERT_TRUE(items.IsArray()) << runs.body;
  EXPECT_EQ(items.Size(), 1u) << runs.body;
}

class one_socket_test : public cluster_fixture {
protected:
  one_socket_test() : cluster_fixture({{"NOD_MAX_SOCKETS_PER_AGENT", "1"}}) {}
};

TEST_F(one_socket_test, a_second_socket_on_another_node_closes_the_first) {
  ASSERT_GE(leader_, 0) << logs();
  auto a = create_agent(leader_, "twice");
  auto first = connect_agent((leader_ + 1) % nodes, a);
  ASSERT_TRUE(first);
  auto second = connect_agent((leader_ + 2) % nodes, a);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->read_until_close(5s), 4009);
  auto r = app(random_node(), "POST", "/api/agents/" + a.id + "/messages",
               R"({"text":"only once"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  bool arrived = false;
  auto deadline = clock_type::now() + 5s;
  while (!arrived && clock_type::now() < deadline) {
    auto frame = second->read_text(500ms);
    arrived = frame && str(parse(*frame), "type") == "user_message";
  }
  EXPECT_TRUE(arrived);
  EXPECT_TRUE(first->closed());
}

// -- a node joins from a backup ----------------------------------------------

class short_journal_test : public cluster_fixture {
protected:
  short_journal_test()
    : cluster_fixture({{"NOD_CLUSTER_JOURNAL_MAX_AGE", "3s"}}) {}
};

TEST_F(short_journal_test,
       a_node_behind_the_stream_refuses_then_joins_from_a_backup) {
  ASSERT_GE(leader_, 0) << logs();
  size_t away = (leader_ + 1) % nodes;
  nodes_[away].proc->signal(SIGTERM);
  ASSERT_EQ(nodes_[away].proc->wait(20s), 0) << nodes_[away].proc->output();
  auto a = create_agent(leader_, "while away");
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(
      agent_call(leader_, a, "POST", "/api/agent/events",
                 R"({"type":"message","text":"e)" + std::to_string(i) + "\"}")
        .status,
      200u);
  // Past the age limit, the entries it lacks are gone from the stream.
  std::this_thread::sleep_for(5s);
  start_node(away);
  auto exit = nodes_[away].proc->wait(20s);
  ASSERT_TRUE(exit) << nodes_[away].proc->output();
  EXPECT_EQ(*exit, 1);
  EXPECT_NE(nodes_[away].proc->output().find("start it on a copy of another "
                                             "node's data directory"),
            std::string::npos)
    << nodes_[away].proc->output();

  // A backup of the leader, restored in its place, follows from there.
  auto backup = app(leader_, "POST", "/api/admin/backups");
  ASSERT_EQ(backup.status, 201u) << backup.body;
  auto path = str(parse(backup.body), "path");
  auto restored = dir / "restored";
  child_process restore{
    NOD_SERVER_BINARY, {"restore", "--from", path, "--data-dir", restored}, {}};
  ASSERT_EQ(restore.wait(30s), 0) << restore.output();
  nodes_[away].data = restored;
  start_node(away);
  // Written after the backup: it must come from the stream.
  ASSERT_EQ(agent_call(leader_, a, "POST", "/api/agent/events",
                       R"({"type":"message","text":"after the backup"})")
              .status,
            200u)
    << logs();
  EXPECT_TRUE(wait_ready(away, 20s)) << logs();
  auto deadline = clock_type::now() + 20s;
  while (clock_type::now() < deadline
         && metric(away, "nod_cluster_applied_entry")
              < metric(leader_, "nod_cluster_applied_entry"))
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(metric(away, "nod_cluster_applied_entry"),
            metric(leader_, "nod_cluster_applied_entry"))
    << logs();
  EXPECT_EQ(metric(away, "nod_cluster_lag_entries"), 0);
  // And it can lead with everything: the leader goes, it takes over.
  kill_node(leader_);
  auto& other = nodes_[(leader_ + 2) % nodes];
  other.proc->signal(SIGSTOP);
  int next = wait_for_leader(30s, leader_);
  other.proc->signal(SIGCONT);
  ASSERT_EQ(next, static_cast<int>(away)) << logs();
  token = login(away);
  auto history = app(
    away, "GET", "/api/conversations/" + conversation_of(a.id) + "/messages");
  auto texts = texts_of(parse(history.body));
  EXPECT_EQ(texts.size(), 6u) << history.body;
  EXPECT_EQ(texts.count("after the backup"), 1u) << history.body;
}

// -- NATS stream leaders killed ---------------------------------------------

// The server leading the journal stream, from a NATS monitoring port.
std::string stream_leader(uint16_t monitor) {
  auto r = http_call(monitor, "GET", "/jsz?accounts=true&streams=true");
  if (r.status != 200u)
    return {};
  auto doc = parse(r.body);
  if (!doc.IsObject() || !doc.HasMember("account_details"))
    return {};
  for (auto& account : doc["account_details"].GetArray()) {
    if (!account.HasMember("stream_detail"))
      continue;
    for (auto& stream : account["stream_detail"].GetArray())
      if (str(stream, "name") == "NOD_JOURNAL" && stream.HasMember("cluster"))
        return str(stream["cluster"], "leader");
  }
  return {};
}

// 10 times: kill -9 the NATS server leading the journal stream while
// agents write, then start it again. Every acknowledged write is there
// once. About 80 s: each election stalls writes for 4-9 s.
TEST_F(cluster_test, nats_stream_leader_killed_ten_times_loses_nothing) {
  ASSERT_GE(leader_, 0) << logs();
  std::vector<agent> agents;
  for (int i = 0; i < 10; ++i)
    agents.push_back(create_agent(random_node(), "w" + std::to_string(i)));
  std::mutex mtx;
  std::map<size_t, std::set<std::string>> acked;
  load_threads load;
  std::atomic<int> gave_up{0};
  auto writer = [&](int w) {
    std::mt19937 rng{static_cast<unsigned>(w)};
    for (int n = 0; !load.stop; ++n) {
      size_t ai = rng() % agents.size();
      auto key = "w" + std::to_string(w) + "-" + std::to_string(n);
      auto until = clock_type::now() + 60s;
      for (;;) {
        auto r
          = agent_call(rng() % nodes, agents[ai], "POST", "/api/agent/events",
                       R"({"type":"message","text":")" + key + "\"}",
                       {{"Idempotency-Key", key}});
        if (r.status == 200u) {
          std::lock_guard<std::mutex> guard{mtx};
          acked[ai].insert(key);
          break;
        }
        if (clock_type::now() > until) {
          ++gave_up;
          break;
        }
        std::this_thread::sleep_for(100ms);
      }
      std::this_thread::sleep_for(20ms);
    }
  };
  for (int w = 0; w < 3; ++w)
    load.threads.emplace_back(writer, w);
  for (int cycle = 0; cycle < 10; ++cycle) {
    std::this_thread::sleep_for(1s);
    std::string name;
    for (size_t i = 0; i < nodes && name.empty(); ++i)
      name = stream_leader(nats_[i].monitor);
    ASSERT_FALSE(name.empty()) << "no stream leader, cycle " << cycle;
    size_t victim = static_cast<size_t>(std::stoi(name.substr(1))) - 1;
    auto killed_at = clock_type::now();
    nats_[victim].proc->signal(SIGKILL);
    nats_[victim].proc->wait(10s);
    // Writes resume once another server leads the stream.
    std::string next;
    while (clock_type::now() - killed_at < 30s) {
      for (size_t i = 0; i < nodes && next.empty(); ++i)
        if (i != victim)
          next = stream_leader(nats_[i].monitor);
      if (!next.empty() && next != name)
        break;
      next.clear();
      std::this_thread::sleep_for(200ms);
    }
    std::printf(
      "cycle %d: killed %s, %s leads after %.1f s\n", cycle + 1, name.c_str(),
      next.c_str(),
      std::chrono::duration<double>(clock_type::now() - killed_at).count());
    ASSERT_FALSE(next.empty()) << "no new stream leader";
    start_nats(victim);
    ASSERT_TRUE(nats_[victim].proc->wait_for_output("Server is ready", 20s));
  }
  std::this_thread::sleep_for(2s);
  load.finish();
  int serving = wait_for_leader(30s);
  ASSERT_GE(serving, 0) << logs();
  token = login(serving);
  size_t total = expect_each_once(serving, agents, acked);
  std::printf("%zu acknowledged writes checked, %d given up\n", total,
              gave_up.load());
  EXPECT_GT(total, 50u);
}

} // namespace
} // namespace nod::test
