// Delivery to agents on the deterministic scheduler: the outbox, delivery
// actors, webhook scheduler (over a scripted HTTP fake, virtual time for
// backoff) and agent sessions, with a real journal behind them.

#include "actors/agent_session.hpp"
#include "actors/error.hpp"
#include "actors/ingest.hpp"
#include "protocol/delivery.hpp"
#include "protocol/ids.hpp"
#include "storage/keys.hpp"
#include "tests/actors/delivery_fixture.hpp"
#include "tests/support/fake_socket.hpp"

#include <memory>

namespace nod {
namespace {

using namespace std::chrono_literals;
using test::fake_socket;
using test::link_to;

/// Stands in for a delivery: keeps the attempts the scheduler reports.
/// (Spawned with an argument: CAF 0.17 binds a null reference when
/// spawning a function without one.)
webhook_listener_actor::behavior_type
recording_delivery(webhook_listener_actor::pointer,
                   std::shared_ptr<std::vector<webhook_attempt>> seen) {
  return {[seen](attempt_atom, const webhook_attempt& a) {
    seen->push_back(a);
  }};
}

class delivery_test : public test::delivery_fixture {
protected:
  delivery_test() {
    ing = sys.spawn(ingest, journal, directory_,
                    ingest_options{"http://x", nullptr, {}, {}});
    owner = add_user("owner");
    created = add_agent(owner.id, "worker");
    agent = created.agent.id;
    run();
  }

  ~delivery_test() override {
    for (auto& s : sessions)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(ing, caf::exit_reason::user_shutdown);
    run();
  }

  void set_webhook(const std::string& url) {
    agent_input in;
    in.webhook_url = url;
    auto r
      = call<agent_record>(acc, agent_set_atom::value, owner.id, agent, in);
    ASSERT_TRUE(r) << caf::to_string(r.error());
  }

  /// Sends a person's chat message to the agent; returns the event id.
  std::string say(const std::string& text) {
    user_message_input in;
    in.text = text;
    auto r = call<std::string>(act, user_message_atom::value, owner, agent, in);
    EXPECT_TRUE(r) << caf::to_string(r.error());
    if (!r)
      return {};
    auto at = r->find("\"event_id\":\"");
    return r->substr(at + 12, 20);
  }

  /// An authenticated agent socket.
  agent_session_actor connect(std::shared_ptr<fake_socket> sock,
                              const std::string& extra = {}) {
    auto s = sys.spawn(agent_session, link_to(sock), agent_id_text(agent), acc,
                       directory_, ing, box, agent_session_options{});
    sessions.push_back(s);
    run();
    self->send(s, frame_atom::value,
               R"({"type":"auth","secret":")" + created.secret + "\"" + extra
                 + "}");
    run();
    return s;
  }

  std::vector<delivery_record> deliveries() {
    scan_request req;
    req.begin = storage::id_key(storage::table::deliveries, agent);
    req.end = storage::prefix_end(req.begin);
    req.limit = 1000;
    auto r = call<std::vector<kv_entry>>(journal, scan_atom::value, req);
    std::vector<delivery_record> out;
    if (r)
      for (auto& e : *r) {
        delivery_record d;
        EXPECT_TRUE(from_json(e.value, d)) << e.value;
        out.push_back(d);
      }
    return out;
  }

  /// The agent acknowledges everything up to `seq` on socket `s`.
  void ack(const agent_session_actor& s, uint64_t seq) {
    self->send(s, frame_atom::value,
               R"({"type":"ack","seq":)" + std::to_string(seq) + "}");
    run();
  }

  std::vector<stream_event> inbox() {
    auto r = call<std::vector<stream_event>>(journal, inbox_atom::value, agent,
                                             uint64_t{0}, uint32_t{100});
    EXPECT_TRUE(r);
    return r ? *r : std::vector<stream_event>{};
  }

