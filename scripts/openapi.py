#!/usr/bin/env python3
# Writes docs/openapi.json, the OpenAPI 3.1 document of every HTTP endpoint
# (served at GET /api/openapi.json): python3 scripts/openapi.py > docs/openapi.json
# A test fails when a route the server has is missing here (app_api_test).
import json
ID = lambda p: {"type": "string", "pattern": f"^{p}_[0-9a-f]+$"}
S = {"type": "string"}; NS = {"type": ["string", "null"]}
B = {"type": "boolean"}; I = {"type": "integer"}
T = {"type": "string", "format": "date-time"}; NT = {"type": ["string", "null"], "format": "date-time"}
ref = lambda n: {"$ref": f"#/components/schemas/{n}"}
arr = lambda x: {"type": "array", "items": x}
def obj(req, props, extra=True):
    o = {"type": "object", "required": req, "properties": props}
    if not extra: o["additionalProperties"] = False
    return o

schemas = {
 "Error": obj(["detail"], {"detail": S}),
 "Ok": obj(["status"], {"status": {"const": "ok"}}),
 # -- events an agent sends (A2) --
 "MessageEvent": obj(["type"], {"type": {"const": "message"}, "text": {"type": "string", "maxLength": 65536},
    "image_base64": S, "conversation_id": NS, "task_run_id": NS, "report_title": S, "report_description": S, "request_id": {"type": ["string", "number"]}}),
 "DecisionEvent": obj(["type", "title", "kind"], {"type": {"const": "decision"}, "title": S,
    "kind": {"enum": ["approval", "choice", "question", "permission"]}, "description": S, "options": arr(S),
    "allows_always": B, "always_allow_label": S, "always_allow_options": arr(obj(["pattern"], {"pattern": S, "label": S})),
    "expires_in": {"type": "integer", "minimum": 1, "maximum": 2592000}, "conversation_id": NS, "task_run_id": NS, "request_id": {"type": ["string", "number"]}}),
 "AlertEvent": obj(["type", "title"], {"type": {"const": "alert"}, "title": S, "text": S, "task_run_id": NS}),
 "ProcessingEvent": obj(["type"], {"type": {"enum": ["processing_start", "processing_stop", "agent_heartbeat", "agent_idle"]},
    "conversation_id": NS, "status_text": S}),
 "StatusEvent": obj(["type", "action"], {"type": {"const": "status"}, "action": S, "details": {}}),
 "TaskProposalEvent": obj(["type", "title", "task_name", "task_prompt", "task_schedule"], {"type": {"const": "task_proposal"},
    "title": S, "task_name": S, "task_prompt": S, "task_schedule": S}),
 "AgentEvent": {"oneOf": [ref(n) for n in ["MessageEvent", "DecisionEvent", "AlertEvent", "ProcessingEvent", "StatusEvent", "TaskProposalEvent"]]},
 "EventReply": obj(["status"], {"status": {"const": "ok"}, "message_id": ID("msg"), "conversation_id": ID("conv"),
    "decision_id": ID("dec"), "activity_id": ID("act")}),
 # -- events an agent receives (A4) --
 "UserMessage": obj(["type", "event_id", "message_id", "conversation_id", "text", "sender_name", "image_url", "image_urls", "seq"],
    {"type": {"const": "user_message"}, "event_id": ID("evt"), "message_id": ID("msg"), "conversation_id": ID("conv"),
     "text": NS, "sender_name": S, "image_url": NS, "image_urls": arr(S), "audio_url": NS, "reply_to_id": NS, "reply_to_text": NS, "seq": {"type": "integer", "minimum": 1}}),
 "DecisionResolved": obj(["type", "event_id", "decision_id", "status", "seq"],
    {"type": {"const": "decision_resolved"}, "event_id": ID("evt"), "decision_id": ID("dec"),
     "status": {"enum": ["approved", "rejected", "responded", "dismissed", "expired"]}, "note": NS, "conversation_id": NS,
     "task_run_id": NS, "always_allow": B, "always_allow_pattern": NS, "task_id": ID("tsk"), "seq": {"type": "integer", "minimum": 1}}),
 "TaskDue": obj(["type", "event_id", "task_id", "run_id", "task_name", "task_prompt", "seq"],
    {"type": {"const": "task_due"}, "event_id": ID("evt"), "task_id": ID("tsk"), "run_id": ID("run"), "task_name": S, "task_prompt": S, "schedule": S, "seq": I}),
 "TaskTrigger": obj(["type", "event_id", "task_id", "run_id", "task_name", "task_prompt", "payload", "received_at", "seq"],
    {"type": {"const": "task_trigger"}, "event_id": ID("evt"), "task_id": ID("tsk"), "run_id": ID("run"), "task_name": S, "task_prompt": S,
     "payload": {}, "headers": {"type": "object", "additionalProperties": S}, "content_type": NS, "received_at": T, "seq": I}),
 "AgentBoundEvent": {"oneOf": [ref(n) for n in ["UserMessage", "DecisionResolved", "TaskDue", "TaskTrigger"]]},
 # -- objects --
 "Agent": obj(["id", "agent_id", "name", "type", "online"], {"id": ID("agt"), "agent_id": ID("agt"), "name": S, "type": S, "webhook_url": NS,
    "online": B, "processing": B, "pending_decisions": I, "undelivered_events": I, "created_at": T}),
 "Conversation": obj(["id", "agent_id"], {"id": ID("conv"), "agent_id": ID("agt"), "created_at": T}),
 "Message": obj(["id", "conversation_id", "agent_id", "role", "created_at"], {"id": ID("msg"), "message_id": ID("msg"), "conversation_id": ID("conv"),
    "agent_id": ID("agt"), "role": {"enum": ["agent", "user"]}, "text": NS, "image_url": NS, "created_at": T}),
 "Decision": obj(["id", "agent_id", "kind", "title", "status", "created_at"], {"id": ID("dec"), "decision_id": ID("dec"), "agent_id": ID("agt"),
    "kind": {"enum": ["approval", "choice", "question", "permission", "task_proposal"]}, "title": S,
    "status": {"enum": ["pending", "approved", "rejected", "responded", "dismissed", "expired"]}, "note": NS, "created_at": T, "resolved_at": NT}),
 "Task": obj(["id", "task_id", "agent_id", "name", "prompt", "schedule", "trigger_type", "enabled", "trigger_secret_set"],
    {"id": ID("tsk"), "task_id": ID("tsk"), "agent_id": ID("agt"), "name": S, "prompt": S, "schedule": S,
     "trigger_type": {"enum": ["scheduled", "once", "event"]}, "enabled": B, "run_at": NT, "timezone": NS, "trigger_url": NS,
     "trigger_secret_set": B, "next_run_at": NT, "last_run_at": NT, "created_at": T, "updated_at": T}),
 "TaskInput": obj([], {"name": S, "prompt": S, "schedule": S, "run_at": T, "timezone": NS, "enabled": B,
    "trigger_secret": {"type": ["string", "null"], "minLength": 1, "maxLength": 256}}),
 # -- reaching the person (docs/notifications.md) --
 "PushSubscriptionInput": obj(["endpoint", "keys"], {"endpoint": S, "expirationTime": {"type": ["integer", "null"]},
    "keys": obj(["p256dh", "auth"], {"p256dh": S, "auth": S})}),
 "PushSubscription": obj(["id", "endpoint", "keys", "created_at"], {"id": ID("psub"), "endpoint": S,
    "expirationTime": {"type": ["integer", "null"]}, "keys": obj(["p256dh", "auth"], {"p256dh": S, "auth": S}),
    "created_at": T, "status": ref("ChannelStatus")}),
 "ChannelStatus": obj(["last_error", "last_error_at", "last_sent_at"], {"last_error": NS, "last_error_at": NT, "last_sent_at": NT}),
 "NotificationSettings": obj(["events", "quiet_hours", "muted_agents", "channels"], {
    "events": obj([], {"decision": B, "message": B, "expiring": B, "pending": B}),
    "quiet_hours": {"type": ["object", "null"], "properties": {"start": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
        "end": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}, "timezone": S}},
    "muted_agents": arr(ID("agt")),
    "channels": obj([], {
        "ntfy": {"type": ["object", "null"], "properties": {"server": S, "topic": S, "token": S, "token_set": B}},
        "slack": {"type": ["object", "null"], "properties": {"webhook_url": S}},
        "email": {"type": ["object", "null"], "properties": {"to": S}}}),
    "channel_status": obj([], {"ntfy": ref("ChannelStatus"), "slack": ref("ChannelStatus"), "email": ref("ChannelStatus")})}),
 "Backup": obj(["id", "path", "bytes", "created_at"], {"id": S, "path": S, "bytes": I, "created_at": T}),
 "BackupList": obj(["backups"], {"backups": arr(ref("Backup"))}),
 "ChannelTest": obj(["channel", "ok", "error"], {"channel": {"enum": ["push", "ntfy", "slack", "email"]}, "ok": B, "error": NS}),
 "Run": obj(["id", "task_id", "status"], {"id": ID("run"), "run_id": ID("run"), "task_id": ID("tsk"),
    "status": {"enum": ["due", "running", "completed", "failed"]}, "summary": NS}),
}

