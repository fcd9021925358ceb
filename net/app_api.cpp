#include "net/app_api.hpp"

#include "actors/error.hpp"
#include "net/api_util.hpp"
#include "net/ask.hpp"
#include "net/server.hpp"
#include "net/session_socket.hpp"
#include "net/websocket.hpp"
#include "protocol/delivery.hpp"
#include "protocol/ids.hpp"
#include "protocol/json.hpp"
#include "protocol/time.hpp"
#include "protocol/validate.hpp"
#include "storage/keys.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <charconv>
#include <memory>

namespace nod::net {

namespace {

using storage::table;

/// Everything a handler needs, shared by all handlers.
using ctx_ptr = std::shared_ptr<const app_api_context>;

// -- request helpers --------------------------------------------------------

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

/// The caller's token and whether it came from the cookie.
struct credentials {
  std::string token;
  bool from_cookie = false;
};

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
bool same_origin(const app_api_context& ctx, const http_request& req) {
  auto& origin = req.header("origin");
  if (origin.empty())
    return req.header("sec-fetch-site") == "same-origin";
  auto& host = req.header("host");
  return origin == "http://" + host || origin == "https://" + host
         || (!ctx.public_url.empty() && origin == ctx.public_url);
}

/// Reads `limit` (1-200, default 50) and `before` (an id with `prefix`).
struct page {
  uint32_t limit = 50;
  std::optional<uint64_t> before;
};

/// Reads `limit` (1-200) into `out`, kept when absent.
bool read_limit(const http_request& req, const responder& respond,
                uint32_t& out) {
  std::string text;
  if (req.query_param("limit", text)) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || ptr != text.data() + text.size() || n < 1
        || n > 200) {
      respond(error_response(400, "limit: must be an integer from 1 to 200"));
      return false;
    }
    out = static_cast<uint32_t>(n);
  }
  return true;
}

bool read_page(const http_request& req, const responder& respond,
               std::string_view prefix, page& out) {
  if (!read_limit(req, respond, out.limit))
    return false;
  std::string text;
  if (req.query_param("before", text) && !text.empty()) {
    out.before = parse_id64(prefix, text);
    if (!out.before) {
      respond(error_response(400, "before: must be an id like "
                                    + std::string{prefix} + "…"));
      return false;
    }
  }
  return true;
}

/// Runs `next(user)` for an authenticated caller, else answers 401/403.
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
  ask<user_record>(
    *ctx->sys, ctx->accounts,
    [respond, next](caf::expected<user_record> user) {
      if (!user)
        respond(from_error(user.error()));
      else
        next(std::move(*user), respond);
    },
    auth_atom::value, creds->token);
}

/// The agent id in the path, or a 404.
std::optional<uint64_t> path_id(const http_request& req, const char* param,
                                std::string_view prefix,
                                const responder& respond) {
  auto id = parse_id64(prefix, req.param(param));
  if (!id)
    respond(error_response(404, "not found"));
  return id;
}

// -- rendering --------------------------------------------------------------

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

std::string user_json(const user_record& user) {
  json::writer w;
  write_user(w, user);
  return w.str();
}

// -- auth endpoints ---------------------------------------------------------

std::string cookie_header(const app_api_context& ctx, const std::string& token,
                          int64_t max_age_s) {
  auto cookie = std::string{session_cookie} + "=" + token
                + "; Path=/; HttpOnly; SameSite=Strict; Max-Age="
                + std::to_string(max_age_s);
  if (ctx.public_url.rfind("https://", 0) == 0)
    cookie += "; Secure";
  return cookie;
}

void login(const ctx_ptr& ctx, const http_request& req, responder respond) {
  json::document doc;
  if (!read_body(req, respond, doc))
    return;
  std::string username;
  std::string password;
  json::field_error err;
  if (!parse_login(doc, username, password, err)) {
    respond(error_response(400, err.message));
    return;
  }
  ask<login_result>(
    *ctx->sys, ctx->accounts,
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
      res.headers.emplace_back(
        "Set-Cookie",
        cookie_header(*ctx, r->token, (r->expires_ms - now_ms()) / 1000));
      respond(std::move(res));
    },
    login_atom::value, username, password, req.remote);
}

