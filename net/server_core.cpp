#include "net/server_core.hpp"

#include "net/http_session.hpp"
#include "net/websocket_session.hpp"
#include "protocol/ids.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <exception>
#include <spdlog/spdlog.h>
#include <string_view>
#include <system_error>

namespace nod::net::detail {

namespace {

/// True if `authorization` is "Bearer `token`", compared in time that does
/// not depend on where they differ.
bool bearer_matches(const std::string& authorization,
                    const std::string& token) {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() != scheme.size() + token.size()
      || authorization.compare(0, scheme.size(), scheme) != 0)
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(authorization[scheme.size() + i]
                                       ^ token[i]);
  return diff == 0;
}

/// How long `stop` waits for force-closed connections to go away.
constexpr std::chrono::seconds force_close_wait{1};

/// Connections over a bound that are still answered (503, or /healthz)
/// before they are closed; beyond these they are closed at once.
constexpr size_t max_refusals = 64;

/// `trusted-proxies` as loaded (already checked by the config).
std::vector<ip_network> trusted_networks(const std::string& list) {
  std::string error;
  auto networks = parse_network_list(list, error);
  if (!networks) {
    spdlog::error("trusted-proxies: {}; trusting none", error);
    return {};
  }
  return std::move(*networks);
}

} // namespace

std::string endpoint_string(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string endpoint_string(const tcp::endpoint& ep) {
  return endpoint_string(ep.address().to_string(), ep.port());
}

server_core::server_core(const config& cfg, metrics::registry& reg,
                         std::function<bool()> ready)
  : cfg_(cfg), reg_(reg), ready_(std::move(ready)),
    trusted_proxies_(trusted_networks(cfg.trusted_proxies)), cors_([&] {
      std::string error;
      return cors_policy::parse(cfg.cors_origins, error)
        .value_or(cors_policy{});
    }()),
    max_ws_queue_bytes_(2 * cfg.max_frame_bytes),
    limits_(cfg.max_connections, cfg.max_connections_per_ip, max_refusals),
    body_budget_(std::max(cfg.max_body_memory, cfg.max_body_bytes)),
    connections_active_(
      reg.get_gauge("nod_http_connections_active", "Open HTTP connections.")),
    connections_total_(reg.get_counter("nod_http_connections_total",
                                       "Accepted HTTP connections.")),
    connections_refused_(
      reg.get_counter("nod_http_connections_refused_total",
                      "Connections refused over max-connections or "
                      "max-connections-per-ip.")),
    bodies_refused_(
      reg.get_counter("nod_http_bodies_refused_total",
                      "Requests answered 503 because their body did not fit in "
                      "max-body-memory.")),
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
  access_log_ = cfg.access_log;
  access_logger_ = spdlog::default_logger();
  // Without randomness ids still differ within the run.
  if (!random_bytes(&request_id_base_, sizeof request_id_base_))
    request_id_base_ = 0;
  router_.add("GET", "/healthz", [](const http_request&, responder respond) {
    respond(json_response(200, R"({"status":"ok"})"));
  });
  router_.add("GET", "/readyz", [this](const http_request&, responder respond) {
    if (!ready_ || ready_())
      respond(json_response(200, R"({"status":"ready"})"));
    else
      respond(error_response(503, "not ready"));
  });
  router_.add(
    "GET", "/metrics", [this](const http_request& req, responder respond) {
      if (!cfg_.metrics_token.empty()
          && !bearer_matches(req.header("authorization"), cfg_.metrics_token)) {
        auto res = error_response(401, "metrics token required");
        res.headers.emplace_back("WWW-Authenticate",
                                 "Bearer realm=\"metrics\"");
        return respond(std::move(res));
      }
      http_response res;
      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
      res.body = reg_.render();
      respond(std::move(res));
    });
}

std::optional<std::string> server_core::listen() {
  std::lock_guard<std::mutex> lock{lifecycle_mtx_};
  return listen_locked();
}

