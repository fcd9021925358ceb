#pragma once

#include "actors/actors.hpp"

#include <caf/fwd.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

namespace nod::metrics {
class counter;
class histogram;
} // namespace nod::metrics

namespace nod {

namespace metrics {
class registry;
} // namespace metrics

/// Settings of the webhook scheduler.
struct webhook_options {
  retry_policy policy;
  /// Whole-attempt timeout (A7: 30 s).
  int64_t timeout_ms = 30000;
  /// Requests in flight to one host:port at most; the rest wait their
  /// turn, so one slow receiver cannot take every connection.
  size_t max_per_host = 4;
  /// Random draws in [0, 1) for jitter; tests fix them.
  std::function<double()> unit_random;
  /// Where to count attempts and their latency; may be null.
  metrics::registry* metrics = nullptr;
};

/// State of the webhook scheduler.
struct webhook_scheduler_state {
  static inline const char* name = "webhook_scheduler";

  struct job_state {
    webhook_job job;
    webhook_listener_actor who;
    /// host:port, the unit of the concurrency limit.
    std::string host;
    unsigned retry_num = 0;
    std::string retry_reason = "first_attempt";
    std::string delivery_id;
    int64_t started_ms = 0;
  };
  struct host_state {
    size_t active = 0;
    std::deque<uint64_t> waiting;
  };

  http_poster post;
  webhook_options opts;
  std::unordered_map<uint64_t, job_state> jobs;
  std::unordered_map<std::string, host_state> hosts;
  uint64_t next_job = 1;
  /// `nod_webhook_attempts_total` by outcome label, and
  /// `nod_webhook_seconds`, looked up once (a lookup by name locks); null
  /// without metrics.
  std::unordered_map<std::string, metrics::counter*> attempts_by_outcome;
  metrics::histogram* attempt_seconds = nullptr;
};

/// Behavior of the webhook scheduler: `post` performs the HTTP requests.
webhook_scheduler_actor::behavior_type webhook_scheduler(
  webhook_scheduler_actor::stateful_pointer<webhook_scheduler_state> self,
  http_poster post, webhook_options opts);

} // namespace nod