  ingest_actor ing;
  user_record owner;
  agent_created created;
  uint64_t agent = 0;
  std::vector<agent_session_actor> sessions;
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(delivery_test, online_agent_gets_the_event_on_its_socket) {
  auto sock = std::make_shared<fake_socket>();
  connect(sock);
  auto event_id = say("hello");
  ASSERT_EQ(sock->frames.size(), 2u); // auth_ok, then the event
  EXPECT_TRUE(has(sock->frames[0], R"("pending":0)"));
  EXPECT_TRUE(has(sock->last(), R"("type":"user_message")"));
  EXPECT_TRUE(has(sock->last(), R"("seq":1)"));
  EXPECT_TRUE(has(sock->last(), event_id));
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "delivered");
  EXPECT_EQ(d[0].channel, std::optional<std::string>{"websocket"});
  EXPECT_TRUE(http->calls.empty());
  EXPECT_TRUE(inbox().empty());
}

TEST_F(delivery_test, newest_socket_gets_the_event_and_only_it) {
  auto older = std::make_shared<fake_socket>();
  auto newer = std::make_shared<fake_socket>();
  connect(older);
  connect(newer);
  say("one copy");
  EXPECT_FALSE(older->contains("user_message"));
  EXPECT_TRUE(newer->contains("user_message"));
}

TEST_F(delivery_test, offline_agent_without_webhook_keeps_it_pending) {
  auto event_id = say("are you there?");
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "pending");
  auto pending = inbox();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].seq, 1u);
  EXPECT_TRUE(has(pending[0].payload, event_id));
}

// The lane and actions keep the agent between events; a change to it must
// reach both at once.
TEST_F(delivery_test, a_changed_webhook_url_is_used_from_the_next_event) {
  set_webhook("http://hooks.example/first");
  say("one");
  ASSERT_EQ(http->calls.size(), 1u);
  EXPECT_EQ(http->calls[0].req.url, "http://hooks.example/first");
  // Changed while the lane is busy with "one": "two" waits in it.
  set_webhook("http://hooks.example/second");
  say("two");
  http->answer_all(200);
  run();
  ASSERT_EQ(http->calls.size(), 2u);
  EXPECT_EQ(http->calls[1].req.url, "http://hooks.example/second");
  http->answer_all(200);
  run();
  auto deleted = call<bool>(acc, agent_del_atom::value, owner.id, agent);
  ASSERT_TRUE(deleted && *deleted);
  user_message_input in;
  in.text = "to nobody";
  auto r = call<std::string>(act, user_message_atom::value, owner, agent, in);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::not_found);
  EXPECT_EQ(http->calls.size(), 2u);
}

TEST_F(delivery_test, webhook_retries_with_growing_backoff_then_parks) {
  set_webhook("http://hooks.example/agent");
  say("to the webhook");
  ASSERT_EQ(http->calls.size(), 1u);
  EXPECT_EQ(http->header(0, "X-Nod-Retry-Num"), "0");
  EXPECT_EQ(http->header(0, "X-Nod-Retry-Reason"), "first_attempt");
  http->answer_all(500);
  run();
  // Jitter is fixed at its middle: the delays are exactly 1 s, then 5 s.
  EXPECT_EQ(deliveries().at(0).state, "retrying");
  advance_time(999ms);
  EXPECT_EQ(http->calls.size(), 1u);
  advance_time(1ms);
  ASSERT_EQ(http->calls.size(), 2u);
  EXPECT_EQ(http->header(1, "X-Nod-Retry-Reason"), "http_500");
  http->answer_all(0, post_failure::timeout);
  run();
  advance_time(4999ms);
  EXPECT_EQ(http->calls.size(), 2u);
  advance_time(1ms);
  ASSERT_EQ(http->calls.size(), 3u);
  EXPECT_EQ(http->header(2, "X-Nod-Retry-Num"), "2");
  EXPECT_EQ(http->header(2, "X-Nod-Retry-Reason"), "timeout");
  EXPECT_EQ(http->header(0, "X-Nod-Event-Id"),
            http->header(2, "X-Nod-Event-Id"));
  EXPECT_NE(http->header(0, "X-Nod-Delivery-Id"),
            http->header(2, "X-Nod-Delivery-Id"));
  http->answer_all(0, post_failure::connection_error);
  run();
  // Three attempts in all, then pending for polling.
  advance_time(1h);
  EXPECT_EQ(http->calls.size(), 3u);
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "pending");
  ASSERT_EQ(d[0].attempts.size(), 3u);
  EXPECT_EQ(d[0].attempts[0].status_code, std::optional<int64_t>{500});
  EXPECT_FALSE(d[0].attempts[2].ok);
  EXPECT_EQ(inbox().size(), 1u);
}