std::optional<std::string> server_core::listen_locked() {
  if (started_ || stopped_)
    return std::string{"the HTTP server was already started"};
  if (listener_)
    return std::nullopt; // listening already
  if (auto error = load_tls())
    return error;
  listener_.emplace(*this, *ioc_);
  if (auto error = listener_->open(cfg_.listen_host, cfg_.listen_port)) {
    listener_.reset();
    return error;
  }
  auto local = listener_->local();
  port_ = local.port();
  address_ = local.address().to_string();
  return std::nullopt;
}

std::optional<std::string> server_core::start() {
  std::lock_guard<std::mutex> lock{lifecycle_mtx_};
  if (auto error = listen_locked())
    return error;
  auto local = listener_->local();
  // Run.
  work_.emplace(ioc_->get_executor());
  listener_->run();
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

void server_core::add_session(const std::shared_ptr<http_session>& s) {
  add_to(sessions_, s);
}

void server_core::remove_session(http_session* s) {
  remove_from(sessions_, s);
}

std::vector<std::shared_ptr<http_session>> server_core::live_sessions() {
  return live_in(sessions_);
}

void server_core::add_ws_session(const std::shared_ptr<websocket_session>& s) {
  add_to(ws_sessions_, s);
}

void server_core::remove_ws_session(websocket_session* s) {
  remove_from(ws_sessions_, s);
}

std::vector<std::shared_ptr<websocket_session>>
server_core::live_ws_sessions() {
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

std::optional<std::string> server_core::load_tls() {
  if (cfg_.tls_cert.empty() != cfg_.tls_key.empty())
    return std::string{"tls-cert and tls-key: set both (or neither)"};
  if (cfg_.tls_cert.empty())
    return std::nullopt;
  namespace ssl = asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  beast::error_code ec;
  // TLS 1.2 and 1.3 only.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                     | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                     | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                   ec);
  ctx->use_certificate_chain_file(cfg_.tls_cert, ec);
  if (ec)
    return "tls-cert: cannot load " + cfg_.tls_cert + ": " + ec.message();
  ctx->use_private_key_file(cfg_.tls_key, ssl::context::pem, ec);
  if (ec)
    return "tls-key: cannot load " + cfg_.tls_key + ": " + ec.message();
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return "tls-key: " + cfg_.tls_key + " is not the key of " + cfg_.tls_cert;
  std::lock_guard<std::mutex> lock{tls_mtx_};
  tls_ = std::move(ctx);
  return std::nullopt;
}

std::shared_ptr<asio::ssl::context> server_core::tls_context() const {
  std::lock_guard<std::mutex> lock{tls_mtx_};
  return tls_;
}

bool server_core::trusted_proxy(const ip_address& peer) const {
  for (auto& net : trusted_proxies_)
    if (net.contains(peer))
      return true;
  return false;
}

std::string server_core::client_of(const ip_address& peer,
                                   const std::string& x_forwarded_for) const {
  if (trusted_proxies_.empty())
    return peer.to_string();
  return forwarded_client(peer, x_forwarded_for, trusted_proxies_).to_string();
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

void server_core::log_access(std::string_view method, std::string_view path,
                             unsigned status, size_t bytes, double seconds,
                             std::string_view client,
                             std::string_view request_id) {
  // Values are free of spaces (HTTP tokens, request targets, addresses,
  // checked request ids): `log-format = json` splits them into fields.
  access_logger_->info("access method={} path={} status={} bytes={} "
                       "duration_ms={:.3f} client={} request_id={}",
                       method, path.empty() ? "-" : path, status, bytes,
                       seconds * 1000, client, request_id);
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
    listener_->close();
    // 2) Close connections between requests; the others close after their
    // response (stopping_ turns keep-alive off). WebSockets flush and
    // close with 1001.
    for (auto& s : live_sessions())
      http_session::post(std::move(s), [](http_session& x) {
        x.on_server_stop();
      });
    for (auto& s : live_ws_sessions())
      websocket_session::post(std::move(s), [](websocket_session& x) {
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
        http_session::post(std::move(s), [](http_session& x) {
          x.force_close();
        });
      for (auto& s : live_ws_sessions())
        websocket_session::post(std::move(s), [](websocket_session& x) {
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
  listener_.reset();
  ioc_.reset();
  if (started_)
    spdlog::info("http: stopped");
}

} // namespace nod::net::detail
