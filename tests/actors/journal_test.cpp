#include "actors/error.hpp"
#include "actors/journal.hpp"
#include "metrics/metrics.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/temp_dir.hpp"

#include <caf/all.hpp>

namespace nod {
namespace {

journal_write append_to(uint64_t agent, std::string payload) {
  journal_write w;
  w.appends.push_back({agent, std::move(payload), {}});
  return w;
}

class journal_test : public test::actor_fixture {
protected:
  journal_test() {
    open();
  }

  ~journal_test() override {
    stop();
  }

  void open(size_t max_batch = 4096, journal_options opts = {}) {
    std::string error;
    auto db = storage::store::open(dir.path(), {}, error);
    ASSERT_TRUE(db) << error;
    store = std::move(db);
    opts.max_batch = max_batch;
    opts.metrics = &reg;
    j = spawn_journal(sys, store, opts, false);
    run();
  }

  /// Lets the journal handle the one message at the head of its mailbox.
  void run_one_message() {
    ASSERT_TRUE(sched.try_run_once());
  }

  // Orderly stop, as the server does at SIGTERM; the store closes with
  // the actor's state.
  void stop() {
    if (!j)
      return;
    caf::anon_send_exit(j, caf::exit_reason::user_shutdown);
    j = nullptr;
    run();
    store = nullptr;
  }

  void reopen(size_t max_batch = 4096, journal_options opts = {}) {
    stop();
    open(max_batch, std::move(opts));
  }

  /// Receives each client's reply to its one append: the seqs it got, in
  /// client order (an error fails the test).
  std::vector<uint64_t>
  seqs_of(const std::vector<caf::scoped_actor*>& clients) {
    std::vector<uint64_t> seqs;
    for (auto* client : clients)
      (*client)->receive(
        [&](journal_written& r) {
          seqs.push_back(r.seqs.at(0));
        },
        [&](caf::error& err) {
          ADD_FAILURE() << caf::to_string(err);
        });
    return seqs;
  }

  journal_stats stats() {
    auto s = call<journal_stats>(j, stats_atom::value);
    EXPECT_TRUE(s);
    return s ? *s : journal_stats{};
  }

  std::vector<stream_event> read(uint64_t agent, uint64_t after = 0,
                                 uint32_t limit = 1000) {
    auto events = call<std::vector<stream_event>>(j, read_atom::value, agent,
                                                  after, limit);
    EXPECT_TRUE(events) << caf::to_string(events.error());
    return events ? *events : std::vector<stream_event>{};
  }

