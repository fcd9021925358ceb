#pragma once

#include "actors/accounts.hpp"
#include "actors/directory.hpp"
#include "actors/hasher.hpp"
#include "actors/journal.hpp"
#include "storage/store.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/temp_dir.hpp"

#include <caf/all.hpp>

namespace nod::test {

/// The people's side on the deterministic scheduler: a real journal on a
/// temporary store, a real (fast-cost) hasher, accounts and directory.
class people_fixture : public actor_fixture {
protected:
  people_fixture() {
    start();
  }

  ~people_fixture() override {
    stop();
  }

  void start() {
    std::string error;
    auto db = storage::store::open(dir.path(), {}, error);
    if (!db)
      throw std::runtime_error(error);
    journal = spawn_journal(sys, std::shared_ptr<storage::store>{std::move(db)},
                            {}, false);
    hash = sys.spawn(hasher, password_cost::minimum);
    // As the server runs: with the epochs edge caches go by.
    if (!opts.agents_epoch)
      opts.agents_epoch = std::make_shared<std::atomic<uint64_t>>(0);
    if (!opts.sessions_epoch)
      opts.sessions_epoch = std::make_shared<std::atomic<uint64_t>>(0);
    acc = sys.spawn(accounts, journal, hash, opts);
    directory_ = sys.spawn(directory, directory_options{});
    run();
  }

  void stop() {
    for (auto* a : {&acc}) {
      caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
      *a = nullptr;
    }
    caf::anon_send_exit(directory_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(hash, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    directory_ = nullptr;
    hash = nullptr;
    journal = nullptr;
    run();
  }

  void restart() {
    stop();
    start();
  }

  /// Creates a user and returns it (fails the test on error).
  user_record add_user(const std::string& name, bool admin = false) {
    auto u = call<user_record>(acc, user_add_atom::value, name,
                               std::string{"password-" + name}, admin);
    EXPECT_TRUE(u) << caf::to_string(u.error());
    return u ? *u : user_record{};
  }

  /// Logs `name` in with the password `add_user` gave it.
  std::string login(const std::string& name) {
    auto r = call<login_result>(acc, login_atom::value, name,
                                std::string{"password-" + name},
                                std::string{"127.0.0.1"});
    EXPECT_TRUE(r) << caf::to_string(r.error());
    return r ? r->token : std::string{};
  }

  agent_created add_agent(uint64_t user, const std::string& name) {
    agent_input in;
    in.name = name;
    auto a = call<agent_created>(acc, agent_new_atom::value, user, in);
    EXPECT_TRUE(a) << caf::to_string(a.error());
    return a ? *a : agent_created{};
  }

  temp_dir dir;
  accounts_options opts;
  journal_actor journal;
  hasher_actor hash;
  accounts_actor acc;
  directory_actor directory_;
};

} // namespace nod::test
