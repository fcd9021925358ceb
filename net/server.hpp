#pragma once

#include "net/router.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace nod {
struct config;
namespace metrics {
class registry;
} // namespace metrics
} // namespace nod

namespace nod::net {

/// The HTTP (and later WebSocket) front end: a Beast listener, one session
/// per connection, routing to handlers. Beast stays inside net/*.cpp.
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

  /// Binds, listens and starts the io threads. Returns an error line (e.g.
  /// "cannot listen on 127.0.0.1:8000: Address already in use") on failure.
  std::optional<std::string> start();

  /// Port actually bound (useful with port 0); valid after `start`.
  uint16_t port() const;

  /// Orderly stop: stop accepting, let in-flight requests finish (up to
  /// the configured grace), close idle connections, join the io threads.
  /// Idempotent; the destructor calls it.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace nod::net
