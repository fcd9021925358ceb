#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/server.hpp"
#include "net/websocket.hpp"
#include "tests/e2e/http_client.hpp"
#include "tests/support/log_capture.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
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

/// A valid upgrade to /ws/echo (RFC 6455's sample key), for raw exchanges.
const std::string upgrade_request
  = "GET /ws/echo HTTP/1.1\r\nHost: x\r\n"
    "Connection: Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "\r\n";
using test::ws_client;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
    .count();
}

/// Polls `pred` for up to `timeout`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// What one connection reported to its handler's callbacks.
struct probe {
  std::mutex mtx;
  std::condition_variable cv;
  http_request req;
  std::shared_ptr<ws_connection> conn;
  std::vector<std::string> texts;
  int binaries = 0;
  std::vector<uint16_t> closed;
  /// Callbacks that fired after on_closed.
  int late = 0;
  /// Expires when the server dropped the callbacks.
  std::weak_ptr<int> marker;

  /// Waits until `pred()` holds, under the lock.
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, timeout, pred);
  }

  bool wait_closed(std::chrono::milliseconds timeout = 5s) {
    return wait(
      [this] {
        return !closed.empty();
      },
      timeout);
  }

  std::vector<uint16_t> closed_codes() {
    std::lock_guard<std::mutex> lock{mtx};
    return closed;
  }
};

class websocket_test : public ::testing::Test {
protected:
  websocket_test() {
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    cfg.io_threads = 2;
    cfg.max_body_bytes = 1024;
    cfg.max_frame_bytes = 64 * 1024;
    cfg.http_timeout = 2s;
    cfg.idle_timeout = 5s;
    cfg.shutdown_grace = 2s;
  }

  ~websocket_test() override {
    srv.reset();
    for (auto& t : workers)
      t.join();
  }

  /// A handler that records into a new probe; `echo` sends every text
  /// back.
  ws_handler recorder(bool echo) {
    return [this, echo](const http_request& req,
                        std::shared_ptr<ws_connection> conn) {
      auto p = std::make_shared<probe>();
      auto marker = std::make_shared<int>(0);
      p->req = req;
      p->conn = conn;
      p->marker = marker;
      {
        std::lock_guard<std::mutex> lock{probes_mtx};
        probes.push_back(p);
      }
      probes_cv.notify_all();
      ws_callbacks cb;
      // The callbacks hold the connection, as an owner's would.
      cb.on_text = [p, conn, echo, marker](std::string text) {
        if (echo)
          conn->send(text);
        std::lock_guard<std::mutex> lock{p->mtx};
        p->late += p->closed.empty() ? 0 : 1;
        p->texts.push_back(std::move(text));
        p->cv.notify_all();
      };
      cb.on_binary = [p, conn] {
        std::lock_guard<std::mutex> lock{p->mtx};
        p->late += p->closed.empty() ? 0 : 1;
        ++p->binaries;
        p->cv.notify_all();
      };
      cb.on_closed = [p, conn](uint16_t code) {
        std::lock_guard<std::mutex> lock{p->mtx};
        p->late += p->closed.empty() ? 0 : 1;
        p->closed.push_back(code);
        p->cv.notify_all();
      };
      return cb;
    };
  }

  /// Starts the server with the test routes.
  void start() {
    srv = std::make_unique<server>(cfg, reg, nullptr);
    srv->add_websocket("/ws/echo", recorder(true));
    srv->add_websocket("/ws/agent/{agent_id}", recorder(false));
    srv->add_websocket(
      "/ws/throws",
      [](const http_request&, std::shared_ptr<ws_connection>) -> ws_callbacks {
        throw std::runtime_error("boom");
      });
    auto err = srv->start();
    ASSERT_FALSE(err) << *err;
    port = srv->port();
    ASSERT_NE(port, 0);
  }

  /// The probe of the `n`th connection (1-based), once it is there.
  std::shared_ptr<probe> nth_probe(size_t n) {
    std::unique_lock<std::mutex> lock{probes_mtx};
    if (!probes_cv.wait_for(lock, 5s, [&] {
          return probes.size() >= n;
        }))
      return nullptr;
    return probes[n - 1];
  }

