#include "actors/webhook_scheduler.hpp"

#include "metrics/metrics.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <random>

namespace nod {

namespace {

using self_ptr
  = webhook_scheduler_actor::stateful_pointer<webhook_scheduler_state>;

const char* outcome_label(const http_post_result& r) {
  switch (r.failure) {
    case post_failure::timeout: return "timeout";
    case post_failure::connection_error: return "connection_error";
    case post_failure::blocked_address: return "blocked_address";
    case post_failure::none: break;
  }
  return is_success(r) ? "ok" : "http_error";
}

void launch(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& j = st.jobs[id];
  st.hosts[j.host].active += 1;
  j.delivery_id = random_id("dlv_", 16);
  j.started_ms = now_ms();
  http_post req;
  req.url = j.job.url;
  req.body = j.job.body;
  req.timeout_ms = st.opts.timeout_ms;
  req.headers = webhook_headers(j.job.key, j.job.event_id, j.delivery_id,
                                j.started_ms / 1000, j.retry_num,
                                j.retry_reason, req.body, j.job.hops);
  auto me = caf::actor_cast<webhook_scheduler_actor>(self);
  st.post(std::move(req), [me, id](http_post_result r) {
    caf::anon_send(me, result_atom::value, id, std::move(r));
  });
}

// Starts the job's next attempt now, or when its host has a free slot.
void start(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto& host = st.hosts[st.jobs[id].host];
  if (host.active < st.opts.max_per_host)
    launch(self, id);
  else
    host.waiting.push_back(id);
}

// A request to `host` ended: the next waiting job gets its slot.
void release(self_ptr self, const std::string& host_name) {
  auto& st = self->state;
  auto i = st.hosts.find(host_name);
  if (i == st.hosts.end())
    return;
  auto& host = i->second;
  host.active -= 1;
  while (!host.waiting.empty() && host.active < st.opts.max_per_host) {
    auto next = host.waiting.front();
    host.waiting.pop_front();
    if (st.jobs.count(next))
      launch(self, next);
  }
  if (host.active == 0 && host.waiting.empty())
    st.hosts.erase(i);
}

void on_result(self_ptr self, uint64_t id, http_post_result& r) {
  auto& st = self->state;
  auto i = st.jobs.find(id);
  if (i == st.jobs.end())
    return;
  auto& j = i->second;
  release(self, j.host);
  if (auto* reg = st.opts.metrics) {
    auto label = outcome_label(r);
    auto& counter = st.attempts_by_outcome[label];
    if (!counter)
      counter = &reg->get_counter("nod_webhook_attempts_total",
                                  "Webhook attempts by outcome.",
                                  std::string{"result=\""} + label + "\"");
    counter->inc();
    if (!st.attempt_seconds)
      st.attempt_seconds = &reg->get_histogram("nod_webhook_seconds",
                                               "Time of one webhook attempt.",
                                               metrics::latency_bounds());
    st.attempt_seconds->observe(static_cast<double>(r.elapsed_us) / 1e6);
  }
  webhook_attempt a;
  a.retry_num = j.retry_num;
  a.delivery_id = j.delivery_id;
  a.at_ms = j.started_ms;
  a.result = r;
  // A 410, or an address the policy refuses: trying again changes nothing.
  bool gone = (r.failure == post_failure::none && r.status == 410)
              || r.failure == post_failure::blocked_address;
  if (is_success(r) || gone || j.retry_num + 1 >= st.opts.policy.attempts) {
    a.final = true;
    self->send(j.who, attempt_atom::value, std::move(a));
    st.jobs.erase(i);
    return;
  }
  auto delay
    = backoff_delay_ms(st.opts.policy, j.retry_num + 1, st.opts.unit_random());
  if (!r.retry_after.empty())
    if (auto wait = parse_retry_after(r.retry_after, now_ms()))
      delay = std::min(*wait, st.opts.policy.retry_after_max_ms);
  a.next_attempt_ms = now_ms() + delay;
  j.retry_reason = retry_reason(r);
  self->send(j.who, attempt_atom::value, std::move(a));
  self->delayed_send(self, std::chrono::milliseconds{delay}, retry_atom::value,
                     id);
}

} // namespace

webhook_scheduler_actor::behavior_type
webhook_scheduler(self_ptr self, http_poster post, webhook_options opts) {
  auto& st = self->state;
  st.post = std::move(post);
  st.opts = std::move(opts);
  if (!st.opts.unit_random) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    st.opts.unit_random = [rng] {
      return std::uniform_real_distribution<double>{0.0, 1.0}(*rng);
    };
  }
  if (st.opts.policy.attempts == 0)
    st.opts.policy.attempts = 1;
  if (st.opts.max_per_host == 0)
    st.opts.max_per_host = 1;
  return {
    [self](webhook_atom, webhook_job& job, webhook_listener_actor who) {
      auto& st = self->state;
      auto url = parse_http_url(job.url);
      if (!url) {
        webhook_attempt a;
        a.at_ms = now_ms();
        a.final = true;
        a.result.failure = post_failure::connection_error;
        a.result.error = "invalid webhook_url";
        self->send(who, attempt_atom::value, std::move(a));
        return;
      }
      auto id = st.next_job++;
      auto& j = st.jobs[id];
      j.job = std::move(job);
      j.who = std::move(who);
      j.host = url->host + ":" + url->port;
      start(self, id);
    },
    [self](result_atom, uint64_t id, http_post_result& r) {
      on_result(self, id, r);
    },
    [self](retry_atom, uint64_t id) {
      auto& st = self->state;
      auto i = st.jobs.find(id);
      if (i == st.jobs.end())
        return;
      i->second.retry_num += 1;
      start(self, id);
    },
  };
}

} // namespace nod
