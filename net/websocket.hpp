#pragma once

#include "net/http.hpp"
#include "protocol/close_codes.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

// Beast-free view of an upgraded WebSocket connection, so that actors can
// push frames without ever holding an asio object (one that outlives the
// io_context is a use-after-free).

namespace nod::net {

/// One WebSocket connection. Every member is thread-safe and never blocks:
/// frames are queued and written on the connection's strand, one write at a
/// time. Calls after the connection closed (or the server stopped) are
/// no-ops.
class ws_connection {
public:
  virtual ~ws_connection() = default;

  /// Queues a text frame. If the queued bytes would exceed the connection's
  /// send limit, the frame is dropped, the connection is closed with
  /// `ws_close::too_slow` (frames not yet written are dropped too) and
  /// false is returned. Also false, and nothing queued, once the
  /// connection is closing or closed. True means queued, not delivered.
  virtual bool send(std::string text) = 0;

  /// As `send`, and when it returns true, `on_done` is called exactly once
  /// on an io thread: with true once the frame is written to the socket,
  /// with false if it is dropped (overflow, close, error). Must not block.
  virtual bool send(std::string text, std::function<void(bool)> on_done) = 0;

  /// Writes what is queued, then closes with `code` and `reason`. From
  /// here on `send` fails and no message is delivered to the owner; only
  /// `on_closed` follows. A code that may not be sent (RFC 6455 7.4, e.g.
  /// 1006) becomes 1000; the reason is cut to 123 bytes. Only the first
  /// call counts.
  virtual void close(uint16_t code, std::string reason) = 0;

  /// Peer address, `ip:port`.
  virtual const std::string& remote() const = 0;
};

/// What a connection reports to its owner. Called on io threads, one at a
/// time per connection; must not block. (`server::stop` may call the last
/// `on_closed` on its own thread once the io threads are gone.)
struct ws_callbacks {
  /// A complete text message arrived.
  std::function<void(std::string text)> on_text;
  /// A binary message arrived (the server accepts only text; the owner
  /// decides whether to answer with an error or close).
  std::function<void()> on_binary;
  /// The connection ended, for whatever reason; called exactly once, last.
  /// `code` is the close code received or sent, 1006 if none: the one
  /// this side closed with if it asked to close (`close`, send overflow,
  /// server stop), else the peer's (1005 if its close frame had no code),
  /// else the one the server failed the connection with (1009 too big,
  /// 1007 bad UTF-8, 1002 protocol error). The callbacks are released
  /// right after it.
  std::function<void(uint16_t code)> on_closed;
};

/// Accepts an upgrade on a WebSocket route: `req` is the upgrade request
/// (headers include cookies; params from the route pattern). Returns the
/// callbacks for the new connection. Called on an io thread; must not
/// block.
using ws_handler = std::function<ws_callbacks(
  const http_request& req, std::shared_ptr<ws_connection> conn)>;

} // namespace nod::net
