#include "net/webhook_client.hpp"

#include "net/beast_aliases.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <iterator>
#include <limits>
#include <mutex>
#include <openssl/ssl.h>
#include <optional>
#include <spdlog/spdlog.h>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

// One request object per `post`, living on a strand: parse the URL, take
// an idle connection to the same receiver or resolve, connect, (TLS
// handshake); write, read, done, and the connection goes back to the pool
// when the receiver keeps it open. A connection keeps its strand from
// request to request, so its handlers never run on two strands. Every step is a
// do_x/on_x pair; the first error ends the request through `fail`. One
// deadline covers the whole exchange: the tcp_stream's expiry (connect,
// handshake, write, read) plus a timer of our own, because the resolver has
// no timeout (getaddrinfo runs on asio's private thread and cannot be
// interrupted; the timer ends the request anyway and the late resolve is
// ignored).

namespace nod::net {

namespace {

namespace ssl = asio::ssl;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// `User-Agent` of every request.
constexpr char user_agent[] = "nod-server";

/// Reason given to requests cut short by `stop`.
constexpr char stopped_reason[] = "client stopped";

/// How long `stop` waits for cancelled requests to report before it stops
/// the io_context regardless (a `done` that blocks would hold it up).
constexpr std::chrono::seconds stop_wait{5};

class request;

/// An open connection to a receiver, plain or TLS, and the strand its
/// handlers run on.
struct connection {
  explicit connection(strand_type s) : strand(std::move(s)) {}

  beast::tcp_stream& tcp() {
    return tls ? beast::get_lowest_layer(*tls) : *plain;
  }

  /// Calls `f` with the stream in use, TLS or plain.
  template <class F>
  void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else
      f(*plain);
  }

  strand_type strand;
  std::optional<beast::tcp_stream> plain;
  std::optional<tls_stream> tls;
  /// When it was last put in the pool.
  clock_type::time_point idle_since;
};

/// "scheme://host:port": connections are reused only for the same one.
std::string pool_key(const url_parts& url) {
  return (url.tls ? "https://" : "http://") + url.host + ":" + url.port;
}

/// Idle keep-alive connections by receiver, newest last. Thread-safe.
class connection_pool {
public:
  connection_pool(size_t max_per_host, clock_type::duration idle_timeout)
    : max_per_host_(max_per_host), idle_timeout_(idle_timeout) {}

  /// The newest idle connection to `key` that has not idled too long, or
  /// null.
  std::unique_ptr<connection> take(const std::string& key) {
    std::lock_guard<std::mutex> lock{mtx_};
    auto it = idle_.find(key);
    if (it == idle_.end())
      return nullptr;
    auto& list = it->second;
    std::unique_ptr<connection> out;
    if (!list.empty()) {
      out = std::move(list.back());
      list.pop_back();
      if (clock_type::now() - out->idle_since >= idle_timeout_)
        out.reset(); // the oldest are older still: sweep takes them
    }
    if (list.empty())
      idle_.erase(it);
    return out;
  }

  /// Keeps `c` for the next request to `key`; closes it when the pool is
  /// closed or `key` already has its fill.
  void put(const std::string& key, std::unique_ptr<connection> c) {
    c->idle_since = clock_type::now();
    std::lock_guard<std::mutex> lock{mtx_};
    if (closed_)
      return;
    auto& list = idle_[key];
    if (list.size() < max_per_host_)
      list.push_back(std::move(c));
  }

  /// Closes the connections that idled longer than the idle timeout.
  void sweep() {
    std::vector<std::unique_ptr<connection>> expired;
    std::lock_guard<std::mutex> lock{mtx_};
    auto now = clock_type::now();
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& list = it->second;
      auto fresh = std::find_if(list.begin(), list.end(), [&](auto& c) {
        return now - c->idle_since < idle_timeout_;
      });
      std::move(list.begin(), fresh, std::back_inserter(expired));
      list.erase(list.begin(), fresh);
      it = list.empty() ? idle_.erase(it) : std::next(it);
    }
  }

  /// Closes every idle connection and keeps no more. Called while the
  /// io_context the sockets belong to still exists.
  void close() {
    std::lock_guard<std::mutex> lock{mtx_};
    closed_ = true;
    idle_.clear();
  }

private:
  size_t max_per_host_;
  clock_type::duration idle_timeout_;
  std::mutex mtx_;
  bool closed_ = false;
  std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>>
    idle_;
};

