#include "actors/accounts.hpp"

#include "actors/error.hpp"
#include "protocol/address_policy.hpp"
#include "protocol/credentials.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <algorithm>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace nod {

namespace {

using self_ptr = accounts_actor::stateful_pointer<accounts_state>;
using storage::table;

std::string user_key(uint64_t id) {
  return storage::id_key(table::users, id);
}

std::string username_key(const std::string& name) {
  return storage::text_key(table::usernames, name);
}

std::string session_key(const std::string& token_hash) {
  return storage::text_key(table::sessions, token_hash);
}

std::string agent_key(uint64_t id) {
  return storage::id_key(table::agents, id);
}

/// A session ends early or a user changes: edge caches of sessions drop
/// what they hold (before the change is acknowledged).
void sessions_changed(self_ptr self) {
  if (auto& epoch = self->state.opts.sessions_epoch)
    epoch->fetch_add(1, std::memory_order_release);
}

// A random id that is neither 0 nor taken.
template <class Map>
uint64_t fresh_id(const Map& taken) {
  for (;;) {
    uint64_t id = 0;
    random_bytes(&id, sizeof(id));
    if (id != 0 && taken.count(id) == 0)
      return id;
  }
}

// Writes `w` through the journal; `done` gets the outcome. Every change
// of this actor goes through here.
void write(self_ptr self, journal_write w,
           std::function<void(const caf::error&)> done) {
  self
    ->request(self->state.journal, caf::infinite, append_atom::value,
              std::move(w))
    .then(
      [done](journal_written&) {
        done(caf::error{});
      },
      [done](caf::error& err) {
        done(err);
      });
}

// Reads one table at start-up. `await` holds every other message back
// until the reply is in, so no request sees a half-loaded state.
template <class F>
void load_table(self_ptr self, table t, F on_entry) {
  scan_request req;
  req.begin = std::string(1, static_cast<char>(t));
  req.end = storage::prefix_end(req.begin);
  req.limit = UINT32_MAX;
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .await(
      [self, t, on_entry](std::vector<kv_entry>& entries) {
        size_t bad = 0;
        for (auto& e : entries)
          if (!on_entry(e))
            ++bad;
        if (bad > 0)
          spdlog::error("accounts: {} unreadable records in table {:#x}", bad,
                        static_cast<int>(t));
      },
      [self](caf::error& err) {
        spdlog::critical("accounts: cannot load: {}", caf::to_string(err));
        self->quit(err);
      });
}

// -- login throttling -------------------------------------------------------

// Keys of the failure table: "u:" username, "a:" address, "ua:"
// username|address, "g:" agent id|address. Addresses are buckets
// (`address_bucket`): an IPv6 client counts by its /64.

/// Entries of `failures` and `known_addresses` beyond which expired ones
/// are swept (and, if that is not enough, all are dropped: a flood of
/// distinct addresses must not grow memory without bound).
constexpr size_t max_throttle_entries = 100000;

int64_t locked_until(self_ptr self, const std::string& key, int64_t now) {
  auto i = self->state.failures.find(key);
  if (i == self->state.failures.end())
    return 0;
  return i->second.locked_until_ms > now ? i->second.locked_until_ms : 0;
}

void sweep_failures(self_ptr self, int64_t now) {
  auto& st = self->state;
  auto window = st.opts.failure_window.count();
  for (auto i = st.failures.begin(); i != st.failures.end();)
    if (now - i->second.first_ms > window && i->second.locked_until_ms <= now)
      i = st.failures.erase(i);
    else
      ++i;
  if (st.failures.size() >= max_throttle_entries) {
    spdlog::warn("accounts: {} throttled clients; forgetting them all",
                 st.failures.size());
    st.failures.clear();
  }
}

/// Counts a failure of `key`; beyond `free` failures in the window the key
/// is refused for `first_lockout`, doubling, at most `max_lockout`.
void record_failure(self_ptr self, const std::string& key, int64_t now,
                    int free, std::chrono::milliseconds max_lockout) {
  auto& st = self->state;
  if (st.failures.size() >= max_throttle_entries && !st.failures.count(key))
    sweep_failures(self, now);
  auto& f = st.failures[key];
  if (now - f.first_ms > st.opts.failure_window.count())
    f = login_failures{0, now, 0};
  ++f.count;
  auto over = f.count - free;
  if (over >= 0) {
    auto lockout = st.opts.first_lockout.count() << std::min(over, 20);
    f.locked_until_ms = now + std::min<int64_t>(lockout, max_lockout.count());
  }
}

std::string known_key(uint64_t user, const std::string& bucket) {
  return std::to_string(user) + "|" + bucket;
}

bool known_address(self_ptr self, std::optional<uint64_t> user,
                   const std::string& bucket, int64_t now) {
  if (!user)
    return false;
  auto& known = self->state.known_addresses;
  auto i = known.find(known_key(*user, bucket));
  return i != known.end()
         && now - i->second <= self->state.opts.known_address_ttl.count();
}

void remember_address(self_ptr self, uint64_t user, const std::string& bucket,
                      int64_t now) {
  auto& st = self->state;
  if (st.known_addresses.size() >= max_throttle_entries) {
    auto ttl = st.opts.known_address_ttl.count();
    for (auto i = st.known_addresses.begin(); i != st.known_addresses.end();)
      i = now - i->second > ttl ? st.known_addresses.erase(i) : std::next(i);
    if (st.known_addresses.size() >= max_throttle_entries)
      st.known_addresses.clear();
  }
  st.known_addresses[known_key(user, bucket)] = now;
}

caf::error too_many_attempts(int64_t until, int64_t now) {
  return make_error(ec::rate_limited,
                    std::to_string((until - now + 999) / 1000));
}

// -- users ------------------------------------------------------------------

journal_write put_user(const user_record& user, bool is_new) {
  journal_write w;
  w.puts.emplace_back(user_key(user.id), to_storage(user));
  if (is_new) {
    w.puts.emplace_back(username_key(user.username),
                        storage::u64_bytes(user.id));
    w.expects.push_back({username_key(user.username), false, ""});
  }
  return w;
}

caf::result<user_record> add_user(self_ptr self, std::string username,
                                  std::string password, bool admin) {
  if (auto problem = check_username(username))
    return make_error(ec::invalid_argument, "username: " + *problem);
  if (auto problem = check_password(password))
    return make_error(ec::invalid_argument, "password: " + *problem);
  if (self->state.usernames.count(username) > 0)
    return make_error(ec::conflict, "username already exists");
  auto promise = self->make_response_promise<user_record>();
  self->request(self->state.hasher, caf::infinite, hash_atom::value, password)
    .then(
      [self, promise, username, admin](std::string& hash) mutable {
        auto& st = self->state;
        // Checked again: another request may have taken the name while
        // the password was hashed.
        if (st.usernames.count(username) > 0) {
          promise.deliver(make_error(ec::conflict, "username already exists"));
          return;
        }
        user_record user;
        user.id = fresh_id(st.users);
        user.username = username;
        user.password_hash = std::move(hash);
        user.admin = admin;
        user.created_ms = now_ms();
        st.users[user.id] = user;
        st.usernames[username] = user.id;
        write(self, put_user(user, true),
              [self, promise, user](const caf::error& err) mutable {
                if (err) {
                  self->state.users.erase(user.id);
                  self->state.usernames.erase(user.username);
                  promise.deliver(err);
                  return;
                }
                promise.deliver(user);
              });
      },
      [promise](caf::error& err) mutable {
        promise.deliver(err);
      });
  return promise;
}

caf::result<user_record>
set_password(self_ptr self, const std::string& username, std::string password) {
  auto& st = self->state;
  auto i = st.usernames.find(username);
  if (i == st.usernames.end())
    return make_error(ec::not_found, "no such user");
  if (auto problem = check_password(password))
    return make_error(ec::invalid_argument, "password: " + *problem);
  auto id = i->second;
  auto promise = self->make_response_promise<user_record>();
  self->request(st.hasher, caf::infinite, hash_atom::value, password)
    .then(
      [self, promise, id](std::string& hash) mutable {
        auto& st = self->state;
        auto u = st.users.find(id);
        if (u == st.users.end()) {
          promise.deliver(make_error(ec::not_found, "no such user"));
          return;
        }
        auto before = u->second;
        u->second.password_hash = std::move(hash);
        sessions_changed(self);
        // A new password ends every session of the user.
        auto w = put_user(u->second, false);
        std::vector<std::pair<std::string, session_record>> ended;
        for (auto s = st.sessions.begin(); s != st.sessions.end();) {
          if (s->second.user == id) {
            w.deletes.push_back(session_key(s->first));
            ended.emplace_back(s->first, s->second);
            s = st.sessions.erase(s);
          } else {
            ++s;
          }
        }
        write(self, std::move(w),
              [self, promise, before, ended](const caf::error& err) mutable {
                auto& st = self->state;
                if (err) {
                  st.users[before.id] = before;
                  for (auto& [hash, s] : ended)
                    st.sessions.emplace(hash, s);
                  promise.deliver(err);
                  return;
                }
                promise.deliver(st.users[before.id]);
              });
      },
      [promise](caf::error& err) mutable {
        promise.deliver(err);
      });
  return promise;
}

caf::result<std::string> bootstrap(self_ptr self, std::string password) {
  // There is always someone who can add users: `admin` is created while no
  // admin exists (a fresh store, or one where the command line added only
  // ordinary users) unless the name is taken.
  auto& st = self->state;
  auto has_admin = std::any_of(st.users.begin(), st.users.end(), [](auto& kv) {
    return kv.second.admin;
  });
  if (has_admin || st.usernames.count("admin") > 0)
    return std::string{};
  if (password.empty())
    password = random_id("", 24);
  auto promise = self->make_response_promise<std::string>();
  self
    ->request(caf::actor_cast<accounts_actor>(self), caf::infinite,
              user_add_atom::value, std::string{"admin"}, password, true)
    .then(
      [promise, password](user_record&) mutable {
        promise.deliver(password);
      },
      [promise](caf::error& err) mutable {
        promise.deliver(err);
      });
  return promise;
}

// -- sessions ---------------------------------------------------------------

caf::result<login_result> login(self_ptr self, const std::string& username,
                                const std::string& password,
                                const std::string& client) {
  auto now = now_ms();
  auto& st = self->state;
  auto i = st.usernames.find(username);
  std::optional<uint64_t> id;
  std::string hash;
  if (i != st.usernames.end()) {
    id = i->second;
    hash = st.users[i->second].password_hash;
  }
  auto bucket = address_bucket(client);
  auto user_key = "u:" + username;
  auto addr_key = "a:" + bucket;
  auto pair_key = "ua:" + username + "|" + bucket;
  auto until = std::max(locked_until(self, pair_key, now),
                        locked_until(self, addr_key, now));
  if (!known_address(self, id, bucket, now))
    until = std::max(until, locked_until(self, user_key, now));
  if (until > 0)
    return too_many_attempts(until, now);
  auto promise = self->make_response_promise<login_result>();
  self->request(st.hasher, caf::infinite, verify_atom::value, hash, password)
    .then(
      [self, promise, id, bucket, user_key, addr_key,
       pair_key](bool ok) mutable {
        auto& st = self->state;
        auto& opts = st.opts;
        auto now = now_ms();
        if (!ok || !id || st.users.count(*id) == 0) {
          record_failure(self, pair_key, now, opts.free_failures,
                         opts.max_lockout);
          record_failure(self, addr_key, now, opts.address_free_failures,
                         opts.max_lockout);
          record_failure(self, user_key, now, opts.user_free_failures,
                         opts.user_slowdown);
          promise.deliver(
            make_error(ec::unauthenticated, "wrong username or password"));
          return;
        }
        st.failures.erase(pair_key);
        remember_address(self, *id, bucket, now);
        login_result result;
        result.token = new_session_token();
        result.user = st.users[*id];
        session_record s{*id, now, now + st.opts.session_ttl.count()};
        result.expires_ms = s.expires_ms;
        auto token_hash = sha256_hex(result.token);
        st.sessions[token_hash] = s;
        journal_write w;
        w.puts.emplace_back(session_key(token_hash), to_storage(s));
        write(
          self, std::move(w),
          [self, promise, result, token_hash](const caf::error& err) mutable {
            if (err) {
              self->state.sessions.erase(token_hash);
              promise.deliver(err);
              return;
            }
            promise.deliver(std::move(result));
          });
      },
      [promise](caf::error& err) mutable {
        promise.deliver(err);
      });
  return promise;
}

// Drops a session from memory and the store (best effort for expiry).
void end_session(self_ptr self, const std::string& token_hash) {
  sessions_changed(self);
  self->state.sessions.erase(token_hash);
  journal_write w;
  w.deletes.push_back(session_key(token_hash));
  write(self, std::move(w), [token_hash](const caf::error& err) {
    if (err)
      spdlog::warn("accounts: could not delete an ended session: {}",
                   caf::to_string(err));
  });
}

caf::result<session_user> authenticate(self_ptr self,
                                       const std::string& token) {
  auto& st = self->state;
  auto token_hash = sha256_hex(token);
  auto i = st.sessions.find(token_hash);
  if (i == st.sessions.end())
    return make_error(ec::unauthenticated, "invalid or expired token");
  auto u = st.users.find(i->second.user);
  if (i->second.expires_ms <= now_ms() || u == st.users.end()) {
    end_session(self, token_hash);
    return make_error(ec::unauthenticated, "invalid or expired token");
  }
  return session_user{u->second, i->second.expires_ms};
}

caf::result<bool> logout(self_ptr self, const std::string& token) {
  auto& st = self->state;
  auto token_hash = sha256_hex(token);
  auto i = st.sessions.find(token_hash);
  if (i == st.sessions.end())
    return make_error(ec::unauthenticated, "invalid or expired token");
  auto before = i->second;
  sessions_changed(self);
  st.sessions.erase(i);
  journal_write w;
  w.deletes.push_back(session_key(token_hash));
  auto promise = self->make_response_promise<bool>();
  write(self, std::move(w),
        [self, promise, token_hash, before](const caf::error& err) mutable {
          if (err) {
            self->state.sessions.emplace(token_hash, before);
            promise.deliver(err);
            return;
          }
          promise.deliver(true);
        });
  return promise;
}

// -- agents -----------------------------------------------------------------

/// Checks an agent's secret. Wrong secrets are counted per (agent, client
/// address): beyond `free_failures` that pair is refused for a while
/// (`rate_limited`), the agent elsewhere is not. Unknown ids are not
/// counted: nothing to guess, and nothing to fill the table with.
caf::result<agent_record> authenticate_agent(self_ptr self, uint64_t id,
                                             const std::string& secret,
                                             const std::string& client) {
  auto& st = self->state;
  auto i = st.agents.find(id);
  if (i == st.agents.end())
    return make_error(ec::not_found, "unknown agent");
  auto now = now_ms();
  auto key = "g:" + std::to_string(id) + "|" + address_bucket(client);
  if (auto until = locked_until(self, key, now))
    return too_many_attempts(until, now);
  if (!constant_time_equal(sha256_hex(secret), i->second.secret_hash)) {
    record_failure(self, key, now, st.opts.free_failures, st.opts.max_lockout);
    return make_error(ec::unauthenticated, "wrong secret");
  }
  st.failures.erase(key);
  return i->second;
}

agent_record* owned_agent(self_ptr self, uint64_t user, uint64_t agent) {
  auto i = self->state.agents.find(agent);
  if (i == self->state.agents.end() || i->second.owner != user)
    return nullptr;
  return &i->second;
}

/// Agents changed in memory: edge caches of credentials are stale.
void agents_changed(self_ptr self) {
  if (auto& epoch = self->state.opts.agents_epoch)
    epoch->fetch_add(1, std::memory_order_release);
}

// Stores `agent` (already changed in memory); on failure puts `before`
// back (or removes the agent when it is new) and answers the error.
template <class T>
void save_agent(self_ptr self, const agent_record& agent,
                std::optional<agent_record> before,
                caf::typed_response_promise<T> promise, T reply) {
  agents_changed(self);
  journal_write w;
  w.puts.emplace_back(agent_key(agent.id), to_storage(agent));
  if (!before)
    w.expects.push_back({agent_key(agent.id), false, ""});
  write(self, std::move(w),
        [self, id = agent.id, before, promise,
         reply = std::move(reply)](const caf::error& err) mutable {
          if (err) {
            if (before)
              self->state.agents[id] = *before;
            else
              self->state.agents.erase(id);
            agents_changed(self);
            promise.deliver(err);
            return;
          }
          promise.deliver(std::move(reply));
        });
}

void apply(agent_record& agent, const agent_input& in) {
  if (in.name)
    agent.name = *in.name;
  if (in.type)
    agent.type = *in.type;
  if (in.avatar)
    agent.avatar = in.avatar;
  else if (in.clear_avatar)
    agent.avatar.reset();
  if (in.description)
    agent.description = in.description;
  else if (in.clear_description)
    agent.description.reset();
  if (in.webhook_url)
    agent.webhook_url = in.webhook_url;
  else if (in.clear_webhook_url)
    agent.webhook_url.reset();
}

caf::result<agent_created> create_agent(self_ptr self, uint64_t user,
                                        const agent_input& in) {
  auto& st = self->state;
  if (st.users.count(user) == 0)
    return make_error(ec::unauthenticated, "no such user");
  if (!in.name)
    return make_error(ec::invalid_argument, "name: is required");
  agent_created created;
  auto& agent = created.agent;
  agent.id = fresh_id(st.agents);
  agent.owner = user;
  apply(agent, in);
  created.secret = new_agent_secret();
  agent.secret_hash = sha256_hex(created.secret);
  agent.webhook_secret = new_webhook_secret();
  agent.created_ms = agent.updated_ms = now_ms();
  st.agents[agent.id] = agent;
  auto promise = self->make_response_promise<agent_created>();
  save_agent(self, agent, std::nullopt, promise, created);
  return promise;
}

caf::result<agent_record> update_agent(self_ptr self, uint64_t user,
                                       uint64_t id, const agent_input& in) {
  auto* agent = owned_agent(self, user, id);
  if (!agent)
    return make_error(ec::not_found, "agent not found");
  auto before = *agent;
  apply(*agent, in);
  agent->updated_ms = now_ms();
  auto promise = self->make_response_promise<agent_record>();
  save_agent(self, *agent, before, promise, *agent);
  return promise;
}

caf::result<bool> delete_agent(self_ptr self, uint64_t user, uint64_t id) {
  auto* agent = owned_agent(self, user, id);
  if (!agent)
    return make_error(ec::not_found, "agent not found");
  auto before = *agent;
  self->state.agents.erase(id);
  agents_changed(self);
  journal_write w;
  w.deletes.push_back(agent_key(id));
  auto promise = self->make_response_promise<bool>();
  write(self, std::move(w),
        [self, promise, before](const caf::error& err) mutable {
          if (err) {
            self->state.agents[before.id] = before;
            agents_changed(self);
            promise.deliver(err);
            return;
          }
          promise.deliver(true);
        });
  return promise;
}

caf::result<agent_created> rotate_secret(self_ptr self, uint64_t user,
                                         uint64_t id) {
  auto* agent = owned_agent(self, user, id);
  if (!agent)
    return make_error(ec::not_found, "agent not found");
  auto before = *agent;
  agent_created created;
  created.secret = new_agent_secret();
  agent->secret_hash = sha256_hex(created.secret);
  agent->updated_ms = now_ms();
  created.agent = *agent;
  auto promise = self->make_response_promise<agent_created>();
  save_agent(self, *agent, before, promise, created);
  return promise;
}

caf::result<agent_record> rotate_webhook_secret(self_ptr self, uint64_t user,
                                                uint64_t id) {
  auto* agent = owned_agent(self, user, id);
  if (!agent)
    return make_error(ec::not_found, "agent not found");
  auto before = *agent;
  agent->webhook_secret = new_webhook_secret();
  agent->updated_ms = now_ms();
  auto promise = self->make_response_promise<agent_record>();
  save_agent(self, *agent, before, promise, *agent);
  return promise;
}

} // namespace