  std::string metrics_text() {
    auto res = http_call(port, "GET", "/metrics");
    EXPECT_EQ(res.status, 200u);
    return res.body;
  }

  int64_t gauge(const std::string& name) {
    return reg.get_gauge(name, "").value();
  }

  uint64_t counter(const std::string& name, const std::string& labels = {}) {
    return reg.get_counter(name, "", labels).value();
  }

  config cfg;
  metrics::registry reg;
  std::unique_ptr<server> srv;
  uint16_t port = 0;
  std::mutex probes_mtx;
  std::condition_variable probes_cv;
  std::vector<std::shared_ptr<probe>> probes;
  std::vector<std::thread> workers;
};

TEST_F(websocket_test, echo_round_trip) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/echo"), 101u);
  for (auto text : {"hello", "", "w\xC3\xB6rld"}) {
    ASSERT_TRUE(client.send_text(text));
    EXPECT_EQ(client.read_text(), text);
  }
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->wait([&] {
    return p->texts.size() == 3;
  }));
  EXPECT_EQ(counter("nod_ws_frames_total", R"(direction="in")"), 3u);
  EXPECT_TRUE(eventually([&] {
    return counter("nod_ws_frames_total", R"(direction="out")") == 3;
  }));
  EXPECT_EQ(client.close(), 1000);
  ASSERT_TRUE(p->wait_closed());
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{1000});
}

TEST_F(websocket_test, request_reaches_the_handler) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/agent/agt_1%2Fx?v=2",
                           {{"X-Test", "42"}, {"Cookie", "nod_session=s1"}}),
            101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->req.method, "GET");
  EXPECT_EQ(p->req.path, "/ws/agent/agt_1%2Fx");
  EXPECT_EQ(p->req.query, "v=2");
  EXPECT_EQ(p->req.param("agent_id"), "agt_1/x");
  EXPECT_EQ(p->req.header("x-test"), "42");
  EXPECT_EQ(p->req.header("cookie"), "nod_session=s1");
  EXPECT_EQ(p->req.header("upgrade"), "websocket");
  EXPECT_EQ(p->req.remote.rfind("127.0.0.1:", 0), 0u) << p->req.remote;
  EXPECT_EQ(p->conn->remote(), p->req.remote);
}

TEST_F(websocket_test, server_header_on_the_handshake) {
  cfg.idle_timeout = 300ms; // ends the exchange: nobody answers the ping
  start();
  auto raw = raw_exchange(port, upgrade_request);
  EXPECT_EQ(raw.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Server: nod-server\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos)
    << raw;
}

TEST_F(websocket_test, the_upgrade_has_a_request_id_and_one_access_line) {
  cfg.idle_timeout = 300ms; // ends the exchange: nobody answers the ping
  cfg.access_log = true;
  std::shared_ptr<test::capture_sink> lines;
  srv = std::make_unique<server>(cfg, reg, nullptr);
  srv->set_access_logger(test::capture_logger("access", lines));
  srv->add_websocket("/ws/echo", recorder(true));
  ASSERT_FALSE(srv->start());
  port = srv->port();
  auto request = upgrade_request;
  request.insert(request.size() - 2, "X-Request-Id: upgrade-1\r\n");
  auto raw = raw_exchange(port, request);
  EXPECT_EQ(raw.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("X-Request-Id: upgrade-1\r\n"), std::string::npos) << raw;
  auto line = lines->wait_for("request_id=upgrade-1");
  EXPECT_EQ(
    line.rfind("access method=GET path=/ws/echo status=101 bytes=0 ", 0), 0u)
    << line;
  EXPECT_NE(line.find(" client=127.0.0.1 "), std::string::npos) << line;
  // Frames are not requests: a socket is one line.
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/echo"), 101u);
  ASSERT_TRUE(client.send_text("hello"));
  EXPECT_EQ(client.read_text().value_or(""), "hello");
  srv->stop();
  EXPECT_EQ(lines->lines().size(), 2u);
}