TEST_F(delivery_test, webhook_success_on_a_retry_delivers) {
  set_webhook("http://hooks.example/agent");
  say("second time lucky");
  http->answer_all(503);
  run();
  advance_time(1s);
  http->answer_all(204);
  run();
  auto d = deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "delivered");
  EXPECT_EQ(d[0].channel, std::optional<std::string>{"webhook"});
  EXPECT_EQ(d[0].attempts.size(), 2u);
  EXPECT_TRUE(inbox().empty());
}

TEST_F(delivery_test, retry_after_is_honoured) {
  set_webhook("http://hooks.example/agent");
  say("slow down");
  http->answer_all(429, post_failure::none, "7");
  run();
  advance_time(6s);
  EXPECT_EQ(http->calls.size(), 1u);
  advance_time(1s);
  EXPECT_EQ(http->calls.size(), 2u);
}

TEST_F(delivery_test, gone_stops_at_once) {
  set_webhook("http://hooks.example/agent");
  say("anyone?");
  http->answer_all(410);
  run();
  advance_time(1h);
  EXPECT_EQ(http->calls.size(), 1u);
  EXPECT_EQ(deliveries().at(0).state, "pending");
}

TEST_F(delivery_test, events_of_one_agent_go_out_in_seq_order) {
  set_webhook("http://hooks.example/agent");
  say("first");
  say("second");
  // The second waits for the first to finish.
  ASSERT_EQ(http->calls.size(), 1u);
  EXPECT_TRUE(has(http->calls[0].req.body, R"("seq":1)"));
  http->answer_all(200);
  run();
  ASSERT_EQ(http->calls.size(), 2u);
  EXPECT_TRUE(has(http->calls[1].req.body, R"("seq":2)"));
}

TEST_F(delivery_test, a_push_that_fails_midway_falls_back_to_the_webhook) {
  set_webhook("http://hooks.example/agent");
  auto sock = std::make_shared<fake_socket>();
  sock->hold_writes = true;
  connect(sock);
  say("lost on the wire");
  EXPECT_TRUE(sock->contains("user_message"));
  EXPECT_TRUE(http->calls.empty());
  sock->finish_writes(false); // the socket dropped the frame
  run();
  ASSERT_EQ(http->calls.size(), 1u);
  http->answer_all(200);
  run();
  auto d = deliveries().at(0);
  EXPECT_EQ(d.state, "delivered");
  ASSERT_EQ(d.attempts.size(), 2u);
  EXPECT_EQ(d.attempts[0].channel, "websocket");
  EXPECT_FALSE(d.attempts[0].ok);
  EXPECT_EQ(d.attempts[1].channel, "webhook");
}

TEST_F(delivery_test, a_socket_that_closes_midway_leaves_the_event_pending) {
  auto sock = std::make_shared<fake_socket>();
  sock->hold_writes = true;
  auto s = connect(sock);
  say("never written");
  self->send(s, closed_atom::value);
  run();

  EXPECT_EQ(deliveries().at(0).state, "pending");
  EXPECT_EQ(inbox().size(), 1u);
}

