#include "net/agent_api.hpp"

#include "actors/error.hpp"
#include "actors/notifier.hpp"
#include "metrics/metrics.hpp"
#include "net/agent_handlers.hpp"
#include "net/api_util.hpp"
#include "net/ask.hpp"
#include "net/server.hpp"
#include "net/session_socket.hpp"
#include "net/websocket.hpp"
#include "protocol/credentials.hpp"
#include "protocol/ids.hpp"
#include "protocol/outbound.hpp"
#include "protocol/time.hpp"
#include "protocol/token_bucket.hpp"
#include "protocol/webhook.hpp"

#include <caf/actor_system.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <charconv>
#include <chrono>
#include <mutex>
#include <spdlog/spdlog.h>
#include <unordered_map>

namespace nod::net::agent {

/// Answers 429 with `Retry-After` when `key` is over its request rate.
bool over_limit(rate_limiter& limiter, uint64_t key, const responder& respond) {
  auto wait = limiter.take(key);
  if (wait == 0)
    return false;
  auto res = error_response(429, "rate limit exceeded");
  res.headers.emplace_back("Retry-After", std::to_string(wait));
  respond(std::move(res));
  return true;
}

namespace {

/// What a poll may wait at most (A6: 60 s).
constexpr int64_t max_wait_s = 60;

/// Asks accounts for the agent's credentials from `self`, then runs
/// `next` (401 for wrong ones).
void agent_call(caf::event_based_actor* self, const ctx_ptr& ctx, uint64_t id,
                const std::string& secret, const std::string& client,
                agent_step next, responder respond) {
  auto epoch = ctx->agents.epoch();
  self
    ->request(ctx->api.accounts, ask_timeout, agent_auth_atom::value, id,
              secret, client)
    .then(
      [self, ctx, epoch, next](agent_record& agent) {
        ctx->agents.put(agent, epoch);
        next(self, agent);
      },
      [respond](caf::error& err) {
        auto code = code_of(err);
        if (code == ec::not_found || code == ec::unauthenticated)
          respond(error_response(401, "missing or invalid agent credentials"));
        else
          respond(from_error(err));
      });
}

/// Agent credentials checked when a request's headers arrive, before its
/// body is read: a caller without valid ones never gets to send a body.
/// The answer is remembered in the auth cache, so the handler finds the
/// agent there.
gate_verdict check_agent_early(const ctx_ptr& ctx, const http_request& head) {
  auto id = parse_id64("agt_", head.header("x-nod-agent-id"));
  auto& secret = head.header("x-nod-secret");
  if (!id || secret.empty())
    return gate_verdict::refused(
      error_response(401, "missing or invalid agent credentials"));
  if (ctx->agents.find(*id, secret))
    return {};
  gate_verdict verdict;
  verdict.later
    = [ctx, id = *id, secret, client = head.client](gate_decision decide) {
        ctx->api.edge->post(
          [ctx, id, secret, client, decide](caf::event_based_actor* self) {
            agent_call(
              self, ctx, id, secret, client,
              [decide](caf::event_based_actor*, const agent_record&) {
                decide(std::nullopt);
              },
              [decide](http_response res) {
                decide(std::move(res));
              });
          });
      };
  return verdict;
}

} // namespace

void with_agent(const ctx_ptr& ctx, const http_request& req,
                const responder& respond, agent_step next) {
  auto id = parse_id64("agt_", req.header("x-nod-agent-id"));
  auto& secret = req.header("x-nod-secret");
  if (!id || secret.empty()) {
    respond(error_response(401, "missing or invalid agent credentials"));
    return;
  }
  if (over_limit(ctx->limiter, *id, respond))
    return;
  if (auto agent = ctx->agents.find(*id, secret))
    ctx->api.edge->post([next = std::move(next), agent = std::move(*agent)](
                          caf::event_based_actor* self) {
      next(self, agent);
    });
  else
    ctx->api.edge->post([ctx, id = *id, secret, client = req.client,
                         next = std::move(next),
                         respond](caf::event_based_actor* self) {
      agent_call(self, ctx, id, secret, client, next, respond);
    });
}

namespace {

/// The request's agent when this edge has checked the same credentials
/// before and they are still current; nothing otherwise.
std::optional<agent_record> known_agent(const ctx_ptr& ctx,
                                        const http_request& req) {
  auto id = parse_id64("agt_", req.header("x-nod-agent-id"));
  if (!id)
    return std::nullopt;
  return ctx->agents.find(*id, req.header("x-nod-secret"));
}

// POST /api/agent/events (A2): straight to ingest for an agent the edge
// knows, else one edge job for both hops (check the credentials, then
// ingest); the body is parsed once, by ingest (a 400 names what is wrong).
void post_event(const ctx_ptr& ctx, const http_request& req,
                responder respond) {
  auto& type = req.header("content-type");
  if (!type.empty() && type.find("json") == std::string::npos) {
    respond(error_response(415, "content-type must be application/json"));
    return;
  }
  // Hot path: a known agent's event goes straight to ingest.
  if (auto agent = known_agent(ctx, req)) {
    if (over_limit(ctx->limiter, agent->id, respond))
      return;
    ask<std::string>(
      ctx->api.ingest,
      [respond](caf::expected<std::string> reply) {
        if (reply)
          respond(json_response(200, std::move(*reply)));
        else
          respond(from_error(reply.error()));
      },
      ingest_atom::value, std::move(*agent), req.body,
      req.header("idempotency-key"));
    return;
  }
  with_agent(
    ctx, req, respond,
    [ctx, body = req.body, idem = req.header("idempotency-key"),
     respond](caf::event_based_actor* self, const agent_record& agent) {
      self
        ->request(ctx->api.ingest, ask_timeout, ingest_atom::value, agent, body,
                  idem)
        .then(
          [respond](std::string& reply) {
            respond(json_response(200, std::move(reply)));
          },
          [respond](caf::error& err) {
            respond(from_error(err));
          });
    });
}

} // namespace

bool query_int(const http_request& req, const responder& respond,
               const char* name, int64_t min, int64_t max, int64_t& out) {
  std::string text;
  if (!req.query_param(name, text))
    return true;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || n < min
      || n > max) {
    respond(error_response(400, std::string{name} + ": must be an integer from "
                                  + std::to_string(min) + " to "
                                  + std::to_string(max)));
    return false;
  }
  out = n;
  return true;
}

