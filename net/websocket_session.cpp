#include "net/websocket_session.hpp"

#include "net/server_core.hpp"
#include "protocol/text.hpp"

#include <boost/beast/websocket.hpp>
#include <chrono>
#include <exception>
#include <spdlog/spdlog.h>
#include <utility>

namespace nod::net::detail {

namespace {

/// Longest reason a close frame can carry.
constexpr size_t ws_max_reason = 123;

/// A WebSocket read buffer grown larger than this by one big message is
/// shrunk after it, so an idle connection does not pin megabytes.
constexpr size_t ws_keep_buffer = 64 * 1024;

// Codes an endpoint may send in a close frame (RFC 6455 7.4).
bool sendable_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
         || (code >= 3000 && code <= 4999);
}

// Cuts `reason` to what a close frame carries, at a UTF-8 boundary.
std::string close_reason_text(std::string reason) {
  if (reason.size() <= ws_max_reason)
    return reason;
  size_t n = ws_max_reason;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80)
    --n;
  reason.resize(n);
  return reason;
}

/// What the owner of a WebSocket holds: the session only weakly, and asio
/// only through the guard, so a call after the connection or the server
/// went away does nothing.
class ws_handle final : public ws_connection {
public:
  ws_handle(std::weak_ptr<websocket_session> session,
            std::shared_ptr<io_guard> guard, std::string remote)
    : session_(std::move(session)), guard_(std::move(guard)),
      remote_(std::move(remote)) {
    // nop
  }

  bool send(std::string text) override;

  bool send(std::string text, std::function<void(bool)> on_done) override;

  void close(uint16_t code, std::string reason) override;

  const std::string& remote() const override {
    return remote_;
  }

private:
  std::weak_ptr<websocket_session> session_;
  std::shared_ptr<io_guard> guard_;
  std::string remote_;
};

bool ws_handle::send(std::string text) {
  return send(std::move(text), nullptr);
}

bool ws_handle::send(std::string text, std::function<void(bool)> on_done) {
  // The shared lock keeps stop() from tearing down the io_context while
  // this thread touches the session; `s` goes before the lock.
  std::shared_lock<std::shared_mutex> lock{guard_->mtx};
  if (!guard_->open)
    return false;
  auto s = session_.lock();
  if (!s)
    return false;
  return s->enqueue(std::move(text), std::move(on_done));
}

void ws_handle::close(uint16_t code, std::string reason) {
  if (!sendable_close_code(code)) {
    spdlog::warn("ws: {}: close code {} cannot be sent; using {}", remote_,
                 code, ws_close::normal);
    code = ws_close::normal;
  }
  std::shared_lock<std::shared_mutex> lock{guard_->mtx};
  if (!guard_->open)
    return;
  if (auto s = session_.lock())
    s->request_close(code, close_reason_text(std::move(reason)));
}

} // namespace

template <class F>
void websocket_session::post_self(F fn) {
  try {
    post(shared_from_this(), std::move(fn));
  } catch (const std::exception& e) {
    spdlog::warn("ws: {}: cannot post: {}", remote_, e.what());
  }
}

websocket_session::websocket_session(server_core& srv, flex_stream&& stream,
                                     strand_type strand, std::string remote,
                                     connection_slot slot)
  : srv_(srv), strand_(std::move(strand)), ws_(std::move(stream)),
    close_timer_(strand_), remote_(std::move(remote)), slot_(std::move(slot)) {
  // nop
}

websocket_session::~websocket_session() {
  // `stop` finishes every live session before the io_context drops the
  // last handlers; this only keeps the promise of `on_closed` should
  // that ever change.
  if (!finished_) {
    finished_ = true;
    if (counted_)
      srv_.ws_active_.add(-1);
    notify_closed(ws_close::abnormal);
  }
  {
    std::lock_guard<std::mutex> lock{mtx_};
    srv_.ws_queue_bytes_.add(-static_cast<int64_t>(queued_bytes_));
  }
  for (auto& frame : queue_)
    if (frame.done)
      frame.done(false);
  if (out_.done)
    out_.done(false);
  srv_.remove_ws_session(this);
}