TEST_F(websocket_test, plain_get_is_426) {
  start();
  auto res = http_call(port, "GET", "/ws/echo");
  EXPECT_EQ(res.status, 426u);
  EXPECT_EQ(res.body, R"({"detail":"websocket upgrade required"})");
  EXPECT_EQ(res.header("upgrade"), "websocket");
  EXPECT_EQ(http_call(port, "HEAD", "/ws/agent/a").status, 426u);
  // Other methods: the route takes GET only.
  res = http_call(port, "POST", "/ws/echo", "{}");
  EXPECT_EQ(res.status, 405u);
  EXPECT_EQ(res.header("allow"), "GET");
  EXPECT_NE(metrics_text().find("nod_http_requests_total{route=\"/ws/echo\","
                                "method=\"GET\",status=\"426\"} 1\n"),
            std::string::npos);
}

TEST_F(websocket_test, upgrade_elsewhere_is_404) {
  start();
  ws_client client;
  EXPECT_EQ(client.connect(port, "/ws/nope"), 404u);
  EXPECT_TRUE(client.closed());
  // An upgrade on an HTTP route is answered as plain HTTP.
  ws_client other;
  EXPECT_EQ(other.connect(port, "/healthz"), 200u);
}

TEST_F(websocket_test, bad_handshake_is_refused) {
  start();
  auto raw = raw_exchange(port, "GET /ws/echo HTTP/1.1\r\nHost: x\r\n"
                                "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 400", 0), 0u) << raw;
  EXPECT_EQ(gauge("nod_ws_connections_active"), 0);
  EXPECT_TRUE(probes.empty());
}

TEST_F(websocket_test, frames_sent_before_the_101_are_kept) {
  cfg.idle_timeout = 300ms; // ends the exchange: nobody answers the ping
  start();
  // A masked text frame "hi" (mask 1,2,3,4) right behind the request.
  std::string frame = "\x81\x82\x01\x02\x03\x04";
  frame += static_cast<char>('h' ^ 1);
  frame += static_cast<char>('i' ^ 2);
  auto raw = raw_exchange(port, upgrade_request + frame);
  EXPECT_EQ(raw.rfind("HTTP/1.1 101", 0), 0u) << raw;
  EXPECT_NE(raw.find("\r\n\r\n\x81\x02hi"), std::string::npos) << raw;
}

TEST_F(websocket_test, early_frames_behind_a_big_request_are_refused) {
  start();
  auto raw = raw_exchange(
    port, "GET /ws/echo HTTP/1.1\r\nHost: x\r\n"
          "Connection: Upgrade\r\nUpgrade: websocket\r\n"
          "Sec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "X-Pad: "
            + std::string(2000, 'p') + "\r\n\r\n\x81\x80\x01\x02\x03\x04");
  EXPECT_EQ(raw.rfind("HTTP/1.1 400", 0), 0u) << raw.substr(0, 200);
  EXPECT_NE(raw.find("websocket data sent before the handshake response"),
            std::string::npos);
  EXPECT_TRUE(probes.empty());
}

TEST_F(websocket_test, protocol_violation_is_1002) {
  cfg.idle_timeout = 300ms;
  start();
  // An unmasked client frame breaks RFC 6455 5.1.
  auto raw = raw_exchange(port, upgrade_request + "\x81\x02hi");
  EXPECT_NE(raw.find("\r\n\r\n\x88\x02\x03\xEA"), std::string::npos) << raw;
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_closed());
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{1002});
  EXPECT_TRUE(p->texts.empty());
}