  test::temp_dir dir;
  metrics::registry reg;
  std::shared_ptr<storage::store> store;
  journal_actor j;
};

TEST_F(journal_test, seqs_start_at_one_and_increase_per_agent) {
  for (uint64_t expected = 1; expected <= 3; ++expected) {
    auto r = call<journal_written>(j, append_atom::value, append_to(7, "x"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->seqs, std::vector<uint64_t>{expected});
  }
  auto other = call<journal_written>(j, append_atom::value, append_to(8, "y"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->seqs, std::vector<uint64_t>{1});
}

TEST_F(journal_test, appends_waiting_in_the_mailbox_share_one_batch) {
  // Three requests queue up before the journal runs; they must be written
  // with one durable write and each get its own seq.
  caf::scoped_actor a{sys, true};
  caf::scoped_actor b{sys, true};
  caf::scoped_actor c{sys, true};
  for (auto* client : {&a, &b, &c})
    (*client)->send(j, append_atom::value, append_to(1, "p"));
  run();
  EXPECT_EQ(seqs_of({&a, &b, &c}), (std::vector<uint64_t>{1, 2, 3}));
  auto s = stats();
  EXPECT_EQ(s.batches, 1u);
  EXPECT_EQ(s.writes, 3u);
  EXPECT_EQ(s.max_batch, 3u);
  EXPECT_NE(reg.render().find("nod_journal_batch_writes_count 1"),
            std::string::npos);
}

TEST_F(journal_test, a_full_batch_is_written_without_waiting) {
  reopen(2);
  caf::scoped_actor client{sys, true};
  for (int i = 0; i < 5; ++i)
    client->send(j, append_atom::value, append_to(1, "p"));
  run();
  for (int i = 0; i < 5; ++i)
    client->receive([](journal_written&) {},
                    [](caf::error& err) {
                      ADD_FAILURE() << caf::to_string(err);
                    });
  auto s = stats();
  EXPECT_EQ(s.writes, 5u);
  EXPECT_EQ(s.batches, 3u); // 2 + 2 + 1
  EXPECT_EQ(s.max_batch, 2u);
}

TEST_F(journal_test, appends_arriving_after_the_flush_go_in_the_next_batch) {
  caf::scoped_actor first{sys, true};
  first->send(j, append_atom::value, append_to(1, "a"));
  run_one_message(); // "a" is staged, its flush queued
  // These queue behind the flush, as appends arriving while the journal
  // is in a write do: the write does not wait for them.
  caf::scoped_actor second{sys, true};
  caf::scoped_actor third{sys, true};
  second->send(j, append_atom::value, append_to(1, "b"));
  third->send(j, append_atom::value, append_to(1, "c"));
  run_one_message(); // the flush: "a" is written alone
  EXPECT_FALSE(first->mailbox().empty());
  EXPECT_TRUE(second->mailbox().empty());
  EXPECT_TRUE(third->mailbox().empty());
  run();
  EXPECT_EQ(seqs_of({&first, &second, &third}),
            (std::vector<uint64_t>{1, 2, 3}));
  auto s = stats();
  EXPECT_EQ(s.batches, 2u); // "a", then "b" and "c" together
  EXPECT_EQ(s.max_batch, 2u);
  EXPECT_EQ(read(1).size(), 3u);
}

TEST_F(journal_test, a_failed_write_fails_its_batch_and_leaves_no_gap) {
  ASSERT_TRUE(call<journal_written>(j, append_atom::value, append_to(4, "a")));
  caf::scoped_actor second{sys, true};
  caf::scoped_actor third{sys, true};
  second->send(j, append_atom::value, append_to(4, "b"));
  third->send(j, append_atom::value, append_to(4, "c"));
  ASSERT_TRUE(store->close().ok()); // the batch's write fails
  run();
  for (auto* client : {&second, &third})
    (*client)->receive(
      [](journal_written&) {
        ADD_FAILURE() << "a write that failed was acknowledged";
      },
      [](caf::error& err) {
        EXPECT_EQ(code_of(err), ec::storage_error);
      });
  reopen();
  EXPECT_EQ(read(4).size(), 1u);
  auto next = call<journal_written>(j, append_atom::value, append_to(4, "d"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seqs, std::vector<uint64_t>{2});
}

TEST_F(journal_test, batches_close_at_the_byte_bound) {
  journal_options opts;
  opts.max_batch_bytes = 300;
  reopen(4096, opts);
  caf::scoped_actor client{sys, true};
  for (int i = 0; i < 3; ++i)
    client->send(j, append_atom::value, append_to(1, std::string(200, 'x')));
  run();
  for (int i = 0; i < 3; ++i)
    client->receive([](journal_written&) {},
                    [](caf::error& err) {
                      ADD_FAILURE() << caf::to_string(err);
                    });
  // Each 200-byte event fills a batch past 300 bytes with its keys: three
  // batches, where without the bound the three share one.
  EXPECT_EQ(stats().batches, 3u);
  EXPECT_EQ(read(1).size(), 3u);
}

TEST_F(journal_test, a_batch_goes_through_the_write_hook_which_may_refuse_it) {
  // Cluster mode's hook: it sees every batch and writes it itself; a
  // refusal fails the writes of the batch and leaves the store alone.
  auto seen = std::make_shared<std::vector<size_t>>();
  auto refuse = std::make_shared<bool>(false);
  journal_options opts;
  opts.write = [this, seen, refuse](storage::write_batch& batch,
                                    bool sync) -> std::optional<std::string> {
    seen->push_back(batch.size());
    if (*refuse)
      return std::string{"not the leader"};
    auto written = store->write(batch, sync);
    if (!written.ok())
      return written.message();
    return std::nullopt;
  };
  reopen(4096, opts);
  ASSERT_TRUE(call<journal_written>(j, append_atom::value, append_to(3, "a")));
  *refuse = true;
  auto refused
    = call<journal_written>(j, append_atom::value, append_to(3, "b"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), ec::storage_error);
  EXPECT_NE(detail_of(refused.error()).find("not the leader"),
            std::string::npos);
  EXPECT_EQ(seen->size(), 2u);
  EXPECT_EQ(read(3).size(), 1u);
  *refuse = false;
  // Numbering goes on from what was written.
  auto next = call<journal_written>(j, append_atom::value, append_to(3, "c"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seqs, std::vector<uint64_t>{2});
}

TEST_F(journal_test, one_write_is_atomic_across_streams_and_keys) {
  journal_write w;
  w.appends.push_back({1, "to one", {}});
  w.appends.push_back({2, "to two", {}});
  w.appends.push_back({1, "to one again", {}});
  w.puts.emplace_back("\x20k", "value");
  auto r = call<journal_written>(j, append_atom::value, w);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seqs, (std::vector<uint64_t>{1, 1, 2}));
  reopen();
  auto one = read(1);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].payload, "to one");
  EXPECT_EQ(one[1].payload, "to one again");
  EXPECT_EQ(read(2).size(), 1u);
  auto v = call<std::string>(j, get_atom::value, std::string{"\x20k"});
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "value");
}

TEST_F(journal_test, acknowledged_events_survive_restart_and_seqs_continue) {
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(call<journal_written>(j, append_atom::value,
                                      append_to(3, std::to_string(i))));
  reopen();
  auto last = call<uint64_t>(j, last_seq_atom::value, uint64_t{3});
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, 10u);
  auto r = call<journal_written>(j, append_atom::value, append_to(3, "10"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seqs.at(0), 11u);
  auto events = read(3, 4, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].seq, 5u);
  EXPECT_EQ(events[0].payload, "4");
  EXPECT_EQ(events[2].seq, 7u);
}

TEST_F(journal_test, reads_stay_inside_one_agents_stream) {
  ASSERT_TRUE(call<journal_written>(j, append_atom::value, append_to(1, "a")));
  ASSERT_TRUE(call<journal_written>(j, append_atom::value, append_to(2, "b")));
  EXPECT_EQ(read(1).size(), 1u);
  EXPECT_TRUE(read(1, 1).empty());
  EXPECT_TRUE(read(9).empty());
  EXPECT_TRUE(read(1, UINT64_MAX).empty());
}

TEST_F(journal_test, cursor_moves_forward_only_and_survives_restart) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(
      call<journal_written>(j, append_atom::value, append_to(4, "e")));
  EXPECT_EQ(call<uint64_t>(j, cursor_atom::value, uint64_t{4}), 0u);
  EXPECT_EQ(call<uint64_t>(j, ack_atom::value, uint64_t{4}, uint64_t{3}), 3u);
  EXPECT_EQ(call<uint64_t>(j, ack_atom::value, uint64_t{4}, uint64_t{2}), 3u);
  auto past_end = call<uint64_t>(j, ack_atom::value, uint64_t{4}, uint64_t{6});
  ASSERT_FALSE(past_end);
  EXPECT_EQ(code_of(past_end.error()), ec::invalid_argument);
  reopen();
  EXPECT_EQ(call<uint64_t>(j, cursor_atom::value, uint64_t{4}), 3u);
}