void websocket_session::run(const http::request<http::string_body>& req,
                            http_request info, std::string route,
                            const ws_handler* handler, std::string early,
                            clock_type::time_point started,
                            std::string request_id) {
  info_ = std::move(info);
  request_id_ = std::move(request_id);
  route_ = std::move(route);
  handler_ = handler;
  started_ = started;
  // The WebSocket's own timers replace the HTTP deadlines: the handshake
  // and the close handshake get `http_timeout`; an open connection is
  // pinged after half of `idle_timeout` without traffic from the peer
  // and dropped if the other half passes without an answer.
  beast::get_lowest_layer(ws_).expires_never();
  auto timeouts
    = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.handshake_timeout = srv_.cfg_.http_timeout;
  timeouts.idle_timeout = srv_.cfg_.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(
    websocket::stream_base::decorator([this](websocket::response_type& res) {
      res.set(http::field::server, "nod-server");
      res.set("X-Request-Id", request_id_);
      handshake_status_ = res.result_int();
    }));
  ws_.read_message_max(srv_.cfg_.max_frame_bytes);
  // One frame per message: no 4 KiB fragments, no write per fragment.
  ws_.auto_fragment(false);
  ws_.text(true);
  auto done = beast::bind_front_handler(&websocket_session::on_accept,
                                        shared_from_this());
  if (early.empty())
    return ws_.async_accept(req, std::move(done));
  early_ = std::move(early);
  ws_.async_accept(asio::buffer(early_), std::move(done));
}

void websocket_session::on_server_stop() {
  // During the handshake, on_accept sees `stopping_` and closes.
  if (open_)
    request_close(ws_close::going_away, "server shutting down");
}

void websocket_session::force_close() {
  close_socket();
  finish(requested_code().value_or(ws_close::abnormal));
}

bool websocket_session::enqueue(std::string text,
                                std::function<void(bool)> on_done) {
  auto size = text.size();
  bool start = false;
  bool overflow = false;
  std::deque<outgoing> dropped_frames;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    if (closing_)
      return false;
    overflow = size > srv_.max_ws_queue_bytes_ - queued_bytes_;
    if (overflow) {
      // Too slow a reader: drop what it has not got yet and close.
      dropped_frames = take_queue_locked();
      closing_ = true;
      close_requested_ = true;
      close_code_ = ws_close::too_slow;
      close_reason_ = "send queue overflow";
    } else {
      queue_.push_back({std::move(text), std::move(on_done)});
      queued_bytes_ += size;
      srv_.ws_queue_bytes_.add(static_cast<int64_t>(size));
    }
    start = !writing_;
    writing_ = true;
  }
  if (overflow) {
    report_dropped(dropped_frames);
    srv_.ws_overflows_.inc();
    spdlog::info("ws: {}: send queue over {} bytes, closing", remote_,
                 srv_.max_ws_queue_bytes_);
    post_self([start](websocket_session& s) {
      s.on_close_requested(start);
    });
    return false;
  }
  if (start)
    post_self([](websocket_session& s) {
      s.do_write();
    });
  return true;
}

void websocket_session::request_close(uint16_t code, std::string reason) {
  bool start = false;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    if (closing_)
      return;
    closing_ = true;
    close_requested_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
    start = !writing_;
    writing_ = true;
  }
  post_self([start](websocket_session& s) {
    s.on_close_requested(start);
  });
}

// -- handshake -------------------------------------------------------------

