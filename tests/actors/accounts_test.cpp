#include "actors/error.hpp"
#include "protocol/credentials.hpp"
#include "tests/actors/people_fixture.hpp"
#include "tests/support/match.hpp"

#include <chrono>
#include <thread>

namespace nod {
namespace {

using accounts_test = test::people_fixture;

const std::string remote = "10.0.0.1";

TEST_F(accounts_test, users_are_unique_and_validated) {
  auto alice = add_user("alice");
  EXPECT_NE(alice.id, 0u);
  EXPECT_EQ(alice.password_hash.rfind("$argon2id$", 0), 0u);
  auto dup = call<user_record>(acc, user_add_atom::value, std::string{"alice"},
                               std::string{"another-password"}, false);
  ASSERT_FALSE(dup);
  EXPECT_EQ(code_of(dup.error()), ec::conflict);
  auto bad_name
    = call<user_record>(acc, user_add_atom::value, std::string{"no spaces"},
                        std::string{"long-enough"}, false);
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(code_of(bad_name.error()), ec::invalid_argument);
  EXPECT_NE(detail_of(bad_name.error()).find("username"), std::string::npos);
  auto short_pw = call<user_record>(
    acc, user_add_atom::value, std::string{"bob"}, std::string{"short"}, false);
  ASSERT_FALSE(short_pw);
  EXPECT_NE(detail_of(short_pw.error()).find("password"), std::string::npos);
}

TEST_F(accounts_test, login_gives_a_token_that_authenticates_until_logout) {
  add_user("alice");
  auto token = login("alice");
  EXPECT_TRUE(test::matches(token, "nodt_", test::hex, 64));
  auto who = call<session_user>(acc, auth_atom::value, token);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->user.username, "alice");
  ASSERT_TRUE(call<bool>(acc, logout_atom::value, token));
  auto after = call<session_user>(acc, auth_atom::value, token);
  ASSERT_FALSE(after);
  EXPECT_EQ(code_of(after.error()), ec::unauthenticated);
}

TEST_F(accounts_test, wrong_password_and_unknown_user_look_the_same) {
  add_user("alice");
  auto wrong = call<login_result>(acc, login_atom::value, std::string{"alice"},
                                  std::string{"nope-nope"}, remote);
  auto unknown
    = call<login_result>(acc, login_atom::value, std::string{"mallory"},
                         std::string{"nope-nope"}, remote);
  ASSERT_FALSE(wrong);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(wrong.error()), ec::unauthenticated);
  EXPECT_EQ(detail_of(wrong.error()), detail_of(unknown.error()));
}

/// Logins of alice from chosen addresses.
class login_throttle_test : public test::people_fixture {
protected:
  /// One login of alice from `from`, with the right password or not.
  caf::expected<login_result> try_login(const std::string& from, bool right) {
    return call<login_result>(
      acc, login_atom::value, std::string{"alice"},
      std::string{right ? "password-alice" : "wrong-guess"}, from);
  }
};

TEST_F(login_throttle_test, failures_lock_the_address_out_not_the_person) {
  add_user("alice");
  for (int i = 0; i < opts.free_failures; ++i) {
    auto r = try_login(remote, false);
    ASSERT_FALSE(r);
    EXPECT_EQ(code_of(r.error()), ec::unauthenticated) << "attempt " << i;
  }
  // From this address even the right password waits for the lockout.
  auto locked = try_login(remote, true);
  ASSERT_FALSE(locked);
  EXPECT_EQ(code_of(locked.error()), ec::rate_limited);
  EXPECT_EQ(detail_of(locked.error()), "1");
  // From anywhere else the person logs in.
  EXPECT_TRUE(try_login("10.9.9.9", true));
  // An IPv6 client is one client across its /64.
  for (int i = 0; i < opts.free_failures; ++i)
    ASSERT_FALSE(try_login("2001:db8:1:2::" + std::to_string(i + 1), false));
  auto v6 = try_login("2001:db8:1:2:ffff::9", true);
  ASSERT_FALSE(v6);
  EXPECT_EQ(code_of(v6.error()), ec::rate_limited);
  EXPECT_TRUE(try_login("2001:db8:1:3::1", true));
}