agent_sec = [{"agentId": [], "agentSecret": []}]
user_sec = [{"bearer": []}, {"cookie": []}]
def op(summary, tag, sec, ok="200", schema=None, body=None, params=(), extra=None):
    o = {"summary": summary, "tags": [tag], "responses": {ok: {"description": "OK"}}}
    if schema: o["responses"][ok]["content"] = {"application/json": {"schema": schema}}
    for code in (["400"] if body or params else []) + (["401"] if sec else []) + (["404"] if sec else []):
        o["responses"][code] = {"$ref": f"#/components/responses/E{code}"}
    if sec is not None: o["security"] = sec
    if body: o["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params: o["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in params]
    if extra: o.update(extra)
    return o
A, P, O = "agent", "people", "operations"
paths = {
 "/api/agent/events": {"post": op("Send an event (message, decision, alert, processing, status, task proposal)", A, agent_sec, schema=ref("EventReply"), body=ref("AgentEvent"),
    params=["IdempotencyKey"])},
 "/api/agent/inbox": {"get": op("Pending events in seq order; long-poll with wait", A, agent_sec, schema=arr(ref("AgentBoundEvent")), params=["after", "limit1000", "wait"])},
 "/api/agent/inbox/ack": {"post": op("Acknowledge pending events up to seq", A, agent_sec, body=obj(["seq"], {"seq": I}))},
 "/api/agent/me": {"get": op("The agent itself, without secrets", A, agent_sec, schema=ref("Agent"))},
 "/api/agent/decisions": {"get": op("The agent's decisions, newest first", A, agent_sec, schema=arr(ref("Decision")), params=["status", "before", "limit"])},
 "/api/agent/decisions/{id}": {"get": op("One decision; long-poll until resolved with wait", A, agent_sec, schema=ref("Decision"), params=["id", "wait"])},
 "/api/agent/conversations": {"get": op("The agent's conversations", A, agent_sec, schema=arr(ref("Conversation")), params=["before", "limit"])},
 "/api/agent/conversations/{id}/messages": {"get": op("Messages of one of its conversations, newest first", A, agent_sec, schema=arr(ref("Message")), params=["id", "before", "limit"])},
 "/api/agent/tasks": {"post": op("Create a task", A, agent_sec, body=ref("TaskInput")), "get": op("The agent's tasks", A, agent_sec, schema=arr(ref("Task")))},
 "/api/agent/tasks/due": {"get": op("Runs due and not started", A, agent_sec)},
 "/api/agent/tasks/triggers/pending": {"get": op("Trigger calls not yet completed", A, agent_sec)},
 "/api/agent/tasks/{task_id}": {"get": op("One of its tasks", A, agent_sec, schema=ref("Task"), params=["task_id"]),
    "patch": op("Edit one of its tasks", A, agent_sec, schema=ref("Task"), body=ref("TaskInput"), params=["task_id"]),
    "delete": op("Delete one of its tasks", A, agent_sec, ok="204", params=["task_id"])},
 "/api/agent/tasks/{task_id}/runs": {"get": op("Runs of one of its tasks, newest first", A, agent_sec, schema=arr(ref("Run")), params=["task_id", "before", "limit"])},
 "/api/agent/tasks/{task_id}/run/start": {"post": op("Start a run", A, agent_sec, params=["task_id"])},
 "/api/agent/tasks/{task_id}/run/complete": {"post": op("Complete a run named by run_id in the body", A, agent_sec, params=["task_id"], body=obj(["status"], {"status": {"enum": ["completed", "failed"]}, "run_id": S, "result": {}, "error": {}, "summary": S}))},
 "/api/agent/tasks/runs/{run_id}/complete": {"post": op("Complete a run", A, agent_sec, params=["run_id"], body=obj(["status"], {"status": {"enum": ["completed", "failed"]}, "result": {}, "error": {}, "summary": S}))},
 "/webhook/{trigger_id}": {"post": op("Trigger URL: wakes the task's agent (task_trigger); any body up to 1 MiB", A, [], ok="202",
    params=["trigger_id", "HubSignature", "Hops"], extra={"requestBody": {"content": {"*/*": {"schema": {}}}}})},
 "/ws/agent/{agent_id}": {"get": op("The agent's WebSocket (upgrade); frames as in docs/api.md A3", A, [], ok="101", params=["agent_id"])},
 "/api/auth/login": {"post": op("Log in; sets the session cookie and returns a token", P, [], body=obj(["username", "password"], {"username": S, "password": S}))},
 "/api/auth/logout": {"post": op("Log out", P, user_sec)},
 "/api/me": {"get": op("The person signed in", P, user_sec)},
 "/api/users": {"post": op("Add a person (admins)", P, user_sec, ok="201", body=obj(["username", "password"], {"username": S, "password": S, "is_admin": B}))},
 "/api/agents": {"post": op("Create an agent (its secret is shown once)", P, user_sec, ok="201", body=obj(["name"], {"name": S, "type": S, "webhook_url": NS})),
    "get": op("The person's agents, newest first", P, user_sec, schema=arr(ref("Agent")), params=["before", "limit"])},
 "/api/agents/{id}": {"get": op("One agent", P, user_sec, schema=ref("Agent"), params=["id"]),
    "patch": op("Edit an agent", P, user_sec, schema=ref("Agent"), params=["id"], body=obj([], {"name": S, "type": S, "webhook_url": NS})),
    "delete": op("Delete an agent", P, user_sec, ok="204", params=["id"])},
 "/api/agents/{id}/secret": {"post": op("Rotate the agent secret", P, user_sec, params=["id"])},
 "/api/agents/{id}/webhook-secret": {"post": op("Rotate the webhook secret", P, user_sec, params=["id"])},
 "/api/agents/{id}/conversations": {"get": op("An agent's conversations", P, user_sec, schema=arr(ref("Conversation")), params=["id", "before", "limit"])},
 "/api/agents/{id}/messages": {"post": op("Send a message (text and/or image_base64) to an agent", P, user_sec, ok="201", schema=ref("Message"), params=["id"],
    body=obj([], {"text": S, "image_base64": S, "conversation_id": S, "reply_to_id": S}))},
 "/api/agents/{id}/deliveries": {"get": op("How each event reached the agent", P, user_sec, params=["id", "status", "limit"])},
 "/api/conversations/{id}/messages": {"get": op("Messages of a conversation, newest first", P, user_sec, schema=arr(ref("Message")), params=["id", "before", "limit"])},
 "/api/decisions": {"get": op("The person's decisions, newest first", P, user_sec, schema=arr(ref("Decision")), params=["status", "before", "limit"])},
 "/api/decisions/{id}": {"get": op("One decision", P, user_sec, schema=ref("Decision"), params=["id"])},
 "/api/decisions/{id}/resolve": {"post": op("Resolve a decision (first wins; 409 after)", P, user_sec, schema=ref("Decision"), params=["id"],
    body=obj(["status"], {"status": S, "note": NS, "always_allow": B, "always_allow_pattern": NS}))},
 "/api/activity": {"get": op("Alerts and status entries, newest first", P, user_sec, params=["before", "limit"])},
 "/api/tasks": {"get": op("The person's tasks", P, user_sec, schema=arr(ref("Task")), params=["before", "limit"])},
 "/api/tasks/{id}": {"post": op("Create a task for the agent {id} (an agt_ id)", P, user_sec, ok="201", schema=ref("Task"), params=["id"], body=ref("TaskInput")),
    "get": op("One task", P, user_sec, schema=ref("Task"), params=["id"]),
    "patch": op("Edit a task", P, user_sec, schema=ref("Task"), params=["id"], body=ref("TaskInput")),
    "delete": op("Delete a task", P, user_sec, ok="204", params=["id"])},
 "/api/tasks/{id}/run": {"post": op("Run a task now", P, user_sec, params=["id"])},
 "/api/tasks/{id}/runs": {"get": op("Runs of a task, newest first", P, user_sec, schema=arr(ref("Run")), params=["id", "before", "limit"])},
 "/api/push/key": {"get": op("The server's VAPID public key (applicationServerKey)", P, user_sec, schema=obj(["public_key"], {"public_key": S}))},
 "/api/push/subscriptions": {"post": op("Add this browser's PushSubscription (the same endpoint again replaces it)", P, user_sec, ok="201",
        schema=ref("PushSubscription"), body=ref("PushSubscriptionInput")),
    "get": op("The person's push subscriptions", P, user_sec, schema=arr(ref("PushSubscription")))},
 "/api/push/subscriptions/{id}": {"delete": op("Remove a push subscription", P, user_sec, ok="204", params=["id"])},
 "/api/notifications": {"get": op("Notification settings and each channel's last result", P, user_sec, schema=ref("NotificationSettings")),
    "patch": op("Change notification settings (each member present replaces its part)", P, user_sec, schema=ref("NotificationSettings"),
        body=ref("NotificationSettings"))},
 "/api/notifications/{channel}/test": {"post": op("Send a test notification on a channel; answers with the outcome", P, user_sec,
    schema=ref("ChannelTest"), params=["channel"])},
 "/api/admin/backups": {
    "post": op("Take an online backup (admins only; 403 for anyone else)", O, user_sec, ok="201", schema=ref("Backup"),
        extra={"responses": {"201": {"description": "Created", "content": {"application/json": {"schema": ref("Backup")}}},
               "401": {"$ref": "#/components/responses/E401"}, "403": {"description": "Not an admin"}}}),
    "get": op("The backups, newest first (admins only)", O, user_sec, schema=ref("BackupList"),
        extra={"responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref("BackupList")}}},
               "401": {"$ref": "#/components/responses/E401"}, "403": {"description": "Not an admin"}}})},
 "/media/{id}": {"get": op("An image, to its person or its agent", P, user_sec + agent_sec, params=["id"],
    extra={"responses": {"200": {"description": "The image", "content": {"image/*": {}}}, "401": {"$ref": "#/components/responses/E401"}, "404": {"$ref": "#/components/responses/E404"}}})},
 "/ws/app": {"get": op("The app's WebSocket (upgrade)", P, [], ok="101")},
 "/healthz": {"get": op("The process is up", O, None)},
 "/readyz": {"get": op("The journal is open and accepting (503 otherwise)", O, None)},
 "/metrics": {"get": op("Prometheus metrics (bearer metrics-token when set)", O, None, extra={"responses": {"200": {"description": "Prometheus text", "content": {"text/plain": {}}}}})},
 "/api/openapi.json": {"get": op("This document", O, None)},
}
p = lambda name, where, schema, desc, required=False: {"name": name, "in": where, "schema": schema, "description": desc, "required": required or where == "path"}
params = {
 "id": p("id", "path", S, "An id (agt_, conv_, dec_, tsk_ or med_ as the path says)"),
 "agent_id": p("agent_id", "path", ID("agt"), "The agent"),
 "channel": p("channel", "path", {"enum": ["push", "ntfy", "slack", "email"]}, "A notification channel"),
 "task_id": p("task_id", "path", ID("tsk"), "The task"),
 "run_id": p("run_id", "path", ID("run"), "The run"),
 "trigger_id": p("trigger_id", "path", {"type": "string", "pattern": "^trg_[0-9a-f]{32,}$"}, "The trigger"),
 "before": p("before", "query", S, "Items below this id (the last of the previous page)"),
 "limit": p("limit", "query", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size"),
 "limit1000": p("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "Most events"),
 "after": p("after", "query", {"type": "integer", "minimum": 0}, "Events after this seq"),
 "wait": p("wait", "query", {"type": "integer", "minimum": 0, "maximum": 60}, "Seconds to hold the request until something arrives"),
 "status": p("status", "query", {"enum": ["pending", "resolved", "expired", "approved", "rejected", "responded", "dismissed"]}, "Filter by status"),
 "IdempotencyKey": p("Idempotency-Key", "header", S, "Repeats within 24 h get the first reply; another body with the same key is 422"),
 "HubSignature": p("X-Hub-Signature-256", "header", S, "sha256=<hex HMAC-SHA256 of the body>, required when the task has a trigger_secret"),
 "Hops": p("X-Nod-Hops", "header", I, "Webhooks this call passed through; 8 or more is 508"),
}
doc = {
 "openapi": "3.1.0",
 "info": {"title": "Nod server", "version": "0.1",
          "description": "Agents send events and read back their own data with X-Nod-Agent-Id and X-Nod-Secret; people use a bearer token or the session cookie. The wire contract in prose: docs/api.md."},
 "tags": [{"name": A, "description": "The agent API (docs/api.md Part A)"}, {"name": P, "description": "The people's API (Part B)"}, {"name": O, "description": "Operations (Part C)"}],
 "paths": paths,
 "components": {
   "schemas": schemas, "parameters": params,
   "responses": {f"E{c}": {"description": d, "content": {"application/json": {"schema": ref("Error")}}} for c, d in
                 [("400", "Invalid input; detail names the field"), ("401", "Missing or invalid credentials"), ("404", "Not found, or not the caller's")]},
   "securitySchemes": {"agentId": {"type": "apiKey", "in": "header", "name": "X-Nod-Agent-Id"},
                       "agentSecret": {"type": "apiKey", "in": "header", "name": "X-Nod-Secret"},
                       "bearer": {"type": "http", "scheme": "bearer"},
                       "cookie": {"type": "apiKey", "in": "cookie", "name": "nod_session"}}},
}
print(json.dumps(doc, indent=1, ensure_ascii=False))
