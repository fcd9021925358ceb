// The agent's tasks and runs (API.md A5), and the public trigger URLs that
// wake it (`POST /webhook/{trigger_id}`).

#include "metrics/metrics.hpp"
#include "net/agent_handlers.hpp"
#include "protocol/ids.hpp"
#include "protocol/tasks.hpp"
#include "protocol/time.hpp"
#include "protocol/webhook.hpp"

#include <caf/actor_system.hpp>
#include <spdlog/spdlog.h>
#include <string>

namespace nod::net::agent {

namespace {

/// As `with_agent`, for the task endpoints: approval-only agents have no
/// tasks (403).
void with_task_agent(const ctx_ptr& ctx, const http_request& req,
                     const responder& respond, agent_step next) {
  with_agent(
    ctx, req, respond,
    [next, respond](caf::event_based_actor* self, const agent_record& agent) {
      if (agent.type == "approval_only") {
        respond(error_response(403, "approval-only agents have no tasks"));
        return;
      }
      next(self, agent);
    });
}

/// Sends `msg...` to the tasks actor from `self` and answers 200 with
/// `render(reply)`, or the error.
template <class Render, class... Ts>
void ask_tasks(caf::event_based_actor* self, const ctx_ptr& ctx,
               const responder& respond, Render render, Ts&&... msg) {
  ask_json(self, ctx->api.tasks, respond, 200, render,
           std::forward<Ts>(msg)...);
}

/// Runs `next(self, caller, id)` for the request's agent and the task id in
/// the path's `{task_id}` (404 when malformed or not the agent's).
template <class F>
void with_own_task(const ctx_ptr& ctx, const http_request& req,
                   const responder& respond, F next) {
  auto id = parse_id64("tsk_", req.param("task_id"));
  with_task_agent(ctx, req, respond,
                  [id, next, respond](caf::event_based_actor* self,
                                      const agent_record& agent) {
                    if (!id)
                      respond(error_response(404, "task not found"));
                    else
                      next(self, task_caller{0, agent.id}, *id);
                  });
}

/// `{"status":"ok"}` plus string members of `obj` named in `names` (those
/// that are there and not null).
std::string ok_with(const std::string& obj,
                    std::initializer_list<const char*> names) {
  json::document doc;
  json::field_error err;
  json::writer w;
  w.start_object();
  w.field("status", "ok");
  if (json::parse_object(obj, doc, err))
    for (auto name : names)
      if (auto value = json::string_member(doc, name))
        w.field(name, *value);
  w.end_object();
  return w.str();
}

} // namespace

// POST /api/agent/tasks
void create_task(const ctx_ptr& ctx, const http_request& req,
                 responder respond) {
  task_input in;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_task_input(doc, false, in, err);
      }))
    return;
  with_task_agent(ctx, req, respond,
                  [ctx, in, respond](caf::event_based_actor* self,
                                     const agent_record& agent) {
                    ask_tasks(
                      self, ctx, respond,
                      [](std::string& task) {
                        return ok_with(task, {"task_id", "trigger_url"});
                      },
                      task_new_atom::value, task_caller{0, agent.id}, agent.id,
                      in);
                  });
}

// GET /api/agent/tasks
void list_tasks(const ctx_ptr& ctx, const http_request& req,
                responder respond) {
  with_task_agent(
    ctx, req, respond,
    [ctx, respond](caf::event_based_actor* self, const agent_record& agent) {
      ask_tasks(self, ctx, respond, as_is, task_list_atom::value,
                std::vector<uint64_t>{agent.id}, uint64_t{0}, uint32_t{10000});
    });
}

// GET /api/agent/tasks/{task_id}: the same object the person reads.
void get_task(const ctx_ptr& ctx, const http_request& req, responder respond) {
  with_own_task(ctx, req, respond,
                [ctx, respond](caf::event_based_actor* self, task_caller caller,
                               uint64_t id) {
                  ask_tasks(self, ctx, respond, as_is, task_get_atom::value,
                            caller, id);
                });
}

// PATCH /api/agent/tasks/{task_id}: as the person's patch.
void patch_task(const ctx_ptr& ctx, const http_request& req,
                responder respond) {
  task_input in;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_task_input(doc, true, in, err);
      }))
    return;
  with_own_task(ctx, req, respond,
                [ctx, in, respond](caf::event_based_actor* self,
                                   task_caller caller, uint64_t id) {
                  ask_tasks(self, ctx, respond, as_is, task_set_atom::value,
                            caller, id, in);
                });
}

// DELETE /api/agent/tasks/{task_id} → 204
void delete_task(const ctx_ptr& ctx, const http_request& req,
                 responder respond) {
  with_own_task(ctx, req, respond,
                [ctx, respond](caf::event_based_actor* self, task_caller caller,
                               uint64_t id) {
                  self
                    ->request(ctx->api.tasks, ask_timeout, task_del_atom::value,
                              caller, id)
                    .then(
                      [respond](bool) {
                        respond(json_response(204, ""));
                      },
                      [respond](caf::error& err) {
                        respond(from_error(err));
                      });
                });
}

// GET /api/agent/tasks/{task_id}/runs?before=&limit=: newest first.
void list_runs(const ctx_ptr& ctx, const http_request& req, responder respond) {
  page_query pg;
  if (!read_page(req, respond, "run_", pg))
    return;
  with_own_task(ctx, req, respond,
                [ctx, pg, respond](caf::event_based_actor* self,
                                   task_caller caller, uint64_t id) {
                  ask_tasks(self, ctx, respond, as_is, runs_atom::value, caller,
                            id, pg.before.value_or(0), pg.limit);
                });
}