TEST_F(login_throttle_test,
       guessing_from_many_addresses_slows_down_new_ones_only) {
  opts.user_slowdown = std::chrono::milliseconds{300};
  restart();
  add_user("alice");
  // Alice's own device has logged in before.
  ASSERT_TRUE(try_login("10.0.0.1", true));
  // One guess each from many addresses: no pair is locked, the user's
  // ceiling is passed.
  for (int i = 0; i < opts.user_free_failures; ++i) {
    auto r = try_login("203.0.113." + std::to_string(i + 1), false);
    ASSERT_FALSE(r);
    EXPECT_EQ(code_of(r.error()), ec::unauthenticated) << "guess " << i;
  }
  // A new address waits its turn...
  auto slowed = try_login("198.51.100.7", true);
  ASSERT_FALSE(slowed);
  EXPECT_EQ(code_of(slowed.error()), ec::rate_limited);
  // ...the person's known device does not...
  EXPECT_TRUE(try_login("10.0.0.1", true));
  // ...and a turn comes after the slowdown: slower guessing, no lockout.
  std::this_thread::sleep_for(opts.user_slowdown);
  EXPECT_TRUE(try_login("198.51.100.7", true));
}

TEST_F(accounts_test, wrong_agent_secrets_are_refused_for_a_while_per_address) {
  auto alice = add_user("alice");
  auto created = add_agent(alice.id, "a");
  auto id = created.agent.id;
  for (int i = 0; i < opts.free_failures; ++i) {
    auto r = call<agent_record>(acc, agent_auth_atom::value, id,
                                std::string{"nod_wrong"}, remote);
    ASSERT_FALSE(r);
    EXPECT_EQ(code_of(r.error()), ec::unauthenticated) << "attempt " << i;
  }
  auto locked = call<agent_record>(acc, agent_auth_atom::value, id,
                                   created.secret, remote);
  ASSERT_FALSE(locked);
  EXPECT_EQ(code_of(locked.error()), ec::rate_limited);
  // The agent elsewhere is not refused.
  EXPECT_TRUE(call<agent_record>(acc, agent_auth_atom::value, id,
                                 created.secret, std::string{"10.9.9.9"}));
}

TEST_F(accounts_test, new_password_ends_sessions) {
  add_user("alice");
  auto token = login("alice");
  auto changed
    = call<user_record>(acc, passwd_atom::value, std::string{"alice"},
                        std::string{"brand-new-password"});
  ASSERT_TRUE(changed);
  EXPECT_FALSE(call<session_user>(acc, auth_atom::value, token));
  EXPECT_TRUE(call<login_result>(acc, login_atom::value, std::string{"alice"},
                                 std::string{"brand-new-password"}, remote));
}

TEST_F(accounts_test, agents_belong_to_their_owner_only) {
  auto alice = add_user("alice");
  auto bob = add_user("bob");
  auto created = add_agent(alice.id, "deployer");
  EXPECT_TRUE(test::matches(created.secret, "nod_", test::hex, 40));
  EXPECT_EQ(created.agent.secret_hash, sha256_hex(created.secret));
  EXPECT_EQ(created.agent.webhook_secret.rfind("whsec_", 0), 0u);
  auto id = created.agent.id;
  EXPECT_TRUE(call<agent_record>(acc, agent_get_atom::value, alice.id, id));
  for (auto err :
       {call<agent_record>(acc, agent_get_atom::value, bob.id, id).error(),
        call<agent_record>(acc, agent_set_atom::value, bob.id, id,
                           agent_input{})
          .error(),
        call<bool>(acc, agent_del_atom::value, bob.id, id).error(),
        call<agent_created>(acc, rotate_atom::value, bob.id, id).error(),
        call<agent_record>(acc, rotate_wh_atom::value, bob.id, id).error()})
    EXPECT_EQ(code_of(err), ec::not_found);
  auto bobs
    = call<std::vector<agent_record>>(acc, agent_list_atom::value, bob.id);
  ASSERT_TRUE(bobs);
  EXPECT_TRUE(bobs->empty());
}

