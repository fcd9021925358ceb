#include "net/http_session.hpp"

#include "net/beast_request.hpp"
#include "net/request_log.hpp"
#include "net/server_core.hpp"
#include "net/websocket_session.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <exception>
#include <spdlog/spdlog.h>
#include <sstream>
#include <utility>

namespace nod::net::detail {

namespace {

/// Bytes asked for by one plain read.
constexpr size_t read_chunk = 4096;

/// How long a connection is drained after an error response to a request
/// that was not read completely (a lingering close, so the client sees the
/// response instead of a reset).
constexpr std::chrono::seconds drain_time{2};

/// Time a refused connection has to send its request: it is only told 503.
constexpr std::chrono::seconds refusal_timeout{2};

/// Sent before reading the body of a request with `Expect: 100-continue`.
constexpr char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

/// The session whose handler is running on this thread, so a responder
/// called from inside the handler skips the post.
thread_local http_session* current_handler = nullptr;

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

} // namespace

http_session::http_session(server_core& srv, flex_stream&& stream,
                           strand_type strand, connection_slot slot)
  : srv_(srv), strand_(std::move(strand)), slot_(std::move(slot)),
    stream_(std::move(stream)) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    remote_ = endpoint_string(ep);
    peer_ = to_ip_address(ep.address());
  }
  srv_.connections_active_.add(1);
}

http_session::~http_session() {
  srv_.connections_active_.add(-1);
  srv_.remove_session(this);
}

void http_session::run() {
  if (!stream_.tls())
    return asio::dispatch(
      strand_,
      beast::bind_front_handler(&http_session::do_read, shared_from_this()));
  // The TLS handshake counts as the start of the first request.
  state_ = state::reading;
  asio::dispatch(strand_, [self = shared_from_this()] {
    self->stream_.expires_after(self->srv_.cfg_.http_timeout);
    self->stream_.async_handshake(
      beast::bind_front_handler(&http_session::on_handshake, self));
  });
}

void http_session::on_handshake(beast::error_code ec) {
  if (ec)
    return fail(ec, "tls handshake");
  do_read();
}

void http_session::on_server_stop() {
  // A request waiting for its gate has sent no body yet: dropped too.
  if (state_ == state::idle || state_ == state::draining
      || state_ == state::gating || state_ == state::relaying)
    do_close();
}

void http_session::force_close() {
  do_close();
}

// -- reading ---------------------------------------------------------------

void http_session::do_read() {
  if (srv_.stopping_)
    return do_close();
  if (buffer_.size() > 0) // a pipelined request is already here
    return do_read_header();
  // Between requests the idle timeout applies; the request timeout starts
  // with the first byte.
  state_ = state::idle;
  stream_.expires_after(slot_.refusal() ? refusal_timeout
                                        : srv_.cfg_.idle_timeout);
  stream_.async_read_some(buffer_.prepare(read_chunk),
                          beast::bind_front_handler(
                            &http_session::on_first_bytes, shared_from_this()));
}

void http_session::on_first_bytes(beast::error_code ec, size_t n) {
  if (ec)
    return fail(ec, "idle read");
  buffer_.commit(n);
  if (srv_.stopping_)
    return do_close();
  do_read_header();
}

void http_session::do_read_header() {
  state_ = state::reading;
  parser_.emplace();
  parser_->header_limit(request_header_limit);
  parser_->body_limit(srv_.cfg_.max_body_bytes);
  stream_.expires_after(slot_.refusal() ? refusal_timeout
                                        : srv_.cfg_.http_timeout);
  http::async_read_header(
    stream_, buffer_, *parser_,
    beast::bind_front_handler(&http_session::on_header, shared_from_this()));
}

void http_session::on_header(beast::error_code ec, size_t) {
  if (ec)
    return on_read(ec, 0);
  auto& req = parser_->get();
  // Over a connection bound: a health check is still answered (then the
  // connection closes), anything else is told to come back, unread.
  if (slot_.refusal()
      && !(req.method() == http::verb::get && req.target() == "/healthz")) {
    auto res = error_response(503, "too many connections");
    res.headers.emplace_back("Retry-After", "1");
    return reply_error(std::move(res));
  }
  if (relayed(req))
    return start_relay();
  if (!parser_->is_done() && !admit_body())
    return;
  read_body_after_header();
}

