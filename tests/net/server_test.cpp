#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/server.hpp"
#include "tests/e2e/http_client.hpp"
#include "tests/support/log_capture.hpp"
#include "tests/support/match.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace nod::net {
namespace {

using namespace std::chrono_literals;
using test::http_call;
using test::raw_exchange;

size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
    .count();
}

class server_test : public ::testing::Test {
protected:
  server_test() {
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    cfg.io_threads = 2;
    cfg.max_body_bytes = 1024;
    cfg.shutdown_grace = 2s;
  }

  ~server_test() override {
    srv.reset();
    // Late responders run after the server is gone on purpose.
    std::lock_guard<std::mutex> lock{workers_mtx};
    for (auto& t : workers)
      t.join();
  }

  /// Starts the server with the test routes.
  void start() {
    start_with_logger(nullptr);
  }

  /// As `start`, with access lines going to `access_logger` (unless null).
  void start_with_logger(std::shared_ptr<spdlog::logger> access_logger) {
    srv = std::make_unique<server>(cfg, reg, [this] {
      return ready.load();
    });
    srv->set_access_logger(std::move(access_logger));
    auto& r = srv->routes();
    r.add("POST", "/echo", [](const http_request& req, responder respond) {
      respond(json_response(200, req.body));
    });
    r.add(
      "GET", "/inspect/{id}", [](const http_request& req, responder respond) {
        std::string q;
        req.query_param("q", q);
        http_response res;
        res.content_type = "text/plain";
        res.body
          = req.method + "|" + req.path + "|" + req.query + "|"
            + req.param("id") + "|" + q + "|" + req.header("x-test") + "|"
            + (req.remote.rfind("127.0.0.1:", 0) == 0 ? "local" : req.remote);
        res.headers.emplace_back("X-Extra", "yes");
        res.headers.emplace_back("Content-Length", "999"); // ignored
        respond(std::move(res));
      });
    r.add("GET", "/later", [this](const http_request&, responder respond) {
      spawn([respond] {
        std::this_thread::sleep_for(50ms);
        respond(json_response(200, R"({"later":true})"));
      });
    });
    r.add("GET", "/slow", [this](const http_request&, responder respond) {
      slow_started.set_value();
      spawn([respond] {
        std::this_thread::sleep_for(100ms);
        respond(json_response(200, R"({"slow":true})"));
      });
    });
    r.add("GET", "/never", [this](const http_request&, responder respond) {
      std::lock_guard<std::mutex> lock{kept_mtx};
      kept.push_back(std::move(respond));
      never_started.set_value();
    });
    r.add("GET", "/twice", [this](const http_request&, responder respond) {
      respond(json_response(200, R"({"n":1})"));
      respond(json_response(200, R"({"n":2})"));
      spawn([respond] {
        respond(json_response(200, R"({"n":3})"));
      });
    });
    r.add("GET", "/throws", [](const http_request&, responder) {
      throw std::runtime_error("boom");
    });
    r.add("GET", "/nocontent", [](const http_request&, responder respond) {
      respond(http_response{204, "application/json", "", {}});
    });
    r.add("GET", "/badstatus", [](const http_request&, responder respond) {
      respond(http_response{42, "text/plain", "x", {}});
    });
    auto err = srv->start();
    ASSERT_FALSE(err) << *err;
    port = srv->port();
    ASSERT_NE(port, 0);
  }

  template <class F>
  void spawn(F fn) {
    std::lock_guard<std::mutex> lock{workers_mtx};
    workers.emplace_back(std::move(fn));
  }

  std::string metrics_text() {
    auto res = http_call(port, "GET", "/metrics");
    EXPECT_EQ(res.status, 200u);
    return res.body;
  }

  config cfg;
  metrics::registry reg;
  std::atomic<bool> ready{true};
  std::unique_ptr<server> srv;
  uint16_t port = 0;
  std::promise<void> slow_started;
  std::promise<void> never_started;
  std::mutex kept_mtx;
  std::vector<responder> kept;
  std::mutex workers_mtx;
  std::vector<std::thread> workers;
};