void logout(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_user(
    ctx, req, std::move(respond),
    [ctx, token = credentials_of(req)->token](user_record, responder respond) {
      ask<bool>(
        *ctx->sys, ctx->accounts,
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
  json::document doc;
  if (!read_body(req, respond, doc))
    return;
  std::string username;
  std::string password;
  json::field_error err;
  if (!parse_new_user(doc, username, password, err)) {
    respond(error_response(400, err.message));
    return;
  }
  bool admin = false;
  if (doc.HasMember("admin")) {
    std::optional<bool> flag;
    if (!json::get_bool(doc, "admin", flag, err)) {
      respond(error_response(400, err.message));
      return;
    }
    admin = flag.value_or(false);
  }
  with_user(
    ctx, req, std::move(respond),
    [ctx, username, password, admin](user_record caller, responder respond) {
      if (!caller.admin) {
        respond(error_response(403, "only an admin can add users"));
        return;
      }
      ask<user_record>(
        *ctx->sys, ctx->accounts,
        [respond](caf::expected<user_record> u) {
          if (!u)
            respond(from_error(u.error()));
          else
            respond(json_response(201, user_json(*u)));
        },
        user_add_atom::value, username, password, admin);
    });
}

// -- agents -----------------------------------------------------------------

/// Most pending decisions counted per agent; the list shows "1000" for
/// more.
constexpr uint32_t max_pending_counted = 1000;

/// Fills `pending_decisions` of `live[i..]` (one scan of the agent's
/// pending decisions each), then answers with `render`.
template <class Render>
void count_pending(const ctx_ptr& ctx, std::vector<agent_record> agents,
                   std::vector<agent_live> live, size_t i, responder respond,
                   Render render) {
  if (i == agents.size() || !ctx->journal) {
    respond(render(agents, live));
    return;
  }
  auto begin = storage::id_key(storage::table::pending_decisions, agents[i].id);
  scan_request req{begin, storage::prefix_end(begin), max_pending_counted,
                   false};
  ask<std::vector<kv_entry>>(
    *ctx->sys, ctx->journal,
    [ctx, agents = std::move(agents), live = std::move(live), i, respond,
     render](caf::expected<std::vector<kv_entry>> entries) {
      auto counted = live;
      if (entries)
        counted[i].pending_decisions = static_cast<int64_t>(entries->size());
      count_pending(ctx, agents, std::move(counted), i + 1, respond, render);
    },
    scan_atom::value, req);
}

/// Adds the live fields (online, processing, pending decisions,
/// undelivered events) to `agents` and answers with `render`.
template <class Render>
void with_live(const ctx_ptr& ctx, std::vector<agent_record> agents,
               responder respond, Render render) {
  std::vector<uint64_t> ids;
  for (auto& a : agents)
    ids.push_back(a.id);
  ask<std::vector<agent_live>>(
    *ctx->sys, ctx->directory,
    [ctx, ids, agents = std::move(agents), respond,
     render](caf::expected<std::vector<agent_live>> live) {
      // Without the directory the agents are still listed, as offline.
      if (!live || live->size() != agents.size())
        live = std::vector<agent_live>(agents.size());
      if (!ctx->outbox) {
        count_pending(ctx, agents, *live, 0, respond, render);
        return;
      }
      ask<std::vector<uint64_t>>(
        *ctx->sys, ctx->outbox,
        [ctx, agents, live = *live, respond,
         render](caf::expected<std::vector<uint64_t>> counts) {
          auto with_counts = live;
          if (counts && counts->size() == live.size())
            for (size_t i = 0; i < live.size(); ++i)
              with_counts[i].undelivered_events
                = static_cast<int64_t>((*counts)[i]);
          count_pending(ctx, agents, std::move(with_counts), 0, respond,
                        render);
        },
        count_atom::value, ids);
    },
    online_atom::value, ids);
}

void create_agent(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  json::document doc;
  if (!read_body(req, respond, doc))
    return;
  agent_input in;
  json::field_error err;
  if (!parse_agent_create(doc, in, err)) {
    respond(error_response(400, err.message));
    return;
  }
  with_user(ctx, req, std::move(respond),
            [ctx, in](user_record user, responder respond) {
              ask<agent_created>(
                *ctx->sys, ctx->accounts,
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

void list_agents(const ctx_ptr& ctx, const http_request& req,
                 responder respond) {
  with_user(ctx, req, std::move(respond),
            [ctx](user_record user, responder respond) {
              ask<std::vector<agent_record>>(
                *ctx->sys, ctx->accounts,
                [ctx, respond](caf::expected<std::vector<agent_record>> list) {
                  if (!list) {
                    respond(from_error(list.error()));
                    return;
                  }
                  with_live(ctx, std::move(*list), respond,
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

/// Answers with one agent (and its webhook secret) after `msg` to accounts.
template <class... Ts>
void agent_call(const ctx_ptr& ctx, responder respond, Ts&&... msg) {
  ask<agent_record>(
    *ctx->sys, ctx->accounts,
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

/// Closes every open socket of `agent` (API.md B2: a rotated secret stops
/// working at once; a deleted agent's sockets go with it).
void kick_agent(const ctx_ptr& ctx, uint64_t agent, uint16_t code,
                const char* reason) {
  caf::anon_send(ctx->directory, kick_atom::value, agent, code,
                 std::string{reason});
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
  json::document doc;
  if (!read_body(req, respond, doc))
    return;
  agent_input in;
  json::field_error err;
  if (!parse_agent_patch(doc, in, err)) {
    respond(error_response(400, err.message));
    return;
  }
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
        *ctx->sys, ctx->accounts,
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
        *ctx->sys, ctx->accounts,
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

// -- read side --------------------------------------------------------------

/// Where a newest-first listing stands: the index, the exclusive upper
/// key of the next chunk, and what was kept so far.
struct listing {
  std::string prefix;
  std::string end;
  uint32_t limit = 0;
  std::function<bool(const json::document&)> keep;
  /// Instead of `keep`: the item to list for an entry, or nothing to skip
  /// it.
  std::function<std::optional<std::string>(const kv_entry&)> pick;
  std::vector<std::string> found;
};

/// Reads the next chunk of `l` and either answers or reads on.
void next_chunk(const ctx_ptr& ctx, std::shared_ptr<listing> l,
                responder respond) {
  scan_request req;
  req.begin = l->prefix;
  req.end = l->end;
  req.limit = std::max<uint32_t>(l->limit * 2, 64);
  req.reverse = true;
  ask<std::vector<kv_entry>>(
    *ctx->sys, ctx->journal,
    [ctx, l, respond,
     chunk = req.limit](caf::expected<std::vector<kv_entry>> entries) {
      if (!entries) {
        respond(from_error(entries.error()));
        return;
      }
      for (auto& e : *entries) {
        if (l->pick) {
          if (auto item = l->pick(e))
            l->found.push_back(std::move(*item));
        } else {
          json::document doc;
          json::field_error err;
          if (json::parse_object(e.value, doc, err)
              && (!l->keep || l->keep(doc)))
            l->found.push_back(e.value);
        }
        if (l->found.size() >= l->limit)
          break;
      }
      if (l->found.size() < l->limit && entries->size() == chunk) {
        l->end = entries->back().key; // exclusive: go on below it
        next_chunk(ctx, l, respond);
        return;
      }
      respond(json_response(200, json::array_of(l->found)));
    },
    scan_atom::value, req);
}

/// Pages backwards through index `prefix` (keys end in an 8-byte id whose
/// value is the stored object), newest first, keeping objects `keep`
/// accepts, until `limit` are found or the index ends. Reads in chunks so
/// a sparse filter does not load the whole index at once.
void scan_newest_first(const ctx_ptr& ctx, std::string prefix,
                       std::optional<uint64_t> before, uint32_t limit,
                       std::function<bool(const json::document&)> keep,
                       responder respond) {
  auto l = std::make_shared<listing>();
  l->prefix = prefix;
  if (before) {
    l->end = prefix;
    storage::put_u64(l->end, *before);
  } else {
    l->end = storage::prefix_end(prefix);
  }
  l->limit = limit;
  l->keep = std::move(keep);
  next_chunk(ctx, std::move(l), std::move(respond));
}

bool has_string(const json::document& doc, const char* name,
                const std::string& want) {
  auto i = doc.FindMember(name);
  return i != doc.MemberEnd() && i->value.IsString()
         && want == i->value.GetString();
}

void list_conversations(const ctx_ptr& ctx, const http_request& req,
                        responder respond) {
  auto id = path_id(req, "id", "agt_", respond);
  page p;
  if (!id || !read_page(req, respond, "conv_", p))
    return;
  with_user(ctx, req, std::move(respond),
            [ctx, id = *id, p](user_record user, responder respond) {
              ask<agent_record>(
                *ctx->sys, ctx->accounts,
                [ctx, id, p, respond](caf::expected<agent_record> a) {
                  if (!a) {
                    respond(from_error(a.error()));
                    return;
                  }
                  scan_newest_first(
                    ctx, storage::id_key(table::agent_conversations, id),
                    p.before, p.limit, nullptr, respond);
                },
                agent_get_atom::value, user.id, id);
            });
}

void list_messages(const ctx_ptr& ctx, const http_request& req,
                   responder respond) {
  auto id = path_id(req, "id", "conv_", respond);
  page p;
  if (!id || !read_page(req, respond, "msg_", p))
    return;
  with_user(
    ctx, req, std::move(respond),
    [ctx, id = *id, p](user_record user, responder respond) {
      // The conversation names its agent; the agent must be the caller's.
      ask<std::string>(
        *ctx->sys, ctx->journal,
        [ctx, id, p, user, respond](caf::expected<std::string> conv) {
          json::document doc;
          json::field_error err;
          std::optional<uint64_t> agent;
          if (conv && json::parse_object(*conv, doc, err)
              && doc.HasMember("agent_id") && doc["agent_id"].IsString())
            agent = parse_id64("agt_", doc["agent_id"].GetString());
          if (!agent) {
            respond(error_response(404, "conversation not found"));
            return;
          }
          ask<agent_record>(
            *ctx->sys, ctx->accounts,
            [ctx, id, p, respond](caf::expected<agent_record> a) {
              if (!a) {
                respond(error_response(404, "conversation not found"));
                return;
              }
              scan_newest_first(ctx, storage::id_key(table::messages, id),
                                p.before, p.limit, nullptr, respond);
            },
            agent_get_atom::value, user.id, *agent);
        },
        get_atom::value, storage::id_key(table::conversations, id));
    });
}

void list_decisions(const ctx_ptr& ctx, const http_request& req,
                    responder respond) {
  page p;
  if (!read_page(req, respond, "dec_", p))
    return;
  std::string status;
  std::string agent;
  req.query_param("status", status);
  req.query_param("agent_id", agent);
  with_user(ctx, req, std::move(respond),
            [ctx, p, status, agent](user_record user, responder respond) {
              scan_newest_first(
                ctx, storage::id_key(table::user_decisions, user.id), p.before,
                p.limit,
                [status, agent](const json::document& d) {
                  return (status.empty() || has_string(d, "status", status))
                         && (agent.empty() || has_string(d, "agent_id", agent));
                },
                respond);
            });
}

void get_decision(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  auto id = path_id(req, "id", "dec_", respond);
  if (!id)
    return;
  with_user(ctx, req, std::move(respond),
            [ctx, id = *id](user_record user, responder respond) {
              ask<std::string>(
                *ctx->sys, ctx->journal,
                [respond](caf::expected<std::string> d) {
                  if (!d)
                    respond(error_response(404, "decision not found"));
                  else
                    respond(json_response(200, *d));
                },
                get_atom::value,
                storage::pair_key(table::user_decisions, user.id, id));
            });
}

void list_activity(const ctx_ptr& ctx, const http_request& req,
                   responder respond) {
  page p;
  if (!read_page(req, respond, "act_", p))
    return;
  std::string agent;
  req.query_param("agent_id", agent);
  with_user(ctx, req, std::move(respond),
            [ctx, p, agent](user_record user, responder respond) {
              scan_newest_first(
                ctx, storage::id_key(table::user_activity, user.id), p.before,
                p.limit,
                agent.empty() ? std::function<bool(const json::document&)>{}
                              : [agent](const json::document& d) {
                                  return has_string(d, "agent_id", agent);
                                },
                respond);
            });
}

void resolve_decision(const ctx_ptr& ctx, const http_request& req,
                      responder respond) {
  auto id = path_id(req, "id", "dec_", respond);
  if (!id)
    return;
  json::document doc;
  if (!read_body(req, respond, doc))
    return;
  resolution r;
  json::field_error err;
  if (!parse_resolution(doc, r, err)) {
    respond(error_response(400, err.message));
    return;
  }
  with_user(ctx, req, std::move(respond),
            [ctx, id = *id, r](user_record user, responder respond) {
              ask<std::string>(
                *ctx->sys, ctx->actions,
                [respond](caf::expected<std::string> decision) {
                  if (!decision)
                    respond(from_error(decision.error()));
                  else
                    respond(json_response(200, *decision));
                },
                resolve_atom::value, user, id, r);
            });
}

void send_message(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  json::document doc;
  if (!read_body(req, respond, doc))
    return;
  user_message_input in;
  json::field_error err;
  if (!parse_user_message(doc, in, err)) {
    respond(error_response(400, err.message));
    return;
  }
  with_agent_id(
    ctx, req, std::move(respond),
    [ctx, in](const user_record& user, uint64_t id, const responder& respond) {
      ask<std::string>(
        *ctx->sys, ctx->actions,
        [respond](caf::expected<std::string> message) {
          if (!message)
            respond(from_error(message.error()));
          else
            respond(json_response(201, *message));
        },
        say_atom::value, user, id, in);
    });
}

// GET /api/agents/{id}/deliveries?status=&before=<seq>&limit=: newest
// first. Records are keyed by the event's seq, so `before` is a seq.
void list_deliveries(const ctx_ptr& ctx, const http_request& req,
                     responder respond) {
  auto id = path_id(req, "id", "agt_", respond);
  if (!id)
    return;
  page p;
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
  std::string status;
  req.query_param("status", status);
  with_user(
    ctx, req, std::move(respond),
    [ctx, id = *id, p, status](user_record user, responder respond) {
      ask<agent_record>(
        *ctx->sys, ctx->accounts,
        [ctx, id, p, status, respond](caf::expected<agent_record> a) {
          if (!a) {
            respond(from_error(a.error()));
            return;
          }
          auto l = std::make_shared<listing>();
          l->prefix = storage::id_key(table::deliveries, id);
          l->end = p.before
                     ? storage::pair_key(table::deliveries, id, *p.before)
                     : storage::prefix_end(l->prefix);
          l->limit = p.limit;
          l->pick = [status](const kv_entry& e) -> std::optional<std::string> {
            delivery_record r;
            if (!from_json(e.value, r))
              return std::nullopt;
            // The first record is written before the seq is known.
            r.seq = storage::pair_second(e.key);
            if (!status.empty() && r.state != status)
              return std::nullopt;
            return to_json(r);
          };
          next_chunk(ctx, std::move(l), respond);
        },
        agent_get_atom::value, user.id, id);
    });
}

void get_media(const ctx_ptr& ctx, const http_request& req, responder respond) {
  auto id = path_id(req, "id", "med_", respond);
  if (!id)
    return;
  with_user(
    ctx, req, std::move(respond),
    [ctx, id = *id](user_record user, responder respond) {
      ask<std::string>(
        *ctx->sys, ctx->journal,
        [ctx, user, respond](caf::expected<std::string> stored) {
          // Stored as "<content type>\n<agt_…>\n<bytes>" (actors/ingest).
          auto first = stored ? stored->find('\n') : std::string::npos;
          auto second = first == std::string::npos
                          ? std::string::npos
                          : stored->find('\n', first + 1);
          auto agent
            = second == std::string::npos
                ? std::nullopt
                : parse_id64("agt_",
                             stored->substr(first + 1, second - first - 1));
          if (!agent) {
            respond(error_response(404, "not found"));
            return;
          }
          http_response res;
          res.content_type = stored->substr(0, first);
          res.body = stored->substr(second + 1);
          // Media never changes under its id.
          res.headers.emplace_back("Cache-Control",
                                   "private, max-age=31536000, immutable");
          ask<agent_record>(
            *ctx->sys, ctx->accounts,
            [respond, res = std::move(res)](caf::expected<agent_record> a) {
              if (!a)
                respond(error_response(404, "not found"));
              else
                respond(res);
            },
            agent_get_atom::value, user.id, *agent);
        },
        get_atom::value, storage::id_key(table::media, id));
    });
}

// -- app WebSocket ----------------------------------------------------------

ws_callbacks open_app_socket(const ctx_ptr& ctx, const http_request& req,
                             std::shared_ptr<ws_connection> conn) {
  // Browsers send WebSocket upgrades cross-site with their Origin: the
  // session cookie counts only from this server's own pages (a token in
  // the first frame works from anywhere).
  auto cookie = same_origin(*ctx, req)
                  ? cookie_value(req, session_cookie).value_or("")
                  : std::string{};
  auto session
    = ctx->sys->spawn(app_session, link_to(conn), ctx->accounts, ctx->directory,
                      std::move(cookie), ctx->app_sessions);
  return forward_to(session, conn);
}

} // namespace

// -- tasks (B2) ---------------------------------------------------------------

/// Answers with the tasks actor's JSON reply (`status`), or its error.
template <class... Ts>
void task_call(const ctx_ptr& ctx, const responder& respond, int status,
               Ts&&... msg) {
  ask<std::string>(
    *ctx->sys, ctx->tasks,
    [respond, status](caf::expected<std::string> reply) {
      if (!reply)
        respond(from_error(reply.error()));
      else
        respond(json_response(status, std::move(*reply)));
    },
    std::forward<Ts>(msg)...);
}

/// Reads a task create (`patch` false) or patch body; 400 when invalid.
bool read_task_input(const http_request& req, const responder& respond,
                     bool patch, task_input& in) {
  json::document doc;
  if (!read_body(req, respond, doc))
    return false;
  json::field_error err;
  if (!parse_task_input(doc, patch, in, err)) {
    respond(error_response(400, err.message));
    return false;
  }
  return true;
}

// POST /api/tasks/{agent_id}
void create_task(const ctx_ptr& ctx, const http_request& req,
                 responder respond) {
  auto agent = path_id(req, "agent_id", "agt_", respond);
  task_input in;
  if (!agent || !read_task_input(req, respond, false, in))
    return;
  with_user(ctx, req, std::move(respond),
            [ctx, agent = *agent, in](user_record user, responder respond) {
              task_call(ctx, respond, 201, task_new_atom::value,
                        task_caller{user.id, 0}, agent, in);
            });
}

// GET /api/tasks?agent_id=&before=&limit=: the user's tasks (of one agent
// or all), newest first.
void list_tasks(const ctx_ptr& ctx, const http_request& req,
                responder respond) {
  page pg;
  if (!read_page(req, respond, "tsk_", pg))
    return;
  std::optional<uint64_t> agent;
  std::string text;
  if (req.query_param("agent_id", text) && !text.empty()) {
    agent = parse_id64("agt_", text);
    if (!agent) {
      respond(error_response(400, "agent_id: must be an id like agt_…"));
      return;
    }
  }
  with_user(
    ctx, req, std::move(respond),
    [ctx, agent, pg](user_record user, responder respond) {
      auto list = [ctx, pg, respond](std::vector<uint64_t> ids) {
        task_call(ctx, respond, 200, task_list_atom::value, std::move(ids),
                  pg.before.value_or(0), pg.limit);
      };
      if (agent) {
        ask<agent_record>(
          *ctx->sys, ctx->accounts,
          [list, respond](caf::expected<agent_record> a) {
            if (!a)
              respond(from_error(a.error()));
            else
              list({a->id});
          },
          agent_get_atom::value, user.id, *agent);
        return;
      }
      ask<std::vector<agent_record>>(
        *ctx->sys, ctx->accounts,
        [list, respond](caf::expected<std::vector<agent_record>> agents) {
          if (!agents) {
            respond(from_error(agents.error()));
            return;
          }
          std::vector<uint64_t> ids;
          for (auto& a : *agents)
            ids.push_back(a.id);
          list(std::move(ids));
        },
        agent_list_atom::value, user.id);
    });
}

/// `with_path_id` for a task id (`tsk_`), with the user as the tasks
/// actor's caller.
template <class F>
void with_task_id(const ctx_ptr& ctx, const http_request& req,
                  responder respond, F next) {
  with_path_id(ctx, req, "tsk_", std::move(respond),
               [next](const user_record& user, uint64_t id, responder respond) {
                 next(task_caller{user.id, 0}, id, std::move(respond));
               });
}

void get_task(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_task_id(ctx, req, std::move(respond),
               [ctx](task_caller caller, uint64_t id, responder respond) {
                 task_call(ctx, respond, 200, task_get_atom::value, caller, id);
               });
}

void patch_task(const ctx_ptr& ctx, const http_request& req,
                responder respond) {
  task_input in;
  if (!read_task_input(req, respond, true, in))
    return;
  with_task_id(ctx, req, std::move(respond),
               [ctx, in](task_caller caller, uint64_t id, responder respond) {
                 task_call(ctx, respond, 200, task_set_atom::value, caller, id,
                           in);
               });
}

void delete_task(const ctx_ptr& ctx, const http_request& req,
                 responder respond) {
  with_task_id(ctx, req, std::move(respond),
               [ctx](task_caller caller, uint64_t id, responder respond) {
                 ask<bool>(
                   *ctx->sys, ctx->tasks,
                   [respond](caf::expected<bool> r) {
                     if (!r)
                       respond(from_error(r.error()));
                     else
                       respond(json_response(204, ""));
                   },
                   task_del_atom::value, caller, id);
               });
}

// POST /api/tasks/{id}/run: run now (delivers `task_due`).
void run_task(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_task_id(ctx, req, std::move(respond),
               [ctx](task_caller caller, uint64_t id, responder respond) {
                 task_call(ctx, respond, 200, run_now_atom::value, caller, id);
               });
}

void list_runs(const ctx_ptr& ctx, const http_request& req, responder respond) {
  page pg;
  if (!read_page(req, respond, "run_", pg))
    return;
  with_task_id(ctx, req, std::move(respond),
               [ctx, pg](task_caller caller, uint64_t id, responder respond) {
                 task_call(ctx, respond, 200, runs_atom::value, caller, id,
                           pg.before.value_or(0), pg.limit);
               });
}

void add_app_api(server& srv, app_api_context context) {
  auto ctx = std::make_shared<const app_api_context>(std::move(context));
  auto& r = srv.routes();
  auto bind
    = [ctx](void (*fn)(const ctx_ptr&, const http_request&, responder)) {
        return [ctx, fn](const http_request& req, responder respond) {
          fn(ctx, req, std::move(respond));
        };
      };
  r.add("POST", "/api/auth/login", bind(login));
  r.add("POST", "/api/auth/logout", bind(logout));
  r.add("GET", "/api/me", [ctx](const http_request& req, responder respond) {
    with_user(ctx, req, std::move(respond),
              [](user_record user, responder respond) {
                respond(json_response(200, user_json(user)));
              });
  });
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
  r.add("GET", "/media/{id}", bind(get_media));
  srv.add_websocket("/ws/app", [ctx](const http_request& req,
                                     std::shared_ptr<ws_connection> conn) {
    return open_app_socket(ctx, req, std::move(conn));
  });
}

} // namespace nod::net