// A body follows the headers: it must fit in the server's body budget, and
// the route's gate may refuse it (credentials, size) before a byte of it is
// read. False when the request was refused or waits for the gate.
bool http_session::admit_body() {
  auto& msg = parser_->get();
  auto announced = parser_->content_length();
  auto hold
    = srv_.body_budget_.take(announced ? *announced : srv_.cfg_.max_body_bytes);
  if (!hold) {
    srv_.bodies_refused_.inc();
    auto res = error_response(503, "server busy: too many request bodies in "
                                   "flight; try again");
    res.headers.emplace_back("Retry-After", "1");
    reply_error(std::move(res));
    return false;
  }
  body_hold_ = std::move(*hold);
  auto head = request_of(msg);
  auto found = srv_.router_.match(head.method, head.path);
  if (found.check == nullptr)
    return true;
  head.params = std::move(found.params);
  gate_verdict verdict;
  try {
    verdict = (*found.check)(head);
  } catch (const std::exception& e) {
    // The route, not the path: a trigger URL's path is its credential.
    spdlog::error("http: gate of {} {} threw: {}", head.method, found.route,
                  e.what());
    verdict = gate_verdict::refused(error_response(500, "internal error"));
  }
  if (verdict.body_limit) {
    parser_->body_limit(*verdict.body_limit);
    if (announced && *announced > *verdict.body_limit)
      verdict.refuse = error_response(
        413, "request body too large (limit "
               + std::to_string(*verdict.body_limit) + " bytes)");
  }
  if (verdict.refuse) {
    reply_error(std::move(*verdict.refuse));
    return false;
  }
  if (!verdict.later)
    return true;
  state_ = state::gating;
  gate_id_ = srv_.next_request_id_.fetch_add(1);
  self_ = shared_from_this(); // nothing else holds us while the gate decides
  verdict.later(make_gate_decision());
  return false;
}

void http_session::read_body_after_header() {
  auto& msg = parser_->get();
  if (!parser_->is_done() && msg.version() >= 11
      && beast::iequals(msg[http::field::expect], "100-continue"))
    return do_continue();
  do_read_body();
}

gate_decision http_session::make_gate_decision() {
  // Decides 503 if the gate drops the callback without calling it.
  struct once {
    std::weak_ptr<http_session> session;
    std::shared_ptr<io_guard> guard;
    uint64_t id = 0;
    bool decided = false;

    void decide(std::optional<http_response> refuse) {
      decided = true;
      std::shared_lock<std::shared_mutex> lock{guard->mtx};
      if (!guard->open)
        return;
      auto self = session.lock();
      if (!self)
        return;
      try {
        post(std::move(self),
             [id = id, refuse = std::move(refuse)](http_session& s) mutable {
               s.on_gate(id, std::move(refuse));
             });
      } catch (const std::exception& e) {
        spdlog::warn("http: cannot post a gate decision: {}", e.what());
      }
    }

    ~once() {
      if (!decided)
        decide(error_response(503, "service unavailable"));
    }
  };
  // Built in place: a temporary `once` would decide 503 as it dies.
  auto state = std::make_shared<once>();
  state->session = weak_from_this();
  state->guard = srv_.guard_;
  state->id = gate_id_;
  return [state](std::optional<http_response> refuse) {
    if (!state->decided)
      state->decide(std::move(refuse));
  };
}

void http_session::on_gate(uint64_t id, std::optional<http_response> refuse) {
  if (state_ != state::gating || id != gate_id_)
    return;
  auto self = std::move(self_);
  state_ = state::reading;
  if (refuse)
    return reply_error(std::move(*refuse));
  read_body_after_header();
}