TEST_F(server_test, healthz) {
  start();
  auto res = http_call(port, "GET", "/healthz");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, R"({"status":"ok"})");
  EXPECT_EQ(res.header("content-type"), "application/json");
  EXPECT_EQ(res.header("content-length"), "15");
  EXPECT_EQ(res.header("server"), "nod-server");
}

TEST_F(server_test, head_gets_headers_only) {
  start();
  auto res = http_call(port, "HEAD", "/healthz");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "");
  EXPECT_EQ(res.header("content-length"), "15");
  // On the wire too: nothing after the header block.
  auto raw = raw_exchange(port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
                                "Connection: close\r\n\r\n");
  EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n") << raw;
}

TEST_F(server_test, readyz_follows_the_callback) {
  start();
  auto res = http_call(port, "GET", "/readyz");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, R"({"status":"ready"})");
  ready = false;
  res = http_call(port, "GET", "/readyz");
  EXPECT_EQ(res.status, 503u);
  EXPECT_EQ(res.body, R"({"detail":"not ready"})");
  ready = true;
  EXPECT_EQ(http_call(port, "GET", "/readyz").status, 200u);
}

TEST_F(server_test, unknown_path_is_404_json) {
  start();
  auto res = http_call(port, "GET", "/no/such/thing?x=1");
  EXPECT_EQ(res.status, 404u);
  EXPECT_EQ(res.body, R"({"detail":"not found"})");
  EXPECT_EQ(res.header("content-type"), "application/json");
}

TEST_F(server_test, every_response_carries_a_request_id) {
  start();
  // The client's own, when it is one.
  auto res = http_call(port, "GET", "/inspect/x", {},
                       {{"X-Request-Id", "client-7f3a/\"1\""}});
  EXPECT_EQ(res.header("x-request-id"), "client-7f3a/\"1\"");
  // Otherwise a new one, for each request.
  auto first = http_call(port, "GET", "/healthz").header("x-request-id");
  auto second = http_call(port, "GET", "/no/such").header("x-request-id");
  EXPECT_TRUE(test::matches(first, "req_", test::hex, 16)) << first;
  EXPECT_TRUE(test::matches(second, "req_", test::hex, 16)) << second;
  EXPECT_NE(first, second);
  for (auto bad : {std::string("two words"), std::string(129, 'x'),
                   std::string("caf\xc3\xa9")}) {
    auto id = http_call(port, "GET", "/healthz", {}, {{"X-Request-Id", bad}})
                .header("x-request-id");
    EXPECT_TRUE(test::matches(id, "req_", test::hex, 16)) << id;
  }
  // Errors too: a handler that threw, a body too large, a request that is
  // not HTTP.
  res = http_call(port, "GET", "/throws", {}, {{"X-Request-Id", "boom-1"}});
  EXPECT_EQ(res.status, 500u);
  EXPECT_EQ(res.header("x-request-id"), "boom-1");
  // Refused half way through the head: the id, if it came before.
  auto refused = raw_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                    "X-Request-Id: big-1\r\n"
                                    "Content-Length: 2000\r\n\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 413", 0), 0u) << refused;
  EXPECT_NE(refused.find("\r\nX-Request-Id: big-1\r\n"), std::string::npos)
    << refused;
  auto raw = raw_exchange(port, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(raw.find("\r\nX-Request-Id: req_"), std::string::npos) << raw;
}