TEST_F(delivery_test, pending_events_replay_on_auth_in_seq_order) {
  auto first = say("one");
  auto second = say("two");
  auto sock = std::make_shared<fake_socket>();
  connect(sock);
  ASSERT_EQ(sock->frames.size(), 3u);
  EXPECT_TRUE(has(sock->frames[0], R"("type":"auth_ok")"));
  EXPECT_TRUE(has(sock->frames[0], R"("pending":2)"));
  EXPECT_TRUE(has(sock->frames[1], first));
  EXPECT_TRUE(has(sock->frames[2], second));
  EXPECT_TRUE(inbox().empty());
  for (auto& d : deliveries())
    EXPECT_EQ(d.state, "delivered");
}

TEST_F(delivery_test, resume_from_skips_what_the_agent_has) {
  say("one");
  say("two");
  say("three");
  auto sock = std::make_shared<fake_socket>();
  connect(sock, R"(,"resume_from":2)");
  EXPECT_TRUE(has(sock->frames.at(0), R"("pending":1)"));
  ASSERT_EQ(sock->frames.size(), 2u);
  EXPECT_TRUE(has(sock->frames[1], R"("seq":3)"));
  auto d = deliveries();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].channel, std::optional<std::string>{"resume"});
}

TEST_F(delivery_test, with_acks_an_unacked_event_comes_back_after_reconnect) {
  auto sock = std::make_shared<fake_socket>();
  auto s = connect(sock, R"(,"acks":true)");
  auto event_id = say("ack me");
  EXPECT_TRUE(sock->contains(event_id));
  // Written, but not acknowledged: sent, and since when.
  EXPECT_EQ(deliveries().at(0).state, "sent");
  EXPECT_TRUE(deliveries().at(0).sent_ms);
  self->send(s, closed_atom::value);
  run();
  EXPECT_EQ(deliveries().at(0).state, "pending");
  auto again = std::make_shared<fake_socket>();
  auto s2 = connect(again, R"(,"acks":true)");
  EXPECT_TRUE(has(again->frames.at(0), R"("pending":1)"));
  EXPECT_TRUE(again->contains(event_id));
  self->send(s2, frame_atom::value, std::string{R"({"type":"ack","seq":1})"});
  run();
  EXPECT_EQ(deliveries().at(0).state, "delivered");
  EXPECT_TRUE(inbox().empty());
}

/// The seqs of the events a socket received, in order.
std::vector<uint64_t> seqs_of(const fake_socket& sock) {
  std::vector<uint64_t> out;
  for (auto& f : sock.frames) {
    if (!has(f, R"("event_id")"))
      continue;
    auto at = f.find(R"("seq":)");
    out.push_back(std::stoull(f.substr(at + 6)));
  }
  return out;
}

using seqs = std::vector<uint64_t>;

TEST_F(delivery_test, with_acks_events_are_pushed_without_waiting_for_acks) {
  auto sock = std::make_shared<fake_socket>();
  auto s = connect(sock, R"(,"acks":true)");
  say("one");
  say("two");
  say("three");
  EXPECT_EQ(seqs_of(*sock), (seqs{1, 2, 3}));
  for (auto& d : deliveries())
    EXPECT_EQ(d.state, "sent");
  // Acks are cumulative.
  ack(s, 2);
  auto d = deliveries();
  EXPECT_EQ(d.at(0).state, "delivered");
  EXPECT_EQ(d.at(1).state, "delivered");
  EXPECT_EQ(d.at(2).state, "sent");
  EXPECT_EQ(d.at(1).channel, std::optional<std::string>{"websocket"});
  ack(s, 3);
  EXPECT_EQ(deliveries().at(2).state, "delivered");
  EXPECT_EQ(seqs_of(*sock), (seqs{1, 2, 3}));
}

TEST_F(delivery_test, with_acks_every_pending_event_is_replayed_at_once) {
  say("one");
  say("two");
  say("three");
  auto sock = std::make_shared<fake_socket>();
  auto s = connect(sock, R"(,"acks":true)");
  EXPECT_TRUE(has(sock->frames.at(0), R"("pending":3)"));
  EXPECT_EQ(seqs_of(*sock), (seqs{1, 2, 3}));
  // Live events follow while the replayed ones are unacked.
  say("four");
  EXPECT_EQ(seqs_of(*sock), (seqs{1, 2, 3, 4}));
  ack(s, 4);
  for (auto& d : deliveries())
    EXPECT_EQ(d.state, "delivered");
  EXPECT_TRUE(inbox().empty());
}