// Found by fuzz/ws_frame_fuzz.cpp: Beast passes a text message on whose
// last UTF-8 sequence is cut short when its final frame is empty. The
// handler must never see it, and the client gets 1007 (RFC 6455 8.1).
TEST_F(websocket_test, text_cut_inside_a_utf8_sequence_is_1007) {
  cfg.idle_timeout = 300ms;
  start();
  // "h" then the first byte of "é" (C3 A9) in a text frame without FIN, then
  // an empty final continuation frame; all masked with 0.
  std::string frames{"\x01\x82\0\0\0\0h\xC3\x80\x80\0\0\0\0", 14};
  auto raw = raw_exchange(port, upgrade_request + frames);
  EXPECT_EQ(raw.rfind("HTTP/1.1 101", 0), 0u) << raw;
  // A close frame with code 1007 (03 EF), and no echo.
  EXPECT_NE(raw.find("\r\n\r\n\x88"), std::string::npos) << raw;
  EXPECT_NE(raw.find("\x03\xEF"), std::string::npos) << raw;
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_closed());
  EXPECT_EQ(p->closed_codes(),
            std::vector<uint16_t>{ws_close::invalid_payload});
  EXPECT_TRUE(p->texts.empty());
}

TEST_F(websocket_test, send_from_another_thread) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/agent/a"), 101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  // As an actor would: from its own thread, holding only the connection.
  std::thread actor{[conn = p->conn] {
    for (int i = 0; i < 100; ++i)
      EXPECT_TRUE(conn->send("m" + std::to_string(i)));
  }};
  actor.join();
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(client.read_text(), "m" + std::to_string(i));
}

TEST_F(websocket_test, close_with_a_code_flushes_first) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/agent/a"), 101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->conn->send("one"));
  EXPECT_TRUE(p->conn->send("two"));
  p->conn->close(ws_close::auth_failed, "x");
  // Closing: nothing more is queued.
  EXPECT_FALSE(p->conn->send("three"));
  p->conn->close(ws_close::normal, "again"); // ignored
  EXPECT_EQ(client.read_text(), "one");
  EXPECT_EQ(client.read_text(), "two");
  EXPECT_EQ(client.read_until_close(), ws_close::auth_failed);
  EXPECT_EQ(client.close_reason(), "x");
  ASSERT_TRUE(p->wait_closed());
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{ws_close::auth_failed});
  EXPECT_FALSE(p->conn->send("late"));
}

TEST_F(websocket_test, unsendable_close_code_becomes_normal) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/agent/a"), 101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  p->conn->close(1006, std::string(300, 'r'));
  EXPECT_EQ(client.read_until_close(), ws_close::normal);
  EXPECT_EQ(client.close_reason(), std::string(123, 'r'));
}

TEST_F(websocket_test, message_over_max_frame_bytes_is_1009) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/echo"), 101u);
  std::string at_limit(cfg.max_frame_bytes, 'a');
  ASSERT_TRUE(client.send_text(at_limit));
  EXPECT_EQ(client.read_text(), at_limit);
  client.send_text(at_limit + "b"); // may fail: the server closes
  EXPECT_EQ(client.read_until_close(), ws_close::too_big);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_closed());
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{ws_close::too_big});
  EXPECT_EQ(p->texts.size(), 1u);
}

TEST_F(websocket_test, binary_message_calls_on_binary) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/echo"), 101u);
  ASSERT_TRUE(client.send_binary(std::string("\x00\xFF", 2)));
  ASSERT_TRUE(client.send_text("after"));
  EXPECT_EQ(client.read_text(), "after");
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->wait([&] {
    return !p->texts.empty();
  }));
  std::lock_guard<std::mutex> lock{p->mtx};
  EXPECT_EQ(p->binaries, 1);
  EXPECT_EQ(p->texts, std::vector<std::string>{"after"});
}

TEST_F(websocket_test, client_disconnect_reports_once) {
  start();
  {
    ws_client client;
    ASSERT_EQ(client.connect(port, "/ws/echo"), 101u);
    ASSERT_TRUE(client.send_text("x"));
    EXPECT_EQ(client.read_text(), "x");
    client.drop();
  }
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_closed());
  std::this_thread::sleep_for(100ms); // a second report would come now
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{1006});
  EXPECT_EQ(p->late, 0);
  EXPECT_FALSE(p->conn->send("gone"));
  p->conn->close(ws_close::normal, "gone"); // no-op
  // The callbacks (which hold the connection) were released.
  EXPECT_TRUE(eventually([&] {
    return p->marker.expired();
  }));
}

