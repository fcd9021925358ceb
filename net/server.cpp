#include "net/server.hpp"

#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/beast_aliases.hpp"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <spdlog/spdlog.h>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

namespace nod::net {

namespace detail {

/// Largest accepted request header block.
constexpr uint32_t header_limit = 16 * 1024;

/// Bytes asked for by one plain read.
constexpr size_t read_chunk = 4096;

/// How long a connection is drained after an error response to a request
/// that was not read completely (a lingering close, so the client sees the
/// response instead of a reset).
constexpr std::chrono::seconds drain_time{2};

/// How long `stop` waits for force-closed connections to go away.
constexpr std::chrono::seconds force_close_wait{1};

/// Sent before reading the body of a request with `Expect: 100-continue`.
constexpr char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

/// Close code for a WebSocket handler or callback that threw (RFC 6455:
/// internal error).
constexpr uint16_t ws_internal_error = 1011;

/// Reported to `on_closed` when the connection ended without a close frame.
constexpr uint16_t ws_abnormal = 1006;

/// Reported to `on_closed` when the peer's close frame had no code.
constexpr uint16_t ws_no_status = 1005;

/// Longest reason a close frame can carry.
constexpr size_t ws_max_reason = 123;

/// Beast's WebSocket read buffer (`tcp_frame_size` in Boost 1.74). Bytes a
/// client sends right after its upgrade request, before the 101, reach the
/// WebSocket only if they fit in it together with the re-serialized
/// request.
constexpr size_t ws_handshake_buffer = 1536;

/// A WebSocket read buffer grown larger than this by one big message is
/// shrunk after it, so an idle connection does not pin megabytes.
constexpr size_t ws_keep_buffer = 64 * 1024;

/// The gate between asio and other threads: responders post onto a session
/// strand only while `open`, under a shared lock; `stop` closes it, under
/// the exclusive lock, before the io_context is destroyed.
struct io_guard {
  std::shared_mutex mtx;
  bool open = true;
};

class session;
class ws_session;

/// Everything the server shares with its sessions. Outlives every session:
/// `stop` destroys the io_context (and with it the last session) first.
struct server_core {
  server_core(const config& cfg, metrics::registry& reg,
              std::function<bool()> ready);

  std::optional<std::string> start();
  void stop();
  void stop_locked();

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket, strand_type strand);
  void add_session(const std::shared_ptr<session>& s);
  void remove_session(session* s);
  std::vector<std::shared_ptr<session>> live_sessions();
  void add_websocket(std::string pattern, ws_handler h);
  void add_ws_session(const std::shared_ptr<ws_session>& s);
  void remove_ws_session(ws_session* s);
  std::vector<std::shared_ptr<ws_session>> live_ws_sessions();
  /// True when no session of either kind is left; under `sessions_mtx_`.
  bool no_sessions() const;

  /// Records one finished request in the metrics.
  void record(const std::string& route, const std::string& method,
              unsigned status, double seconds);

  const config cfg_;
  metrics::registry& reg_;
  std::function<bool()> ready_;
  net::router router_;
  /// Matches WebSocket paths (every route `GET`, handler unused); the
  /// matched pattern is the key of `ws_handlers_`.
  net::router ws_router_;
  std::unordered_map<std::string, ws_handler> ws_handlers_;
  /// Send-queue limit of one WebSocket: `2 * max_frame_bytes`, so a
  /// frame of the largest size the server accepts always fits beside one
  /// that is being written, while a client that stops reading costs at
  /// most this much memory.
  const size_t max_ws_queue_bytes_;
  std::shared_ptr<io_guard> guard_ = std::make_shared<io_guard>();
  std::atomic<bool> stopping_{false};
  /// Request ids are unique per server, so a stale responder never matches
  /// a later request, not even of a session at a reused address.
  std::atomic<uint64_t> next_request_id_{1};

  metrics::gauge& connections_active_;
  metrics::counter& connections_total_;
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
  session_map<session> sessions_;
  session_map<ws_session> ws_sessions_;

