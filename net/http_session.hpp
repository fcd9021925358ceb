#pragma once

// One HTTP connection. Internal to net/ (Beast inside); handlers see only
// the `http_request` and `responder` of net/http.hpp.

#include "net/beast_aliases.hpp"
#include "net/connection_limits.hpp"
#include "net/flex_stream.hpp"
#include "net/http.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace nod::net::detail {

struct server_core;

/// One HTTP connection. Reads one request at a time, hands it to a handler
/// and writes the response before reading the next one. Everything except
/// the responder runs on the connection's strand.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  /// `slot` is the connection's place in the server's limits; a refusal
  /// slot makes a session that answers 503 (and /healthz) and closes.
  http_session(server_core& srv, flex_stream&& stream, strand_type strand,
               connection_slot slot);

  ~http_session();

  /// Starts reading on the strand.
  void run();

  /// Posts `fn(session)` onto the strand.
  template <class F>
  static void post(std::shared_ptr<http_session> self, F fn) {
    auto& strand = self->strand_;
    asio::post(strand, [self = std::move(self), fn = std::move(fn)]() mutable {
      fn(*self);
    });
  }

  /// The server began to stop: close now if between requests.
  void on_server_stop();

  /// Closes the connection whatever it is doing. On the strand, or after
  /// the io threads are gone.
  void force_close();

private:
  enum class state {
    idle,
    reading,
    /// Headers read; the route's gate decides whether to read the body.
    gating,
    handling,
    writing,
    draining,
    /// A standby node passing the connection on (`server::set_forward`).
    relaying,
    closed
  };

  // -- reading
  void on_handshake(beast::error_code ec);
  void do_read();
  void on_first_bytes(beast::error_code ec, size_t n);
  void do_read_header();
  void on_header(beast::error_code ec, size_t);
  bool admit_body();
  void read_body_after_header();
  gate_decision make_gate_decision();
  void on_gate(uint64_t id, std::optional<http_response> refuse);
  void do_continue();
  void on_continue(beast::error_code ec, size_t);
  void do_read_body();
  void on_read(beast::error_code ec, size_t);

  // -- handling
  void handle_request();
  /// The request as handlers see it, without the body.
  http_request request_of(const http::request<http::string_body>& msg) const;
  bool route_websocket(http::request<http::string_body>& msg,
                       http_request& req);
  void upgrade(const http::request<http::string_body>& msg, http_request req);
  void begin_request(const http::request<http::string_body>& head);
  /// Answers the current request now (built-in errors).
  void finish(http_response res);
  responder make_responder();
  void on_response(uint64_t id, http_response res);
  /// Answers a request that could not be read, then closes.
  void reply_error(unsigned status, const std::string& detail);
  void reply_error(http_response res);

  // -- writing
  void do_write(http_response res, bool drain);
  void build(http_response res, bool keep);
  void on_write(bool keep, bool drain, beast::error_code ec, size_t);

  // -- relaying
  bool relayed(const http::request<http::string_body>& head) const;
  void start_relay();
  void on_upstream(beast::error_code ec);
  void pump_up();
  void pump_down();

  // -- closing
  void do_drain();
  void read_drain();
  void on_drain(beast::error_code ec, size_t);
  void fail(beast::error_code ec, const char* what);
  void do_close();
  static bool log_requests();

  server_core& srv_;
  strand_type strand_;
  connection_slot slot_;
  flex_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  state state_ = state::idle;
  std::string remote_;
  /// The peer's address (`remote_` without the port).
  ip_address peer_;
  /// Keeps the session alive while a handler owns its request.
  std::shared_ptr<http_session> self_;
  /// The connection to where a standby node relays this one.
  struct relay;
  std::unique_ptr<relay> relay_;
  /// A response given synchronously from inside the handler.
  std::optional<http_response> sync_response_;

  /// The request body's bytes in the server's budget, from its headers
  /// until its response is written.
  body_hold body_hold_;
  /// Tells a gate's decision from one for an earlier request.
  uint64_t gate_id_ = 0;

  // The request in progress.
  uint64_t request_id_ = 0;
  clock_type::time_point started_;
  bool head_request_ = false;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::string method_;
  std::string route_;
  /// The request's id: its X-Request-Id if acceptable, else a new one;
  /// sent back in X-Request-Id.
  std::string request_id_text_;
  /// Written to the access log (or the debug log) when answered.
  bool log_access_ = false;
  bool log_debug_ = false;
  /// For those logs only: `loggable_path` of the target, and the client's
  /// address.
  std::string path_;
  std::string client_;
  /// The request's `Origin` when `cors-origins` lets it call this path:
  /// the response says so.
  std::string cors_origin_;
};

} // namespace nod::net::detail