TEST_F(websocket_test, client_close_code_reaches_on_closed) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/echo"), 101u);
  EXPECT_EQ(client.close(4321), 4321);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->wait_closed());
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{4321});
}

TEST_F(websocket_test, silent_peer_is_dropped_reading_peer_is_kept) {
  cfg.idle_timeout = 300ms;
  start();
  // Never reads, so never answers the server's ping.
  ws_client silent;
  ASSERT_EQ(silent.connect(port, "/ws/echo"), 101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(p->wait_closed(3s));
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{1006});
  // Reads (and so answers pings) but sends nothing: stays open.
  ws_client reader;
  ASSERT_EQ(reader.connect(port, "/ws/echo"), 101u);
  EXPECT_FALSE(reader.read_text(1s));
  EXPECT_FALSE(reader.closed());
  ASSERT_TRUE(reader.send_text("still here"));
  EXPECT_EQ(reader.read_text(), "still here");
}

TEST_F(websocket_test, slow_consumer_overflows_with_bounded_queue) {
  // Bound the close handshake with a peer that does not read (and so
  // never answers): http_timeout once the close frame is on its way,
  // idle_timeout while a data frame is stuck.
  cfg.http_timeout = 500ms;
  cfg.idle_timeout = 500ms;
  start();
  const auto limit = static_cast<int64_t>(2 * cfg.max_frame_bytes);
  ws_client client;
  client.receive_buffer(4096);
  ASSERT_EQ(client.connect(port, "/ws/agent/slow"), 101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  // The client never reads: the socket fills, then the queue.
  std::string frame(cfg.max_frame_bytes / 4, 'q');
  bool overflowed = false;
  int64_t peak = 0;
  int sent = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (seconds_since(t0) < 10) {
    if (!p->conn->send(frame)) {
      overflowed = true;
      break;
    }
    ++sent;
    // Only this thread adds, so the value right after a send is the peak
    // since the previous one.
    peak = std::max(peak, gauge("nod_ws_send_queue_bytes"));
  }
  ASSERT_TRUE(overflowed);
  EXPECT_GT(sent, 4);
  EXPECT_LE(peak, limit);
  EXPECT_GT(peak, limit / 2);
  EXPECT_EQ(counter("nod_ws_send_overflows_total"), 1u);
  EXPECT_FALSE(p->conn->send("x"));
  ASSERT_TRUE(p->wait_closed(5s));
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{ws_close::too_slow});
  // Everything queued is released.
  EXPECT_TRUE(eventually([&] {
    return gauge("nod_ws_send_queue_bytes") == 0;
  }))
    << gauge("nod_ws_send_queue_bytes");
  EXPECT_TRUE(eventually([&] {
    return gauge("nod_ws_connections_active") == 0;
  }));
}

TEST_F(websocket_test, frame_larger_than_the_queue_overflows_at_once) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/agent/a"), 101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->conn->send(std::string(2 * cfg.max_frame_bytes + 1, 'z')));
  EXPECT_EQ(client.read_until_close(), ws_close::too_slow);
  EXPECT_EQ(client.close_reason(), "send queue overflow");
  ASSERT_TRUE(p->wait_closed());
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{ws_close::too_slow});
}

TEST_F(websocket_test, throwing_handler_closes_with_1011) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/throws"), 101u);
  EXPECT_EQ(client.read_until_close(), 1011);
}