TEST_F(server_test, access_log_has_a_line_per_request_when_on) {
  cfg.access_log = true;
  std::shared_ptr<test::capture_sink> lines;
  start_with_logger(test::capture_logger("access", lines));
  auto res = http_call(port, "GET", "/inspect/abc?q=token-in-query", {},
                       {{"X-Request-Id", "line-1"}});
  ASSERT_EQ(res.status, 200u);
  auto line = lines->wait_for("request_id=line-1");
  EXPECT_EQ(line.rfind("access method=GET path=/inspect/abc status=200 bytes="
                         + std::to_string(res.body.size()) + " duration_ms=",
                       0),
            0u)
    << line;
  EXPECT_NE(line.find(" client=127.0.0.1 request_id=line-1"), std::string::npos)
    << line;
  // Query strings can carry tokens: never logged.
  EXPECT_EQ(line.find("token-in-query"), std::string::npos) << line;
  // Errors and refusals too, with the id the response carried.
  auto missing = http_call(port, "POST",
                           "/webhook/trg_"
                           "0123456789abcdef0123456789abcdef");
  line = lines->wait_for("request_id=" + missing.header("x-request-id"));
  EXPECT_NE(line.find("method=POST path=/webhook/trg_01234567\u2026 "
                      "status=404 "),
            std::string::npos)
    << line;
  // A trigger URL's id is its credential.
  EXPECT_EQ(line.find("89abcdef0123456789abcdef"), std::string::npos) << line;
  raw_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                     "X-Request-Id: big-2\r\nContent-Length: 2000\r\n\r\n");
  EXPECT_NE(lines->wait_for("request_id=big-2")
              .find("method=POST path=/echo status=413 "),
            std::string::npos);
  // Off (SIGHUP): no more lines.
  srv->set_access_log(false);
  http_call(port, "GET", "/healthz", {}, {{"X-Request-Id", "unlogged"}});
  srv->set_access_log(true);
  http_call(port, "GET", "/healthz", {}, {{"X-Request-Id", "logged-again"}});
  EXPECT_FALSE(lines->wait_for("request_id=logged-again").empty());
  EXPECT_TRUE(lines->wait_for("request_id=unlogged", 0ms).empty());
}

TEST_F(server_test, access_log_is_off_by_default) {
  std::shared_ptr<test::capture_sink> lines;
  start_with_logger(test::capture_logger("access", lines));
  http_call(port, "GET", "/healthz", {}, {{"X-Request-Id", "quiet"}});
  srv->stop();
  EXPECT_TRUE(lines->lines().empty());
}

TEST_F(server_test, wrong_method_is_405_with_allow) {
  start();
  auto res = http_call(port, "POST", "/healthz", "{}");
  EXPECT_EQ(res.status, 405u);
  EXPECT_EQ(res.header("allow"), "GET");
  EXPECT_EQ(res.body, R"({"detail":"method not allowed"})");
  res = http_call(port, "DELETE", "/echo");
  EXPECT_EQ(res.status, 405u);
  EXPECT_EQ(res.header("allow"), "POST");
}

TEST_F(server_test, request_fields_reach_the_handler) {
  start();
  auto res = http_call(port, "GET", "/inspect/a%2Fb?q=hello+w%C3%B6rld&z", {},
                       {{"X-Test", "42"}});
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "GET|/inspect/a%2Fb|q=hello+w%C3%B6rld&z|a/b|hello "
                      "w\xC3\xB6rld|42|local");
  EXPECT_EQ(res.header("x-extra"), "yes");
  EXPECT_EQ(res.header("content-length"), std::to_string(res.body.size()));
  EXPECT_EQ(res.header("content-type"), "text/plain");
}

TEST_F(server_test, body_within_limit_is_accepted) {
  start();
  std::string body(1024, 'a');
  auto res = http_call(port, "POST", "/echo", body);
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, body);
}

TEST_F(server_test, body_over_limit_is_413_and_closes) {
  start();
  auto res = http_call(port, "POST", "/echo", std::string(2000, 'a'));
  EXPECT_EQ(res.status, 413u);
  EXPECT_EQ(res.body,
            "{\"detail\":\"request body too large (limit 1024 bytes)\"}");
  EXPECT_EQ(res.header("connection"), "close");
  // Chunked bodies hit the same limit while they stream in.
  std::string chunk(600, 'b');
  auto raw
    = raw_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n258\r\n"
                           + chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 413", 0), 0u) << raw;
}