TEST_F(delivery_test, a_full_window_waits_for_acks) {
  stop_delivery();
  box_options.lane.ack_window = 2;
  start_delivery();
  auto sock = std::make_shared<fake_socket>();
  auto s = connect(sock, R"(,"acks":true)");
  for (auto text : {"1", "2", "3", "4", "5"})
    say(text);
  EXPECT_EQ(seqs_of(*sock), (seqs{1, 2}));
  auto d = deliveries();
  EXPECT_EQ(d.at(1).state, "sent");
  EXPECT_EQ(d.at(2).state, "queued");
  EXPECT_EQ(d.at(4).state, "queued");
  ack(s, 1);
  EXPECT_EQ(seqs_of(*sock), (seqs{1, 2, 3}));
  ack(s, 3);
  EXPECT_EQ(seqs_of(*sock), (seqs{1, 2, 3, 4, 5}));
  ack(s, 5);
  for (auto& r : deliveries())
    EXPECT_EQ(r.state, "delivered");
}

TEST_F(delivery_test, without_acks_pushes_do_not_wait_for_their_writes) {
  auto sock = std::make_shared<fake_socket>();
  sock->hold_writes = true;
  connect(sock);
  say("one");
  say("two");
  say("three");
  EXPECT_EQ(seqs_of(*sock), (seqs{1, 2, 3}));
  EXPECT_EQ(deliveries().at(0).state, "queued");
  // A completed write counts (A6).
  sock->finish_writes(true);
  run();
  for (auto& d : deliveries()) {
    EXPECT_EQ(d.state, "delivered");
    EXPECT_EQ(d.channel, std::optional<std::string>{"websocket"});
  }
}

TEST_F(delivery_test, unacked_events_move_to_the_next_socket_in_order) {
  auto first = std::make_shared<fake_socket>();
  auto s1 = connect(first, R"(,"acks":true)");
  say("one");
  say("two");
  say("three");
  ack(s1, 1);
  auto second = std::make_shared<fake_socket>();
  connect(second, R"(,"acks":true)");
  // 2 and 3 are still the first socket's: nothing goes to the second
  // (never one event on two sockets), and nothing newer overtakes them.
  EXPECT_TRUE(has(second->frames.at(0), R"("pending":0)"));
  say("four");
  EXPECT_EQ(seqs_of(*second), seqs{});
  EXPECT_EQ(seqs_of(*first), (seqs{1, 2, 3}));
  EXPECT_EQ(deliveries().at(3).state, "queued");
  self->send(s1, closed_atom::value);
  run();
  EXPECT_EQ(seqs_of(*second), (seqs{2, 3, 4}));
  auto d = deliveries().at(1);
  EXPECT_EQ(d.state, "sent");
  ASSERT_EQ(d.attempts.size(), 1u);
  EXPECT_EQ(d.attempts[0].channel, "websocket");
  EXPECT_FALSE(d.attempts[0].ok);
}

TEST_F(delivery_test, acks_on_an_older_socket_let_the_newest_take_over) {
  auto first = std::make_shared<fake_socket>();
  auto s1 = connect(first, R"(,"acks":true)");
  say("one");
  auto second = std::make_shared<fake_socket>();
  connect(second, R"(,"acks":true)");
  say("two");
  EXPECT_EQ(seqs_of(*second), seqs{});
  ack(s1, 1);
  EXPECT_EQ(seqs_of(*first), (seqs{1}));
  EXPECT_EQ(seqs_of(*second), (seqs{2}));
}

