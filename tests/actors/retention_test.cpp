// The retention sweeper over a real journal and store, on the
// deterministic scheduler; compaction requests go to a recording stand-in
// for the maintenance actor.

#include "actors/ingest.hpp"
#include "actors/journal.hpp"
#include "actors/maintenance.hpp"
#include "protocol/delivery.hpp"
#include "protocol/tasks.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace nod {
namespace {

using storage::table;

constexpr int64_t now = 10'000'000;

// Stands in for the maintenance actor: records what it is asked to
// compact. (A function with an argument: CAF 0.17 trips UBSan spawning
// one without.)
maintenance_actor::behavior_type
recording_maintenance(std::shared_ptr<std::vector<key_ranges>> compactions) {
  return {
    [](backup_atom) -> caf::result<backup_entry> {
      return backup_entry{};
    },
    [](backups_atom) -> caf::result<std::vector<backup_entry>> {
      return std::vector<backup_entry>{};
    },
    [compactions](compact_atom, const key_ranges& r) -> caf::result<uint64_t> {
      compactions->push_back(r);
      return uint64_t{42};
    },
  };
}

class retention_test : public test::actor_fixture {
protected:
  retention_test() {
    std::string error;
    auto db = storage::store::open(dir.path(), {}, error);
    EXPECT_TRUE(db) << error;
    store = std::move(db);
    journal = spawn_journal(sys, store, {}, false);
    compactions = std::make_shared<std::vector<key_ranges>>();
    maintenance = sys.spawn(recording_maintenance, compactions);
    run();
  }

