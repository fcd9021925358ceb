#pragma once

// The people's REST handlers, split by resource (app_auth.cpp,
// app_agents.cpp, app_reads.cpp, app_tasks.cpp, app_notify.cpp), and the
// request helpers they share (app_api.cpp). `add_app_api` wires them to their
// routes.

#include "actors/actors.hpp"
#include "net/api_util.hpp"
#include "net/app_api.hpp"
#include "net/ask.hpp"
#include "net/http.hpp"
#include "net/session_cache.hpp"
#include "protocol/ids.hpp"
#include "protocol/json.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nod::net::app {

/// Everything a handler needs, shared by all handlers.
using ctx_ptr = std::shared_ptr<const app_api_context>;

// -- request helpers (app_api.cpp) -------------------------------------------

/// The value of cookie `name` in the request's Cookie headers, if set.
std::optional<std::string> cookie_value(const http_request& req,
                                        std::string_view name);

/// The caller's token and whether it came from the cookie.
struct credentials {
  std::string token;
  bool from_cookie = false;
};

/// The bearer token, else the session cookie, of `req`.
std::optional<credentials> credentials_of(const http_request& req);

/// True for methods that change nothing (GET, HEAD, OPTIONS).
bool is_safe_method(const std::string& method);

// With cookie auth a browser sends credentials on cross-site requests too,
// so state-changing ones must prove they come from our own pages: the
// Origin header must be this server's origin (API.md B1).
bool same_origin(const app_api_context& ctx, const http_request& req);

/// Runs `next(user)` for an authenticated caller, else answers 401/403;
/// on the io thread when the session cache knows the caller, else on the
/// accounts actor's.
template <class F>
void with_user(const ctx_ptr& ctx, const http_request& req, responder respond,
               F next) {
  auto creds = credentials_of(req);
  if (!creds) {
    respond(error_response(401, "missing credentials"));
    return;
  }
  if (creds->from_cookie && !is_safe_method(req.method)
      && !same_origin(*ctx, req)) {
    respond(error_response(403, "cross-origin request refused"));
    return;
  }
  if (auto user = ctx->sessions->find(creds->token)) {
    next(std::move(*user), std::move(respond));
    return;
  }
  auto epoch = ctx->sessions->epoch();
  ask<session_user>(
    ctx->accounts,
    [ctx, token = creds->token, epoch, respond,
     next](caf::expected<session_user> s) {
      if (!s) {
        respond(from_error(s.error()));
        return;
      }
      ctx->sessions->put(token, s->user, s->expires_ms, epoch);
      next(std::move(s->user), respond);
    },
    auth_atom::value, creds->token);
}

/// Runs `next(user, respond)` for an authenticated admin; 403 with
/// "only an admin can WHAT" for anyone else.
template <class F>
void with_admin(const ctx_ptr& ctx, const http_request& req, const char* what,
                responder respond, F next) {
  with_user(
    ctx, req, std::move(respond),
    [what, next](user_record user, responder respond) {
      if (!user.admin) {
        respond(error_response(403, std::string{"only an admin can "} + what));
        return;
      }
      next(std::move(user), std::move(respond));
    });
}

/// Runs `next(user, id, respond)` for an authenticated caller and the id
/// with `prefix` in the path's `{id}` (404 when malformed).
template <class F>
void with_path_id(const ctx_ptr& ctx, const http_request& req,
                  std::string_view prefix, responder respond, F next) {
  auto id = path_id(req, "id", prefix, respond);
  if (!id)
    return;
  with_user(ctx, req, std::move(respond),
            [id = *id, next](user_record user, responder respond) {
              next(user, id, respond);
            });
}

/// `with_path_id` for an agent id (`agt_`).
template <class F>
void with_agent_id(const ctx_ptr& ctx, const http_request& req,
                   responder respond, F next) {
  with_path_id(ctx, req, "agt_", std::move(respond), std::move(next));
}

// -- handlers ----------------------------------------------------------------

// app_auth.cpp
void login(const ctx_ptr& ctx, const http_request& req, responder respond);
void logout(const ctx_ptr& ctx, const http_request& req, responder respond);
void add_user(const ctx_ptr& ctx, const http_request& req, responder respond);
void get_me(const ctx_ptr& ctx, const http_request& req, responder respond);

// app_agents.cpp
void create_agent(const ctx_ptr& ctx, const http_request& req,
                  responder respond);
void list_agents(const ctx_ptr& ctx, const http_request& req,
                 responder respond);
void get_agent(const ctx_ptr& ctx, const http_request& req, responder respond);
void patch_agent(const ctx_ptr& ctx, const http_request& req,
                 responder respond);
void delete_agent(const ctx_ptr& ctx, const http_request& req,
                  responder respond);
void rotate_secret(const ctx_ptr& ctx, const http_request& req,
                   responder respond);
void rotate_webhook_secret(const ctx_ptr& ctx, const http_request& req,
                           responder respond);
void send_message(const ctx_ptr& ctx, const http_request& req,
                  responder respond);

// app_reads.cpp
void list_conversations(const ctx_ptr& ctx, const http_request& req,
                        responder respond);
void list_messages(const ctx_ptr& ctx, const http_request& req,
                   responder respond);
void list_decisions(const ctx_ptr& ctx, const http_request& req,
                    responder respond);
void get_decision(const ctx_ptr& ctx, const http_request& req,
                  responder respond);
void list_activity(const ctx_ptr& ctx, const http_request& req,
                   responder respond);
void resolve_decision(const ctx_ptr& ctx, const http_request& req,
                      responder respond);
void list_deliveries(const ctx_ptr& ctx, const http_request& req,
                     responder respond);
void get_media(const ctx_ptr& ctx, const http_request& req, responder respond);

// app_notify.cpp
void push_key(const ctx_ptr& ctx, const http_request& req, responder respond);
void add_subscription(const ctx_ptr& ctx, const http_request& req,
                      responder respond);
void list_subscriptions(const ctx_ptr& ctx, const http_request& req,
                        responder respond);
void delete_subscription(const ctx_ptr& ctx, const http_request& req,
                         responder respond);
void get_notifications(const ctx_ptr& ctx, const http_request& req,
                       responder respond);
void patch_notifications(const ctx_ptr& ctx, const http_request& req,
                         responder respond);
void test_notification(const ctx_ptr& ctx, const http_request& req,
                       responder respond);

// app_admin.cpp
void create_backup(const ctx_ptr& ctx, const http_request& req,
                   responder respond);
void list_backups(const ctx_ptr& ctx, const http_request& req,
                  responder respond);

// app_tasks.cpp
void create_task(const ctx_ptr& ctx, const http_request& req,
                 responder respond);
void list_tasks(const ctx_ptr& ctx, const http_request& req, responder respond);
void get_task(const ctx_ptr& ctx, const http_request& req, responder respond);
void patch_task(const ctx_ptr& ctx, const http_request& req, responder respond);
void delete_task(const ctx_ptr& ctx, const http_request& req,
                 responder respond);
void run_task(const ctx_ptr& ctx, const http_request& req, responder respond);
void list_runs(const ctx_ptr& ctx, const http_request& req, responder respond);

} // namespace nod::net::app