TEST_F(websocket_test, stop_closes_with_1001) {
  start();
  ws_client a;
  ws_client b;
  ASSERT_EQ(a.connect(port, "/ws/echo"), 101u);
  ASSERT_EQ(b.connect(port, "/ws/agent/b"), 101u);
  auto pa = nth_probe(1);
  auto pb = nth_probe(2);
  ASSERT_TRUE(pa && pb);
  auto code_a = std::async(std::launch::async, [&] {
    return a.read_until_close();
  });
  auto code_b = std::async(std::launch::async, [&] {
    return b.read_until_close();
  });
  auto t0 = std::chrono::steady_clock::now();
  srv->stop();
  EXPECT_LT(seconds_since(t0), 1.5);
  EXPECT_EQ(code_a.get(), ws_close::going_away);
  EXPECT_EQ(code_b.get(), ws_close::going_away);
  // on_closed ran before stop() returned.
  EXPECT_EQ(pa->closed_codes(), std::vector<uint16_t>{ws_close::going_away});
  EXPECT_EQ(pb->closed_codes(), std::vector<uint16_t>{ws_close::going_away});
  EXPECT_EQ(gauge("nod_ws_connections_active"), 0);
  // After stop, and after the server is gone: harmless no-ops.
  EXPECT_FALSE(pa->conn->send("late"));
  pa->conn->close(ws_close::normal, "late");
  srv.reset();
  EXPECT_FALSE(pa->conn->send("later"));
  pa->conn->close(ws_close::normal, "later");
}

TEST_F(websocket_test, stop_with_a_peer_that_never_answers) {
  cfg.shutdown_grace = 300ms;
  start();
  // Connected, but never reads: the close handshake cannot finish.
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/agent/mute"), 101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  auto t0 = std::chrono::steady_clock::now();
  srv->stop();
  EXPECT_LT(seconds_since(t0), 2.5);
  EXPECT_EQ(p->closed_codes(), std::vector<uint16_t>{ws_close::going_away});
  EXPECT_EQ(gauge("nod_ws_connections_active"), 0);
}

TEST_F(websocket_test, sends_hammered_across_stop) {
  start();
  ws_client client;
  ASSERT_EQ(client.connect(port, "/ws/agent/a"), 101u);
  auto p = nth_probe(1);
  ASSERT_TRUE(p);
  // Another thread sends and closes in a loop while the server stops and
  // is destroyed: every call after that is a no-op.
  std::atomic<bool> done{false};
  std::thread hammer{[&, conn = p->conn] {
    while (!done) {
      conn->send("x");
      conn->close(ws_close::normal, "bye");
    }
  }};
  auto reader = std::async(std::launch::async, [&] {
    return client.read_until_close();
  });
  std::this_thread::sleep_for(20ms);
  srv->stop();
  srv.reset();
  done = true;
  hammer.join();
  auto code = reader.get();
  EXPECT_TRUE(code == ws_close::normal || code == ws_close::going_away) << code;
  EXPECT_EQ(p->closed_codes().size(), 1u);
}

TEST_F(websocket_test, metrics) {
  start();
  for (int i = 0; i < 3; ++i) {
    ws_client client;
    ASSERT_EQ(client.connect(port, "/ws/echo"), 101u);
    ASSERT_TRUE(client.send_text("ping"));
    EXPECT_EQ(client.read_text(), "ping");
    EXPECT_EQ(gauge("nod_ws_connections_active"), 1);
    client.close();
    EXPECT_TRUE(eventually([&] {
      return gauge("nod_ws_connections_active") == 0;
    }));
  }
  EXPECT_TRUE(eventually([&] {
    return gauge("nod_ws_connections_active") == 0;
  }));
  auto text = metrics_text();
  for (auto line :
       {"nod_ws_connections_active 0\n", "nod_ws_connections_total 3\n",
        "nod_ws_frames_total{direction=\"in\"} 3\n",
        "nod_ws_frames_total{direction=\"out\"} 3\n",
        "nod_ws_send_overflows_total 0\n", "nod_ws_send_queue_bytes 0\n",
        "nod_http_requests_total{route=\"/ws/echo\","
        "method=\"GET\",status=\"101\"} 3\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
}

TEST_F(websocket_test, add_websocket_after_start_is_ignored) {
  start();
  srv->add_websocket("/ws/late", recorder(true));
  ws_client client;
  EXPECT_EQ(client.connect(port, "/ws/late"), 404u);
}

} // namespace
} // namespace nod::net