TEST_F(journal_test, failed_expectation_writes_nothing) {
  journal_write create;
  create.puts.emplace_back("\x20name", "v1");
  create.expects.push_back({"\x20name", false, ""});
  ASSERT_TRUE(call<journal_written>(j, append_atom::value, create));
  // The same create again: the key exists now, so this is a conflict and
  // its stream append must not happen either.
  create.appends.push_back({5, "must not exist", {}});
  auto again = call<journal_written>(j, append_atom::value, create);
  ASSERT_FALSE(again);
  EXPECT_EQ(code_of(again.error()), ec::conflict);
  EXPECT_TRUE(read(5).empty());
  // Compare-and-set from the right value succeeds.
  journal_write update;
  update.puts.emplace_back("\x20name", "v2");
  update.expects.push_back({"\x20name", true, "v1"});
  ASSERT_TRUE(call<journal_written>(j, append_atom::value, update));
  EXPECT_FALSE(call<journal_written>(j, append_atom::value, update));
}

TEST_F(journal_test, expectations_see_earlier_writes_of_the_same_batch) {
  // Two clicks race: both expect the key absent, both queue before the
  // journal runs. Exactly one wins, though neither is durable yet when the
  // second is checked.
  journal_write claim;
  claim.puts.emplace_back("\x20resolved", "yes");
  claim.expects.push_back({"\x20resolved", false, ""});
  caf::scoped_actor a{sys, true};
  caf::scoped_actor b{sys, true};
  a->send(j, append_atom::value, claim);
  b->send(j, append_atom::value, claim);
  run();
  int won = 0;
  int conflicts = 0;
  for (auto* client : {&a, &b})
    (*client)->receive(
      [&](journal_written&) {
        ++won;
      },
      [&](caf::error& err) {
        if (code_of(err) == ec::conflict)
          ++conflicts;
      });
  EXPECT_EQ(won, 1);
  EXPECT_EQ(conflicts, 1);
}

TEST_F(journal_test, missing_key_is_not_found) {
  auto v = call<std::string>(j, get_atom::value, std::string{"\x20none"});
  ASSERT_FALSE(v);
  EXPECT_EQ(code_of(v.error()), ec::not_found);
}

TEST_F(journal_test, orderly_stop_answers_waiting_appends) {
  caf::scoped_actor client{sys, true};
  client->send(j, append_atom::value, append_to(6, "last words"));
  // The exit message queues behind the append: the journal must write and
  // answer before it goes.
  caf::anon_send_exit(j, caf::exit_reason::user_shutdown);
  j = nullptr;
  run();
  store = nullptr;
  bool answered = false;
  client->receive(
    [&](journal_written& r) {
      answered = r.seqs.at(0) == 1;
    },
    [&](caf::error& err) {
      ADD_FAILURE() << caf::to_string(err);
    });
  EXPECT_TRUE(answered);
  open();
  EXPECT_EQ(read(6).size(), 1u);
}

} // namespace
} // namespace nod
