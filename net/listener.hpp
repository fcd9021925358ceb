#pragma once

// Accepts TCP connections and hands each to an http_session. Internal to
// net/ (Beast inside).

#include "net/beast_aliases.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace nod::net::detail {

struct server_core;

/// The acceptor, on a strand of its own. Every accepted connection gets a
/// new strand and an http_session registered with the server.
class listener {
public:
  listener(server_core& srv, asio::io_context& ioc);

  /// Resolves `host` (a literal address, else a name such as `localhost`),
  /// binds and listens. Returns an error line on failure.
  std::optional<std::string> open(const std::string& host, uint16_t port);

  /// The address bound; valid after a successful `open`.
  const tcp::endpoint& local() const {
    return local_;
  }

  /// Starts accepting, on the listener's strand.
  void run();

  /// Stops accepting, on the listener's strand.
  void close();

private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket, strand_type strand);

  server_core& srv_;
  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  tcp::endpoint local_;
};

} // namespace nod::net::detail
