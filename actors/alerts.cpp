#include "actors/alerts.hpp"

#include "actors/error.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <random>
#include <spdlog/spdlog.h>

namespace nod {

namespace {

using self_ptr = alerts_actor::stateful_pointer<alerts_state>;
using storage::table;

/// Rows of one table read at start-up; people have few devices and one
/// settings row each.
constexpr uint32_t max_rows = 1'000'000;

std::string vapid_key_key() {
  return storage::text_key(table::meta, "vapid_key");
}

std::string status_key(const alerts_state::job& j) {
  return j.channel == "push" ? "push:" + format_id64("psub_", j.subscription)
                             : j.channel;
}

double unit(self_ptr self) {
  if (self->state.opts.unit_random)
    return self->state.opts.unit_random();
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>{0.0, 1.0}(gen);
}

void record(self_ptr self, const alerts_state::job& j,
            const std::string& error) {
  auto& s = self->state.status[j.user][status_key(j)];
  if (error.empty()) {
    s.last_sent_ms = now_ms();
    s.last_error.clear();
  } else {
    s.last_error = error;
    s.last_error_ms = now_ms();
  }
}

std::string outcome_error(const http_post_result& r) {
  switch (r.failure) {
    case post_failure::timeout: return "timeout";
    case post_failure::blocked_address: return "blocked_address: " + r.error;
    case post_failure::connection_error: return "connection_error: " + r.error;
    case post_failure::none: break;
  }
  return is_success(r) ? std::string{} : "http_" + std::to_string(r.status);
}

/// Worth another attempt: anything but an address the policy refuses
/// (404 and 410 of a push service end the subscription before this), as
/// webhooks are retried.
bool retryable(const http_post_result& r) {
  return r.failure != post_failure::blocked_address;
}

void launch(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& j = st.jobs[id];
  auto me = caf::actor_cast<alerts_actor>(self);
  if (j.channel == "email") {
    st.opts.mail(j.mail, [me, id](std::string error) {
      http_post_result r;
      if (!error.empty()) {
        r.failure = post_failure::connection_error;
        r.error = std::move(error);
      } else {
        r.status = 250; // SMTP's "OK", read as success below
      }
      caf::anon_send(me, result_atom::value, id, std::move(r));
    });
    return;
  }
  auto req = j.request;
  req.timeout_ms = st.opts.timeout_ms;
  st.opts.post(std::move(req), [me, id](http_post_result r) {
    caf::anon_send(me, result_atom::value, id, std::move(r));
  });
}

uint64_t add_job(self_ptr self, alerts_state::job j) {
  auto id = self->state.next_job++;
  self->state.jobs.emplace(id, std::move(j));
  launch(self, id);
  return id;
}

void answer_test(alerts_state::job& j, const std::string& error) {
  if (!j.test_reply)
    return;
  json::writer w;
  w.start_object();
  w.field("channel", j.channel);
  w.field("ok", error.empty());
  w.key("error");
  if (error.empty())
    w.null();
  else
    w.string(error);
  w.end_object();
  j.test_reply->deliver(w.str());
  j.test_reply.reset();
}

/// The push request for one subscription; nothing (and the reason) when
/// its keys cannot be used.
std::optional<http_post> push_request(self_ptr self, const push_subscription& s,
                                      const person_alert& a,
                                      std::string& error) {
  auto& st = self->state;
  auto body = webpush::encrypt(push_payload(a), s.p256dh, s.auth, error);
  if (!body)
    return std::nullopt;
  auto exp = now_ms() / 1000 + 12 * 3600;
  auto jwt = webpush::vapid_jwt(st.vapid, webpush::endpoint_origin(s.endpoint),
                                exp, st.opts.vapid_subject);
  if (!jwt) {
    error = "cannot sign the VAPID token";
    return std::nullopt;
  }
  http_post req;
  req.url = s.endpoint;
  req.body = std::move(*body);
  req.headers = {
    {"Content-Type", "application/octet-stream"},
    {"Content-Encoding", "aes128gcm"},
    {"TTL", std::to_string(push_ttl(a, now_ms()))},
    {"Urgency", push_urgency(a)},
    {"Authorization", webpush::vapid_authorization(st.vapid, *jwt)},
  };
  return req;
}

/// Starts one job per channel the alert goes to; with `test_reply`, only
/// `only` (a test of that channel).
void dispatch(self_ptr self, const person_alert& a,
              std::optional<caf::typed_response_promise<std::string>> test_reply
              = std::nullopt,
              const std::string& only = {}) {
  auto& st = self->state;
  auto& prefs = st.prefs[a.user];
  if (!wants_alert(prefs, a, now_ms()))
    return;
  auto wanted = [&](const char* channel) {
    return only.empty() || only == channel;
  };
  auto make = [&](const char* channel) {
    alerts_state::job j;
    j.user = a.user;
    j.channel = channel;
    j.test = a.kind == alert_kind::test;
    return j;
  };
  if (wanted("push")) {
    auto subs = st.subs[a.user]; // a copy: a failing key may remove one
    bool first = true;
    for (auto& s : subs) {
      auto j = make("push");
      j.subscription = s.id;
      std::string error;
      auto req = push_request(self, s, a, error);
      if (!req) {
        record(self, j, error);
        if (test_reply) { // a test answers with the first browser's outcome
          j.test_reply = std::move(test_reply);
          test_reply.reset();
          answer_test(j, error);
        }
        first = false;
        continue;
      }
      j.request = std::move(*req);
      // A test answers with the first browser's outcome.
      if (test_reply && first) {
        j.test_reply = test_reply;
        test_reply.reset();
      }
      first = false;
      add_job(self, std::move(j));
    }
  }
  if (wanted("ntfy") && prefs.ntfy) {
    auto j = make("ntfy");
    j.request = ntfy_post(*prefs.ntfy, a, st.opts.public_url);
    j.test_reply = std::move(test_reply);
    test_reply.reset();
    add_job(self, std::move(j));
  }
  if (wanted("slack") && prefs.slack) {
    auto j = make("slack");
    j.request = slack_post(*prefs.slack, a, st.opts.public_url);
    j.test_reply = std::move(test_reply);
    test_reply.reset();
    add_job(self, std::move(j));
  }
  if (wanted("email") && prefs.email) {
    auto j = make("email");
    if (!st.opts.mail) {
      record(self, j, "email needs smtp-host (not set on the server)");
      answer_test(j, "email needs smtp-host (not set on the server)");
      test_reply.reset();
    } else {
      auto m = alert_email(a, st.opts.public_url);
      j.mail = {prefs.email->to, std::move(m.subject), std::move(m.body)};
      j.test_reply = std::move(test_reply);
      test_reply.reset();
      add_job(self, std::move(j));
    }
  }
  if (test_reply) {
    alerts_state::job none;
    none.channel = only;
    none.test_reply = std::move(test_reply);
    answer_test(none, only == "push" ? "no browser is subscribed"
                                     : only + " is not set up");
  }
}

/// Forgets a subscription; `rp`, when given, is answered once that is
/// durable.
void remove_subscription(self_ptr self, uint64_t user, uint64_t id,
                         std::optional<caf::typed_response_promise<bool>> rp
                         = std::nullopt) {
  auto& list = self->state.subs[user];
  list.erase(std::remove_if(list.begin(), list.end(),
                            [id](const push_subscription& s) {
                              return s.id == id;
                            }),
             list.end());
  self->state.status[user].erase("push:" + format_id64("psub_", id));
  journal_write w;
  w.deletes.push_back(storage::pair_key(table::push_subscriptions, user, id));
  self
    ->request(self->state.journal, caf::infinite, append_atom::value,
              std::move(w))
    .then(
      [rp](journal_written&) mutable {
        if (rp)
          rp->deliver(true);
      },
      [rp](caf::error& err) mutable {
        spdlog::warn("cannot remove a push subscription: {}", detail_of(err));
        if (rp)
          rp->deliver(err);
      });
}

void on_result(self_ptr self, uint64_t id, const http_post_result& r) {
  auto& st = self->state;
  auto i = st.jobs.find(id);
  if (i == st.jobs.end())
    return;
  auto& j = i->second;
  auto error = outcome_error(r);
  if (j.channel == "email" && r.failure == post_failure::none)
    error.clear();
  if (error.empty()) {
    record(self, j, {});
    answer_test(j, {});
    st.jobs.erase(i);
    return;
  }
  // RFC 8030: 404 and 410 mean the subscription is gone for good.
  if (j.channel == "push" && r.failure == post_failure::none
      && (r.status == 404 || r.status == 410)) {
    spdlog::info("push subscription {} of user {} is gone ({}): removed",
                 format_id64("psub_", j.subscription),
                 format_id64("usr_", j.user), r.status);
    answer_test(j, error + " (the browser unsubscribed; removed)");
    remove_subscription(self, j.user, j.subscription);
    st.jobs.erase(i);
    return;
  }
  record(self, j, error);
  answer_test(j, error);
  if (j.test || !retryable(r) || j.attempt >= st.opts.policy.attempts) {
    st.jobs.erase(i);
    return;
  }
  auto delay = backoff_delay_ms(st.opts.policy, j.attempt, unit(self));
  if (!r.retry_after.empty())
    if (auto after = parse_retry_after(r.retry_after, now_ms()))
      delay = std::min(*after, st.opts.policy.retry_after_max_ms);
  j.attempt += 1;
  self->delayed_send(self, std::chrono::milliseconds{delay}, retry_atom::value,
                     id);
}

std::string status_json(const alerts_state::channel_status& s) {
  json::writer w;
  w.start_object();
  w.key("last_error");
  if (s.last_error.empty())
    w.null();
  else
    w.string(s.last_error);
  w.key("last_error_at");
  if (s.last_error_ms)
    w.string(iso8601(s.last_error_ms));
  else
    w.null();
  w.key("last_sent_at");
  if (s.last_sent_ms)
    w.string(iso8601(s.last_sent_ms));
  else
    w.null();
  w.end_object();
  return w.str();
}

/// The settings as the API shows them, with `channel_status`.
std::string shown_prefs(self_ptr self, uint64_t user) {
  auto& st = self->state;
  auto base = prefs_json(st.prefs[user], true);
  json::writer w;
  w.start_object();
  auto& statuses = st.status[user];
  for (const char* ch : {"ntfy", "slack", "email"}) {
    w.key(ch);
    auto i = statuses.find(ch);
    w.raw_json(status_json(i == statuses.end() ? alerts_state::channel_status{}
                                               : i->second));
  }
  w.end_object();
  // `base` is an object: splice `channel_status` in before its end.
  base.pop_back();
  return base + ",\"channel_status\":" + w.str() + "}";
}

/// Schedules the "expires soon" alert of a decision.
void time_expiring(self_ptr self, person_alert a) {
  auto now = now_ms();
  if (a.expires_ms <= now)
    return;
  auto life = a.expires_ms - now;
  auto lead = std::min(self->state.opts.expiring_lead_ms, life / 2);
  a.kind = alert_kind::expiring;
  self->delayed_send(self, std::chrono::milliseconds{life - lead},
                     timeout_atom::value, std::move(a));
}

/// Sends the "expires soon" alert if the decision is still pending.
void expiring_due(self_ptr self, person_alert a) {
  auto id = parse_id64("dec_", a.decision_id);
  if (!id)
    return;
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::id_key(table::decisions, *id))
    .then(
      [self, a](std::string& obj) {
        json::document doc;
        json::field_error err;
        if (json::parse_object(obj, doc, err)
            && json::string_member(doc, "status") == std::string{"pending"})
          dispatch(self, a);
      },
      [](caf::error&) {});
}

void load(self_ptr self, caf::typed_response_promise<uint64_t> rp) {
  auto& st = self->state;
  auto scan = [](table t) {
    scan_request req;
    req.begin = std::string(1, static_cast<char>(t));
    req.end = storage::prefix_end(req.begin);
    req.limit = max_rows;
    return req;
  };
  self
    ->request(st.journal, caf::infinite, scan_atom::value,
              scan(table::alert_prefs))
    .then(
      [self, rp, scan](std::vector<kv_entry>& rows) mutable {
        for (auto& row : rows)
          self->state
            .prefs[storage::get_u64(std::string_view{row.key}.substr(1))]
            = parse_stored_prefs(row.value);
        self
          ->request(self->state.journal, caf::infinite, scan_atom::value,
                    scan(table::push_subscriptions))
          .then(
            [self, rp](std::vector<kv_entry>& rows) mutable {
              uint64_t n = 0;
              for (auto& row : rows) {
                push_subscription s;
                if (!parse_stored_subscription(row.value, s))
                  continue;
                s.user = storage::get_u64(std::string_view{row.key}.substr(1));
                self->state.subs[s.user].push_back(std::move(s));
                ++n;
              }
              rp.deliver(n);
            },
            [rp](caf::error& err) mutable {
              rp.deliver(err);
            });
      },
      [rp](caf::error& err) mutable {
        rp.deliver(err);
      });
}

void recover(self_ptr self, caf::typed_response_promise<uint64_t> rp) {
  // The VAPID key pair is made once per data directory: browsers bind
  // their subscriptions to it.
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              vapid_key_key())
    .then(
      [self, rp](std::string& stored) mutable {
        if (stored.size() == 97) {
          self->state.vapid = {stored.substr(0, 32), stored.substr(32)};
          load(self, rp);
          return;
        }
        rp.deliver(make_error(ec::storage_error, "unreadable VAPID key"));
      },
      [self, rp](caf::error& err) mutable {
        if (code_of(err) != ec::not_found) {
          rp.deliver(err);
          return;
        }
        auto key = webpush::generate_key_pair();
        if (!key) {
          rp.deliver(make_error(ec::storage_error, "cannot make a VAPID key"));
          return;
        }
        self->state.vapid = *key;
        journal_write w;
        w.puts.emplace_back(vapid_key_key(),
                            key->private_key + key->public_key);
        self
          ->request(self->state.journal, caf::infinite, append_atom::value,
                    std::move(w))
          .then(
            [self, rp](journal_written&) mutable {
              load(self, rp);
            },
            [rp](caf::error& e) mutable {
              rp.deliver(e);
            });
      });
}