/// The requests in flight, shared by the client and its requests (so a
/// request never points into the client).
struct registry {
  std::mutex mtx;
  std::condition_variable cv;
  /// Set by `stop`; no request is registered afterwards.
  bool stopped = false;
  std::atomic<uint64_t> next_id{0};
  std::unordered_map<uint64_t, std::weak_ptr<request>> live;
  connection_pool pool;

  registry(size_t max_idle_per_host, clock_type::duration idle_timeout)
    : pool(max_idle_per_host, idle_timeout) {}

  /// Removes request `id` and wakes `stop` when none is left.
  void remove(uint64_t id) {
    std::lock_guard<std::mutex> lock{mtx};
    live.erase(id);
    if (live.empty())
      cv.notify_all();
  }
};

/// True if `c` may appear in a header field name (RFC 9110 token).
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
      || (c >= '0' && c <= '9'))
    return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

/// True if `s` has no CR, LF or NUL (nothing that could split a header).
bool is_clean(std::string_view s) {
  return s.find_first_of(std::string_view{"\r\n\0", 3})
         == std::string_view::npos;
}

/// True if `name` is a header the client sets itself (the caller's copy is
/// dropped).
bool is_reserved(std::string_view name) {
  // Beast 1.74 has its own string_view (boost::string_view), not std's.
  beast::string_view n{name.data(), name.size()};
  return beast::iequals(n, "host") || beast::iequals(n, "content-length")
         || beast::iequals(n, "transfer-encoding")
         || beast::iequals(n, "connection") || beast::iequals(n, "user-agent");
}

/// A result without an HTTP status.
http_post_result failed(post_failure why, std::string error) {
  http_post_result res;
  res.failure = why;
  res.error = std::move(error);
  return res;
}

/// Microseconds since `t`.
int64_t micros_since(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now()
                                                               - t)
    .count();
}

