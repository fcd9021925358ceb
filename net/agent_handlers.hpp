#pragma once

// The agent API's handlers (API.md A1-A7), split by resource: events,
// polls and the socket (agent_api.cpp), tasks and trigger URLs
// (agent_tasks.cpp), what an agent reads back (agent_reads.cpp); and what
// they share: the edge's rate limits and credential cache, and the step
// that authenticates a request before its handler runs.

#include "actors/actors.hpp"
#include "actors/agent_cache.hpp"
#include "net/agent_api.hpp"
#include "net/api_util.hpp"
#include "net/ask.hpp"
#include "net/http.hpp"
#include "protocol/credentials.hpp"
#include "protocol/token_bucket.hpp"

#include <atomic>
#include <caf/event_based_actor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace nod::net::agent {

/// Per-agent token buckets for the REST path. It lives at the network
/// edge, like a proxy's request limit, so a flood is refused before it
/// costs an actor hop.
class rate_limiter {
public:
  rate_limiter(double rate, double burst) : rate_(rate), burst_(burst) {}

  /// Takes a token for `agent`; 0 when allowed, else the seconds to wait.
  int64_t take(uint64_t agent) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = buckets_.try_emplace(agent, rate_, burst_, now).first;
    return i->second.take(now);
  }

private:
  double rate_;
  double burst_;
  std::mutex mtx_;
  std::unordered_map<uint64_t, token_bucket> buckets_;
};

/// Agents whose credentials checked out, for every agent REST call: a hit
/// spares the round trip to accounts. An `agent_cache` (valid while the
/// accounts actor's agents epoch stands: any agent changed, rotated,
/// edited, deleted, moves it, so a rotated secret stops working at once,
/// as through accounts) shared by the io threads, plus the secret check.
class auth_cache {
public:
  explicit auth_cache(std::shared_ptr<const std::atomic<uint64_t>> epoch)
    : agents_(std::move(epoch)) {}

  /// The epoch now; read before asking accounts, stored with the answer.
  uint64_t epoch() const {
    return agents_.epoch();
  }

  /// The agent if `secret` is its secret and the entry is current.
  std::optional<agent_record> find(uint64_t id, const std::string& secret) {
    auto presented = sha256_hex(secret); // outside the lock
    std::lock_guard<std::mutex> guard{mtx_};
    auto* agent = agents_.find(id);
    // A wrong secret goes the slow way, which answers 401.
    if (!agent || !constant_time_equal(presented, agent->secret_hash))
      return std::nullopt;
    return *agent;
  }

  /// Remembers `agent`, authenticated by accounts at `epoch`.
  void put(const agent_record& agent, uint64_t epoch) {
    std::lock_guard<std::mutex> guard{mtx_};
    agents_.put(agent, epoch);
  }

private:
  std::mutex mtx_;
  agent_cache agents_;
};

struct context {
  context(agent_api_context ctx)
    : api(std::move(ctx)), limiter(api.sessions.rate, api.sessions.burst),
      agents(api.agents_epoch),
      trigger_limiter(api.trigger_rate, api.trigger_burst) {}

  agent_api_context api;
  rate_limiter limiter;
  auth_cache agents;
  /// Per inbound trigger URL, keyed by a hash of its id.
  rate_limiter trigger_limiter;
};

using ctx_ptr = std::shared_ptr<context>;

/// Answers 429 with `Retry-After` when `key` is over its request rate.
bool over_limit(rate_limiter& limiter, uint64_t key, const responder& respond);

/// Runs `next(self, agent)` as a job on an edge actor once the request's
/// agent credentials check out; answers 401 otherwise (A1: missing, wrong
/// or unknown credentials are all the same 401), 429 over the agent's
/// request rate.
using agent_step
  = std::function<void(caf::event_based_actor*, const agent_record&)>;

void with_agent(const ctx_ptr& ctx, const http_request& req,
                const responder& respond, agent_step next);

/// Reads integer query parameter `name` in [min, max] into `out` (kept
/// when absent); answers 400 and returns false when malformed.
bool query_int(const http_request& req, const responder& respond,
               const char* name, int64_t min, int64_t max, int64_t& out);

/// Sends `msg...` to `dest` from `self` and answers with `status` and
/// `render(reply)`, or the error.
template <class Handle, class Render, class... Ts>
void ask_json(caf::event_based_actor* self, const Handle& dest,
              const responder& respond, int status, Render render,
              Ts&&... msg) {
  self->request(dest, ask_timeout, std::forward<Ts>(msg)...)
    .then(
      [respond, status, render](std::string& reply) {
        respond(json_response(status, render(reply)));
      },
      [respond](caf::error& err) {
        respond(from_error(err));
      });
}

/// The reply as it is.
inline std::string as_is(std::string& reply) {
  return std::move(reply);
}

// -- handlers ----------------------------------------------------------------

// agent_tasks.cpp
void create_task(const ctx_ptr& ctx, const http_request& req,
                 responder respond);
void list_tasks(const ctx_ptr& ctx, const http_request& req, responder respond);
void get_task(const ctx_ptr& ctx, const http_request& req, responder respond);
void patch_task(const ctx_ptr& ctx, const http_request& req, responder respond);
void delete_task(const ctx_ptr& ctx, const http_request& req,
                 responder respond);
void list_runs(const ctx_ptr& ctx, const http_request& req, responder respond);
void list_due_runs(const ctx_ptr& ctx, const http_request& req,
                   responder respond);
void list_pending_triggers(const ctx_ptr& ctx, const http_request& req,
                           responder respond);
void start_run(const ctx_ptr& ctx, const http_request& req, responder respond);
void complete_run(const ctx_ptr& ctx, const http_request& req,
                  responder respond);
gate_verdict check_trigger_early(const http_request& head);
void inbound_trigger(const ctx_ptr& ctx, const http_request& req,
                     responder respond);

// agent_reads.cpp
void get_me(const ctx_ptr& ctx, const http_request& req, responder respond);
void list_decisions(const ctx_ptr& ctx, const http_request& req,
                    responder respond);
void list_conversations(const ctx_ptr& ctx, const http_request& req,
                        responder respond);
void list_messages(const ctx_ptr& ctx, const http_request& req,
                   responder respond);

} // namespace nod::net::agent
