#include "net/app_api.hpp"

#include "net/app_handlers.hpp"
#include "net/ask.hpp"
#include "net/openapi.hpp"
#include "net/server.hpp"
#include "net/session_cache.hpp"
#include "net/session_socket.hpp"
#include "net/websocket.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <memory>

namespace nod::net {

namespace app {

/// The value of cookie `name` in the request's Cookie headers, if set.
std::optional<std::string> cookie_value(const http_request& req,
                                        std::string_view name) {
  for (auto& [key, header] : req.headers) {
    if (key != "cookie")
      continue;
    std::string_view rest{header};
    while (!rest.empty()) {
      auto end = rest.find(';');
      auto part = rest.substr(0, end);
      while (!part.empty() && part.front() == ' ')
        part.remove_prefix(1);
      if (part.size() > name.size() && part.substr(0, name.size()) == name
          && part[name.size()] == '=') {
        return std::string{part.substr(name.size() + 1)};
      }
      if (end == std::string_view::npos)
        break;
      rest.remove_prefix(end + 1);
    }
  }
  return std::nullopt;
}

std::optional<credentials> credentials_of(const http_request& req) {
  auto& auth = req.header("authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() > bearer.size()
      && auth.compare(0, bearer.size(), bearer) == 0)
    return credentials{auth.substr(bearer.size()), false};
  if (auto cookie = cookie_value(req, session_cookie))
    return credentials{std::move(*cookie), true};
  return std::nullopt;
}

bool is_safe_method(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

// With cookie auth a browser sends credentials on cross-site requests too,
// so state-changing ones must prove they come from our own pages: the
// Origin header must be this server's origin (API.md B1).
/// "scheme://host[:port]" of `url`: what a browser sends as Origin.
std::string url_origin(const std::string& url) {
  auto sep = url.find("://");
  if (sep == std::string::npos)
    return url;
  auto end = url.find_first_of("/?#", sep + 3);
  return url.substr(0, end);
}

bool same_origin(const app_api_context& ctx, const http_request& req) {
  auto& origin = req.header("origin");
  if (origin.empty())
    return req.header("sec-fetch-site") == "same-origin";
  // A Host header is the client's to write: with a public URL set, it is
  // the one origin (the URL without a trailing slash or path).
  if (ctx.public_url_set)
    return origin == url_origin(ctx.public_url);
  auto& host = req.header("host");
  return origin == "http://" + host || origin == "https://" + host
         || (!ctx.public_url.empty() && origin == url_origin(ctx.public_url));
}

namespace {

ws_callbacks open_app_socket(const ctx_ptr& ctx, const http_request& req,
                             std::shared_ptr<ws_connection> conn) {
  // Browsers send WebSocket upgrades cross-site with their Origin: the
  // session cookie counts only from this server's own pages (a token in
  // the first frame works from anywhere).
  auto cookie = same_origin(*ctx, req)
                  ? cookie_value(req, session_cookie).value_or("")
                  : std::string{};
  auto session
    = ctx->sys->spawn(app_session, link_to(conn, req.client), ctx->accounts,
                      ctx->directory, std::move(cookie), ctx->app_sessions);
  return forward_to(session, conn);
}

/// A login body is a username and a password: a few hundred bytes.
constexpr uint64_t login_body_limit = 16 * 1024;

/// A person's credentials checked when a request's headers arrive, before
/// its body is read: without valid ones, no body is read.
gate_verdict check_user_early(const ctx_ptr& ctx, const http_request& head) {
  auto creds = credentials_of(head);
  if (!creds)
    return gate_verdict::refused(error_response(401, "missing credentials"));
  if (ctx->sessions->find(creds->token))
    return {};
  gate_verdict verdict;
  verdict.later = [ctx, token = creds->token](gate_decision decide) {
    auto epoch = ctx->sessions->epoch();
    ask<session_user>(
      ctx->accounts,
      [ctx, token, epoch, decide](caf::expected<session_user> s) {
        if (!s) {
          decide(from_error(s.error()));
          return;
        }
        ctx->sessions->put(token, s->user, s->expires_ms, epoch);
        decide(std::nullopt);
      },
      auth_atom::value, token);
  };
  return verdict;
}

} // namespace
} // namespace app

void add_app_api(server& srv, app_api_context context) {
  using namespace app;
  context.sessions = std::make_shared<session_cache>(context.sessions_epoch);
  auto ctx = std::make_shared<const app_api_context>(std::move(context));
  auto bind
    = [ctx](void (*fn)(const ctx_ptr&, const http_request&, responder)) {
        return [ctx, fn](const http_request& req, responder respond) {
          fn(ctx, req, std::move(respond));
        };
      };
  // Every route but login takes a session: a request with a body is
  // checked for one before the body is read.
  struct gated_router {
    router& routes;
    gate check;
    void add(const char* method, const char* pattern, handler h) {
      routes.add(method, pattern, std::move(h), check);
    }
  } r{srv.routes(), [ctx](const http_request& head) {
        return check_user_early(ctx, head);
      }};
  srv.routes().add("POST", "/api/auth/login", bind(login),
                   [](const http_request&) {
                     gate_verdict verdict;
                     verdict.body_limit = login_body_limit;
                     return verdict;
                   });
  // The API's own description is public, like its documentation.
  srv.routes().add("GET", "/api/openapi.json",
                   [](const http_request&, responder respond) {
                     respond(json_response(200, std::string{openapi_json()}));
                   });
  r.add("POST", "/api/auth/logout", bind(logout));
  r.add("GET", "/api/me", bind(get_me));
  r.add("POST", "/api/users", bind(add_user));
  r.add("POST", "/api/agents", bind(create_agent));
  r.add("GET", "/api/agents", bind(list_agents));
  r.add("GET", "/api/agents/{id}", bind(get_agent));
  r.add("PATCH", "/api/agents/{id}", bind(patch_agent));
  r.add("DELETE", "/api/agents/{id}", bind(delete_agent));
  r.add("POST", "/api/agents/{id}/secret", bind(rotate_secret));
  r.add("POST", "/api/agents/{id}/webhook-secret", bind(rotate_webhook_secret));
  r.add("GET", "/api/agents/{id}/conversations", bind(list_conversations));
  r.add("GET", "/api/conversations/{id}/messages", bind(list_messages));
  r.add("GET", "/api/decisions", bind(list_decisions));
  r.add("GET", "/api/decisions/{id}", bind(get_decision));
  r.add("POST", "/api/decisions/{id}/resolve", bind(resolve_decision));
  r.add("POST", "/api/agents/{id}/messages", bind(send_message));
  r.add("GET", "/api/agents/{id}/deliveries", bind(list_deliveries));
  r.add("GET", "/api/activity", bind(list_activity));
  r.add("POST", "/api/tasks/{agent_id}", bind(create_task));
  r.add("GET", "/api/tasks", bind(list_tasks));
  r.add("GET", "/api/tasks/{id}", bind(get_task));
  r.add("PATCH", "/api/tasks/{id}", bind(patch_task));
  r.add("DELETE", "/api/tasks/{id}", bind(delete_task));
  r.add("POST", "/api/tasks/{id}/run", bind(run_task));
  r.add("GET", "/api/tasks/{id}/runs", bind(list_runs));
  r.add("GET", "/api/push/key", bind(push_key));
  r.add("POST", "/api/push/subscriptions", bind(add_subscription));
  r.add("GET", "/api/push/subscriptions", bind(list_subscriptions));
  r.add("DELETE", "/api/push/subscriptions/{id}", bind(delete_subscription));
  r.add("GET", "/api/notifications", bind(get_notifications));
  r.add("PATCH", "/api/notifications", bind(patch_notifications));
  r.add("POST", "/api/notifications/{channel}/test", bind(test_notification));
  r.add("POST", "/api/admin/backups", bind(create_backup));
  r.add("GET", "/api/admin/backups", bind(list_backups));
  // Media answers a person's session or an agent's credentials, and takes
  // no body.
  srv.routes().add("GET", "/media/{id}", bind(get_media),
                   [](const http_request&) {
                     gate_verdict verdict;
                     verdict.body_limit = 0;
                     return verdict;
                   });
  srv.add_websocket("/ws/app", [ctx](const http_request& req,
                                     std::shared_ptr<ws_connection> conn) {
    return open_app_socket(ctx, req, std::move(conn));
  });
}

} // namespace nod::net