TEST_F(server_test, expect_100_continue) {
  start();
  auto raw = raw_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                "Expect: 100-continue\r\nContent-Length: 2\r\n"
                                "Connection: close\r\n\r\nhi");
  EXPECT_EQ(raw.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0),
            0u)
    << raw;
  EXPECT_EQ(raw.substr(raw.size() - 2), "hi");
  // Over the limit: 413 at once, without asking for the body.
  raw = raw_exchange(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                           "Expect: 100-continue\r\nContent-Length: 5000\r\n"
                           "\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 413", 0), 0u) << raw;
}

TEST_F(server_test, malformed_request_is_400_and_closes) {
  start();
  auto t0 = std::chrono::steady_clock::now();
  auto raw = raw_exchange(port, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_LT(seconds_since(t0), 4.0); // closed by the server, not by timeout
  EXPECT_EQ(raw.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find(R"({"detail":"malformed request"})"), std::string::npos);
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
  raw = raw_exchange(port, "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 400", 0), 0u) << raw;
}

TEST_F(server_test, oversized_header_is_431) {
  start();
  auto raw = raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
                                  + std::string(20000, 'h') + "\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 431", 0), 0u) << raw.substr(0, 100);
}

TEST_F(server_test, keep_alive_serves_requests_in_turn) {
  start();
  auto t0 = std::chrono::steady_clock::now();
  // Three requests in one write: answered in order on one connection, the
  // last one closes it.
  auto raw = raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /readyz HTTP/1.1\r\nHost: x\r\n"
                                "Connection: close\r\n\r\n");
  EXPECT_LT(seconds_since(t0), 4.0);
  EXPECT_EQ(count(raw, "HTTP/1.1 200 OK"), 3u) << raw;
  auto a = raw.find(R"({"status":"ok"})");
  auto b = raw.find(R"({"later":true})");
  auto c = raw.find(R"({"status":"ready"})");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(c, std::string::npos);
  auto text = metrics_text();
  EXPECT_NE(text.find("nod_http_connections_total 2\n"), std::string::npos)
    << text;
}