namespace {

std::string events_array(const std::vector<stream_event>& events) {
  std::string out = "[";
  for (auto& e : events) {
    if (out.size() > 1)
      out += ',';
    out += with_seq(e.payload, e.seq);
  }
  out += ']';
  return out;
}

/// How long a request to an actor may take when it includes a wait.
caf::timespan wait_budget(int64_t wait_s) {
  return std::chrono::seconds{wait_s} + ask_timeout;
}

// GET /api/agent/inbox?after=&limit=&wait= (A6): pending events in seq
// order; with `wait`, held until one arrives. The notifier version is read
// before the inbox, so an event parked in between ends the wait at once.
void get_inbox(const ctx_ptr& ctx, const http_request& req, responder respond) {
  int64_t after = 0;
  int64_t limit = 100;
  int64_t wait = 0;
  if (!query_int(req, respond, "after", 0, INT64_MAX, after)
      || !query_int(req, respond, "limit", 1, 1000, limit)
      || !query_int(req, respond, "wait", 0, max_wait_s, wait))
    return;
  with_agent(
    ctx, req, respond,
    [ctx, after, limit, wait, respond](caf::event_based_actor* self,
                                       const agent_record& agent) {
      auto read = [ctx, self, id = agent.id, after, limit,
                   respond](auto on_events) {
        self
          ->request(ctx->api.journal, ask_timeout, inbox_atom::value, id,
                    static_cast<uint64_t>(after), static_cast<uint32_t>(limit))
          .then(on_events, [respond](caf::error& err) {
            respond(from_error(err));
          });
      };
      self->request(ctx->api.notifier, ask_timeout, version_atom::value)
        .then(
          [=](uint64_t version) {
            read([=](std::vector<stream_event>& events) {
              if (!events.empty() || wait == 0) {
                respond(json_response(200, events_array(events)));
                return;
              }
              self
                ->request(ctx->api.notifier, wait_budget(wait),
                          watch_atom::value, inbox_key(agent.id), version,
                          caf::timespan{std::chrono::seconds{wait}})
                .then(
                  [=](bool) {
                    read([=](std::vector<stream_event>& again) {
                      respond(json_response(200, events_array(again)));
                    });
                  },
                  [=](caf::error& err) {
                    respond(from_error(err));
                  });
            });
          },
          [=](caf::error& err) {
            respond(from_error(err));
          });
    });
}

// POST /api/agent/inbox/ack {"seq": N}: everything pending up to N is
// delivered.
void ack_inbox(const ctx_ptr& ctx, const http_request& req, responder respond) {
  std::optional<int64_t> seq;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        if (!json::get_int(doc, "seq", 0, INT64_MAX, seq, err))
          return false;
        if (!seq)
          err.message = "seq: is required";
        return seq.has_value();
      }))
    return;
  with_agent(ctx, req, respond,
             [ctx, seq = static_cast<uint64_t>(*seq), respond](
               caf::event_based_actor* self, const agent_record& agent) {
               self
                 ->request(ctx->api.outbox, ask_timeout, ack_atom::value,
                           agent.id, agent.owner, seq)
                 .then(
                   [respond](uint64_t n) {
                     json::writer w;
                     w.start_object();
                     w.field("status", "ok");
                     w.field("acked", static_cast<int64_t>(n));
                     w.end_object();
                     respond(json_response(200, w.str()));
                   },
                   [respond](caf::error& err) {
                     respond(from_error(err));
                   });
             });
}

