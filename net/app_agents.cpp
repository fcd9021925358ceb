// A person's agents: create, list, edit, delete, rotate secrets, and
// send them messages (API.md B2).

#include "net/agent_live.hpp"
#include "net/app_handlers.hpp"
#include "protocol/address_policy.hpp"
#include "protocol/validate.hpp"

#include <algorithm>
#include <caf/send.hpp>
#include <string>
#include <vector>

namespace nod::net::app {

namespace {

std::string agent_json(const agent_record& agent, const agent_live& live,
                       bool with_webhook_secret,
                       const std::string* secret = nullptr) {
  json::writer w;
  w.start_object();
  write_agent_fields(w, agent, live, with_webhook_secret);
  // The agent secret is added at the top level, this once (API.md B2).
  if (secret)
    w.field("secret", *secret);
  w.end_object();
  return w.str();
}

/// Adds the live fields (online, processing, pending decisions,
/// undelivered events) to `agents` and answers with `render`.
template <class Render>
void with_live(const ctx_ptr& ctx, std::vector<agent_record> agents,
               responder respond, Render render) {
  net::with_live(live_sources{ctx->directory, ctx->outbox, ctx->reader},
                 std::move(agents),
                 [respond, render](const std::vector<agent_record>& agents,
                                   const std::vector<agent_live>& live) {
                   respond(render(agents, live));
                 });
}

/// Answers with one agent (and its webhook secret) after `msg` to accounts.
template <class... Ts>
void agent_call(const ctx_ptr& ctx, responder respond, Ts&&... msg) {
  ask<agent_record>(
    ctx->accounts,
    [ctx, respond](caf::expected<agent_record> a) {
      if (!a) {
        respond(from_error(a.error()));
        return;
      }
      with_live(ctx, {*a}, respond, [](auto& agents, auto& live) {
        return json_response(200, agent_json(agents[0], live[0], true));
      });
    },
    std::forward<Ts>(msg)...);
}

/// A `webhook_url` whose host is a literal address (any spelling) that the
/// policy refuses, or that is one of this server's own trigger URLs, is a
/// 400 naming the field; a host name is checked on what it resolves to,
/// when connecting.
bool check_webhook_host(const app_api_context& ctx, const agent_input& in,
                        json::field_error& err) {
  if (!in.webhook_url)
    return true;
  auto why = literal_host_refusal(*in.webhook_url, ctx.webhook_hosts);
  if (!why && is_own_trigger_url(*in.webhook_url, ctx.webhook_hosts))
    why = "this server's own trigger URL: the agent would trigger itself";
  if (!why)
    return true;
  err.field = "webhook_url";
  err.message = "webhook_url: " + *why;
  return false;
}

/// Closes every open socket of `agent` (API.md B2: a rotated secret stops
/// working at once; a deleted agent's sockets go with it).
void kick_agent(const ctx_ptr& ctx, uint64_t agent, uint16_t code,
                const char* reason) {
  caf::anon_send(ctx->directory, kick_atom::value, agent, code,
                 std::string{reason});
}

} // namespace

void create_agent(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  agent_input in;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_agent_create(doc, in, err)
               && check_webhook_host(*ctx, in, err);
      }))
    return;
  with_user(ctx, req, std::move(respond),
            [ctx, in](user_record user, responder respond) {
              ask<agent_created>(
                ctx->accounts,
                [respond](caf::expected<agent_created> c) {
                  if (!c)
                    respond(from_error(c.error()));
                  else
                    respond(json_response(
                      201, agent_json(c->agent, {}, true, &c->secret)));
                },
                agent_new_atom::value, user.id, in);
            });
}

// GET /api/agents?before=&limit=: newest first, paged like every list
// (`before` is the last agent of the previous page).
void list_agents(const ctx_ptr& ctx, const http_request& req,
                 responder respond) {
  page_query page;
  if (!read_page(req, respond, "agt_", page))
    return;
  with_user(
    ctx, req, std::move(respond),
    [ctx, page](user_record user, responder respond) {
      ask<std::vector<agent_record>>(
        ctx->accounts,
        [ctx, page, respond](caf::expected<std::vector<agent_record>> list) {
          if (!list) {
            respond(from_error(list.error()));
            return;
          }
          auto first = list->begin();
          if (page.before) {
            first = std::find_if(list->begin(), list->end(),
                                 [&](const agent_record& a) {
                                   return a.id == *page.before;
                                 });
            if (first == list->end()) {
              respond(error_response(400, "before: not one of your agents"));
              return;
            }
            ++first;
          }
          auto last
            = first + std::min<std::ptrdiff_t>(list->end() - first, page.limit);
          with_live(ctx, std::vector<agent_record>(first, last), respond,
                    [](auto& agents, auto& live) {
                      json::writer w;
                      w.start_array();
                      for (size_t i = 0; i < agents.size(); ++i)
                        write_agent(w, agents[i], live[i], false);
                      w.end_array();
                      return json_response(200, w.str());
                    });
        },
        agent_list_atom::value, user.id);
    });
}

void get_agent(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_agent_id(
    ctx, req, std::move(respond),
    [ctx](const user_record& user, uint64_t id, const responder& respond) {
      agent_call(ctx, respond, agent_get_atom::value, user.id, id);
    });
}

void patch_agent(const ctx_ptr& ctx, const http_request& req,
                 responder respond) {
  agent_input in;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_agent_patch(doc, in, err)
               && check_webhook_host(*ctx, in, err);
      }))
    return;
  with_agent_id(
    ctx, req, std::move(respond),
    [ctx, in](const user_record& user, uint64_t id, const responder& respond) {
      agent_call(ctx, respond, agent_set_atom::value, user.id, id, in);
    });
}

void delete_agent(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  with_agent_id(
    ctx, req, std::move(respond),
    [ctx](const user_record& user, uint64_t id, const responder& respond) {
      ask<bool>(
        ctx->accounts,
        [ctx, id, respond](caf::expected<bool> r) {
          if (!r) {
            respond(from_error(r.error()));
            return;
          }
          kick_agent(ctx, id, 4004, "agent deleted");
          respond(json_response(204, ""));
        },
        agent_del_atom::value, user.id, id);
    });
}

void rotate_secret(const ctx_ptr& ctx, const http_request& req,
                   responder respond) {
  with_agent_id(
    ctx, req, std::move(respond),
    [ctx](const user_record& user, uint64_t id, const responder& respond) {
      ask<agent_created>(
        ctx->accounts,
        [ctx, id, respond](caf::expected<agent_created> c) {
          if (!c) {
            respond(from_error(c.error()));
            return;
          }
          kick_agent(ctx, id, 4003, "secret rotated");
          respond(
            json_response(200, agent_json(c->agent, {}, true, &c->secret)));
        },
        rotate_atom::value, user.id, id);
    });
}

void rotate_webhook_secret(const ctx_ptr& ctx, const http_request& req,
                           responder respond) {
  with_agent_id(
    ctx, req, std::move(respond),
    [ctx](const user_record& user, uint64_t id, const responder& respond) {
      agent_call(ctx, respond, rotate_wh_atom::value, user.id, id);
    });
}

void send_message(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  user_message_input in;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_user_message(doc, in, err);
      }))
    return;
  with_agent_id(
    ctx, req, std::move(respond),
    [ctx, in](const user_record& user, uint64_t id, const responder& respond) {
      ask<std::string>(
        ctx->actions,
        [respond](caf::expected<std::string> message) {
          if (!message)
            respond(from_error(message.error()));
          else
            respond(json_response(201, *message));
        },
        user_message_atom::value, user, id, in);
    });
}

} // namespace nod::net::app
