#pragma once

#include "actors/actors.hpp"
#include "actors/alerts.hpp"
#include "actors/app_session.hpp"
#include "actors/maintenance.hpp"
#include "actors/task_interfaces.hpp"
#include "protocol/address_policy.hpp"

#include <atomic>
#include <caf/fwd.hpp>
#include <memory>
#include <string>

namespace nod::net {

class server;
class session_cache;

/// What the app API (API.md Part B) needs from the rest of the server.
struct app_api_context {
  caf::actor_system* sys = nullptr;
  /// The accounts actor's `sessions_epoch` (null: every request asks
  /// accounts), and the sessions it confirmed, made by `add_app_api`.
  std::shared_ptr<const std::atomic<uint64_t>> sessions_epoch;
  std::shared_ptr<session_cache> sessions;
  accounts_actor accounts;
  directory_actor directory;
  reader_actor reader;
  actions_actor actions;
  outbox_actor outbox;
  tasks_actor tasks;
  /// Push subscriptions, notification settings and channel tests.
  alerts_actor alerts;
  /// Backups (`/api/admin/backups`).
  maintenance_actor maintenance;
  /// Base URL the server is reached at, e.g. "http://127.0.0.1:8000".
  /// When the operator set it (`public_url_set`), cookie-authenticated
  /// writes must come from its origin alone; otherwise from the request's
  /// own Host (or this URL, derived from the listen address).
  std::string public_url;
  bool public_url_set = false;
  app_session_options app_sessions;
  /// Where webhooks may connect (`webhook-allowed-hosts` and this server's
  /// own endpoints): agent create and update refuse a `webhook_url` whose
  /// host is a literal address it refuses (host names are checked on the
  /// resolved address when connecting).
  address_policy webhook_hosts;
};

/// Adds the people's REST endpoints (`/api/auth/*`, `/api/me`,
/// `/api/users`, `/api/agents…`, `/api/conversations…`, `/api/decisions…`,
/// `/api/activity`, `/api/tasks…`, `/api/push…`, `/api/notifications…`,
/// `/api/admin/backups`) and
/// the app WebSocket `/ws/app` to `srv`.
void add_app_api(server& srv, app_api_context ctx);

/// Name of the session cookie.
constexpr const char* session_cookie = "nod_session";

} // namespace nod::net