// GET /api/agent/decisions/{id}?wait= (A6): the decision, held until it is
// resolved or the wait passes.
void get_decision(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  auto decision = parse_id64("dec_", req.param("id"));
  int64_t wait = 0;
  if (!query_int(req, respond, "wait", 0, max_wait_s, wait))
    return;
  with_agent(
    ctx, req, respond,
    [ctx, decision, wait, respond](caf::event_based_actor* self,
                                   const agent_record& agent) {
      if (!decision) {
        respond(error_response(404, "decision not found"));
        return;
      }
      // Reads the decision; `then(obj)` runs only for the agent's own.
      auto read = [=](auto then) {
        self
          ->request(ctx->api.reader, ask_timeout, agent_decision_atom::value,
                    agent.id, *decision)
          .then(
            [=](agent_decision& d) {
              then(d.json, d.pending);
            },
            [=](caf::error& err) {
              respond(from_error(err));
            });
      };
      self->request(ctx->api.notifier, ask_timeout, version_atom::value)
        .then(
          [=](uint64_t version) {
            read([=](const std::string& obj, bool pending) {
              if (!pending || wait == 0) {
                respond(json_response(200, obj));
                return;
              }
              self
                ->request(ctx->api.notifier, wait_budget(wait),
                          watch_atom::value, decision_key(*decision), version,
                          caf::timespan{std::chrono::seconds{wait}})
                .then(
                  [=](bool) {
                    read([=](const std::string& again, bool) {
                      respond(json_response(200, again));
                    });
                  },
                  [=](caf::error& err) {
                    respond(from_error(err));
                  });
            });
          },
          [=](caf::error& err) {
            respond(from_error(err));
          });
    });
}

ws_callbacks open_agent_socket(const ctx_ptr& ctx, const http_request& req,
                               std::shared_ptr<ws_connection> conn) {
  auto session = ctx->api.sys->spawn(agent_session, link_to(conn, req.client),
                                     req.param("agent_id"), ctx->api.accounts,
                                     ctx->api.directory, ctx->api.ingest,
                                     ctx->api.outbox, ctx->api.sessions);
  return forward_to(session, conn);
}

} // namespace
} // namespace nod::net::agent

namespace nod::net {

void add_agent_api(server& srv, agent_api_context api) {
  using namespace agent;
  api.edge = std::make_shared<edge_actors>(*api.sys,
                                           api.sys->scheduler().num_workers());
  auto ctx = std::make_shared<context>(std::move(api));
  auto bind
    = [ctx](void (*fn)(const ctx_ptr&, const http_request&, responder)) {
        return [ctx, fn](const http_request& req, responder respond) {
          fn(ctx, req, std::move(respond));
        };
      };
  auto agent_gate = [ctx](const http_request& head) {
    return check_agent_early(ctx, head);
  };
  auto& r = srv.routes();
  auto add = [&](const char* method, const char* pattern, handler h) {
    r.add(method, pattern, std::move(h), agent_gate);
  };
  add("POST", "/api/agent/events", bind(post_event));
  add("GET", "/api/agent/inbox", bind(get_inbox));
  add("POST", "/api/agent/inbox/ack", bind(ack_inbox));
  add("GET", "/api/agent/decisions/{id}", bind(get_decision));
  add("GET", "/api/agent/me", bind(get_me));
  add("GET", "/api/agent/decisions", bind(list_decisions));
  add("GET", "/api/agent/conversations", bind(list_conversations));
  add("GET", "/api/agent/conversations/{id}/messages", bind(list_messages));
  add("POST", "/api/agent/tasks", bind(create_task));
  add("GET", "/api/agent/tasks", bind(list_tasks));
  add("GET", "/api/agent/tasks/due", bind(list_due_runs));
  add("GET", "/api/agent/tasks/triggers/pending", bind(list_pending_triggers));
  add("GET", "/api/agent/tasks/{task_id}", bind(get_task));
  add("PATCH", "/api/agent/tasks/{task_id}", bind(patch_task));
  add("DELETE", "/api/agent/tasks/{task_id}", bind(delete_task));
  add("GET", "/api/agent/tasks/{task_id}/runs", bind(list_runs));
  add("POST", "/api/agent/tasks/{task_id}/run/start", bind(start_run));
  add("POST", "/api/agent/tasks/runs/{run_id}/complete", bind(complete_run));
  add("POST", "/api/agent/tasks/{task_id}/run/complete", bind(complete_run));
  r.add("POST", "/webhook/{trigger_id}", bind(inbound_trigger),
        check_trigger_early);
  srv.add_websocket(
    "/ws/agent/{agent_id}",
    [ctx](const http_request& req, std::shared_ptr<ws_connection> conn) {
      return open_agent_socket(ctx, req, std::move(conn));
    });
}

} // namespace nod::net