void websocket_session::on_accept(beast::error_code ec) {
  early_ = {};
  if (handshake_status_ != 0) {
    auto seconds
      = std::chrono::duration<double>(clock_type::now() - started_).count();
    srv_.record(route_, "GET", handshake_status_, seconds);
    // The upgrade is the socket's one access line; its frames are not.
    if (srv_.access_log_.load(std::memory_order_relaxed))
      srv_.log_access("GET", info_.path, handshake_status_, 0, seconds,
                      info_.client, request_id_);
  }
  request_id_ = {};
  if (ec) {
    spdlog::debug("ws: {}: handshake: {}", remote_, ec.message());
    info_ = {};
    return close_socket();
  }
  open_ = true;
  counted_ = true;
  srv_.ws_total_.inc();
  srv_.ws_active_.add(1);
  spdlog::debug("ws: {} connected to {}", remote_, info_.path);
  if (srv_.stopping_) {
    // Too late for the owner: it would only hear `on_closed`.
    request_close(ws_close::going_away, "server shutting down");
  } else {
    auto conn
      = std::make_shared<ws_handle>(weak_from_this(), srv_.guard_, remote_);
    try {
      callbacks_ = (*handler_)(info_, std::move(conn));
    } catch (const std::exception& e) {
      spdlog::error("ws: handler of {} threw: {}", route_, e.what());
      request_close(ws_close::internal_error, "internal error");
    } catch (...) {
      spdlog::error("ws: handler of {} threw", route_);
      request_close(ws_close::internal_error, "internal error");
    }
  }
  info_ = {};
  do_read();
}

// -- reading ---------------------------------------------------------------

void websocket_session::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&websocket_session::on_read,
                                                    shared_from_this()));
}

void websocket_session::on_read(beast::error_code ec, size_t) {
  if (ec)
    return on_read_failed(ec);
  srv_.ws_frames_in_.inc();
  bool text = ws_.got_text();
  std::string payload;
  if (text)
    payload = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  if (buffer_.capacity() > ws_keep_buffer)
    buffer_.shrink_to_fit();
  // Beast checks the UTF-8 of text frames as they arrive, but lets a
  // message through whose last sequence is cut short when its final frame
  // is empty (found by fuzz/ws_frame_fuzz.cpp). RFC 6455 8.1: fail it.
  if (text && !text::valid_utf8(payload) && !requested_code())
    request_close(ws_close::invalid_payload, "invalid UTF-8");
  // After close() the owner is done with the connection: it hears only
  // `on_closed`.
  if (!finished_ && !requested_code()) {
    try {
      if (text && callbacks_.on_text)
        callbacks_.on_text(std::move(payload));
      else if (!text && callbacks_.on_binary)
        callbacks_.on_binary();
    } catch (const std::exception& e) {
      spdlog::error("ws: callback of {} threw: {}", route_, e.what());
      request_close(ws_close::internal_error, "internal error");
    } catch (...) {
      spdlog::error("ws: callback of {} threw", route_);
      request_close(ws_close::internal_error, "internal error");
    }
  }
  do_read();
}

// Reading ends every connection: Beast completes the read only after
// its part of any close handshake.
void websocket_session::on_read_failed(beast::error_code ec) {
  uint16_t code = ws_close::abnormal;
  if (auto requested = requested_code()) {
    code = *requested;
  } else if (ec == websocket::error::closed) {
    code = ws_.reason().code != websocket::close_code::none
             ? static_cast<uint16_t>(ws_.reason().code)
             : ws_close::no_status;
  } else if (ec == websocket::error::message_too_big) {
    code = ws_close::too_big; // Beast sent 1009
  } else if (ec == websocket::error::bad_frame_payload) {
    code = ws_close::invalid_payload; // Beast sent "invalid payload": bad UTF-8
  } else if (ec == websocket::condition::protocol_violation) {
    code = ws_close::protocol_error; // Beast sent "protocol error"
  }
  if (ec != websocket::error::closed && ec != asio::error::operation_aborted
      && ec != asio::error::eof && ec != beast::error::timeout)
    spdlog::debug("ws: {}: read: {}", remote_, ec.message());
  finish(code);
}

// -- writing ---------------------------------------------------------------

// The write loop: owns `writing_` from the post that started it until it
// finds the queue empty; then sends the close frame if one was asked for.
void websocket_session::do_write() {
  if (finished_)
    return;
  bool have = false;
  bool close_now = false;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    if (!queue_.empty()) {
      out_ = std::move(queue_.front());
      queue_.pop_front();
      have = true;
    } else {
      writing_ = false;
      close_now = close_requested_;
    }
  }
  if (have)
    return ws_.async_write(asio::buffer(out_.text),
                           beast::bind_front_handler(
                             &websocket_session::on_write, shared_from_this()));
  if (close_now)
    do_close_frame();
}