  ~retention_test() override {
    for (auto a : {caf::actor_cast<caf::actor>(sweeper),
                   caf::actor_cast<caf::actor>(maintenance),
                   caf::actor_cast<caf::actor>(journal)})
      if (a)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  void spawn_sweeper(std::chrono::milliseconds delivered,
                     std::chrono::milliseconds interval = {},
                     std::chrono::milliseconds runs = {}) {
    retention_options opts;
    opts.clock = [] {
      return now;
    };
    sweeper = sys.spawn(retention, journal, maintenance, opts);
    // As the server does at start and on SIGHUP.
    retention_periods periods;
    periods.delivered_events_ms = delivered.count();
    periods.runs_ms = runs.count();
    periods.interval_ms = interval.count();
    self->send(sweeper, periods);
    run();
  }

  // Event `seq` of `agent` with its delivery record in `state`.
  void put_event(storage::write_batch& b, uint64_t agent, uint64_t seq,
                 const char* state, int64_t created, int64_t updated) {
    b.put(storage::stream_key(agent, seq), "{}");
    delivery_record r;
    r.event_id = "evt_" + std::to_string(seq);
    r.agent = agent;
    r.seq = seq;
    r.type = "user_message";
    r.state = state;
    r.created_ms = created;
    r.updated_ms = updated;
    b.put(storage::pair_key(table::deliveries, agent, seq), to_json(r));
    if (std::string_view{state} == delivery_states::pending)
      b.put(storage::pair_key(table::pending, agent, seq), "");
    else if (std::string_view{state} != delivery_states::delivered)
      b.put(storage::pair_key(table::in_flight, agent, seq),
            storage::u64_bytes(1));
  }

  bool has(const std::string& key) {
    std::string v;
    return store->get(key, v).ok();
  }

  retention_counts sweep() {
    // The pass pauses between batches: move virtual time along.
    auto handle
      = self.ptr()->request(sweeper, caf::infinite, sweep_atom::value);
    for (int i = 0; i < 10000 && self.ptr()->mailbox().empty(); ++i)
      advance_time(std::chrono::milliseconds(20));
    retention_counts out;
    handle.receive(
      [&](retention_counts& c) {
        out = c;
      },
      [&](caf::error& err) {
        ADD_FAILURE() << to_string(err);
      });
    return out;
  }

  test::temp_dir dir;
  std::shared_ptr<storage::store> store;
  journal_actor journal;
  maintenance_actor maintenance;
  retention_actor sweeper;
  std::shared_ptr<std::vector<key_ranges>> compactions;
};

TEST_F(retention_test, only_finished_deliveries_older_than_the_setting_go) {
  storage::write_batch b;
  auto old = now - 60'000;
  put_event(b, 7, 1, delivery_states::delivered, old, old);
  put_event(b, 7, 2, delivery_states::pending, old, old);
  put_event(b, 7, 3, delivery_states::delivered, old, old);
  put_event(b, 7, 4, delivery_states::sent, old, old);
  put_event(b, 7, 5, delivery_states::retrying, old, old);
  // Old, but delivered only a moment ago: kept for the whole period.
  put_event(b, 7, 6, delivery_states::delivered, old, now - 1000);
  put_event(b, 7, 7, delivery_states::delivered, now - 1000, now - 1000);
  ASSERT_TRUE(store->write(b).ok());
  spawn_sweeper(std::chrono::seconds(10));

  auto counts = sweep();
  EXPECT_EQ(counts.events, 2u);
  EXPECT_EQ(counts.store_bytes, 42u);
  for (uint64_t seq : {1, 3}) {
    EXPECT_FALSE(has(storage::stream_key(7, seq))) << seq;
    EXPECT_FALSE(has(storage::pair_key(table::deliveries, 7, seq))) << seq;
  }
  for (uint64_t seq : {2, 4, 5, 6, 7}) {
    EXPECT_TRUE(has(storage::stream_key(7, seq))) << seq;
    EXPECT_TRUE(has(storage::pair_key(table::deliveries, 7, seq))) << seq;
  }
  std::string floor;
  ASSERT_TRUE(store->get(storage::stream_floor_key(7), floor).ok());
  EXPECT_EQ(storage::get_u64(floor), 3u);
  // The compaction covered what was deleted.
  ASSERT_EQ(compactions->size(), 1u);
  auto covered = [&](const std::string& key) {
    for (auto& [b, e] : compactions->front())
      if (b <= key && key < e)
        return true;
    return false;
  };
  EXPECT_TRUE(covered(storage::stream_key(7, 1)));
  EXPECT_TRUE(covered(storage::pair_key(table::deliveries, 7, 3)));
  // Nothing left to delete: a second pass deletes and compacts nothing.
  EXPECT_EQ(sweep().events, 0u);
  EXPECT_EQ(compactions->size(), 1u);
}

TEST_F(retention_test, a_floor_never_moves_down_and_numbering_goes_on) {
  storage::write_batch b;
  auto old = now - 60'000;
  put_event(b, 3, 1, delivery_states::pending, old, old);
  put_event(b, 3, 2, delivery_states::delivered, old, old);
  ASSERT_TRUE(store->write(b).ok());
  spawn_sweeper(std::chrono::seconds(10));
  EXPECT_EQ(sweep().events, 1u);
  // The pending one is delivered later, and then ages out too: the floor
  // stays at 2.
  storage::write_batch later;
  put_event(later, 3, 1, delivery_states::delivered, old, old);
  later.erase(storage::pair_key(table::pending, 3, 1));
  ASSERT_TRUE(store->write(later).ok());
  EXPECT_EQ(sweep().events, 1u);
  std::string floor;
  ASSERT_TRUE(store->get(storage::stream_floor_key(3), floor).ok());
  EXPECT_EQ(storage::get_u64(floor), 2u);
  // A journal opened now numbers on after the deleted events.
  auto fresh = spawn_journal(sys, store, {}, false);
  run();
  auto last = call<uint64_t>(fresh, last_seq_atom::value, uint64_t{3});
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, 2u);
  caf::anon_send_exit(fresh, caf::exit_reason::user_shutdown);
  run();
}

TEST_F(retention_test, many_agents_compact_in_a_bounded_number_of_ranges) {
  storage::write_batch b;
  auto old = now - 60'000;
  for (uint64_t agent = 1; agent <= 600; ++agent)
    put_event(b, agent, 1, delivery_states::delivered, old, old);
  ASSERT_TRUE(store->write(b).ok());
  // Passes come by themselves every interval.
  spawn_sweeper(std::chrono::seconds(10), std::chrono::seconds(60));
  advance_time(std::chrono::seconds(60));
  for (int i = 0; i < 2000 && compactions->empty(); ++i)
    advance_time(std::chrono::milliseconds(20));
  ASSERT_EQ(compactions->size(), 1u);
  auto& ranges = compactions->front();
  EXPECT_LE(ranges.size(), 260u);
  for (uint64_t agent = 1; agent <= 600; ++agent) {
    EXPECT_FALSE(has(storage::stream_key(agent, 1))) << agent;
    bool covered = false;
    for (auto& [begin, end] : ranges)
      covered = covered
                || (begin <= storage::stream_key(agent, 1)
                    && storage::stream_key(agent, 1) < end);
    EXPECT_TRUE(covered) << agent;
  }
}

TEST_F(retention_test, ended_runs_go_with_their_items_open_ones_stay) {
  auto old_id = static_cast<uint64_t>(now - 60'000) << 16;
  storage::write_batch b;
  auto put_run = [&](uint64_t id, const char* status) {
    run_record r;
    r.id = id;
    r.task = 5;
    r.agent = 9;
    r.status = status;
    auto obj = to_json(r);
    b.put(storage::id_key(table::runs, id), obj);
    b.put(storage::pair_key(table::task_runs, 5, id), obj);
    b.put(storage::pair_key(table::run_items, id, 1), "{}");
  };
  put_run(old_id + 1, "completed");
  put_run(old_id + 2, "running");
  put_run(old_id + 3, "failed");
  put_run(static_cast<uint64_t>(now) << 16, "completed");
  ASSERT_TRUE(store->write(b).ok());
  spawn_sweeper({}, {}, std::chrono::seconds(10));
  EXPECT_EQ(sweep().runs, 2u);
  for (auto id : {old_id + 1, old_id + 3}) {
    EXPECT_FALSE(has(storage::id_key(table::runs, id)));
    EXPECT_FALSE(has(storage::pair_key(table::task_runs, 5, id)));
    EXPECT_FALSE(has(storage::pair_key(table::run_items, id, 1)));
  }
  for (auto id : {old_id + 2, static_cast<uint64_t>(now) << 16}) {
    EXPECT_TRUE(has(storage::id_key(table::runs, id)));
    EXPECT_TRUE(has(storage::pair_key(table::run_items, id, 1)));
  }
}

TEST_F(retention_test, idempotency_records_go_after_a_day_whatever_is_set) {
  storage::write_batch b;
  auto key = [](uint64_t agent, const char* hash) {
    return storage::id_key(table::idempotency, agent) + hash;
  };
  b.put(key(1, "aa"), std::to_string(now - idempotency_ttl_ms - 1)
                        + "\nhash\n{\"status\":\"ok\"}");
  b.put(key(1, "bb"), std::to_string(now - 1000) + "\nhash\n{}");
  b.put(key(2, "cc"), "not a record");
  ASSERT_TRUE(store->write(b).ok());
  spawn_sweeper({});
  EXPECT_EQ(sweep().idempotency_keys, 1u);
  EXPECT_FALSE(has(key(1, "aa")));
  EXPECT_TRUE(has(key(1, "bb")));
  EXPECT_TRUE(has(key(2, "cc")));
}

} // namespace
} // namespace nod
