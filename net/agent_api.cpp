#include "net/agent_api.hpp"

#include "actors/error.hpp"
#include "net/api_util.hpp"
#include "net/ask.hpp"
#include "net/server.hpp"
#include "net/session_socket.hpp"
#include "net/websocket.hpp"
#include "protocol/ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <cmath>
#include <mutex>
#include <unordered_map>

namespace nod::net {

namespace {

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
    auto [i, added] = buckets_.try_emplace(agent, bucket{burst_, now});
    auto& b = i->second;
    auto elapsed = std::chrono::duration<double>(now - b.refilled).count();
    b.refilled = now;
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return static_cast<int64_t>(std::ceil((1 - b.tokens) / rate_));
  }

private:
  struct bucket {
    double tokens;
    std::chrono::steady_clock::time_point refilled;
  };
  double rate_;
  double burst_;
  std::mutex mtx_;
  std::unordered_map<uint64_t, bucket> buckets_;
};

struct context {
  context(agent_api_context ctx)
    : api(std::move(ctx)), limiter(api.sessions.rate, api.sessions.burst) {}

  agent_api_context api;
  rate_limiter limiter;
};

using ctx_ptr = std::shared_ptr<context>;

/// Checks an agent's credentials, then hands its event to ingest, and
/// answers the REST request. (State comes as spawn arguments: see
/// ask_actor.)
void post_event_actor(caf::event_based_actor* self, ctx_ptr ctx, uint64_t id,
                      std::string secret, std::string body, std::string idem,
                      responder respond) {
  self
    ->request(ctx->api.accounts, ask_timeout, agent_auth_atom::value, id,
              secret)
    .then(
      [=](agent_record& agent) {
        self
          ->request(ctx->api.ingest, ask_timeout, ingest_atom::value,
                    std::move(agent), body, idem)
          .then(
            [respond](std::string& reply) {
              respond(json_response(200, std::move(reply)));
            },
            [respond](caf::error& err) {
              respond(from_error(err));
            });
      },
      [respond](caf::error& err) {
        auto code = code_of(err);
        if (code == ec::not_found || code == ec::unauthenticated)
          respond(error_response(401, "missing or invalid agent credentials"));
        else
          respond(from_error(err));
      });
}

void post_event(const ctx_ptr& ctx, const http_request& req,
                responder respond) {
  // A1: missing, wrong or unknown credentials are all the same 401.
  auto id = parse_id64("agt_", req.header("x-nod-agent-id"));
  auto& secret = req.header("x-nod-secret");
  if (!id || secret.empty()) {
    respond(error_response(401, "missing or invalid agent credentials"));
    return;
  }
  // The body is parsed once, by ingest (a 400 names what is wrong).
  auto& type = req.header("content-type");
  if (!type.empty() && type.find("json") == std::string::npos) {
    respond(error_response(415, "content-type must be application/json"));
    return;
  }
  if (auto wait = ctx->limiter.take(*id); wait > 0) {
    auto res = error_response(429, "rate limit exceeded");
    res.headers.emplace_back("Retry-After", std::to_string(wait));
    respond(std::move(res));
    return;
  }
  // One short-lived actor for both hops (check the credentials, then
  // ingest): the REST path's cost is mostly these hops.
  ctx->api.sys->spawn(post_event_actor, ctx, *id, secret, req.body,
                      req.header("idempotency-key"), std::move(respond));
}

ws_callbacks open_agent_socket(const ctx_ptr& ctx, const http_request& req,
                               std::shared_ptr<ws_connection> conn) {
  auto session = ctx->api.sys->spawn(
    agent_session, link_to(conn), req.param("agent_id"), ctx->api.accounts,
    ctx->api.directory, ctx->api.ingest, ctx->api.sessions);
  return forward_to(session, conn);
}

} // namespace

void add_agent_api(server& srv, agent_api_context api) {
  auto ctx = std::make_shared<context>(std::move(api));
  srv.routes().add("POST", "/api/agent/events",
                   [ctx](const http_request& req, responder respond) {
                     post_event(ctx, req, std::move(respond));
                   });
  srv.add_websocket(
    "/ws/agent/{agent_id}",
    [ctx](const http_request& req, std::shared_ptr<ws_connection> conn) {
      return open_agent_socket(ctx, req, std::move(conn));
    });
}

} // namespace nod::net