void websocket_session::on_write(beast::error_code ec, size_t) {
  {
    // The frame in flight counts against the limit until written.
    std::lock_guard<std::mutex> lock{mtx_};
    queued_bytes_ -= out_.text.size();
    srv_.ws_queue_bytes_.add(-static_cast<int64_t>(out_.text.size()));
  }
  auto written = std::exchange(out_, outgoing{});
  if (written.done)
    written.done(!ec);
  if (ec) {
    // The read fails too and reports the end.
    if (ec != asio::error::operation_aborted)
      spdlog::debug("ws: {}: write: {}", remote_, ec.message());
    return close_socket();
  }
  srv_.ws_frames_out_.inc();
  do_write();
}

// -- closing ---------------------------------------------------------------

void websocket_session::on_close_requested(bool start_loop) {
  if (finished_)
    return;
  // Bounds the flush and the close handshake, even when a write to a
  // peer that stopped reading never completes.
  close_timer_.expires_after(srv_.cfg_.http_timeout);
  close_timer_.async_wait(beast::bind_front_handler(
    &websocket_session::on_close_timeout, shared_from_this()));
  if (start_loop)
    do_write();
}

void websocket_session::do_close_frame() {
  if (finished_ || close_started_)
    return;
  close_started_ = true;
  websocket::close_reason reason;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    reason.code = close_code_;
    reason.reason = close_reason_;
  }
  ws_.async_close(reason, beast::bind_front_handler(
                            &websocket_session::on_close, shared_from_this()));
}

void websocket_session::on_close(beast::error_code ec) {
  if (ec && ec != asio::error::operation_aborted)
    spdlog::debug("ws: {}: close: {}", remote_, ec.message());
  finish(requested_code().value_or(ws_close::abnormal));
}

void websocket_session::on_close_timeout(beast::error_code ec) {
  if (ec || finished_)
    return;
  spdlog::debug("ws: {}: close timed out", remote_);
  force_close();
}

std::optional<uint16_t> websocket_session::requested_code() {
  std::lock_guard<std::mutex> lock{mtx_};
  if (close_requested_)
    return close_code_;
  return std::nullopt;
}

void websocket_session::close_socket() {
  beast::error_code ec;
  auto& socket = beast::get_lowest_layer(ws_).socket();
  if (socket.is_open()) {
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }
}

void websocket_session::finish(uint16_t code) {
  if (finished_)
    return;
  finished_ = true;
  close_timer_.cancel();
  std::deque<outgoing> dropped_frames;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    closing_ = true;
    dropped_frames = take_queue_locked();
  }
  report_dropped(dropped_frames);
  // Beast is done with the socket once the read completed; closing it
  // also ends a write stuck on a peer that stopped reading.
  close_socket();
  if (counted_)
    srv_.ws_active_.add(-1);
  spdlog::debug("ws: {} closed ({})", remote_, code);
  notify_closed(code);
}

std::deque<websocket_session::outgoing> websocket_session::take_queue_locked() {
  size_t dropped = 0;
  for (auto& frame : queue_)
    dropped += frame.text.size();
  std::deque<outgoing> frames;
  frames.swap(queue_);
  queued_bytes_ -= dropped;
  srv_.ws_queue_bytes_.add(-static_cast<int64_t>(dropped));
  return frames;
}

void websocket_session::report_dropped(std::deque<outgoing>& frames) {
  for (auto& frame : frames)
    if (frame.done)
      frame.done(false);
  frames.clear();
}

void websocket_session::notify_closed(uint16_t code) {
  // Moved out first: the callbacks may hold the connection (and with it
  // their owner); dropping them here breaks that cycle.
  auto callbacks = std::move(callbacks_);
  callbacks_ = {};
  if (!callbacks.on_closed)
    return;
  try {
    callbacks.on_closed(code);
  } catch (const std::exception& e) {
    spdlog::error("ws: on_closed of {} threw: {}", route_, e.what());
  } catch (...) {
    spdlog::error("ws: on_closed of {} threw", route_);
  }
}

} // namespace nod::net::detail
