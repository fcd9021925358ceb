#include "net/server.hpp"

#include "config/config.hpp"
#include "metrics/metrics.hpp"

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
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <spdlog/spdlog.h>
#include <thread>
#include <unordered_map>
#include <vector>

namespace nod::net {

namespace detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using strand_type = asio::strand<asio::io_context::executor_type>;

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

/// The gate between asio and other threads: responders post onto a session
/// strand only while `open`, under a shared lock; `stop` closes it, under
/// the exclusive lock, before the io_context is destroyed.
struct io_guard {
  std::shared_mutex mtx;
  bool open = true;
};

class session;

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

  /// Records one finished request in the metrics.
  void record(const std::string& route, const std::string& method,
              unsigned status, double seconds);

  const config cfg_;
  metrics::registry& reg_;
  std::function<bool()> ready_;
  net::router router_;
  std::shared_ptr<io_guard> guard_ = std::make_shared<io_guard>();
  std::atomic<bool> stopping_{false};
  /// Request ids are unique per server, so a stale responder never matches
  /// a later request, not even of a session at a reused address.
  std::atomic<uint64_t> next_request_id_{1};

  metrics::gauge& connections_active_;
  metrics::counter& connections_total_;
  std::mutex metrics_mtx_;
  std::unordered_map<std::string, metrics::counter*> request_counters_;
  std::unordered_map<std::string, metrics::histogram*> durations_;

  std::mutex sessions_mtx_;
  std::condition_variable sessions_cv_;
  std::unordered_map<session*, std::weak_ptr<session>> sessions_;

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

} // namespace

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
    auto found = srv_.router_.match(req.method, req.path);
    if (found.target == nullptr) {
      route_ = found.route.empty() ? "unmatched" : std::move(found.route);
      if (!found.method_not_allowed)
        return finish(error_response(404, "not found"));
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
    connections_active_(
      reg.get_gauge("nod_http_connections_active", "Open HTTP connections.")),
    connections_total_(reg.get_counter("nod_http_connections_total",
                                       "Accepted HTTP connections.")),
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

void server_core::add_session(const std::shared_ptr<session>& s) {
  std::lock_guard<std::mutex> lock{sessions_mtx_};
  sessions_.emplace(s.get(), s);
}

void server_core::remove_session(session* s) {
  {
    std::lock_guard<std::mutex> lock{sessions_mtx_};
    sessions_.erase(s);
  }
  sessions_cv_.notify_all();
}

std::vector<std::shared_ptr<session>> server_core::live_sessions() {
  std::vector<std::shared_ptr<session>> out;
  std::lock_guard<std::mutex> lock{sessions_mtx_};
  out.reserve(sessions_.size());
  for (auto& [ptr, weak] : sessions_)
    if (auto s = weak.lock())
      out.push_back(std::move(s));
  return out;
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
    // response (stopping_ turns keep-alive off).
    for (auto& s : live_sessions())
      session::post(std::move(s), [](session& x) {
        x.on_server_stop();
      });
    // 3) Give requests in flight the grace period.
    std::unique_lock<std::mutex> sessions_lock{sessions_mtx_};
    auto deadline = clock_type::now() + cfg_.shutdown_grace;
    sessions_cv_.wait_until(sessions_lock, deadline, [this] {
      return sessions_.empty();
    });
    auto left = sessions_.size();
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
      sessions_lock.lock();
      sessions_cv_.wait_for(sessions_lock, force_close_wait, [this] {
        return sessions_.empty();
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
