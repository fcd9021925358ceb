#pragma once

#include "net/router.hpp"
#include "net/websocket.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

namespace nod {
struct config;
namespace metrics {
class registry;
} // namespace metrics
} // namespace nod

namespace nod::net {

/// Where a standby cluster node relays connections (docs/cluster.md).
struct forward_target {
  std::string host;
  std::string port;
};

/// The HTTP and WebSocket front end: a Beast listener, one session per
/// connection, routing to handlers. Beast stays inside net/*.cpp.
class server {
public:
  /// `ready` answers `/readyz`; it is called on io threads and must not
  /// block.
  server(const config& cfg, metrics::registry& reg,
         std::function<bool()> ready);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The router, to add routes before `start`. `/healthz`, `/readyz` and
  /// `/metrics` are built in.
  net::router& routes();

  /// Adds a WebSocket route; call before `start`. `pattern` uses the
  /// router's syntax (`/ws/agent/{agent_id}`). A `GET` on the path that is
  /// a WebSocket upgrade is handed to `h` once the handshake (`101`) is
  /// done; a plain request gets 426 and other methods fall through to the
  /// HTTP routes. For `GET` the WebSocket route wins over an HTTP route of
  /// the same path. Every connection reads messages of at most
  /// `max_frame_bytes`, is dropped after `idle_timeout` without an answer
  /// to the server's pings, and queues at most `2 * max_frame_bytes` bytes
  /// for sending (`max_ws_queue_bytes`): beyond, it closes with
  /// `ws_close::too_slow`.
  void add_websocket(std::string pattern, ws_handler h);

  /// Makes this a standby node's front: a connection whose first request
  /// is not for `/healthz`, `/readyz` or `/metrics` is relayed, bytes as
  /// they come (WebSockets included), to what `target` names then, with
  /// the client's address added to `X-Forwarded-For`; while it names
  /// nothing, such requests get 503 with `Retry-After`. Call before
  /// `start`; `target` runs on io threads and must not block.
  void set_forward(std::function<std::optional<forward_target>()> target);

  /// Binds and listens without accepting yet, so the address and port
  /// (chosen by the kernel for port 0) are known before the routes that
  /// need them are added. Returns an error line (e.g. "cannot listen on
  /// 127.0.0.1:8000: Address already in use") on failure. Optional: `start`
  /// does it when it was not done.
  std::optional<std::string> listen();

  /// Binds and listens (unless `listen` did) and starts the io threads.
  /// Returns an error line as `listen` does on failure.
  std::optional<std::string> start();

  /// Loads `tls-cert` and `tls-key` again (SIGHUP): connections accepted
  /// from now on present the new certificate, open ones keep theirs.
  /// Returns the error line on failure; the certificate in use stays.
  std::optional<std::string> reload_tls();

  /// Sends access lines to `logger` instead of the default logger; call
  /// before `start`.
  void set_access_logger(std::shared_ptr<spdlog::logger> logger);

  /// Turns the access log (`access-log`: one line per request answered)
  /// on or off for the requests answered from now on. Any thread.
  void set_access_log(bool on);

  /// True when the port speaks TLS (`tls-cert` is set).
  bool tls() const;

  /// Port actually bound (useful with port 0); valid after `listen` or
  /// `start`.
  uint16_t port() const;

  /// Address actually bound, e.g. "127.0.0.1" or "::"; valid after `listen`
  /// or `start`.
  std::string address() const;

  /// Orderly stop: stop accepting, close WebSockets with
  /// `ws_close::going_away`, let in-flight requests and close handshakes
  /// finish (up to the configured grace), close idle connections, join the
  /// io threads. Every WebSocket's `on_closed` has run when it returns.
  /// Idempotent; the destructor calls it.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace nod::net