/// Calls `done` with `res` unless it is empty; what it throws stays here.
void report(std::function<void(http_post_result)>& done,
            http_post_result res) noexcept {
  if (!done)
    return;
  try {
    done(std::move(res));
  } catch (const std::exception& e) {
    spdlog::error("webhook client: done callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("webhook client: done callback threw");
  }
}

/// One POST in flight. Lives on `strand_`; handlers hold it through
/// shared_ptrs, the registry through a weak_ptr.
class request : public std::enable_shared_from_this<request> {
public:
  /// `done` is taken last (a non-throwing move), so it is still the
  /// caller's if construction throws. `idle` is a pooled connection to the
  /// receiver (then `strand` is its strand), or null.
  request(strand_type strand, std::unique_ptr<connection> idle,
          ssl::context& tls_ctx, const std::string& setup_error,
          const webhook_client_options& opts, std::shared_ptr<registry> reg,
          http_post&& post, std::function<void(http_post_result)>&& done,
          clock_type::time_point started)
    : strand_(std::move(strand)), tls_ctx_(tls_ctx), setup_error_(setup_error),
      verify_tls_(opts.verify_tls), allowed_hosts_(opts.allowed_hosts),
      max_response_bytes_(opts.max_response_bytes), keep_body_(opts.keep_body),
      registry_(std::move(reg)), id_(registry_->next_id++),
      post_(std::move(post)), started_(started), resolver_(strand_),
      deadline_(strand_), conn_(std::move(idle)), reused_(conn_ != nullptr),
      done_(std::move(done)) {
    // Nothing else here: shared_from_this is not available yet.
  }

  request(const request&) = delete;
  request& operator=(const request&) = delete;

  /// Last resort: a request dropped unfinished (its handlers destroyed with
  /// the io_context) still reports, on whatever thread destroys it.
  ~request() {
    if (finished_)
      return;
    finished_ = true;
    registry_->remove(id_);
    auto res = failed(post_failure::connection_error, stopped_reason);
    res.elapsed_us = micros_since(started_);
    report(done_, std::move(res));
  }

  uint64_t id() const {
    return id_;
  }

  /// Queues the first step on the strand.
  void start();

  /// Queues the cancellation by `stop` on the strand.
  void cancel();

private:
  /// A completion handler calling member `fn` on this request unless it has
  /// finished; exceptions end the request instead of leaving the handler.
  template <class Fn>
  auto bind(Fn fn) {
    return [self = shared_from_this(), fn](auto&&... args) {
      if (self->finished_)
        return;
      self->guard([&] {
        ((*self).*fn)(std::forward<decltype(args)>(args)...);
      });
    };
  }

  /// Runs `f`; what it throws ends the request as a connection_error.
  template <class F>
  void guard(F&& f) noexcept {
    try {
      f();
    } catch (const std::exception& e) {
      try {
        fail_with(post_failure::connection_error,
                  std::string{"internal error: "} + e.what());
      } catch (...) {
      }
    } catch (...) {
      try {
        fail_with(post_failure::connection_error, "internal error");
      } catch (...) {
      }
    }
  }

  /// The TCP layer of the connection in use.
  beast::tcp_stream& tcp() {
    return conn_->tcp();
  }

  void do_start() {
    if (!setup_error_.empty())
      return fail_with(post_failure::connection_error, setup_error_);
    auto parts = parse_http_url(post_.url);
    if (!parts || !is_clean(parts->host) || !is_clean(parts->target))
      // The URL itself stays out of the message: it may carry a token.
      return fail_with(post_failure::connection_error, "bad URL");
    url_ = std::move(*parts);
    for (const auto& [name, value] : post_.headers)
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)
          || !is_clean(value))
        return fail_with(post_failure::connection_error,
                         "bad header field: " + name);
    // The deadline counts from `post`, so time spent queued counts too.
    auto timeout
      = std::chrono::milliseconds{std::max<int64_t>(post_.timeout_ms, 0)};
    deadline_at_ = started_ + timeout;
    deadline_.expires_at(deadline_at_);
    deadline_.async_wait(bind(&request::on_deadline));
    build_message();
    if (conn_) {
      tcp().expires_at(deadline_at_);
      return do_write();
    }
    open_connection();
  }

  /// A new connection (on this request's strand), then resolve and connect.
  void open_connection() {
    conn_ = std::make_unique<connection>(strand_);
    if (url_.tls) {
      auto& tls = conn_->tls.emplace(strand_, tls_ctx_);
      // SNI carries host names only, never IP literals (RFC 6066).
      beast::error_code ec;
      asio::ip::make_address(url_.host, ec);
      if (ec
          && !SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str()))
        return fail_with(post_failure::connection_error,
                         "cannot set the TLS server name");
      // Beast 1.74's ssl_stream has no error_code overload of this; a
      // throw ends up in `guard`.
      if (verify_tls_)
        tls.set_verify_callback(ssl::host_name_verification(url_.host));
    } else {
      conn_->plain.emplace(strand_);
    }
    tcp().expires_at(deadline_at_);
    do_resolve();
  }

  /// The POST as it goes on the wire: Host, User-Agent, the caller's
  /// headers in order, Content-Length (HTTP/1.1: the connection stays open
  /// unless the receiver closes it).
  void build_message() {
    msg_.method(http::verb::post);
    msg_.target(url_.target);
    msg_.version(11);
    auto host = url_.host.find(':') == std::string::npos
                  ? url_.host
                  : "[" + url_.host + "]";
    if (url_.port != (url_.tls ? "443" : "80"))
      host += ":" + url_.port;
    msg_.set(http::field::host, host);
    msg_.set(http::field::user_agent, user_agent);
    for (const auto& [name, value] : post_.headers)
      if (!is_reserved(name))
        msg_.insert(name, value);
    msg_.content_length(post_.body.size());
    msg_.body() = std::move(post_.body);
  }

  void do_resolve() {
    resolver_.async_resolve(url_.host, url_.port, bind(&request::on_resolve));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return fail(ec, "resolve " + url_.host);
    // Only the addresses the policy allows are tried: the check is on what
    // is connected to, at every attempt, so a name that changes what it
    // resolves to (DNS rebinding) gains nothing.
    std::vector<tcp::endpoint> allowed;
    std::optional<std::string> refusal;
    for (const auto& entry : results) {
      auto ep = entry.endpoint();
      auto address = to_ip_address(ep.address());
      auto why = allowed_hosts_
                   ? allowed_hosts_->refusal(url_.host, address, ep.port())
                   : std::nullopt;
      // This server's own trigger URL would be a loop, whatever the list
      // allows.
      if (!why && allowed_hosts_ && is_trigger_path(url_.target)
          && allowed_hosts_->own_endpoint(url_.host, address, ep.port()))
        why = "address " + address.to_string() + " port "
              + std::to_string(ep.port())
              + " is this server: its own trigger URL would be a loop";
      if (why)
        refusal = std::move(why);
      else
        allowed.push_back(ep);
    }
    if (allowed.empty() && refusal)
      return fail_with(post_failure::blocked_address,
                       "blocked_address: " + *refusal);
    do_connect(std::move(allowed));
  }

  void do_connect(std::vector<tcp::endpoint> endpoints) {
    endpoints_ = std::move(endpoints);
    tcp().async_connect(endpoints_, bind(&request::on_connect));
  }

  void on_connect(beast::error_code ec, const tcp::endpoint&) {
    if (ec)
      return fail(ec, "connect to " + url_.host + ":" + url_.port);
    if (conn_->tls)
      do_handshake();
    else
      do_write();
  }

  void do_handshake() {
    conn_->tls->async_handshake(ssl::stream_base::client,
                                bind(&request::on_handshake));
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return fail(ec, "TLS handshake");
    do_write();
  }

  void do_write() {
    conn_->with_stream([this](auto& stream) {
      http::async_write(stream, msg_, bind(&request::on_write));
    });
  }

  void on_write(beast::error_code ec, size_t) {
    if (ec)
      return stale_or_fail(ec, "write");
    do_read();
  }

  /// A kept connection the receiver closed while it idled fails the first
  /// write or read without a byte of response: the request goes again on
  /// a new connection, once. (Had the receiver taken the request and then
  /// closed without answering, it gets it twice: webhooks are at least
  /// once, with the same `webhook-id`.)
  void stale_or_fail(beast::error_code ec, const std::string& what) {
    bool closed_by_peer = ec == http::error::end_of_stream
                          || ec == asio::error::eof
                          || ec == asio::error::connection_reset
                          || ec == asio::error::broken_pipe;
    if (!reused_ || !closed_by_peer || read_bytes_ > 0
        || (parser_ && parser_->got_some()))
      return fail(ec, what);
    reused_ = false;
    conn_.reset();
    buffer_.clear();
    parser_.reset();
    open_connection();
  }

  void do_read() {
    parser_.emplace();
    auto limit = std::min<size_t>(max_response_bytes_,
                                  std::numeric_limits<uint32_t>::max());
    parser_->header_limit(static_cast<uint32_t>(limit));
    parser_->body_limit(static_cast<uint64_t>(limit));
    conn_->with_stream([this](auto& stream) {
      http::async_read(stream, buffer_, *parser_, bind(&request::on_read));
    });
  }

  void on_read(beast::error_code ec, size_t bytes) {
    // A TLS peer that ends an EOF-delimited body without close_notify: the
    // status is all we need, and it arrived.
    if (ec == ssl::error::stream_truncated && parser_->is_header_done()) {
      ec = {};
      keep_ = false;
    }
    if (ec)
      return stale_or_fail(ec, "read");
    read_bytes_ += bytes;
    if (read_bytes_ > max_response_bytes_)
      return fail(http::error::body_limit, "read");
    auto& res = parser_->get();
    auto status = res.result_int();
    // An interim response (100 Continue and the like) is followed by the
    // real one.
    if (status >= 100 && status < 200 && status != 101)
      return do_read();
    // Reused only after a whole response, framed by its length, with
    // nothing after it and the receiver willing.
    keep_ = keep_ && res.keep_alive() && parser_->is_done()
            && !parser_->need_eof() && buffer_.size() == 0;
    http_post_result out;
    out.status = status;
    auto retry_after = res.find(http::field::retry_after);
    if (retry_after != res.end())
      out.retry_after = std::string{retry_after->value()};
    if (keep_body_)
      out.body = std::move(res.body());
    finish(std::move(out));
  }

  void on_deadline(beast::error_code ec) {
    if (ec == asio::error::operation_aborted)
      return;
    fail_with(post_failure::timeout,
              "timed out after " + std::to_string(post_.timeout_ms) + " ms");
  }

  void on_stop() {
    fail_with(post_failure::connection_error, stopped_reason);
  }

  /// Ends the request after `ec` in step `what`.
  void fail(beast::error_code ec, const std::string& what) {
    if (ec == beast::error::timeout)
      return fail_with(post_failure::timeout,
                       what + ": timed out after "
                         + std::to_string(post_.timeout_ms) + " ms");
    if (ec == http::error::body_limit || ec == http::error::header_limit
        || ec == http::error::buffer_overflow)
      return fail_with(post_failure::connection_error,
                       "response larger than "
                         + std::to_string(max_response_bytes_) + " bytes");
    fail_with(post_failure::connection_error, what + ": " + ec.message());
  }

  void fail_with(post_failure why, std::string error) {
    finish(failed(why, std::move(error)));
  }

  /// Reports `res` (the first call only), then releases everything.
  void finish(http_post_result res) {
    if (finished_)
      return;
    finished_ = true;
    res.elapsed_us = micros_since(started_);
    if (res.failure == post_failure::none && keep_)
      release();
    else
      close();
    registry_->remove(id_);
    auto done = std::move(done_);
    done_ = nullptr;
    report(done, std::move(res));
  }

  /// Puts the connection, idle now, back in the pool.
  void release() {
    cancel_timers();
    tcp().expires_never();
    registry_->pool.put(pool_key(url_), std::move(conn_));
  }

  /// Cancels what is pending and closes the connection. The TCP send side
  /// is shut down first; the TLS close_notify is skipped (the response was
  /// complete, or the request failed).
  void close() {
    cancel_timers();
    beast::error_code ec;
    if (conn_) {
      auto& stream = tcp();
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream.close();
      conn_.reset();
    }
  }

  void cancel_timers() {
    try {
      deadline_.cancel(); // Beast-era asio: no error_code overload left
    } catch (const std::exception&) {
    }
    resolver_.cancel();
  }

  strand_type strand_;
  ssl::context& tls_ctx_;
  std::string setup_error_;
  bool verify_tls_;
  std::shared_ptr<const address_policy> allowed_hosts_;
  size_t max_response_bytes_;
  bool keep_body_;
  std::shared_ptr<registry> registry_;
  uint64_t id_;
  http_post post_;
  clock_type::time_point started_;
  clock_type::time_point deadline_at_;
  url_parts url_;
  tcp::resolver resolver_;
  /// The resolved addresses the policy allows, tried in turn.
  std::vector<tcp::endpoint> endpoints_;
  asio::steady_timer deadline_;
  std::unique_ptr<connection> conn_;
  /// The connection came from the pool (and has not been replaced).
  bool reused_;
  /// The connection may go back to the pool after the response.
  bool keep_ = true;
  http::request<http::string_body> msg_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  size_t read_bytes_ = 0;
  bool finished_ = false;
  std::function<void(http_post_result)> done_;
};

