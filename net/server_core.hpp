#pragma once

// The part of the server its sessions share: routers, the io guard, the
// session registry, metrics and the start and stop sequences. Internal to
// net/ (Beast inside); `server` in net/server.hpp is its public face.

#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/beast_aliases.hpp"
#include "net/connection_limits.hpp"
#include "net/listener.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "net/websocket.hpp"
#include "protocol/address_policy.hpp"
#include "protocol/cors.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ssl/context.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace spdlog {
class logger;
} // namespace spdlog

namespace nod::net::detail {

/// The gate between asio and other threads: responders post onto a session
/// strand only while `open`, under a shared lock; `stop` closes it, under
/// the exclusive lock, before the io_context is destroyed.
struct io_guard {
  std::shared_mutex mtx;
  bool open = true;
};

class http_session;
class websocket_session;

/// `host:port`, or `[host]:port` for an IPv6 address.
std::string endpoint_string(const std::string& host, uint16_t port);
std::string endpoint_string(const tcp::endpoint& ep);

/// Everything the server shares with its sessions. Outlives every session:
/// `stop` destroys the io_context (and with it the last session) first.
struct server_core {
  server_core(const config& cfg, metrics::registry& reg,
              std::function<bool()> ready);

  std::optional<std::string> listen();
  /// `listen` under `lifecycle_mtx_`.
  std::optional<std::string> listen_locked();
  std::optional<std::string> start();
  void stop();
  void stop_locked();

  void add_session(const std::shared_ptr<http_session>& s);
  void remove_session(http_session* s);
  std::vector<std::shared_ptr<http_session>> live_sessions();
  void add_websocket(std::string pattern, ws_handler h);
  void add_ws_session(const std::shared_ptr<websocket_session>& s);
  void remove_ws_session(websocket_session* s);
  std::vector<std::shared_ptr<websocket_session>> live_ws_sessions();
  /// True when no session of either kind is left; under `sessions_mtx_`.
  bool no_sessions() const;

  /// Loads `tls-cert` and `tls-key` into a new TLS context for the
  /// connections accepted from now on; the error line (naming the file and
  /// why) on failure, when the context in use stays. Nothing to do without
  /// `tls-cert`.
  std::optional<std::string> load_tls();

  /// The TLS context for a new connection; null without `tls-cert`.
  std::shared_ptr<asio::ssl::context> tls_context() const;

  /// True if `peer` is one of `trusted-proxies`.
  bool trusted_proxy(const ip_address& peer) const;

  /// The client's address for a request from `peer` with the header
  /// `X-Forwarded-For: x_forwarded_for` (see `http_request::client`).
  std::string client_of(const ip_address& peer,
                        const std::string& x_forwarded_for) const;

  /// Records one finished request in the metrics.
  void record(const std::string& route, const std::string& method,
              unsigned status, double seconds);

  /// Writes the access line of one request answered (`access-log`):
  /// `bytes` of body, `seconds` from the complete request to the written
  /// response, `path` as `loggable_path` made it.
  void log_access(std::string_view method, std::string_view path,
                  unsigned status, size_t bytes, double seconds,
                  std::string_view client, std::string_view request_id);

  const config cfg_;
  metrics::registry& reg_;
  std::function<bool()> ready_;
  mutable std::mutex tls_mtx_;
  std::shared_ptr<asio::ssl::context> tls_;
  /// `trusted-proxies`, parsed.
  const std::vector<ip_network> trusted_proxies_;
  /// `cors-origins`, parsed (loaded settings are valid).
  const cors_policy cors_;
  net::router router_;
  /// Matches WebSocket paths (every route `GET`, handler unused); the
  /// matched pattern is the key of `ws_handlers_`.
  net::router ws_router_;
  std::unordered_map<std::string, ws_handler> ws_handlers_;
  /// Set on a standby node: where connections are relayed.
  std::function<std::optional<forward_target>()> forward_;
  /// Send-queue limit of one WebSocket: `2 * max_frame_bytes`, so a
  /// frame of the largest size the server accepts always fits beside one
  /// that is being written, while a client that stops reading costs at
  /// most this much memory.
  const size_t max_ws_queue_bytes_;
  std::shared_ptr<io_guard> guard_ = std::make_shared<io_guard>();
  std::atomic<bool> stopping_{false};
  /// Open connections against `max-connections` and
  /// `max-connections-per-ip`.
  connection_limits limits_;
  /// Request-body bytes in flight against `max-body-memory`.
  body_budget body_budget_;
  /// Request ids are unique per server, so a stale responder never matches
  /// a later request, not even of a session at a reused address.
  std::atomic<uint64_t> next_request_id_{1};
  /// Added to request numbers for the ids of requests that bring none
  /// (`req_` + 16 hex digits); random, so runs do not repeat ids.
  uint64_t request_id_base_ = 0;
  /// `access-log`; SIGHUP may turn it on or off while requests run.
  std::atomic<bool> access_log_{false};
  /// Where access lines go: the default logger unless the app set one
  /// before `start`.
  std::shared_ptr<spdlog::logger> access_logger_;

  metrics::gauge& connections_active_;
  metrics::counter& connections_total_;
  metrics::counter& connections_refused_;
  metrics::counter& bodies_refused_;
  metrics::gauge& ws_active_;
  metrics::counter& ws_total_;
  metrics::counter& ws_frames_in_;
  metrics::counter& ws_frames_out_;
  metrics::counter& ws_overflows_;
  metrics::gauge& ws_queue_bytes_;
  std::mutex metrics_mtx_;
  std::unordered_map<std::string, metrics::counter*> request_counters_;
  std::unordered_map<std::string, metrics::histogram*> durations_;

  std::mutex sessions_mtx_;
  std::condition_variable sessions_cv_;
  template <class T>
  using session_map = std::unordered_map<T*, std::weak_ptr<T>>;
  /// One registry mechanism for both kinds of session, under
  /// `sessions_mtx_`; removals wake `stop`.
  template <class T>
  void add_to(session_map<T>& sessions, const std::shared_ptr<T>& s);
  template <class T>
  void remove_from(session_map<T>& sessions, T* s);
  template <class T>
  std::vector<std::shared_ptr<T>> live_in(session_map<T>& sessions);
  session_map<http_session> sessions_;
  session_map<websocket_session> ws_sessions_;

  std::mutex lifecycle_mtx_;
  bool started_ = false;
  bool stopped_ = false;
  uint16_t port_ = 0;
  std::string address_;
  std::unique_ptr<asio::io_context> ioc_;
  std::optional<listener> listener_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
    work_;
  std::vector<std::thread> threads_;
};

} // namespace nod::net::detail