TEST_F(delivery_test, unacked_events_go_to_the_webhook_in_order) {
  set_webhook("http://hooks.example/agent");
  auto sock = std::make_shared<fake_socket>();
  auto s = connect(sock, R"(,"acks":true)");
  say("one");
  say("two");
  EXPECT_TRUE(http->calls.empty());
  self->send(s, closed_atom::value);
  run();
  ASSERT_EQ(http->calls.size(), 1u);
  EXPECT_TRUE(has(http->calls[0].req.body, R"("seq":1)"));
  http->answer_all(200);
  run();
  ASSERT_EQ(http->calls.size(), 2u);
  EXPECT_TRUE(has(http->calls[1].req.body, R"("seq":2)"));
  http->answer_all(200);
  run();
  for (auto& d : deliveries()) {
    EXPECT_EQ(d.state, "delivered");
    EXPECT_EQ(d.channel, std::optional<std::string>{"webhook"});
    ASSERT_EQ(d.attempts.size(), 2u);
    EXPECT_EQ(d.attempts[0].channel, "websocket");
    EXPECT_FALSE(d.attempts[0].ok);
  }
}

TEST_F(delivery_test, only_unacked_events_come_back_after_a_reconnect) {
  auto sock = std::make_shared<fake_socket>();
  auto s = connect(sock, R"(,"acks":true)");
  say("one");
  say("two");
  say("three");
  ack(s, 2);
  self->send(s, closed_atom::value);
  run();
  EXPECT_EQ(inbox().size(), 1u);
  auto again = std::make_shared<fake_socket>();
  connect(again, R"(,"acks":true)");
  EXPECT_TRUE(has(again->frames.at(0), R"("pending":1)"));
  EXPECT_EQ(seqs_of(*again), (seqs{3}));
}

TEST_F(delivery_test, resume_from_covers_events_still_unacked_on_a_socket) {
  auto sock = std::make_shared<fake_socket>();
  auto old = connect(sock, R"(,"acks":true)");
  say("one");
  say("two");
  // The agent restarted; its old socket is not yet known to be dead.
  auto again = std::make_shared<fake_socket>();
  connect(again, R"(,"acks":true,"resume_from":1)");
  auto d = deliveries();
  EXPECT_EQ(d.at(0).state, "delivered");
  EXPECT_EQ(d.at(0).channel, std::optional<std::string>{"resume"});
  // 2 is still the old socket's until that one ends.
  EXPECT_EQ(d.at(1).state, "sent");
  EXPECT_EQ(seqs_of(*again), seqs{});
  self->send(old, closed_atom::value);
  run();
  EXPECT_EQ(seqs_of(*again), (seqs{2}));
}

// The agent restarts: its old socket ends while the new one authenticates
// with `resume_from`. Events the old socket held go back to the lane and
// park while the new socket's auth is under way; those the agent has are
// delivered (resume), the others reach the new socket, none stays pending.
TEST_F(delivery_test, a_socket_closing_during_a_resume_leaves_nothing_pending) {
  for (uint64_t resume_from : {uint64_t{0}, uint64_t{2}, uint64_t{3}}) {
    SCOPED_TRACE(resume_from);
    created = add_agent(owner.id, "worker " + std::to_string(resume_from));
    agent = created.agent.id;
    run();
    auto sock = std::make_shared<fake_socket>();
    auto old = connect(sock, R"(,"acks":true)");
    say("one");
    say("two");
    say("three");
    ASSERT_EQ(seqs_of(*sock), (seqs{1, 2, 3}));
    auto fresh = std::make_shared<fake_socket>();
    auto s = sys.spawn(agent_session, link_to(fresh), agent_id_text(agent), acc,
                       directory_, ing, box, agent_session_options{});
    sessions.push_back(s);
    run();
    // Both at once: the old socket's end and the new socket's auth.
    self->send(old, closed_atom::value);
    self->send(s, frame_atom::value,
               R"({"type":"auth","secret":")" + created.secret
                 + R"(","acks":true,"resume_from":)"
                 + std::to_string(resume_from) + "}");
    run();
    seqs expected;
    for (uint64_t q = resume_from + 1; q <= 3; ++q)
      expected.push_back(q);
    EXPECT_EQ(seqs_of(*fresh), expected);
    ack(s, 3);
    EXPECT_EQ(inbox().size(), 0u);
    for (auto& d : deliveries())
      EXPECT_EQ(d.state, "delivered") << d.seq;
  }
}