  std::mutex lifecycle_mtx_;
  bool started_ = false;
  bool stopped_ = false;
  uint16_t port_ = 0;
  std::unique_ptr<asio::io_context> ioc_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> accept_retry_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
    work_;
  std::vector<std::thread> threads_;
};

namespace {

/// The session whose handler is running on this thread, so a responder
/// called from inside the handler skips the post.
thread_local session* current_handler = nullptr;

std::string endpoint_string(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string endpoint_string(const tcp::endpoint& ep) {
  return endpoint_string(ep.address().to_string(), ep.port());
}

std::string to_lower(beast::string_view s) {
  std::string out{s};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Header names a handler may not set: the server owns framing.
bool reserved_header(const std::string& name) {
  return beast::iequals(name, "content-length")
         || beast::iequals(name, "transfer-encoding")
         || beast::iequals(name, "connection");
}

// No CR/LF smuggling into the response head.
bool safe_header(const std::string& name, const std::string& value) {
  return !name.empty() && name.find_first_of("\r\n: ") == std::string::npos
         && value.find_first_of("\r\n") == std::string::npos;
}

const beast::error_category& http_category() {
  static const auto& cat = make_error_code(http::error::bad_target).category();
  return cat;
}

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

} // namespace

/// What the owner of a WebSocket holds: the session only weakly, and asio
/// only through the guard, so a call after the connection or the server
/// went away does nothing.
class ws_handle final : public ws_connection {
public:
  ws_handle(std::weak_ptr<ws_session> session, std::shared_ptr<io_guard> guard,
            std::string remote)
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
  std::weak_ptr<ws_session> session_;
  std::shared_ptr<io_guard> guard_;
  std::string remote_;
};

/// One upgraded WebSocket connection. Reads messages in a loop and hands
/// them to the owner's callbacks; writes what `enqueue` queued, one
/// `async_write` at a time. Everything except `enqueue` and
/// `request_close` runs on the connection's strand (or, during `stop`,
/// after the io threads are gone).
class ws_session : public std::enable_shared_from_this<ws_session> {
public:
  /// A queued frame and whom to tell when it is written or dropped.
  struct outgoing {
    std::string text;
    std::function<void(bool)> done;
  };

  ws_session(server_core& srv, tcp::socket&& socket, strand_type strand,
             std::string remote)
    : srv_(srv), strand_(std::move(strand)), ws_(std::move(socket)),
      close_timer_(strand_), remote_(std::move(remote)) {
    // nop
  }

  ~ws_session() {
    // `stop` finishes every live session before the io_context drops the
    // last handlers; this only keeps the promise of `on_closed` should
    // that ever change.
    if (!finished_) {
      finished_ = true;
      if (counted_)
        srv_.ws_active_.add(-1);
      notify_closed(ws_abnormal);
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

  /// Posts `fn(session)` onto the strand.
  template <class F>
  static void post(std::shared_ptr<ws_session> self, F fn) {
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
           clock_type::time_point started) {
    info_ = std::move(info);
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
        handshake_status_ = res.result_int();
      }));
    ws_.read_message_max(srv_.cfg_.max_frame_bytes);
    // One frame per message: no 4 KiB fragments, no write per fragment.
    ws_.auto_fragment(false);
    ws_.text(true);
    auto done
      = beast::bind_front_handler(&ws_session::on_accept, shared_from_this());
    if (early.empty())
      return ws_.async_accept(req, std::move(done));
    early_ = std::move(early);
    ws_.async_accept(asio::buffer(early_), std::move(done));
  }

  /// The server began to stop: close with `going_away`.
  void on_server_stop() {
    // During the handshake, on_accept sees `stopping_` and closes.
    if (open_)
      request_close(ws_close::going_away, "server shutting down");
  }

  /// Closes the socket at once and reports the end. On the strand, or
  /// after the io threads are gone.
  void force_close() {
    close_socket();
    finish(requested_code().value_or(ws_abnormal));
  }

  /// Queues `text`; see `ws_connection::send`. Any thread.
  bool enqueue(std::string text, std::function<void(bool)> on_done) {
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
        size_t dropped = 0;
        for (auto& frame : queue_)
          dropped += frame.text.size();
        dropped_frames.swap(queue_);
        queued_bytes_ -= dropped;
        srv_.ws_queue_bytes_.add(-static_cast<int64_t>(dropped));
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
      post_self([start](ws_session& s) {
        s.on_close_requested(start);
      });
      return false;
    }
    if (start)
      post_self([](ws_session& s) {
        s.do_write();
      });
    return true;
  }

  /// Flushes the queue, then closes with `code`; see
  /// `ws_connection::close`. Any thread.
  void request_close(uint16_t code, std::string reason) {
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
    post_self([start](ws_session& s) {
      s.on_close_requested(start);
    });
  }

private:
  template <class F>
  void post_self(F fn) {
    try {
      post(shared_from_this(), std::move(fn));
    } catch (const std::exception& e) {
      spdlog::warn("ws: {}: cannot post: {}", remote_, e.what());
    }
  }

  // -- handshake -------------------------------------------------------------