// The client waits for this before sending the body (curl does for
// large bodies); without it, it waits a second.
void http_session::do_continue() {
  asio::async_write(
    stream_, asio::buffer(continue_line, sizeof(continue_line) - 1),
    beast::bind_front_handler(&http_session::on_continue, shared_from_this()));
}

void http_session::on_continue(beast::error_code ec, size_t) {
  if (ec)
    return fail(ec, "write continue");
  do_read_body();
}

void http_session::do_read_body() {
  // No new expires_after: the deadline set for the header covers the
  // whole request, body included.
  http::async_read(
    stream_, buffer_, *parser_,
    beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, size_t) {
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

void http_session::handle_request() {
  auto msg = parser_->release();
  parser_.reset();
  begin_request(msg);
  if (slot_.refusal())
    keep_alive_ = false; // the health check of a refused connection
  auto req = request_of(msg);
  req.body = std::move(msg.body());
  if (route_websocket(msg, req))
    return;
  // A CORS preflight from an allowed origin (cors-origins).
  if (!cors_origin_.empty() && req.method == "OPTIONS"
      && !req.header("access-control-request-method").empty()) {
    route_ = "cors_preflight";
    http_response res;
    res.status = 204;
    res.headers = cors_policy::preflight_headers();
    return finish(std::move(res));
  }
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
    spdlog::error("http: handler of {} {} threw: {} request_id={}", req.method,
                  route_, e.what(), request_id_text_);
    if (!sync_response_)
      sync_response_ = error_response(500, "internal error");
  } catch (...) {
    spdlog::error("http: handler of {} {} threw request_id={}", req.method,
                  route_, request_id_text_);
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
bool http_session::route_websocket(http::request<http::string_body>& msg,
                                   http_request& req) {
  if (srv_.ws_handlers_.empty()
      || (msg.method() != http::verb::get && msg.method() != http::verb::head))
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
void http_session::upgrade(const http::request<http::string_body>& msg,
                           http_request req) {
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
    auto ws = std::make_shared<websocket_session>(
      srv_, std::move(stream_), strand_, remote_, std::move(slot_));
    srv_.add_ws_session(ws);
    ws->run(msg, std::move(req), route_, handler, std::move(early), started_,
            std::move(request_id_text_));
  } catch (const std::exception& e) {
    spdlog::warn("ws: cannot start a session: {}", e.what());
  }
}

http_request
http_session::request_of(const http::request<http::string_body>& msg) const {
  auto req = to_http_request(msg);
  req.remote = remote_;
  req.client = srv_.client_of(peer_, forwarded_for(req));
  return req;
}

void http_session::begin_request(const http::request<http::string_body>& head) {
  state_ = state::handling;
  request_id_ = srv_.next_request_id_.fetch_add(1);
  started_ = clock_type::now();
  head_request_ = head.method() == http::verb::head;
  version_ = head.version();
  keep_alive_ = head.keep_alive();
  method_ = head.method() == http::verb::unknown
              ? std::string{"OTHER"}
              : std::string{head.method_string()};
  auto incoming = head["X-Request-Id"];
  if (acceptable_request_id({incoming.data(), incoming.size()}))
    request_id_text_.assign(incoming.data(), incoming.size());
  else
    format_request_id(srv_.request_id_base_ + request_id_, request_id_text_);
  auto target = head.target();
  log_access_ = srv_.access_log_.load(std::memory_order_relaxed);
  log_debug_ = !log_access_ && log_requests();
  if (log_access_ || log_debug_) {
    loggable_path({target.data(), target.size()}, path_);
    client_ = srv_.client_of(peer_, forwarded_for(head));
  }
  cors_origin_.clear();
  if (!srv_.cors_.empty()) {
    auto origin = head[http::field::origin];
    auto path = target.substr(0, target.find('?'));
    if (cors_policy::covers({path.data(), path.size()})
        && srv_.cors_.allows({origin.data(), origin.size()}))
      cors_origin_ = std::string{origin};
  }
}

void http_session::finish(http_response res) {
  on_response(request_id_, std::move(res));
}

responder http_session::make_responder() {
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
      post(std::move(self),
           [id, res = std::move(res)](http_session& s) mutable {
             s.on_response(id, std::move(res));
           });
    } catch (const std::exception& e) {
      spdlog::warn("http: cannot post a response: {}", e.what());
    }
  };
}

void http_session::on_response(uint64_t id, http_response res) {
  if (state_ != state::handling || id != request_id_)
    return;                     // a second call, or the connection moved on
  auto self = std::move(self_); // the write holds us from here on
  do_write(std::move(res), false);
}

void http_session::reply_error(unsigned status, const std::string& detail) {
  reply_error(error_response(status, detail));
}

void http_session::reply_error(http_response res) {
  // What was read of the head, even when it was refused half way (a
  // Content-Length over the limit): its request id and target are logged.
  if (parser_)
    begin_request(parser_->get());
  else
    begin_request({});
  keep_alive_ = false;
  route_ = "unmatched";
  parser_.reset();
  do_write(std::move(res), true);
}

// -- relaying (a standby node) -----------------------------------------------

struct http_session::relay {
  explicit relay(strand_type& strand) : resolver(strand), upstream(strand) {}

  tcp::resolver resolver;
  tcp::socket upstream;
  /// The first request's head as received, then what followed it.
  std::string head;
  std::array<char, 16384> up{};
  std::array<char, 16384> down{};
};

// Everything but the node's own health and metrics goes to the leader.
bool http_session::relayed(const http::request<http::string_body>& head) const {
  if (!srv_.forward_)
    return false;
  auto target = head.target();
  auto path = target.substr(0, target.find('?'));
  return path != "/healthz" && path != "/readyz" && path != "/metrics";
}

void http_session::start_relay() {
  auto target = srv_.forward_();
  if (!target) {
    auto res = error_response(503, "this node stands by and knows no leader "
                                   "right now");
    res.headers.emplace_back("Retry-After", "1");
    return reply_error(std::move(res));
  }
  state_ = state::relaying;
  // The leader times the connection out; a WebSocket may idle for long.
  stream_.expires_never();
  relay_ = std::make_unique<relay>(strand_);
  auto& head = relay_->head;
  auto& req = parser_->get();
  head.append(req.method_string().data(), req.method_string().size());
  head += ' ';
  head.append(req.target().data(), req.target().size());
  head += req.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
  std::string forwarded_for;
  for (auto& field : req) {
    if (beast::iequals(field.name_string(), "x-forwarded-for")) {
      forwarded_for.append(field.value().data(), field.value().size());
      forwarded_for += ", ";
      continue;
    }
    head.append(field.name_string().data(), field.name_string().size());
    head += ": ";
    head.append(field.value().data(), field.value().size());
    head += "\r\n";
  }
  head += "X-Forwarded-For: " + forwarded_for + peer_.to_string() + "\r\n\r\n";
  // Bytes read past the head (a body, a pipelined request) follow it.
  head += beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  parser_.reset();
  relay_->resolver.async_resolve(
    target->host, target->port,
    [self = shared_from_this()](beast::error_code ec,
                                const tcp::resolver::results_type& found) {
      if (ec || self->state_ != state::relaying)
        return self->on_upstream(ec ? ec : asio::error::operation_aborted);
      asio::async_connect(self->relay_->upstream, found,
                          [self](beast::error_code ec, const tcp::endpoint&) {
                            self->on_upstream(ec);
                          });
    });
}

void http_session::on_upstream(beast::error_code ec) {
  if (state_ != state::relaying)
    return;
  if (ec) {
    spdlog::warn("cluster: cannot reach the leader to relay {}: {}", remote_,
                 ec.message());
    auto res = error_response(503, "this node cannot reach the cluster's "
                                   "leader right now");
    res.headers.emplace_back("Retry-After", "1");
    relay_.reset();
    return reply_error(std::move(res));
  }
  asio::async_write(relay_->upstream, asio::buffer(relay_->head),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec)
                        return self->fail(ec, "relay");
                      self->relay_->head.clear();
                      self->relay_->head.shrink_to_fit();
                      self->pump_up();
                      self->pump_down();
                    });
}