TEST_F(accounts_test, patch_changes_and_clears_fields) {
  auto alice = add_user("alice");
  agent_input in;
  in.name = "a";
  in.description = "first";
  in.webhook_url = "http://localhost:9000/hook";
  auto created = call<agent_created>(acc, agent_new_atom::value, alice.id, in);
  ASSERT_TRUE(created);
  agent_input patch;
  patch.name = "renamed";
  patch.clear_webhook_url = true;
  auto patched = call<agent_record>(acc, agent_set_atom::value, alice.id,
                                    created->agent.id, patch);
  ASSERT_TRUE(patched);
  EXPECT_EQ(patched->name, "renamed");
  EXPECT_EQ(patched->description, "first");
  EXPECT_FALSE(patched->webhook_url);
}

TEST_F(accounts_test, rotated_secret_replaces_the_old_one_at_once) {
  auto alice = add_user("alice");
  auto created = add_agent(alice.id, "a");
  auto id = created.agent.id;
  EXPECT_TRUE(call<agent_record>(acc, agent_auth_atom::value, id,
                                 created.secret, remote));
  auto rotated = call<agent_created>(acc, rotate_atom::value, alice.id, id);
  ASSERT_TRUE(rotated);
  EXPECT_NE(rotated->secret, created.secret);
  auto old = call<agent_record>(acc, agent_auth_atom::value, id, created.secret,
                                remote);
  ASSERT_FALSE(old);
  EXPECT_EQ(code_of(old.error()), ec::unauthenticated);
  EXPECT_TRUE(call<agent_record>(acc, agent_auth_atom::value, id,
                                 rotated->secret, remote));
  auto unknown = call<agent_record>(acc, agent_auth_atom::value, id + 1,
                                    rotated->secret, remote);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), ec::not_found);
  auto wh = call<agent_record>(acc, rotate_wh_atom::value, alice.id, id);
  ASSERT_TRUE(wh);
  EXPECT_NE(wh->webhook_secret, created.agent.webhook_secret);
}

TEST_F(accounts_test, everything_survives_a_restart) {
  auto alice = add_user("alice");
  auto token = login("alice");
  auto created = add_agent(alice.id, "keeper");
  auto deleted = add_agent(alice.id, "goner");
  ASSERT_TRUE(
    call<bool>(acc, agent_del_atom::value, alice.id, deleted.agent.id));
  restart();
  auto who = call<session_user>(acc, auth_atom::value, token);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->user.id, alice.id);
  auto agents
    = call<std::vector<agent_record>>(acc, agent_list_atom::value, alice.id);
  ASSERT_TRUE(agents);
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ(agents->front().name, "keeper");
  EXPECT_TRUE(call<agent_record>(acc, agent_auth_atom::value, created.agent.id,
                                 created.secret, remote));
  auto dup = call<user_record>(acc, user_add_atom::value, std::string{"alice"},
                               std::string{"whatever-long"}, false);
  ASSERT_FALSE(dup);
  EXPECT_EQ(code_of(dup.error()), ec::conflict);
}

TEST_F(accounts_test, bootstrap_creates_admin_once) {
  auto pw = call<std::string>(acc, bootstrap_atom::value, std::string{});
  ASSERT_TRUE(pw);
  EXPECT_GE(pw->size(), 16u);
  auto r = call<login_result>(acc, login_atom::value, std::string{"admin"}, *pw,
                              remote);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->user.admin);
  auto again = call<std::string>(acc, bootstrap_atom::value,
                                 std::string{"ignored-password"});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(accounts_test, bootstrap_uses_the_given_password) {
  auto pw = call<std::string>(acc, bootstrap_atom::value,
                              std::string{"chosen-admin-pw"});
  ASSERT_TRUE(pw);
  EXPECT_EQ(*pw, "chosen-admin-pw");
  EXPECT_TRUE(call<login_result>(acc, login_atom::value, std::string{"admin"},
                                 std::string{"chosen-admin-pw"}, remote));
}

} // namespace
} // namespace nod