  void on_accept(beast::error_code ec) {
    early_ = {};
    if (handshake_status_ != 0)
      srv_.record(
        route_, "GET", handshake_status_,
        std::chrono::duration<double>(clock_type::now() - started_).count());
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
        request_close(ws_internal_error, "internal error");
      } catch (...) {
        spdlog::error("ws: handler of {} threw", route_);
        request_close(ws_internal_error, "internal error");
      }
    }
    info_ = {};
    do_read();
  }

  // -- reading ---------------------------------------------------------------

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&ws_session::on_read,
                                                      shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
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
        request_close(ws_internal_error, "internal error");
      } catch (...) {
        spdlog::error("ws: callback of {} threw", route_);
        request_close(ws_internal_error, "internal error");
      }
    }
    do_read();
  }

  // Reading ends every connection: Beast completes the read only after
  // its part of any close handshake.
  void on_read_failed(beast::error_code ec) {
    uint16_t code = ws_abnormal;
    if (auto requested = requested_code()) {
      code = *requested;
    } else if (ec == websocket::error::closed) {
      code = ws_.reason().code != websocket::close_code::none
               ? static_cast<uint16_t>(ws_.reason().code)
               : ws_no_status;
    } else if (ec == websocket::error::message_too_big) {
      code = ws_close::too_big; // Beast sent 1009
    } else if (ec == websocket::error::bad_frame_payload) {
      code = 1007; // Beast sent "invalid payload": bad UTF-8
    } else if (ec == websocket::condition::protocol_violation) {
      code = 1002; // Beast sent "protocol error"
    }
    if (ec != websocket::error::closed && ec != asio::error::operation_aborted
        && ec != asio::error::eof && ec != beast::error::timeout)
      spdlog::debug("ws: {}: read: {}", remote_, ec.message());
    finish(code);
  }

  // -- writing ---------------------------------------------------------------

  // The write loop: owns `writing_` from the post that started it until it
  // finds the queue empty; then sends the close frame if one was asked for.
  void do_write() {
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
      return ws_.async_write(
        asio::buffer(out_.text),
        beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
    if (close_now)
      do_close_frame();
  }

  void on_write(beast::error_code ec, size_t) {
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

  void on_close_requested(bool start_loop) {
    if (finished_)
      return;
    // Bounds the flush and the close handshake, even when a write to a
    // peer that stopped reading never completes.
    close_timer_.expires_after(srv_.cfg_.http_timeout);
    close_timer_.async_wait(beast::bind_front_handler(
      &ws_session::on_close_timeout, shared_from_this()));
    if (start_loop)
      do_write();
  }

  void do_close_frame() {
    if (finished_ || close_started_)
      return;
    close_started_ = true;
    websocket::close_reason reason;
    {
      std::lock_guard<std::mutex> lock{mtx_};
      reason.code = close_code_;
      reason.reason = close_reason_;
    }
    ws_.async_close(reason, beast::bind_front_handler(&ws_session::on_close,
                                                      shared_from_this()));
  }

  void on_close(beast::error_code ec) {
    if (ec && ec != asio::error::operation_aborted)
      spdlog::debug("ws: {}: close: {}", remote_, ec.message());
    finish(requested_code().value_or(ws_abnormal));
  }

  void on_close_timeout(beast::error_code ec) {
    if (ec || finished_)
      return;
    spdlog::debug("ws: {}: close timed out", remote_);
    force_close();
  }

  /// The code of a close asked for on this side, if any.
  std::optional<uint16_t> requested_code() {
    std::lock_guard<std::mutex> lock{mtx_};
    if (close_requested_)
      return close_code_;
    return std::nullopt;
  }

  void close_socket() {
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    if (socket.is_open()) {
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
    }
  }

  /// Ends the connection for the owner: no sends from here on, queued
  /// frames dropped, `on_closed(code)` called once, callbacks released.
  void finish(uint16_t code) {
    if (finished_)
      return;
    finished_ = true;
    close_timer_.cancel();
    std::deque<outgoing> dropped_frames;
    {
      std::lock_guard<std::mutex> lock{mtx_};
      closing_ = true;
      size_t dropped = 0;
      for (auto& frame : queue_)
        dropped += frame.text.size();
      dropped_frames.swap(queue_);
      queued_bytes_ -= dropped;
      srv_.ws_queue_bytes_.add(-static_cast<int64_t>(dropped));
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

  /// Tells the senders of frames that will never be written.
  static void report_dropped(std::deque<outgoing>& frames) {
    for (auto& frame : frames)
      if (frame.done)
        frame.done(false);
    frames.clear();
  }

  void notify_closed(uint16_t code) {
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

  server_core& srv_;
  strand_type strand_;
  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer close_timer_;
  std::string remote_;
  beast::flat_buffer buffer_;

  // The handshake.
  http_request info_;
  std::string route_;
  const ws_handler* handler_ = nullptr;
  std::string early_;
  clock_type::time_point started_;
  unsigned handshake_status_ = 0;

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

/// One HTTP connection. Reads one request at a time, hands it to a handler
/// and writes the response before reading the next one. Everything except
/// the responder runs on the connection's strand.
class session : public std::enable_shared_from_this<session> {
public:
  session(server_core& srv, tcp::socket&& socket, strand_type strand)
    : srv_(srv), strand_(std::move(strand)), stream_(std::move(socket)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec)
      remote_ = endpoint_string(ep);
    srv_.connections_active_.add(1);
  }

  ~session() {
    srv_.connections_active_.add(-1);
    srv_.remove_session(this);
  }

  /// Starts reading on the strand.
  void run() {
    asio::dispatch(strand_, beast::bind_front_handler(&session::do_read,
                                                      shared_from_this()));
  }

  /// Posts `fn(session)` onto the strand.
  template <class F>
  static void post(std::shared_ptr<session> self, F fn) {
    auto& strand = self->strand_;
    asio::post(strand, [self = std::move(self), fn = std::move(fn)]() mutable {
      fn(*self);
    });
  }

  /// The server began to stop: close now if between requests.
  void on_server_stop() {
    if (state_ == state::idle || state_ == state::draining)
      do_close();
  }

  /// Closes the connection whatever it is doing. On the strand, or after
  /// the io threads are gone.
  void force_close() {
    do_close();
  }

private:
  enum class state { idle, reading, handling, writing, draining, closed };

  // -- reading ---------------------------------------------------------------

  void do_read() {
    if (srv_.stopping_)
      return do_close();
    if (buffer_.size() > 0) // a pipelined request is already here
      return do_read_header();
    // Between requests the idle timeout applies; the request timeout starts
    // with the first byte.
    state_ = state::idle;
    stream_.expires_after(srv_.cfg_.idle_timeout);
    stream_.async_read_some(
      buffer_.prepare(read_chunk),
      beast::bind_front_handler(&session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (ec)
      return fail(ec, "idle read");
    buffer_.commit(n);
    if (srv_.stopping_)
      return do_close();
    do_read_header();
  }

  void do_read_header() {
    state_ = state::reading;
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(srv_.cfg_.max_body_bytes);
    stream_.expires_after(srv_.cfg_.http_timeout);
    http::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    if (ec)
      return on_read(ec, 0);
    auto& req = parser_->get();
    if (!parser_->is_done() && req.version() >= 11
        && beast::iequals(req[http::field::expect], "100-continue"))
      return do_continue();
    do_read_body();
  }

  // The client waits for this before sending the body (curl does for
  // large bodies); without it, it waits a second.
  void do_continue() {
    asio::async_write(
      stream_, asio::buffer(continue_line, sizeof(continue_line) - 1),
      beast::bind_front_handler(&session::on_continue, shared_from_this()));
  }

  void on_continue(beast::error_code ec, size_t) {
    if (ec)
      return fail(ec, "write continue");
    do_read_body();
  }

  void do_read_body() {
    // No new expires_after: the deadline set for the header covers the
    // whole request, body included.
    http::async_read(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message)
      return do_close(); // the client went away mid-request
    if (ec == http::error::body_limit)
      return reply_error(413, "request body too large (limit "
                                + std::to_string(srv_.cfg_.max_body_bytes)
                                + " bytes)");
    if (ec == http::error::header_limit)
      return reply_error(431, "request header too large");
    if (ec && ec.category() == http_category())
      return reply_error(400, "malformed request");
    if (ec)
      return fail(ec, "read");
    handle_request();
  }

  // -- handling --------------------------------------------------------------

  void handle_request() {
    auto msg = parser_->release();
    parser_.reset();
    begin_request(msg);
    http_request req;
    req.method = std::string{msg.method_string()};
    auto target = msg.target();
    auto q = target.find('?');
    req.path = std::string{target.substr(0, q)};
    if (q != beast::string_view::npos)
      req.query = std::string{target.substr(q + 1)};
    for (const auto& field : msg)
      req.headers.emplace_back(to_lower(field.name_string()),
                               std::string{field.value()});
    req.body = std::move(msg.body());
    req.remote = remote_;
    if (log_requests())
      path_ = req.path;
    if (route_websocket(msg, req))
      return;
    auto found = srv_.router_.match(req.method, req.path);
    if (found.target == nullptr) {
      route_ = found.route.empty() ? "unmatched" : std::move(found.route);
      if (!found.method_not_allowed) {
        // Only a WebSocket route has this path: it takes GET alone.
        auto ws = srv_.ws_router_.match("GET", req.path);
        if (ws.target == nullptr)
          return finish(error_response(404, "not found"));
        route_ = std::move(ws.route);
        found.allow = "GET";
      }
      auto res = error_response(405, "method not allowed");
      res.headers.emplace_back("Allow", std::move(found.allow));
      return finish(std::move(res));
    }
    route_ = std::move(found.route);
    req.params = std::move(found.params);
    // Until the response comes, only this reference keeps the session.
    self_ = shared_from_this();
    auto previous = current_handler;
    current_handler = this;
    try {
      (*found.target)(req, make_responder());
    } catch (const std::exception& e) {
      spdlog::error("http: handler of {} {} threw: {}", req.method, req.path,
                    e.what());
      if (!sync_response_)
        sync_response_ = error_response(500, "internal error");
    } catch (...) {
      spdlog::error("http: handler of {} {} threw", req.method, req.path);
      if (!sync_response_)
        sync_response_ = error_response(500, "internal error");
    }
    current_handler = previous;
    if (sync_response_) {
      auto res = std::move(*sync_response_);
      sync_response_.reset();
      on_response(request_id_, std::move(res));
    }
  }

  // A GET on a WebSocket route: an upgrade goes to a WebSocket session,
  // anything else gets 426 (HEAD too). False if the path has no WebSocket
  // route or the method is not GET or HEAD.
  bool route_websocket(http::request<http::string_body>& msg,
                       http_request& req) {
    if (srv_.ws_handlers_.empty()
        || (msg.method() != http::verb::get
            && msg.method() != http::verb::head))
      return false;
    auto found = srv_.ws_router_.match(req.method, req.path);
    if (found.target == nullptr)
      return false;
    route_ = std::move(found.route);
    if (msg.method() == http::verb::get && websocket::is_upgrade(msg)) {
      req.params = std::move(found.params);
      upgrade(msg, std::move(req));
      return true;
    }
    auto res = error_response(426, "websocket upgrade required");
    res.headers.emplace_back("Upgrade", "websocket");
    finish(std::move(res));
    return true;
  }

  // Hands the socket to a new WebSocket session, which answers the
  // upgrade. This session ends here.
  void upgrade(const http::request<http::string_body>& msg, http_request req) {
    // A client must wait for the 101 before it sends frames (RFC 6455
    // 4.1). One that did not gets them read all the same: Beast takes
    // early bytes only with the request in front of them, so the request
    // is serialized again.
    std::string early;
    if (buffer_.size() > 0) {
      std::ostringstream os;
      os << msg.base();
      early = os.str() + beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      if (early.size() > ws_handshake_buffer) {
        keep_alive_ = false;
        return do_write(error_response(400, "websocket data sent before the "
                                            "handshake response"),
                        true);
      }
    }
    const auto* handler = &srv_.ws_handlers_.at(route_);
    state_ = state::closed; // the socket is gone: do_close has nothing to do
    try {
      auto ws = std::make_shared<ws_session>(srv_, stream_.release_socket(),
                                             strand_, remote_);
      srv_.add_ws_session(ws);
      ws->run(msg, std::move(req), route_, handler, std::move(early), started_);
    } catch (const std::exception& e) {
      spdlog::warn("ws: cannot start a session: {}", e.what());
    }
  }

  void begin_request(const http::request<http::string_body>& head) {
    state_ = state::handling;
    request_id_ = srv_.next_request_id_.fetch_add(1);
    started_ = clock_type::now();
    head_request_ = head.method() == http::verb::head;
    version_ = head.version();
    keep_alive_ = head.keep_alive();
    method_ = head.method() == http::verb::unknown
                ? std::string{"OTHER"}
                : std::string{head.method_string()};
  }

  /// Answers the current request now (built-in errors).
  void finish(http_response res) {
    on_response(request_id_, std::move(res));
  }

  responder make_responder() {
    return [weak = weak_from_this(), raw = this, guard = srv_.guard_,
            id = request_id_](http_response res) {
      if (current_handler == raw) {
        // Called from inside the handler, on the strand: no post needed.
        if (raw->state_ == state::handling && raw->request_id_ == id
            && !raw->sync_response_)
          raw->sync_response_ = std::move(res);
        return;
      }
      // The shared lock keeps stop() from tearing down the io_context
      // while this thread touches the strand.
      std::shared_lock<std::shared_mutex> lock{guard->mtx};
      if (!guard->open)
        return;
      auto self = weak.lock();
      if (!self)
        return;
      try {
        post(std::move(self), [id, res = std::move(res)](session& s) mutable {
          s.on_response(id, std::move(res));
        });
      } catch (const std::exception& e) {
        spdlog::warn("http: cannot post a response: {}", e.what());
      }
    };
  }

  void on_response(uint64_t id, http_response res) {
    if (state_ != state::handling || id != request_id_)
      return;                     // a second call, or the connection moved on
    auto self = std::move(self_); // the write holds us from here on
    do_write(std::move(res), false);
  }

  /// Answers a request that could not be read, then closes.
  void reply_error(unsigned status, const std::string& detail) {
    if (parser_ && parser_->is_header_done())
      begin_request(parser_->get());
    else
      begin_request({});
    keep_alive_ = false;
    route_ = "unmatched";
    if (log_requests() && parser_ && parser_->is_header_done())
      path_ = std::string{parser_->get().target()};
    parser_.reset();
    do_write(error_response(status, detail), true);
  }

  // -- writing ---------------------------------------------------------------

  void do_write(http_response res, bool drain) {
    state_ = state::writing;
    bool keep = keep_alive_ && !drain && !srv_.stopping_;
    try {
      build(res, keep);
    } catch (const std::exception& e) {
      // Beast throws on oversized header fields, for one.
      spdlog::warn("http: bad response to {}: {}", path_, e.what());
      build(error_response(500, "internal error"), keep);
    }
    stream_.expires_after(srv_.cfg_.http_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(
                        &session::on_write, shared_from_this(), keep, drain));
  }

  void build(http_response res, bool keep) {
    auto status = res.status;
    if (status < 200 || status > 599) {
      spdlog::warn("http: handler of {} answered status {}", route_, status);
      res = error_response(500, "internal error");
      status = 500;
    }
    response_ = {};
    response_.version(version_ == 10 ? 10 : 11);
    response_.result(status);
    response_.set(http::field::server, "nod-server");
    bool no_body = status == 204 || status == 304;
    if (!no_body)
      response_.set(http::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers)
      if (safe_header(name, value) && !reserved_header(name))
        response_.insert(name, value);
    response_.keep_alive(keep);
    if (!no_body) {
      response_.content_length(res.body.size());
      if (!head_request_) // HEAD: the headers of GET, no body
        response_.body() = std::move(res.body);
    }
  }

  void on_write(bool keep, bool drain, beast::error_code ec, size_t) {
    auto status = response_.result_int();
    auto seconds
      = std::chrono::duration<double>(clock_type::now() - started_).count();
    srv_.record(route_, method_, status, seconds);
    if (log_requests())
      spdlog::debug("http: {} {} {} {} {:.3f} ms", remote_, method_, path_,
                    status, seconds * 1000);
    response_ = {};
    if (ec)
      return fail(ec, "write");
    if (drain)
      return do_drain();
    if (!keep || srv_.stopping_)
      return do_close();
    do_read();
  }

  // -- closing ---------------------------------------------------------------

  // Reads and drops what the client still sends, so closing with unread
  // data does not reset the connection before the client read the error.
  void do_drain() {
    state_ = state::draining;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    buffer_.consume(buffer_.size());
    stream_.expires_after(drain_time);
    read_drain();
  }

  void read_drain() {
    stream_.async_read_some(
      buffer_.prepare(read_chunk),
      beast::bind_front_handler(&session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, size_t) {
    if (ec || srv_.stopping_)
      return do_close();
    read_drain();
  }

  void fail(beast::error_code ec, const char* what) {
    if (ec != asio::error::operation_aborted && ec != asio::error::eof
        && ec != beast::error::timeout)
      spdlog::debug("http: {}: {}: {}", remote_, what, ec.message());
    do_close();
  }

  void do_close() {
    if (state_ == state::closed)
      return;
    state_ = state::closed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    auto self = std::move(self_); // may be the last reference: last line
  }

  static bool log_requests() {
    return spdlog::default_logger_raw()->should_log(spdlog::level::debug);
  }

  server_core& srv_;
  strand_type strand_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  state state_ = state::idle;
  std::string remote_;
  /// Keeps the session alive while a handler owns its request.
  std::shared_ptr<session> self_;
  /// A response given synchronously from inside the handler.
  std::optional<http_response> sync_response_;

  // The request in progress.
  uint64_t request_id_ = 0;
  clock_type::time_point started_;
  bool head_request_ = false;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::string method_;
  std::string route_;
  std::string path_; // for the debug log only
};

// -- server_core --------------------------------------------------------------

server_core::server_core(const config& cfg, metrics::registry& reg,
                         std::function<bool()> ready)
  : cfg_(cfg), reg_(reg), ready_(std::move(ready)),
    max_ws_queue_bytes_(2 * cfg.max_frame_bytes),
    connections_active_(
      reg.get_gauge("nod_http_connections_active", "Open HTTP connections.")),
    connections_total_(reg.get_counter("nod_http_connections_total",
                                       "Accepted HTTP connections.")),
    ws_active_(reg.get_gauge("nod_ws_connections_active",
                             "Open WebSocket connections.")),
    ws_total_(reg.get_counter("nod_ws_connections_total",
                              "WebSocket connections opened (handshake "
                              "done).")),
    ws_frames_in_(reg.get_counter("nod_ws_frames_total",
                                  "WebSocket messages read and written.",
                                  "direction=\"in\"")),
    ws_frames_out_(reg.get_counter("nod_ws_frames_total",
                                   "WebSocket messages read and written.",
                                   "direction=\"out\"")),
    ws_overflows_(reg.get_counter("nod_ws_send_overflows_total",
                                  "WebSocket connections closed because "
                                  "their send queue overflowed.")),
    ws_queue_bytes_(reg.get_gauge("nod_ws_send_queue_bytes",
                                  "Bytes queued for WebSocket writes, all "
                                  "connections.")),
    ioc_(std::make_unique<asio::io_context>(
      static_cast<int>(std::max<size_t>(cfg.io_threads, 1)))) {
  router_.add("GET", "/healthz", [](const http_request&, responder respond) {
    respond(json_response(200, R"({"status":"ok"})"));
  });
  router_.add("GET", "/readyz", [this](const http_request&, responder respond) {
    if (!ready_ || ready_())
      respond(json_response(200, R"({"status":"ready"})"));
    else
      respond(error_response(503, "not ready"));
  });
  router_.add("GET", "/metrics",
              [this](const http_request&, responder respond) {
                http_response res;
                res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                res.body = reg_.render();
                respond(std::move(res));
              });
}

std::optional<std::string> server_core::start() {
  std::lock_guard<std::mutex> lock{lifecycle_mtx_};
  if (started_ || stopped_)
    return std::string{"the HTTP server was already started"};
  auto where = endpoint_string(cfg_.listen_host, cfg_.listen_port);
  auto failed = [&](const beast::error_code& ec) {
    beast::error_code ignored;
    if (acceptor_)
      acceptor_->close(ignored);
    return "cannot listen on " + where + ": " + ec.message();
  };
  // Resolve: a literal address, else a name such as `localhost`.
  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(cfg_.listen_host, ec);
  if (!ec) {
    endpoint = tcp::endpoint{address, cfg_.listen_port};
  } else {
    tcp::resolver resolver{*ioc_};
    auto results
      = resolver.resolve(cfg_.listen_host, std::to_string(cfg_.listen_port),
                         tcp::resolver::passive, ec);
    if (ec)
      return failed(ec);
    if (results.empty())
      return failed(asio::error::host_not_found);
    endpoint = results.begin()->endpoint();
  }
  // Bind and listen.
  acceptor_.emplace(asio::make_strand(*ioc_));
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec)
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor_->bind(endpoint, ec);
  if (!ec)
    acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return failed(ec);
  auto local = acceptor_->local_endpoint(ec);
  if (ec)
    return failed(ec);
  port_ = local.port();
  accept_retry_.emplace(acceptor_->get_executor());
  // Run.
  work_.emplace(ioc_->get_executor());
  asio::post(acceptor_->get_executor(), [this] {
    do_accept();
  });
  auto n = std::max<size_t>(cfg_.io_threads, 1);
  try {
    for (size_t i = 0; i < n; ++i)
      threads_.emplace_back([this] {
        // Handlers do not throw; this only keeps a stray exception from
        // terminating the process.
        for (;;) {
          try {
            ioc_->run();
            return;
          } catch (const std::exception& e) {
            spdlog::error("http: io thread: {}", e.what());
          }
        }
      });
  } catch (const std::system_error& e) {
    stop_locked(); // joins the threads that did start
    return "cannot start the io threads: " + std::string{e.what()};
  }
  started_ = true;
  spdlog::info("http: listening on {} ({} io thread{})", endpoint_string(local),
               n, n == 1 ? "" : "s");
  return std::nullopt;
}

void server_core::do_accept() {
  auto strand = asio::make_strand(*ioc_);
  acceptor_->async_accept(
    strand, [this, strand](beast::error_code ec, tcp::socket socket) {
      on_accept(ec, std::move(socket), strand);
    });
}

void server_core::on_accept(beast::error_code ec, tcp::socket socket,
                            strand_type strand) {
  if (ec == asio::error::operation_aborted || !acceptor_->is_open())
    return;
  if (ec) {
    // Typically out of file descriptors: retry a little later instead of
    // spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry_->expires_after(std::chrono::milliseconds(50));
    accept_retry_->async_wait([this](beast::error_code ec) {
      if (!ec && acceptor_->is_open())
        do_accept();
    });
    return;
  }
  if (stopping_) {
    socket.close(ec);
    return;
  }
  connections_total_.inc();
  socket.set_option(tcp::no_delay(true), ec);
  try {
    auto s
      = std::make_shared<session>(*this, std::move(socket), std::move(strand));
    add_session(s);
    s->run();
  } catch (const std::exception& e) {
    spdlog::warn("http: cannot start a session: {}", e.what());
  }
  do_accept();
}

template <class T>
void server_core::add_to(session_map<T>& sessions,
                         const std::shared_ptr<T>& s) {
  std::lock_guard<std::mutex> lock{sessions_mtx_};
  sessions.emplace(s.get(), s);
}

template <class T>
void server_core::remove_from(session_map<T>& sessions, T* s) {
  {
    std::lock_guard<std::mutex> lock{sessions_mtx_};
    sessions.erase(s);
  }
  sessions_cv_.notify_all();
}

template <class T>
std::vector<std::shared_ptr<T>> server_core::live_in(session_map<T>& sessions) {
  std::vector<std::shared_ptr<T>> out;
  std::lock_guard<std::mutex> lock{sessions_mtx_};
  out.reserve(sessions.size());
  for (auto& [ptr, weak] : sessions)
    if (auto s = weak.lock())
      out.push_back(std::move(s));
  return out;
}

void server_core::add_session(const std::shared_ptr<session>& s) {
  add_to(sessions_, s);
}

void server_core::remove_session(session* s) {
  remove_from(sessions_, s);
}

std::vector<std::shared_ptr<session>> server_core::live_sessions() {
  return live_in(sessions_);
}

void server_core::add_ws_session(const std::shared_ptr<ws_session>& s) {
  add_to(ws_sessions_, s);
}

void server_core::remove_ws_session(ws_session* s) {
  remove_from(ws_sessions_, s);
}

std::vector<std::shared_ptr<ws_session>> server_core::live_ws_sessions() {
  return live_in(ws_sessions_);
}

void server_core::add_websocket(std::string pattern, ws_handler h) {
  std::lock_guard<std::mutex> lock{lifecycle_mtx_};
  if (started_ || stopped_) {
    spdlog::error("http: WebSocket route {} added after start; ignored",
                  pattern);
    return;
  }
  // Like the router: the first route of a pattern wins.
  if (ws_handlers_.count(pattern) > 0)
    return;
  ws_router_.add("GET", pattern, handler{});
  ws_handlers_.emplace(std::move(pattern), std::move(h));
}

bool server_core::no_sessions() const {
  return sessions_.empty() && ws_sessions_.empty();
}

void server_core::record(const std::string& route, const std::string& method,
                         unsigned status, double seconds) {
  auto key = route;
  key += '\n';
  key += method;
  key += '\n';
  key += std::to_string(status);
  metrics::counter* requests;
  metrics::histogram* duration;
  {
    std::lock_guard<std::mutex> lock{metrics_mtx_};
    auto& c = request_counters_[key];
    if (c == nullptr)
      c = &reg_.get_counter("nod_http_requests_total",
                            "HTTP requests by route, method and status.",
                            "route=\"" + metrics::escape_label(route)
                              + "\",method=\"" + metrics::escape_label(method)
                              + "\",status=\"" + std::to_string(status) + "\"");
    requests = c;
    auto& h = durations_[route];
    if (h == nullptr)
      h = &reg_.get_histogram("nod_http_request_duration_seconds",
                              "Time from a complete request to its written "
                              "response, in seconds.",
                              metrics::latency_bounds(),
                              "route=\"" + metrics::escape_label(route) + "\"");
    duration = h;
  }
  requests->inc();
  duration->observe(seconds);
}

void server_core::stop() {
  std::lock_guard<std::mutex> lock{lifecycle_mtx_};
  stop_locked();
}

void server_core::stop_locked() {
  if (stopped_)
    return;
  for (auto& t : threads_)
    if (t.get_id() == std::this_thread::get_id()) {
      spdlog::error("http: stop() called on an io thread; ignored");
      return;
    }
  stopped_ = true;
  stopping_ = true;
  if (!threads_.empty()) {
    // 1) Stop accepting.
    asio::post(acceptor_->get_executor(), [this] {
      beast::error_code ec;
      acceptor_->close(ec);
      accept_retry_->cancel();
    });
    // 2) Close connections between requests; the others close after their
    // response (stopping_ turns keep-alive off). WebSockets flush and
    // close with 1001.
    for (auto& s : live_sessions())
      session::post(std::move(s), [](session& x) {
        x.on_server_stop();
      });
    for (auto& s : live_ws_sessions())
      ws_session::post(std::move(s), [](ws_session& x) {
        x.on_server_stop();
      });
    // 3) Give requests in flight and close handshakes the grace period.
    std::unique_lock<std::mutex> sessions_lock{sessions_mtx_};
    auto deadline = clock_type::now() + cfg_.shutdown_grace;
    sessions_cv_.wait_until(sessions_lock, deadline, [this] {
      return no_sessions();
    });
    auto left = sessions_.size() + ws_sessions_.size();
    sessions_lock.unlock();
    // 4) Close the rest.
    if (left > 0) {
      spdlog::warn("http: closing {} connection{} still busy after the "
                   "shutdown grace",
                   left, left == 1 ? "" : "s");
      for (auto& s : live_sessions())
        session::post(std::move(s), [](session& x) {
          x.force_close();
        });
      for (auto& s : live_ws_sessions())
        ws_session::post(std::move(s), [](ws_session& x) {
          x.force_close();
        });
      sessions_lock.lock();
      sessions_cv_.wait_for(sessions_lock, force_close_wait, [this] {
        return no_sessions();
      });
      sessions_lock.unlock();
    }
  }
  // 5) No responder may touch asio from here on.
  {
    std::unique_lock<std::shared_mutex> guard_lock{guard_->mtx};
    guard_->open = false;
  }
  work_.reset();
  ioc_->stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  // No io thread runs any more: release what is left from this thread,
  // then destroy the io objects before the io_context.
  for (auto& s : live_sessions())
    s->force_close();
  for (auto& s : live_ws_sessions())
    s->force_close(); // on_closed of the last ones runs on this thread
  accept_retry_.reset();
  acceptor_.reset();
  ioc_.reset();
  if (started_)
    spdlog::info("http: stopped");
}

} // namespace detail

// -- server ------------------------------------------------------------------

struct server::impl : detail::server_core {
  using server_core::server_core;
};

server::server(const config& cfg, metrics::registry& reg,
               std::function<bool()> ready)
  : impl_(std::make_unique<impl>(cfg, reg, std::move(ready))) {
  // nop
}

server::~server() {
  impl_->stop();
}

net::router& server::routes() {
  return impl_->router_;
}

void server::add_websocket(std::string pattern, ws_handler h) {
  impl_->add_websocket(std::move(pattern), std::move(h));
}

std::optional<std::string> server::start() {
  return impl_->start();
}

uint16_t server::port() const {
  return impl_->port_;
}

void server::stop() {
  impl_->stop();
}

} // namespace nod::net