accounts_actor::behavior_type accounts(self_ptr self, journal_actor journal,
                                       hasher_actor hasher,
                                       accounts_options opts) {
  auto& st = self->state;
  st.journal = std::move(journal);
  st.hasher = std::move(hasher);
  st.opts = opts;
  load_table(self, table::users, [self](const kv_entry& e) {
    user_record u;
    if (!from_storage(e.value, u))
      return false;
    self->state.usernames[u.username] = u.id;
    self->state.users[u.id] = std::move(u);
    return true;
  });
  load_table(self, table::sessions, [self](const kv_entry& e) {
    session_record s;
    if (!from_storage(e.value, s))
      return false;
    // Expired sessions are dropped from memory; their keys go with the
    // next start-up's retention pass.
    if (s.expires_ms > now_ms())
      self->state.sessions[e.key.substr(1)] = s;
    return true;
  });
  load_table(self, table::agents, [self](const kv_entry& e) {
    agent_record a;
    if (!from_storage(e.value, a))
      return false;
    self->state.agents[a.id] = std::move(a);
    return true;
  });
  return {
    [self](login_atom, const std::string& username, const std::string& password,
           const std::string& client) {
      return login(self, username, password, client);
    },
    [self](logout_atom, const std::string& token) {
      return logout(self, token);
    },
    [self](auth_atom, const std::string& token) {
      return authenticate(self, token);
    },
    [self](user_add_atom, std::string& username, std::string& password,
           bool admin) {
      return add_user(self, std::move(username), std::move(password), admin);
    },
    [self](passwd_atom, const std::string& username, std::string& password) {
      return set_password(self, username, std::move(password));
    },
    [self](bootstrap_atom, std::string& password) {
      return bootstrap(self, std::move(password));
    },
    [self](agent_new_atom, uint64_t user, const agent_input& in) {
      return create_agent(self, user, in);
    },
    [self](agent_list_atom, uint64_t user) {
      std::vector<agent_record> result;
      for (auto& [id, agent] : self->state.agents)
        if (agent.owner == user)
          result.push_back(agent);
      std::sort(result.begin(), result.end(), [](auto& a, auto& b) {
        return std::tie(a.created_ms, a.id) > std::tie(b.created_ms, b.id);
      });
      return result;
    },
    [self](agent_get_atom, uint64_t user,
           uint64_t id) -> caf::result<agent_record> {
      if (auto* agent = owned_agent(self, user, id))
        return *agent;
      return make_error(ec::not_found, "agent not found");
    },
    [self](agent_find_atom, uint64_t id) -> caf::result<agent_record> {
      auto i = self->state.agents.find(id);
      if (i == self->state.agents.end())
        return make_error(ec::not_found, "agent not found");
      return i->second;
    },
    [self](agent_set_atom, uint64_t user, uint64_t id, const agent_input& in) {
      return update_agent(self, user, id, in);
    },
    [self](agent_del_atom, uint64_t user, uint64_t id) {
      return delete_agent(self, user, id);
    },
    [self](rotate_atom, uint64_t user, uint64_t id) {
      return rotate_secret(self, user, id);
    },
    [self](rotate_wh_atom, uint64_t user, uint64_t id) {
      return rotate_webhook_secret(self, user, id);
    },
    [self](agent_auth_atom, uint64_t id, const std::string& secret,
           const std::string& client) -> caf::result<agent_record> {
      return authenticate_agent(self, id, secret, client);
    },
  };
}

} // namespace nod
