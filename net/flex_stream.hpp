#pragma once

// The byte stream under one server connection: plain TCP, or TLS over it
// when the server has a certificate (`tls-cert`). One type for both, chosen
// per connection at run time, so the HTTP and WebSocket sessions are written
// once. It forwards Beast's tcp_stream calls (timeouts, socket, close) to
// the TCP layer and reads and writes through TLS when there is TLS.
// Internal to net/ (Beast and Asio's SSL inside).

#include "net/beast_aliases.hpp"

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <memory>
#include <utility>

namespace nod::net::detail {

namespace ssl = asio::ssl;

class flex_stream {
public:
  using executor_type = beast::tcp_stream::executor_type;
  using tls_stream = ssl::stream<beast::tcp_stream&>;

  /// Plain TCP over `socket`.
  explicit flex_stream(tcp::socket&& socket)
    : tcp_(std::make_unique<beast::tcp_stream>(std::move(socket))) {}

  /// TLS over `socket` with the server's `context` (kept alive here: a
  /// reload may replace the server's while this connection lives).
  flex_stream(tcp::socket&& socket, std::shared_ptr<ssl::context> context)
    : tcp_(std::make_unique<beast::tcp_stream>(std::move(socket))),
      context_(std::move(context)),
      tls_(std::make_unique<tls_stream>(*tcp_, *context_)) {}

  flex_stream(flex_stream&&) = default;
  flex_stream& operator=(flex_stream&&) = default;

  executor_type get_executor() noexcept {
    return tcp_->get_executor();
  }

  bool tls() const {
    return tls_ != nullptr;
  }

  // -- the TCP layer, as beast::tcp_stream offers it

  tcp::socket& socket() {
    return tcp_->socket();
  }

  void expires_after(std::chrono::steady_clock::duration d) {
    tcp_->expires_after(d);
  }

  void expires_never() {
    tcp_->expires_never();
  }

  void close() {
    tcp_->close();
  }

  // -- TLS

  /// The server side of the TLS handshake; only when `tls()`.
  template <class Handler>
  void async_handshake(Handler&& handler) {
    tls_->async_handshake(ssl::stream_base::server,
                          std::forward<Handler>(handler));
  }

  // -- AsyncReadStream and AsyncWriteStream

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    else
      tcp_->async_read_some(buffers, std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_)
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    else
      tcp_->async_write_some(buffers, std::forward<Handler>(handler));
  }

  // -- Beast's customization points (found by argument-dependent lookup)

  /// `beast::close_socket`: the WebSocket's timeouts close the connection.
  friend void beast_close_socket(flex_stream& s) {
    s.tcp_->close();
  }

  template <class Handler>
  friend void async_teardown(beast::role_type role, flex_stream& s,
                             Handler&& handler) {
    using beast::websocket::async_teardown;
    if (s.tls_)
      async_teardown(role, *s.tls_, std::forward<Handler>(handler));
    else
      async_teardown(role, *s.tcp_, std::forward<Handler>(handler));
  }

  friend void teardown(beast::role_type role, flex_stream& s,
                       beast::error_code& ec) {
    using beast::websocket::teardown;
    if (s.tls_)
      teardown(role, *s.tls_, ec);
    else
      teardown(role, *s.tcp_, ec);
  }

private:
  // On the heap, so that moving the stream keeps the TLS layer's reference
  // to the TCP layer valid.
  std::unique_ptr<beast::tcp_stream> tcp_;
  std::shared_ptr<ssl::context> context_;
  std::unique_ptr<tls_stream> tls_;
};

} // namespace nod::net::detail