TEST_F(delivery_test, poll_ack_marks_pending_events_delivered) {
  say("one");
  say("two");
  say("three");
  auto n = call<uint64_t>(box, ack_atom::value, agent, owner.id, uint64_t{2});
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  auto pending = inbox();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].seq, 3u);
  auto d = deliveries();
  EXPECT_EQ(d[0].channel, std::optional<std::string>{"poll"});
  // Past the end of the stream is refused.
  EXPECT_FALSE(
    call<uint64_t>(box, ack_atom::value, agent, owner.id, uint64_t{99}));
}

TEST_F(delivery_test, undelivered_events_are_counted_per_agent) {
  auto undelivered = [&] {
    auto r = call<std::vector<uint64_t>>(box, undelivered_atom::value,
                                         std::vector<uint64_t>{agent, 999});
    EXPECT_TRUE(r);
    return r ? r->at(0) : UINT64_MAX;
  };
  EXPECT_EQ(undelivered(), 0u);
  say("one");
  say("two");
  say("three");
  EXPECT_EQ(undelivered(), 3u);
  ASSERT_TRUE(
    call<uint64_t>(box, ack_atom::value, agent, owner.id, uint64_t{1}));
  EXPECT_EQ(undelivered(), 2u);
  // Counted again from the store after a restart.
  restart_all();
  ASSERT_TRUE(call<uint64_t>(box, recover_atom::value));
  EXPECT_EQ(undelivered(), 2u);
  auto sock = std::make_shared<fake_socket>();
  connect(sock);
  EXPECT_EQ(undelivered(), 0u);
}

TEST_F(delivery_test, unfinished_deliveries_resume_after_a_restart) {
  set_webhook("http://hooks.example/agent");
  auto event_id = say("survive this");
  ASSERT_EQ(http->calls.size(), 1u);
  // The server stops before the webhook answers.
  restart_all();
  auto n = call<uint64_t>(box, recover_atom::value);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  ASSERT_EQ(http->unanswered(), 2u);
  EXPECT_EQ(http->header(1, "X-Nod-Event-Id"), event_id);
  http->answer_all(200);
  run();
  EXPECT_EQ(deliveries().at(0).state, "delivered");
  // Nothing is left to resume.
  restart_all();
  n = call<uint64_t>(box, recover_atom::value);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
}

TEST_F(delivery_test, first_resolution_wins) {
  auto created_reply = call<std::string>(
    ing, ingest_atom::value, created.agent,
    std::string{R"({"type":"decision","kind":"approval","title":"Ship?"})"},
    std::string{});
  ASSERT_TRUE(created_reply);
  auto at = created_reply->find("dec_");
  auto id = *parse_id64("dec_", created_reply->substr(at, 20));
  resolution yes{"approved", std::string{"go"}, std::nullopt, std::nullopt};
  resolution no{"rejected", std::nullopt, std::nullopt, std::nullopt};
  // Two clicks in the same instant: both read "pending", one write wins.
  auto h1
    = self->request(act, caf::infinite, resolve_atom::value, owner, id, yes);
  auto h2
    = self->request(act, caf::infinite, resolve_atom::value, owner, id, no);
  run();
  int ok = 0;
  int conflicts = 0;
  auto count = [&](auto& h) {
    h.receive(
      [&](std::string&) {
        ++ok;
      },
      [&](caf::error& err) {
        conflicts += code_of(err) == ec::conflict ? 1 : 0;
      });
  };
  count(h1);
  count(h2);
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(conflicts, 1);
  EXPECT_EQ(deliveries().size(), 1u);
  // The wrong status for the kind is refused.
  resolution respond{"responded", std::string{"x"}, std::nullopt, std::nullopt};
  auto bad = call<std::string>(act, resolve_atom::value, owner, id, respond);
  ASSERT_FALSE(bad);
}