TEST_F(server_test, http10_closes_by_default) {
  start();
  auto t0 = std::chrono::steady_clock::now();
  auto raw = raw_exchange(port, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_LT(seconds_since(t0), 4.0);
  EXPECT_EQ(raw.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << raw;
}

TEST_F(server_test, handler_may_respond_later_from_another_thread) {
  start();
  auto res = http_call(port, "GET", "/later");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, R"({"later":true})");
}

TEST_F(server_test, second_response_is_ignored) {
  start();
  auto raw = raw_exchange(port, "GET /twice HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                "Connection: close\r\n\r\n");
  EXPECT_EQ(count(raw, "HTTP/1.1 200 OK"), 2u) << raw;
  EXPECT_NE(raw.find(R"({"n":1})"), std::string::npos);
  EXPECT_EQ(raw.find(R"({"n":2})"), std::string::npos);
  EXPECT_EQ(raw.find(R"({"n":3})"), std::string::npos);
}

TEST_F(server_test, throwing_handler_is_500) {
  start();
  auto res = http_call(port, "GET", "/throws");
  EXPECT_EQ(res.status, 500u);
  EXPECT_EQ(res.body, R"({"detail":"internal error"})");
}

TEST_F(server_test, odd_statuses) {
  start();
  auto raw = raw_exchange(port, "GET /nocontent HTTP/1.1\r\nHost: x\r\n"
                                "Connection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u) << raw;
  EXPECT_EQ(raw.find("Content-Length"), std::string::npos) << raw;
  EXPECT_EQ(http_call(port, "GET", "/badstatus").status, 500u);
}

TEST_F(server_test, idle_connection_is_closed) {
  cfg.idle_timeout = 200ms;
  start();
  auto t0 = std::chrono::steady_clock::now();
  auto raw = raw_exchange(port, "");
  auto took = seconds_since(t0);
  EXPECT_EQ(raw, "");
  EXPECT_GE(took, 0.15);
  EXPECT_LT(took, 2.0);
  // Also between keep-alive requests.
  t0 = std::chrono::steady_clock::now();
  raw = raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  took = seconds_since(t0);
  EXPECT_EQ(count(raw, "HTTP/1.1 200 OK"), 1u);
  EXPECT_LT(took, 2.0);
}

TEST_F(server_test, slow_request_is_closed_after_http_timeout) {
  cfg.http_timeout = 200ms;
  start();
  auto t0 = std::chrono::steady_clock::now();
  auto raw = raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(raw, "");
  EXPECT_LT(seconds_since(t0), 2.0);
}

TEST_F(server_test, metrics) {
  start();
  EXPECT_EQ(http_call(port, "GET", "/healthz").status, 200u);
  EXPECT_EQ(http_call(port, "GET", "/nope").status, 404u);
  // Wait until the server saw both clients go away.
  auto& active = reg.get_gauge("nod_http_connections_active", "");
  for (int i = 0; i < 200 && active.value() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(active.value(), 0);
  auto res = http_call(port, "GET", "/metrics");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.header("content-type"),
            "text/plain; version=0.0.4; charset=utf-8");
  auto& text = res.body;
  EXPECT_NE(text.find("nod_http_requests_total{route=\"/healthz\","
                      "method=\"GET\",status=\"200\"} 1\n"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("nod_http_requests_total{route=\"unmatched\","
                      "method=\"GET\",status=\"404\"} 1\n"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("nod_http_request_duration_seconds_count{route=\"/"
                      "healthz\"} 1\n"),
            std::string::npos)
    << text;
  // Only the /metrics connection itself is open.
  EXPECT_NE(text.find("nod_http_connections_active 1\n"), std::string::npos)
    << text;
  EXPECT_NE(text.find("nod_http_connections_total 3\n"), std::string::npos)
    << text;
}

TEST_F(server_test, start_reports_a_busy_port) {
  start();
  config other = cfg;
  other.listen_port = port;
  metrics::registry reg2;
  server second{other, reg2, {}};
  auto err = second.start();
  ASSERT_TRUE(err);
  EXPECT_EQ(*err, "cannot listen on 127.0.0.1:" + std::to_string(port)
                    + ": Address already in use");
  // The failed server stops cleanly and the first one still serves.
  second.stop();
  EXPECT_EQ(http_call(port, "GET", "/healthz").status, 200u);
}

TEST_F(server_test, start_reports_a_foreign_address) {
  cfg.listen_host = "192.0.2.1"; // TEST-NET-1: not an address of ours
  srv = std::make_unique<server>(cfg, reg, nullptr);
  auto err = srv->start();
  ASSERT_TRUE(err);
  EXPECT_EQ(*err,
            "cannot listen on 192.0.2.1:0: Cannot assign requested address");
}

TEST_F(server_test, listen_binds_before_start_and_start_serves) {
  srv = std::make_unique<server>(cfg, reg, nullptr);
  ASSERT_FALSE(srv->listen());
  auto bound = srv->port();
  ASSERT_NE(bound, 0);
  EXPECT_EQ(srv->address(), "127.0.0.1");
  // The port is taken from now on, before any route is added.
  config other = cfg;
  other.listen_port = bound;
  metrics::registry reg2;
  server second{other, reg2, {}};
  EXPECT_TRUE(second.listen());
  // A second listen is a no-op; start accepts on the same port.
  ASSERT_FALSE(srv->listen());
  srv->routes().add("GET", "/late", [](const http_request&, responder r) {
    r(json_response(200, R"({"late":true})"));
  });
  ASSERT_FALSE(srv->start());
  EXPECT_EQ(srv->port(), bound);
  EXPECT_EQ(http_call(bound, "GET", "/late").body, R"({"late":true})");
  EXPECT_TRUE(srv->listen()); // started already
}

TEST_F(server_test, stop_after_listen_without_start) {
  srv = std::make_unique<server>(cfg, reg, nullptr);
  ASSERT_FALSE(srv->listen());
  srv->stop();
  EXPECT_TRUE(srv->start());
}

TEST_F(server_test, stop_without_start) {
  srv = std::make_unique<server>(cfg, reg, nullptr);
  srv->stop();
  srv->stop();
}

TEST_F(server_test, stop_waits_for_a_request_in_flight) {
  start();
  auto reply = std::async(std::launch::async, [this] {
    return http_call(port, "GET", "/slow");
  });
  slow_started.get_future().wait();
  auto t0 = std::chrono::steady_clock::now();
  srv->stop();
  EXPECT_LT(seconds_since(t0), 1.5);
  auto res = reply.get();
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, R"({"slow":true})");
  EXPECT_EQ(res.header("connection"), "close");
  EXPECT_THROW(http_call(port, "GET", "/healthz"), std::runtime_error);
}

TEST_F(server_test, stop_closes_idle_connections_at_once) {
  start();
  auto idle = std::async(std::launch::async, [this] {
    return raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  });
  // Wait until the request was answered and the connection idles.
  auto& requests
    = reg.get_counter("nod_http_requests_total", "",
                      R"(route="/healthz",method="GET",status="200")");
  for (int i = 0; i < 500 && requests.value() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  auto t0 = std::chrono::steady_clock::now();
  srv->stop();
  EXPECT_LT(seconds_since(t0), 1.0);
  EXPECT_EQ(count(idle.get(), "HTTP/1.1 200 OK"), 1u);
}

TEST_F(server_test, handler_that_never_responds_does_not_block_stop) {
  cfg.shutdown_grace = 200ms;
  start();
  auto reply = std::async(std::launch::async, [this] {
    try {
      http_call(port, "GET", "/never");
      return false;
    } catch (const std::runtime_error&) {
      return true; // the server closed the connection
    }
  });
  never_started.get_future().wait();
  auto t0 = std::chrono::steady_clock::now();
  srv->stop();
  auto took = seconds_since(t0);
  EXPECT_GE(took, 0.15);
  EXPECT_LT(took, 2.0);
  EXPECT_TRUE(reply.get());
  // Responding after stop, twice, and after the server is gone: no-ops.
  std::lock_guard<std::mutex> lock{kept_mtx};
  ASSERT_EQ(kept.size(), 1u);
  kept[0](json_response(200, "{}"));
  kept[0](json_response(200, "{}"));
  srv.reset();
  kept[0](json_response(200, "{}"));
}

TEST_F(server_test, responder_hammered_across_stop) {
  start();
  auto reply = std::async(std::launch::async, [this] {
    try {
      return http_call(port, "GET", "/never").status;
    } catch (const std::runtime_error&) {
      return 0u;
    }
  });
  never_started.get_future().wait();
  responder late;
  {
    std::lock_guard<std::mutex> lock{kept_mtx};
    late = kept.at(0);
  }
  // Another thread calls the responder in a loop while the server stops
  // and is destroyed: the first call answers, the rest are dropped.
  std::atomic<bool> done{false};
  std::thread hammer{[&] {
    while (!done)
      late(json_response(200, "{}"));
  }};
  EXPECT_EQ(reply.get(), 200u);
  srv->stop();
  srv.reset();
  done = true;
  hammer.join();
}

TEST_F(server_test, many_concurrent_clients) {
  start();
  std::vector<std::future<unsigned>> replies;
  for (int i = 0; i < 16; ++i)
    replies.push_back(std::async(std::launch::async, [this] {
      unsigned ok = 0;
      for (int j = 0; j < 10; ++j)
        ok += http_call(port, "GET", j % 2 ? "/later" : "/healthz").status
              == 200;
      return ok;
    }));
  for (auto& r : replies)
    EXPECT_EQ(r.get(), 10u);
}

} // namespace
} // namespace nod::net