// GET /api/agent/tasks/due: runs due and not started.
void list_due_runs(const ctx_ptr& ctx, const http_request& req,
                   responder respond) {
  with_task_agent(
    ctx, req, respond,
    [ctx, respond](caf::event_based_actor* self, const agent_record& agent) {
      ask_tasks(self, ctx, respond, as_is, due_atom::value, agent.id);
    });
}

// GET /api/agent/tasks/triggers/pending: trigger calls not yet completed.
void list_pending_triggers(const ctx_ptr& ctx, const http_request& req,
                           responder respond) {
  with_task_agent(
    ctx, req, respond,
    [ctx, respond](caf::event_based_actor* self, const agent_record& agent) {
      ask_tasks(self, ctx, respond, as_is, triggers_atom::value, agent.id);
    });
}

// POST /api/agent/tasks/{task_id}/run/start → {"status":"ok","run_id"}
void start_run(const ctx_ptr& ctx, const http_request& req, responder respond) {
  auto task = parse_id64("tsk_", req.param("task_id"));
  with_task_agent(ctx, req, respond,
                  [ctx, task, respond](caf::event_based_actor* self,
                                       const agent_record& agent) {
                    if (!task) {
                      respond(error_response(404, "task not found"));
                      return;
                    }
                    ask_tasks(
                      self, ctx, respond,
                      [](std::string& run) {
                        return ok_with(run, {"run_id"});
                      },
                      run_start_atom::value, task_caller{0, agent.id}, *task);
                  });
}

// POST /api/agent/tasks/runs/{run_id}/complete, and
// POST /api/agent/tasks/{task_id}/run/complete with `run_id` in the body.
void complete_run(const ctx_ptr& ctx, const http_request& req,
                  responder respond) {
  run_completion c;
  if (!read_input(req, respond, [&](auto& doc, auto& err) {
        return parse_run_completion(doc, c, err);
      }))
    return;
  auto in_path = req.param("run_id");
  if (in_path.empty() && !c.run_id) {
    respond(error_response(400, "run_id: is required"));
    return;
  }
  auto run = parse_id64("run_", in_path.empty() ? *c.run_id : in_path);
  // Named through its task, the run must be that task's.
  uint64_t task = 0;
  if (in_path.empty()) {
    auto in_task = parse_id64("tsk_", req.param("task_id"));
    if (!in_task) {
      respond(error_response(404, "task not found"));
      return;
    }
    task = *in_task;
  }
  with_task_agent(ctx, req, respond,
                  [ctx, run, task, c, respond](caf::event_based_actor* self,
                                               const agent_record& agent) {
                    if (!run) {
                      respond(error_response(404, "run not found"));
                      return;
                    }
                    ask_tasks(
                      self, ctx, respond,
                      [](std::string&) {
                        return std::string{R"({"status":"ok"})"};
                      },
                      run_done_atom::value, task_caller{0, agent.id}, *run,
                      task, c);
                  });
}

namespace {

/// Malformed trigger ids are unknown ones: nothing to look up.
bool plausible_trigger_id(const std::string& id) {
  return id.size() >= 36 && id.size() <= 80 && id.compare(0, 4, "trg_") == 0;
}

} // namespace

/// A trigger call's body is at most 1 MiB, and is not read for an id that
/// cannot exist.
gate_verdict check_trigger_early(const http_request& head) {
  if (!plausible_trigger_id(head.param("trigger_id")))
    return gate_verdict::refused(error_response(404, "trigger not found"));
  gate_verdict verdict;
  verdict.body_limit = task_limits::trigger_body;
  return verdict;
}

// POST /webhook/{trigger_id} (A5): no credentials; the unguessable id is
// the credential. Any body up to 1 MiB, kept as the payload.
void inbound_trigger(const ctx_ptr& ctx, const http_request& req,
                     responder respond) {
  auto& id = req.param("trigger_id");
  if (!plausible_trigger_id(id)) {
    respond(error_response(404, "trigger not found"));
    return;
  }
  if (req.body.size() > task_limits::trigger_body) {
    respond(error_response(413, "body: at most 1 MiB"));
    return;
  }
  if (over_limit(ctx->trigger_limiter, std::hash<std::string>{}(id), respond))
    return;
  auto hops = parse_hops(req.header("x-nod-hops"));
  if (!hops) {
    respond(error_response(400, "X-Nod-Hops: must be a whole number"));
    return;
  }
  // A chain of webhooks and triggers (agents, or servers, feeding each
  // other) ends here instead of running forever.
  if (*hops >= max_webhook_hops) {
    if (auto* loops = ctx->api.trigger_loops)
      loops->inc();
    spdlog::warn("trigger {}…: refused a call {} webhooks deep (X-Nod-Hops): "
                 "a loop of webhooks and trigger URLs?",
                 id.substr(0, 12), *hops);
    respond(error_response(
      508, "loop detected: this call has passed through "
             + std::to_string(*hops) + " webhooks (X-Nod-Hops); at most "
             + std::to_string(max_webhook_hops - 1) + " are followed"));
    return;
  }
  trigger_call call;
  call.trigger_id = id;
  call.payload_json = trigger_payload(req.body);
  call.headers_json = trigger_headers_json(req.headers);
  call.content_type = req.header("content-type");
  // The raw body only matters to check a signature.
  call.signature = req.header("x-hub-signature-256");
  if (!call.signature.empty())
    call.body = req.body;
  call.received_ms = now_ms();
  call.hops = *hops;
  ask<std::string>(
    ctx->api.tasks,
    [respond](caf::expected<std::string> reply) {
      if (!reply)
        respond(from_error(reply.error()));
      else
        respond(json_response(202, std::move(*reply)));
    },
    trigger_atom::value, std::move(call));
}
} // namespace nod::net::agent
