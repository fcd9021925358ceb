// The people's sign-in: login, logout, who am I, adding users (API.md B1).

#include "net/app_handlers.hpp"
#include "protocol/time.hpp"
#include "protocol/validate.hpp"

#include <string>

namespace nod::net::app {

namespace {

std::string user_json(const user_record& user) {
  json::writer w;
  write_user(w, user);
  return w.str();
}

std::string cookie_header(const app_api_context& ctx, const std::string& token,
                          int64_t max_age_s) {
  auto cookie = std::string{session_cookie} + "=" + token
                + "; Path=/; HttpOnly; SameSite=Strict; Max-Age="
                + std::to_string(max_age_s);
  if (ctx.public_url.rfind("https://", 0) == 0)
    cookie += "; Secure";
  return cookie;
}

} // namespace

void login(const ctx_ptr& ctx, const http_request& req, responder respond) {
  std::string username;
  std::string password;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_login(doc, username, password, err);
      }))
    return;
  ask<login_result>(
    ctx->accounts,
    [ctx, respond](caf::expected<login_result> r) {
      if (!r) {
        respond(from_error(r.error()));
        return;
      }
      json::writer w;
      w.start_object();
      w.field("token", r->token);
      w.key("user");
      write_user(w, r->user);
      w.field("expires_at", iso8601(r->expires_ms));
      w.end_object();
      auto res = json_response(200, w.str());
      // A session token: no cache may keep it.
      res.headers.emplace_back("Cache-Control", "no-store");
      res.headers.emplace_back(
        "Set-Cookie",
        cookie_header(*ctx, r->token, (r->expires_ms - now_ms()) / 1000));
      respond(std::move(res));
    },
    login_atom::value, username, password, req.client);
}

void logout(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_user(
    ctx, req, std::move(respond),
    [ctx, token = credentials_of(req)->token](user_record, responder respond) {
      ask<bool>(
        ctx->accounts,
        [ctx, respond](caf::expected<bool> r) {
          if (!r) {
            respond(from_error(r.error()));
            return;
          }
          auto res = json_response(200, R"({"status":"ok"})");
          res.headers.emplace_back("Set-Cookie", cookie_header(*ctx, "", 0));
          respond(std::move(res));
        },
        logout_atom::value, token);
    });
}

void add_user(const ctx_ptr& ctx, const http_request& req, responder respond) {
  std::string username;
  std::string password;
  bool admin = false;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        std::optional<bool> flag;
        if (!parse_new_user(doc, username, password, err)
            || !json::get_bool(doc, "admin", flag, err))
          return false;
        admin = flag.value_or(false);
        return true;
      }))
    return;
  with_admin(
    ctx, req, "add users", std::move(respond),
    [ctx, username, password, admin](const user_record&, responder respond) {
      ask<user_record>(
        ctx->accounts,
        [respond](caf::expected<user_record> u) {
          if (!u)
            respond(from_error(u.error()));
          else
            respond(json_response(201, user_json(*u)));
        },
        user_add_atom::value, username, password, admin);
    });
}

void get_me(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_user(ctx, req, std::move(respond),
            [](user_record user, responder respond) {
              auto res = json_response(200, user_json(user));
              res.headers.emplace_back("Cache-Control", "no-store");
              respond(std::move(res));
            });
}

} // namespace nod::net::app