// Out of the class: `bind`'s deduced return type must be known here.
void request::start() {
  asio::post(strand_, bind(&request::do_start));
}

void request::cancel() {
  asio::post(strand_, bind(&request::on_stop));
}

/// The TLS client context: TLS 1.2 or later, the system's CAs plus
/// `opts.ca_file`, peer verification as configured. Problems are returned
/// as text (every request then fails with it) rather than thrown.
std::string setup_tls(ssl::context& ctx, const webhook_client_options& opts) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                  | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                  | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  ctx.set_default_verify_paths(ec);
  if (ec)
    return "cannot load the system CA store: " + ec.message();
  if (!opts.ca_file.empty()) {
    ctx.load_verify_file(opts.ca_file, ec);
    if (ec)
      return "cannot load CA file " + opts.ca_file + ": " + ec.message();
  }
  ctx.set_verify_mode(opts.verify_tls ? ssl::verify_peer : ssl::verify_none,
                      ec);
  if (ec)
    return "cannot set the TLS verify mode: " + ec.message();
  return {};
}

} // namespace

// Member order matters: the io_context goes first, taking the requests its
// handlers hold with it, while the TLS context they use is still there.
struct webhook_client::impl {
  explicit impl(webhook_client_options o)
    : opts(std::move(o)), tls_ctx(ssl::context::tls_client),
      tls_error(setup_tls(tls_ctx, opts)),
      reg(
        std::make_shared<registry>(opts.max_idle_per_host, opts.idle_timeout)),
      work(asio::make_work_guard(ioc)), sweep_timer(ioc) {
    schedule_sweep();
    auto n = std::max<size_t>(opts.threads, 1);
    threads.reserve(n);
    try {
      for (size_t i = 0; i < n; ++i)
        threads.emplace_back([this] {
          run();
        });
    } catch (...) {
      work.reset();
      ioc.stop();
      for (auto& t : threads)
        t.join();
      throw;
    }
  }

