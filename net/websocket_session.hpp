#pragma once

// One upgraded WebSocket connection. Internal to net/ (Beast inside); its
// owner sees only the `ws_connection` of net/websocket.hpp.

#include "net/beast_aliases.hpp"
#include "net/connection_limits.hpp"
#include "net/flex_stream.hpp"
#include "net/http.hpp"
#include "net/websocket.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace nod::net::detail {

struct server_core;

/// Beast's WebSocket read buffer (`tcp_frame_size` in Boost 1.74). Bytes a
/// client sends right after its upgrade request, before the 101, reach the
/// WebSocket only if they fit in it together with the re-serialized
/// request.
constexpr size_t ws_handshake_buffer = 1536;

/// One upgraded WebSocket connection. Reads messages in a loop and hands
/// them to the owner's callbacks; writes what `enqueue` queued, one
/// `async_write` at a time. Everything except `enqueue` and
/// `request_close` runs on the connection's strand (or, during `stop`,
/// after the io threads are gone).
class websocket_session
  : public std::enable_shared_from_this<websocket_session> {
public:
  /// A queued frame and whom to tell when it is written or dropped.
  struct outgoing {
    std::string text;
    std::function<void(bool)> done;
  };

  websocket_session(server_core& srv, flex_stream&& stream, strand_type strand,
                    std::string remote, connection_slot slot);

  ~websocket_session();

  /// Posts `fn(session)` onto the strand.
  template <class F>
  static void post(std::shared_ptr<websocket_session> self, F fn) {
    auto& strand = self->strand_;
    asio::post(strand, [self = std::move(self), fn = std::move(fn)]() mutable {
      fn(*self);
    });
  }

  /// Answers the upgrade request `req`, then gives `info` and the new
  /// connection to `handler`. `early` is the request re-serialized plus
  /// the bytes that followed it, when the client sent some too soon. On
  /// the strand.
  void run(const http::request<http::string_body>& req, http_request info,
           std::string route, const ws_handler* handler, std::string early,
           clock_type::time_point started, std::string request_id);

  /// The server began to stop: close with `going_away`.
  void on_server_stop();

  /// Closes the socket at once and reports the end. On the strand, or
  /// after the io threads are gone.
  void force_close();

  /// Queues `text`; see `ws_connection::send`. Any thread.
  bool enqueue(std::string text, std::function<void(bool)> on_done);

  /// Flushes the queue, then closes with `code`; see
  /// `ws_connection::close`. Any thread.
  void request_close(uint16_t code, std::string reason);

private:
  template <class F>
  void post_self(F fn);

  // -- handshake
  void on_accept(beast::error_code ec);

  // -- reading
  void do_read();
  void on_read(beast::error_code ec, size_t);
  void on_read_failed(beast::error_code ec);

  // -- writing
  void do_write();
  void on_write(beast::error_code ec, size_t);

  // -- closing
  void on_close_requested(bool start_loop);
  void do_close_frame();
  void on_close(beast::error_code ec);
  void on_close_timeout(beast::error_code ec);
  /// The code of a close asked for on this side, if any.
  std::optional<uint16_t> requested_code();
  void close_socket();
  /// Ends the connection for the owner: no sends from here on, queued
  /// frames dropped, `on_closed(code)` called once, callbacks released.
  void finish(uint16_t code);
  /// Empties the queue (not the frame being written) and takes its bytes
  /// off the counts; the frames are the caller's to report. Under `mtx_`.
  std::deque<outgoing> take_queue_locked();
  /// Tells the senders of frames that will never be written.
  static void report_dropped(std::deque<outgoing>& frames);
  void notify_closed(uint16_t code);

  server_core& srv_;
  strand_type strand_;
  websocket::stream<flex_stream> ws_;
  asio::steady_timer close_timer_;
  std::string remote_;
  /// The connection's place in the server's limits, from the HTTP session.
  connection_slot slot_;
  beast::flat_buffer buffer_;

  // The handshake.
  http_request info_;
  std::string route_;
  const ws_handler* handler_ = nullptr;
  std::string early_;
  clock_type::time_point started_;
  unsigned handshake_status_ = 0;
  /// The upgrade request's id (X-Request-Id), answered and logged.
  std::string request_id_;

  // Strand only.
  ws_callbacks callbacks_;
  /// The frame being written.
  outgoing out_;
  bool open_ = false;
  bool counted_ = false;
  bool close_started_ = false;
  bool finished_ = false;

  // Shared with the threads that send or close, under `mtx_`.
  std::mutex mtx_;
  std::deque<outgoing> queue_;
  /// Bytes in `queue_` plus `out_`; never above `max_ws_queue_bytes_`.
  size_t queued_bytes_ = 0;
  /// A write loop is scheduled or running.
  bool writing_ = false;
  /// No more frames are accepted.
  bool closing_ = false;
  /// This side asked to close, with `close_code_`.
  bool close_requested_ = false;
  uint16_t close_code_ = ws_close::normal;
  std::string close_reason_;
};

} // namespace nod::net::detail