// Client to leader, as it comes.
void http_session::pump_up() {
  if (state_ != state::relaying)
    return;
  stream_.async_read_some(
    asio::buffer(relay_->up),
    [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec)
        return self->fail(ec, "relay");
      asio::async_write(self->relay_->upstream,
                        asio::buffer(self->relay_->up.data(), n),
                        [self](beast::error_code ec, size_t) {
                          if (ec)
                            return self->fail(ec, "relay");
                          self->pump_up();
                        });
    });
}

// Leader to client, as it comes.
void http_session::pump_down() {
  if (state_ != state::relaying)
    return;
  relay_->upstream.async_read_some(
    asio::buffer(relay_->down),
    [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec)
        return self->fail(ec, "relay");
      asio::async_write(self->stream_,
                        asio::buffer(self->relay_->down.data(), n),
                        [self](beast::error_code ec, size_t) {
                          if (ec)
                            return self->fail(ec, "relay");
                          self->pump_down();
                        });
    });
}

// -- writing ---------------------------------------------------------------

void http_session::do_write(http_response res, bool drain) {
  state_ = state::writing;
  if (!cors_origin_.empty())
    for (auto& h : srv_.cors_.response_headers(cors_origin_))
      res.headers.push_back(std::move(h));
  bool keep = keep_alive_ && !drain && !srv_.stopping_;
  try {
    build(res, keep);
  } catch (const std::exception& e) {
    // Beast throws on oversized header fields, for one.
    spdlog::warn("http: bad response to {} {}: {} request_id={}", method_,
                 route_, e.what(), request_id_text_);
    build(error_response(500, "internal error"), keep);
  }
  stream_.expires_after(srv_.cfg_.http_timeout);
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&http_session::on_write,
                                              shared_from_this(), keep, drain));
}