  /// Closes idle connections past their time, every idle timeout, so a
  /// receiver's closed connection does not linger half-open here.
  void schedule_sweep() {
    sweep_timer.expires_after(opts.idle_timeout);
    sweep_timer.async_wait([this](beast::error_code ec) {
      if (ec)
        return;
      reg->pool.sweep();
      schedule_sweep();
    });
  }

  /// One client thread: handlers never throw, but nothing may escape.
  void run() noexcept {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("webhook client: handler threw: {}", e.what());
      } catch (...) {
        spdlog::error("webhook client: handler threw");
      }
    }
  }

  webhook_client_options opts;
  ssl::context tls_ctx;
  std::string tls_error;
  std::shared_ptr<registry> reg;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  asio::steady_timer sweep_timer;
  std::vector<std::thread> threads;
  /// Serializes `stop` calls from outside (joining is not reentrant).
  std::mutex stop_mtx;
};

webhook_client::webhook_client(webhook_client_options opts)
  : impl_(std::make_unique<impl>(std::move(opts))) {}

webhook_client::~webhook_client() {
  stop();
}

// After `stop`, `done` runs at once on the caller's thread: there is no
// client thread left to run it on.
void webhook_client::post(http_post req,
                          std::function<void(http_post_result)> done) {
  auto started = clock_type::now();
  // Declared before the lock below: a request dropped here reports from its
  // destructor (after `stop`: "client stopped", on this thread), which takes
  // the registry's lock.
  std::shared_ptr<request> r;
  try {
    std::unique_ptr<connection> idle;
    // A trigger URL always takes a fresh connection, so that it is checked
    // for being this server's own (a loop) on the address connected to.
    if (auto url = parse_http_url(req.url);
        url && !is_trigger_path(url->target))
      idle = impl_->reg->pool.take(pool_key(*url));
    auto strand = idle ? idle->strand : asio::make_strand(impl_->ioc);
    r = std::make_shared<request>(
      std::move(strand), std::move(idle), impl_->tls_ctx, impl_->tls_error,
      impl_->opts, impl_->reg, std::move(req), std::move(done), started);
    auto& reg = *impl_->reg;
    std::lock_guard<std::mutex> lock{reg.mtx};
    if (reg.stopped)
      return;
    reg.live.emplace(r->id(), r);
    // Under the lock, so a concurrent `stop` that sees it registered queues
    // its cancellation after the start.
    r->start();
  } catch (const std::exception& e) {
    if (r)
      return;
    auto res = failed(post_failure::connection_error,
                      std::string{"cannot start the request: "} + e.what());
    res.elapsed_us = micros_since(started);
    report(done, std::move(res));
  } catch (...) {
    if (r)
      return;
    auto res
      = failed(post_failure::connection_error, "cannot start the request");
    res.elapsed_us = micros_since(started);
    report(done, std::move(res));
  }
}

void webhook_client::stop() {
  auto& reg = *impl_->reg;
  std::vector<std::shared_ptr<request>> live;
  {
    std::lock_guard<std::mutex> lock{reg.mtx};
    reg.stopped = true;
    for (auto& [id, weak] : reg.live)
      if (auto r = weak.lock())
        live.push_back(std::move(r));
  }
  for (auto& r : live)
    r->cancel();
  live.clear();
  // From a client thread (inside a `done`) there is nobody to wait for the
  // cancellations or to join this thread: leave that to a later call from
  // outside (the destructor).
  if (impl_->ioc.get_executor().running_in_this_thread())
    return;
  std::lock_guard<std::mutex> stopping{impl_->stop_mtx};
  {
    std::unique_lock<std::mutex> lock{reg.mtx};
    reg.cv.wait_for(lock, stop_wait, [&] {
      return reg.live.empty();
    });
  }
  impl_->work.reset();
  try {
    impl_->sweep_timer.cancel();
  } catch (const std::exception&) {
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
  // While the io_context the sockets belong to still exists.
  reg.pool.close();
}

} // namespace nod::net
