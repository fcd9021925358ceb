// What agents sent, as the person reads it: conversations, messages,
// decisions (and resolving them), activity, deliveries and media; the
// reading itself is the `reader` actor's (actors/reader).

#include "actors/error.hpp"
#include "net/app_handlers.hpp"
#include "protocol/ids.hpp"
#include "protocol/validate.hpp"

#include <charconv>
#include <string>
#include <utility>
#include <vector>

namespace nod::net::app {

namespace {

/// Answers with the reader's reply to `msg`: JSON, or the error.
template <class... Ts>
void read_call(const ctx_ptr& ctx, responder respond, Ts&&... msg) {
  ask<std::string>(
    ctx->reader,
    [respond](caf::expected<std::string> json) {
      if (!json)
        respond(from_error(json.error()));
      else
        respond(json_response(200, *json));
    },
    std::forward<Ts>(msg)...);
}

} // namespace

void list_conversations(const ctx_ptr& ctx, const http_request& req,
                        responder respond) {
  auto id = path_id(req, "id", "agt_", respond);
  page_query p;
  if (!id || !read_page(req, respond, "conv_", p))
    return;
  with_user(ctx, req, std::move(respond),
            [ctx, id = *id, p](user_record user, responder respond) {
              read_call(ctx, respond, conversations_atom::value,
                        read_scope{user.id, 0}, id, p);
            });
}

void list_messages(const ctx_ptr& ctx, const http_request& req,
                   responder respond) {
  auto id = path_id(req, "id", "conv_", respond);
  page_query p;
  if (!id || !read_page(req, respond, "msg_", p))
    return;
  with_user(ctx, req, std::move(respond),
            [ctx, id = *id, p](user_record user, responder respond) {
              read_call(ctx, respond, messages_atom::value,
                        read_scope{user.id, 0}, id, p);
            });
}

void list_decisions(const ctx_ptr& ctx, const http_request& req,
                    responder respond) {
  page_query p;
  if (!read_page(req, respond, "dec_", p))
    return;
  list_filter filter;
  if (!read_decision_status(req, respond, filter.status))
    return;
  req.query_param("agent_id", filter.agent_id);
  with_user(ctx, req, std::move(respond),
            [ctx, p, filter](user_record user, responder respond) {
              read_call(ctx, respond, decisions_atom::value,
                        read_scope{user.id, 0}, p, filter);
            });
}

void get_decision(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  auto id = path_id(req, "id", "dec_", respond);
  if (!id)
    return;
  with_user(ctx, req, std::move(respond),
            [ctx, id = *id](user_record user, responder respond) {
              read_call(ctx, respond, decision_atom::value, user.id, id);
            });
}

void list_activity(const ctx_ptr& ctx, const http_request& req,
                   responder respond) {
  page_query p;
  if (!read_page(req, respond, "act_", p))
    return;
  list_filter filter;
  req.query_param("agent_id", filter.agent_id);
  with_user(ctx, req, std::move(respond),
            [ctx, p, filter](user_record user, responder respond) {
              read_call(ctx, respond, activity_atom::value, user.id, p, filter);
            });
}

void resolve_decision(const ctx_ptr& ctx, const http_request& req,
                      responder respond) {
  auto id = path_id(req, "id", "dec_", respond);
  if (!id)
    return;
  resolution r;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_resolution(doc, r, err);
      }))
    return;
  with_user(ctx, req, std::move(respond),
            [ctx, id = *id, r](user_record user, responder respond) {
              ask<std::string>(
                ctx->actions,
                [respond](caf::expected<std::string> decision) {
                  if (!decision)
                    respond(from_error(decision.error()));
                  else
                    respond(json_response(200, *decision));
                },
                resolve_atom::value, user, id, r);
            });
}

// GET /api/agents/{id}/deliveries?status=&before=<seq>&limit=: newest
// first. Records are keyed by the event's seq, so `before` is a seq.
void list_deliveries(const ctx_ptr& ctx, const http_request& req,
                     responder respond) {
  auto id = path_id(req, "id", "agt_", respond);
  if (!id)
    return;
  page_query p;
  if (!read_limit(req, respond, p.limit))
    return;
  std::string text;
  if (req.query_param("before", text) && !text.empty()) {
    uint64_t seq = 0;
    auto [ptr, ec]
      = std::from_chars(text.data(), text.data() + text.size(), seq);
    if (ec != std::errc{} || ptr != text.data() + text.size()) {
      respond(error_response(400, "before: must be the seq of a delivery"));
      return;
    }
    p.before = seq;
  }
  list_filter filter;
  req.query_param("status", filter.status);
  with_user(ctx, req, std::move(respond),
            [ctx, id = *id, p, filter](user_record user, responder respond) {
              read_call(ctx, respond, deliveries_atom::value, user.id, id, p,
                        filter);
            });
}

namespace {

/// Headers of a media reply: cached for good (media never changes under its
/// id), and never run as anything but the image it is, even opened on its
/// own: no sniffing, no scripts, a sandbox, shown inline with a file name.
std::vector<std::pair<std::string, std::string>>
media_headers(uint64_t id, const std::string& content_type) {
  static const std::pair<const char*, const char*> extensions[]
    = {{"image/png", ".png"},
       {"image/jpeg", ".jpg"},
       {"image/gif", ".gif"},
       {"image/webp", ".webp"}};
  std::string name = format_id64("med_", id);
  for (const auto& [type, ext] : extensions)
    if (content_type == type)
      name += ext;
  return {{"Cache-Control", "private, max-age=31536000, immutable"},
          {"X-Content-Type-Options", "nosniff"},
          {"Content-Security-Policy", "default-src 'none'; sandbox"},
          {"Content-Disposition", "inline; filename=\"" + name + "\""}};
}

} // namespace

// GET /media/{id}: with a person's session, media of their agents; with
// agent credentials (`X-Nod-Agent-Id`, `X-Nod-Secret`), the agent's own.
void get_media(const ctx_ptr& ctx, const http_request& req, responder respond) {
  auto id = path_id(req, "id", "med_", respond);
  if (!id)
    return;
  auto read = [ctx, id = *id](read_scope scope, const responder& respond) {
    ask<media_item>(
      ctx->reader,
      [respond, id](caf::expected<media_item> item) {
        if (!item) {
          respond(from_error(item.error()));
          return;
        }
        http_response res;
        res.headers = media_headers(id, item->content_type);
        res.content_type = std::move(item->content_type);
        res.body = std::move(item->bytes);
        respond(std::move(res));
      },
      media_atom::value, scope, id);
  };
  auto& agent_header = req.header("x-nod-agent-id");
  if (agent_header.empty()) {
    with_user(ctx, req, std::move(respond),
              [read](const user_record& user, const responder& respond) {
                read(read_scope{user.id, 0}, respond);
              });
    return;
  }
  auto agent = parse_id64("agt_", agent_header);
  auto& secret = req.header("x-nod-secret");
  if (!agent || secret.empty()) {
    respond(error_response(401, "missing or invalid agent credentials"));
    return;
  }
  ask<agent_record>(
    ctx->accounts,
    [read, respond](caf::expected<agent_record> a) {
      if (a) {
        read(read_scope{a->owner, a->id}, respond);
        return;
      }
      auto code = code_of(a.error());
      if (code == ec::not_found || code == ec::unauthenticated)
        respond(error_response(401, "missing or invalid agent credentials"));
      else
        respond(from_error(a.error()));
    },
    agent_auth_atom::value, *agent, secret, req.client);
}

} // namespace nod::net::app