TEST_F(delivery_test, another_users_decision_is_not_found) {
  auto reply = call<std::string>(
    ing, ingest_atom::value, created.agent,
    std::string{R"({"type":"decision","kind":"approval","title":"Ship?"})"},
    std::string{});
  ASSERT_TRUE(reply);
  auto id = *parse_id64("dec_", reply->substr(reply->find("dec_"), 20));
  auto mallory = add_user("mallory");
  resolution yes{"approved", std::nullopt, std::nullopt, std::nullopt};
  auto r = call<std::string>(act, resolve_atom::value, mallory, id, yes);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::not_found);
}

TEST_F(delivery_test, one_slow_host_does_not_block_another) {
  // Scheduler alone, one request per host at a time.
  webhook_options wh;
  wh.max_per_host = 1;
  wh.unit_random = [] {
    return 0.5;
  };
  auto fake = std::make_shared<test::fake_http>();
  auto sched_actor = sys.spawn(
    webhook_scheduler,
    [fake](http_post req, std::function<void(http_post_result)> done) {
      fake->calls.push_back({std::move(req), std::move(done), false});
    },
    wh);
  auto seen = std::make_shared<std::vector<webhook_attempt>>();
  auto sink = sys.spawn(recording_delivery, seen);
  auto job = [](std::string url) {
    webhook_job j;
    j.url = std::move(url);
    j.key = "k";
    j.event_id = "evt_1";
    j.body = "{}";
    return j;
  };
  self->send(sched_actor, webhook_atom::value, job("http://slow.example/a"),
             sink);
  self->send(sched_actor, webhook_atom::value, job("http://slow.example/b"),
             sink);
  self->send(sched_actor, webhook_atom::value, job("http://fast.example/c"),
             sink);
  run();
  ASSERT_EQ(fake->calls.size(), 2u);
  EXPECT_EQ(fake->calls[0].req.url, "http://slow.example/a");
  EXPECT_EQ(fake->calls[1].req.url, "http://fast.example/c");
  fake->calls[0].answered = true;
  fake->calls[0].done(http_post_result{post_failure::none, 200, {}, {}, 0, {}});
  run();
  ASSERT_EQ(fake->calls.size(), 3u);
  EXPECT_EQ(fake->calls[2].req.url, "http://slow.example/b");
  fake->answer_all(200);
  run();
  // Each job reported one final, successful attempt.
  ASSERT_EQ(seen->size(), 3u);
  for (auto& at : *seen)
    EXPECT_TRUE(at.final && is_success(at.result));
  caf::anon_send_exit(sched_actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(delivery_test, jitter_stays_within_twenty_percent) {
  for (double unit : {0.0, 0.999999}) {
    webhook_options wh;
    wh.unit_random = [unit] {
      return unit;
    };
    auto fake = std::make_shared<test::fake_http>();
    auto s = sys.spawn(
      webhook_scheduler,
      [fake](http_post req, std::function<void(http_post_result)> done) {
        fake->calls.push_back({std::move(req), std::move(done), false});
      },
      wh);
    auto seen = std::make_shared<std::vector<webhook_attempt>>();
    auto sink = sys.spawn(recording_delivery, seen);
    webhook_job j;
    j.url = "http://h.example/";
    j.event_id = "evt_1";
    j.body = "{}";
    self->send(s, webhook_atom::value, j, sink);
    run();
    fake->answer_all(500);
    run();
    // 1 s with jitter: between 0.8 s and 1.2 s.
    advance_time(unit == 0.0 ? 799ms : 1199ms);
    EXPECT_EQ(fake->calls.size(), 1u) << unit;
    advance_time(1ms);
    EXPECT_EQ(fake->calls.size(), 2u) << unit;
    fake->answer_all(200);
    run();
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    run();
  }
}

} // namespace
} // namespace nod
