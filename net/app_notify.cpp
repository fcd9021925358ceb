// Reaching the person outside the app (issue #19, docs/notifications.md):
// the VAPID key, browsers' push subscriptions, notification settings and
// channel tests. Everything is the signed-in person's own.

#include "net/app_handlers.hpp"
#include "protocol/address_policy.hpp"

namespace nod::net::app {

namespace {

/// A URL the server will POST to must pass the outbound policy where that
/// can be told now (a literal address); names are checked when connecting.
bool check_outbound(const app_api_context& ctx, const std::string& url,
                    const char* field, json::field_error& err) {
  auto why = literal_host_refusal(url, ctx.webhook_hosts);
  if (!why)
    return true;
  err.field = field;
  err.message = std::string{field} + ": " + *why;
  return false;
}

/// Asks the alerts actor `atom, <the signed-in person>, extra...` and
/// answers its JSON with `status`.
template <class Atom, class... Ts>
void ask_for_person(const ctx_ptr& ctx, const http_request& req,
                    responder respond, unsigned status, Atom atom,
                    Ts... extra) {
  with_user(ctx, req, std::move(respond),
            [ctx, status, atom, extra...](const user_record& user,
                                          const responder& respond) {
              ask<std::string>(
                ctx->alerts,
                [respond, status](caf::expected<std::string> r) {
                  if (!r)
                    respond(from_error(r.error()));
                  else
                    respond(json_response(status, *r));
                },
                atom, user.id, extra...);
            });
}

} // namespace

// GET /api/push/key: what `PushManager.subscribe` needs as
// `applicationServerKey`.
void push_key(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_user(ctx, req, std::move(respond),
            [ctx](const user_record&, const responder& respond) {
              ask<std::string>(
                ctx->alerts,
                [respond](caf::expected<std::string> key) {
                  if (!key) {
                    respond(from_error(key.error()));
                    return;
                  }
                  json::writer w;
                  w.start_object();
                  w.field("public_key", *key);
                  w.end_object();
                  respond(json_response(200, w.str()));
                },
                push_key_atom::value);
            });
}

// POST /api/push/subscriptions: the browser's PushSubscription JSON as it is.
void add_subscription(const ctx_ptr& ctx, const http_request& req,
                      responder respond) {
  push_subscription sub;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_push_subscription(doc, sub, err)
               && check_outbound(*ctx, sub.endpoint, "endpoint", err);
      }))
    return;
  ask_for_person(ctx, req, std::move(respond), 201, subscribe_atom::value, sub);
}

void list_subscriptions(const ctx_ptr& ctx, const http_request& req,
                        responder respond) {
  ask_for_person(ctx, req, std::move(respond), 200, subs_atom::value);
}

void delete_subscription(const ctx_ptr& ctx, const http_request& req,
                         responder respond) {
  with_path_id(
    ctx, req, "psub_", std::move(respond),
    [ctx](const user_record& user, uint64_t id, const responder& respond) {
      ask<bool>(
        ctx->alerts,
        [respond](caf::expected<bool> r) {
          if (!r)
            respond(from_error(r.error()));
          else
            respond(json_response(204, ""));
        },
        unsubscribe_atom::value, user.id, id);
    });
}

void get_notifications(const ctx_ptr& ctx, const http_request& req,
                       responder respond) {
  ask_for_person(ctx, req, std::move(respond), 200, prefs_atom::value);
}

// PATCH /api/notifications: top-level members replace their part.
void patch_notifications(const ctx_ptr& ctx, const http_request& req,
                         responder respond) {
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        // Validated in full by the actor; the outbound URLs here, where
        // the address policy is known.
        alert_prefs probe;
        if (!apply_prefs_patch(doc, probe, err))
          return false;
        if (probe.ntfy
            && !check_outbound(*ctx, probe.ntfy->server, "channels.ntfy.server",
                               err))
          return false;
        return !probe.slack
               || check_outbound(*ctx, probe.slack->webhook_url,
                                 "channels.slack.webhook_url", err);
      }))
    return;
  ask_for_person(ctx, req, std::move(respond), 200, prefs_atom::value,
                 req.body);
}

// POST /api/notifications/{channel}/test: answers once the first attempt
// ended, with its outcome.
void test_notification(const ctx_ptr& ctx, const http_request& req,
                       responder respond) {
  ask_for_person(ctx, req, std::move(respond), 200, test_atom::value,
                 req.param("channel"));
}

} // namespace nod::net::app