std::string subscriptions_json(self_ptr self, uint64_t user) {
  auto& st = self->state;
  std::vector<std::string> items;
  auto& statuses = st.status[user];
  for (auto& s : st.subs[user]) {
    auto obj = push_subscription_json(s);
    auto i = statuses.find("push:" + format_id64("psub_", s.id));
    obj.pop_back();
    items.push_back(obj + ",\"status\":"
                    + status_json(i == statuses.end()
                                    ? alerts_state::channel_status{}
                                    : i->second)
                    + "}");
  }
  return json::array_of(items);
}

} // namespace

alerts_actor::behavior_type
alerts(alerts_actor::stateful_pointer<alerts_state> self, journal_actor journal,
       alerts_options opts) {
  self->state.journal = std::move(journal);
  self->state.opts = std::move(opts);
  return {
    [self](recover_atom) {
      auto rp = self->make_response_promise<uint64_t>();
      recover(self, rp);
      return rp;
    },
    [self](alert_atom, person_alert& a) {
      if (a.kind == alert_kind::decision && a.expires_ms > 0)
        time_expiring(self, a);
      if (a.kind == alert_kind::pending) {
        auto now = now_ms();
        if (!wants_alert(self->state.prefs[a.user], a, now))
          return;
        auto& last = self->state.pending_alerted[a.agent];
        if (last != 0
            && now - last < self->state.opts.pending_alert_interval_ms)
          return;
        last = now;
      }
      dispatch(self, a);
    },
    [self](push_key_atom) {
      return webpush::base64url_encode(self->state.vapid.public_key);
    },
    [self](subscribe_atom, uint64_t user,
           push_subscription& sub) -> caf::result<std::string> {
      auto& list = self->state.subs[user];
      auto same = std::find_if(list.begin(), list.end(),
                               [&](const push_subscription& s) {
                                 return s.endpoint == sub.endpoint;
                               });
      if (same == list.end()
          && list.size() >= self->state.opts.max_subscriptions)
        return make_error(ec::conflict,
                          "at most "
                            + std::to_string(self->state.opts.max_subscriptions)
                            + " browsers per person; remove one first");
      sub.user = user;
      sub.id = same != list.end() ? same->id : next_time_id();
      sub.created_ms = now_ms();
      auto obj = push_subscription_json(sub);
      journal_write w;
      w.puts.emplace_back(
        storage::pair_key(table::push_subscriptions, user, sub.id), obj);
      auto rp = self->make_response_promise<std::string>();
      self
        ->request(self->state.journal, caf::infinite, append_atom::value,
                  std::move(w))
        .then(
          [self, rp, sub, obj](journal_written&) mutable {
            auto& list = self->state.subs[sub.user];
            auto same = std::find_if(list.begin(), list.end(),
                                     [&](const push_subscription& s) {
                                       return s.id == sub.id;
                                     });
            if (same != list.end())
              *same = sub;
            else
              list.push_back(sub);
            rp.deliver(obj);
          },
          [rp](caf::error& err) mutable {
            rp.deliver(err);
          });
      return rp;
    },
    [self](subs_atom, uint64_t user) {
      return subscriptions_json(self, user);
    },
    [self](unsubscribe_atom, uint64_t user, uint64_t id) -> caf::result<bool> {
      auto& list = self->state.subs[user];
      if (std::none_of(list.begin(), list.end(),
                       [id](const push_subscription& s) {
                         return s.id == id;
                       }))
        return make_error(ec::not_found, "push subscription not found");
      auto rp = self->make_response_promise<bool>();
      remove_subscription(self, user, id, rp);
      return rp;
    },
    [self](prefs_atom, uint64_t user) {
      return shown_prefs(self, user);
    },
    [self](prefs_atom, uint64_t user,
           const std::string& body) -> caf::result<std::string> {
      json::document doc;
      json::field_error err;
      auto next = self->state.prefs[user];
      if (!json::parse_object(body, doc, err)
          || !apply_prefs_patch(doc, next, err))
        return make_error(ec::invalid_argument, err.message);
      journal_write w;
      w.puts.emplace_back(storage::id_key(table::alert_prefs, user),
                          prefs_json(next, false));
      auto rp = self->make_response_promise<std::string>();
      self
        ->request(self->state.journal, caf::infinite, append_atom::value,
                  std::move(w))
        .then(
          [self, rp, user, next](journal_written&) mutable {
            self->state.prefs[user] = std::move(next);
            rp.deliver(shown_prefs(self, user));
          },
          [rp](caf::error& e) mutable {
            rp.deliver(e);
          });
      return rp;
    },
    [self](test_atom, uint64_t user,
           const std::string& channel) -> caf::result<std::string> {
      if (channel != "push" && channel != "ntfy" && channel != "slack"
          && channel != "email")
        return make_error(ec::not_found, "unknown channel " + channel);
      person_alert a;
      a.kind = alert_kind::test;
      a.user = user;
      a.agent_name = "Nod";
      a.title = "Test notification";
      auto rp = self->make_response_promise<std::string>();
      dispatch(self, a, rp, channel);
      return rp;
    },
    [self](result_atom, uint64_t id, http_post_result& r) {
      on_result(self, id, r);
    },
    [self](retry_atom, uint64_t id) {
      if (self->state.jobs.count(id))
        launch(self, id);
    },
    [self](timeout_atom, person_alert& a) {
      expiring_due(self, a);
    },
  };
}

} // namespace nod
