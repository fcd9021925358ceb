// What an agent reads back with its own credentials: itself, its
// decisions, its conversations and their messages, in the app's shapes
// (media: `GET /media/{id}`, in app_reads.cpp). The reader scopes each
// read to the agent: another agent's ids are 404s.

#include "net/agent_handlers.hpp"
#include "net/agent_live.hpp"
#include "protocol/ids.hpp"
#include "protocol/records.hpp"

#include <caf/actor_system.hpp>
#include <string>
#include <vector>

namespace nod::net::agent {

namespace {

read_scope scope_of(const agent_record& agent) {
  return read_scope{agent.owner, agent.id};
}

} // namespace

// GET /api/agent/me: the agent as the app shows it, without its secrets.
void get_me(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_agent(
    ctx, req, respond,
    [ctx, respond](caf::event_based_actor*, const agent_record& agent) {
      auto& api = ctx->api;
      with_live(live_sources{api.directory, api.outbox, api.reader}, {agent},
                [respond](const std::vector<agent_record>& agents,
                          const std::vector<agent_live>& live) {
                  json::writer w;
                  write_agent(w, agents[0], live[0], false);
                  respond(json_response(200, w.str()));
                });
    });
}

// GET /api/agent/decisions?status=&before=&limit=: newest first.
void list_decisions(const ctx_ptr& ctx, const http_request& req,
                    responder respond) {
  page_query page;
  list_filter filter;
  if (!read_page(req, respond, "dec_", page)
      || !read_decision_status(req, respond, filter.status))
    return;
  with_agent(ctx, req, respond,
             [ctx, page, filter, respond](caf::event_based_actor* self,
                                          const agent_record& agent) {
               ask_json(self, ctx->api.reader, respond, 200, as_is,
                        decisions_atom::value, scope_of(agent), page, filter);
             });
}

// GET /api/agent/conversations?before=&limit=
void list_conversations(const ctx_ptr& ctx, const http_request& req,
                        responder respond) {
  page_query page;
  if (!read_page(req, respond, "conv_", page))
    return;
  with_agent(ctx, req, respond,
             [ctx, page, respond](caf::event_based_actor* self,
                                  const agent_record& agent) {
               ask_json(self, ctx->api.reader, respond, 200, as_is,
                        conversations_atom::value, scope_of(agent), agent.id,
                        page);
             });
}

// GET /api/agent/conversations/{id}/messages?before=&limit=: both roles.
void list_messages(const ctx_ptr& ctx, const http_request& req,
                   responder respond) {
  auto id = path_id(req, "id", "conv_", respond);
  page_query page;
  if (!id || !read_page(req, respond, "msg_", page))
    return;
  with_agent(ctx, req, respond,
             [ctx, id = *id, page, respond](caf::event_based_actor* self,
                                            const agent_record& agent) {
               ask_json(self, ctx->api.reader, respond, 200, as_is,
                        messages_atom::value, scope_of(agent), id, page);
             });
}

} // namespace nod::net::agent