void http_session::build(http_response res, bool keep) {
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
  response_.set("X-Request-Id", request_id_text_);
  response_.keep_alive(keep);
  if (!no_body) {
    response_.content_length(res.body.size());
    if (!head_request_) // HEAD: the headers of GET, no body
      response_.body() = std::move(res.body);
  }
}

void http_session::on_write(bool keep, bool drain, beast::error_code ec,
                            size_t) {
  auto status = response_.result_int();
  auto seconds
    = std::chrono::duration<double>(clock_type::now() - started_).count();
  srv_.record(route_, method_, status, seconds);
  if (log_access_)
    srv_.log_access(method_, path_, status, response_.body().size(), seconds,
                    client_, request_id_text_);
  else if (log_debug_)
    spdlog::debug("http: {} {} {} {} {:.3f} ms request_id={}", remote_, method_,
                  path_, status, seconds * 1000, request_id_text_);
  response_ = {};
  body_hold_ = body_hold{};
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
void http_session::do_drain() {
  state_ = state::draining;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  buffer_.consume(buffer_.size());
  stream_.expires_after(drain_time);
  read_drain();
}

void http_session::read_drain() {
  stream_.async_read_some(
    buffer_.prepare(read_chunk),
    beast::bind_front_handler(&http_session::on_drain, shared_from_this()));
}

void http_session::on_drain(beast::error_code ec, size_t) {
  if (ec || srv_.stopping_)
    return do_close();
  read_drain();
}

void http_session::fail(beast::error_code ec, const char* what) {
  if (ec != asio::error::operation_aborted && ec != asio::error::eof
      && ec != beast::error::timeout)
    spdlog::debug("http: {}: {}: {}", remote_, what, ec.message());
  do_close();
}

void http_session::do_close() {
  if (state_ == state::closed)
    return;
  state_ = state::closed;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
  if (relay_) {
    relay_->resolver.cancel();
    relay_->upstream.shutdown(tcp::socket::shutdown_both, ec);
    relay_->upstream.close(ec);
  }
  auto self = std::move(self_); // may be the last reference: last line
}

bool http_session::log_requests() {
  return spdlog::default_logger_raw()->should_log(spdlog::level::debug);
}

} // namespace nod::net::detail
