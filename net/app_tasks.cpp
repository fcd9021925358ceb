// A person's tasks and their runs (API.md B2, docs/tasks.md).

#include "net/app_handlers.hpp"
#include "protocol/validate.hpp"

#include <string>
#include <vector>

namespace nod::net::app {

namespace {

/// Answers with the tasks actor's JSON reply (`status`), or its error.
template <class... Ts>
void task_call(const ctx_ptr& ctx, const responder& respond, int status,
               Ts&&... msg) {
  ask<std::string>(
    ctx->tasks,
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
  return read_input(req, respond, [&](auto& doc, auto& err) {
    return parse_task_input(doc, patch, in, err);
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

} // namespace

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
  page_query pg;
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
          ctx->accounts,
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
        ctx->accounts,
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
                   ctx->tasks,
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
  page_query pg;
  if (!read_page(req, respond, "run_", pg))
    return;
  with_task_id(ctx, req, std::move(respond),
               [ctx, pg](task_caller caller, uint64_t id, responder respond) {
                 task_call(ctx, respond, 200, runs_atom::value, caller, id,
                           pg.before.value_or(0), pg.limit);
               });
}

} // namespace nod::net::app
