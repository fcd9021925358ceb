#include "bench/open_loop.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cmath>
#include <deque>
#include <memory>
#include <optional>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <utility>

namespace nod::bench {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using ws_stream = websocket::stream<beast::tcp_stream>;

constexpr auto warmup = 500ms;
/// How long messages sent at the end get to arrive.
constexpr auto drain = 2s;
constexpr auto connect_timeout = 10s;
/// Text of message `k`: the receiver finds its scheduled time by `k`.
constexpr char text_prefix[] = "ol ";

std::string quote(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return buf.GetString();
}

std::string member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject())
    return {};
  auto i = v.FindMember(name);
  if (i == v.MemberEnd() || !i->value.IsString())
    return {};
  return {i->value.GetString(), i->value.GetStringLength()};
}

/// The message number in `text`, if it is one of ours.
std::optional<uint64_t> message_number(const std::string& text) {
  if (text.rfind(text_prefix, 0) != 0)
    return std::nullopt;
  try {
    return std::stoull(text.substr(sizeof(text_prefix) - 1));
  } catch (...) {
    return std::nullopt;
  }
}

/// One direction's run: its schedule, what arrived, the errors.
struct run_state {
  net::io_context io{1};
  double rate = 0;
  clock_type::time_point t0;
  /// Messages [first, end) are measured; [0, first) are the warm-up.
  uint64_t first = 0;
  uint64_t end = 0;
  std::vector<uint8_t> arrived;
  std::vector<float> latencies_us;
  uint64_t failed = 0;
  std::string first_error;
  bool stopping = false;

  clock_type::time_point due(uint64_t k) const {
    return t0
           + std::chrono::duration_cast<clock_type::duration>(
             std::chrono::duration<double>(static_cast<double>(k) / rate));
  }

  void error(const std::string& what) {
    if (stopping)
      return;
    ++failed;
    if (first_error.empty())
      first_error = what;
  }

  /// Message `k` reached its receiver now.
  void arrive(uint64_t k) {
    if (k >= end || arrived[k])
      return;
    arrived[k] = 1;
    if (k >= first)
      latencies_us.push_back(
        std::chrono::duration<float, std::micro>(clock_type::now() - due(k))
          .count());
  }
};

/// A WebSocket that authenticates with `auth`, then reads every frame
/// into `on_frame` and writes queued frames one at a time.
class ws_conn : public std::enable_shared_from_this<ws_conn> {
public:
  using frame_fn = std::function<void(ws_conn&, const rapidjson::Document&)>;

  ws_conn(run_state& rs, const tcp::endpoint& ep, std::string host,
          std::string target, std::string auth, frame_fn on_frame)
    : rs_(rs), ep_(ep), host_(std::move(host)), target_(std::move(target)),
      auth_(std::move(auth)), on_frame_(std::move(on_frame)),
      ws_(rs.io.get_executor()) {}

  void start(std::function<void()> ready) {
    ready_ = std::move(ready);
    auto self = shared_from_this();
    beast::get_lowest_layer(ws_).expires_after(connect_timeout);
    beast::get_lowest_layer(ws_).async_connect(
      ep_, [self](beast::error_code ec) {
        if (ec)
          return self->rs_.error("connect: " + ec.message());
        beast::get_lowest_layer(self->ws_).expires_never();
        self->ws_.text(true);
        self->ws_.async_handshake(
          self->host_, self->target_, [self](beast::error_code ec) {
            if (ec)
              return self->rs_.error("handshake: " + ec.message());
            self->send(self->auth_);
            self->read();
          });
      });
  }

  void send(std::string frame) {
    out_.push_back(std::move(frame));
    if (out_.size() == 1)
      write();
  }

  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both,
                                                   ec);
    beast::get_lowest_layer(ws_).close();
  }

private:
  void write() {
    auto self = shared_from_this();
    ws_.async_write(net::buffer(out_.front()),
                    [self](beast::error_code ec, size_t) {
                      if (ec)
                        return self->rs_.error("ws write: " + ec.message());
                      self->out_.pop_front();
                      if (!self->out_.empty())
                        self->write();
                    });
  }

  void read() {
    auto self = shared_from_this();
    ws_.async_read(buffer_, [self](beast::error_code ec, size_t) {
      if (ec)
        return self->rs_.error("ws read: " + ec.message());
      auto text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      rapidjson::Document doc;
      doc.Parse(text.data(), text.size());
      auto type = member(doc, "type");
      if (type == "auth_ok") {
        if (auto ready = std::move(self->ready_))
          ready();
      } else if (type == "error") {
        self->rs_.error("error frame: " + text.substr(0, 200));
      } else {
        self->on_frame_(*self, doc);
      }
      self->read();
    });
  }

  run_state& rs_;
  tcp::endpoint ep_;
  std::string host_;
  std::string target_;
  std::string auth_;
  frame_fn on_frame_;
  std::function<void()> ready_;
  ws_stream ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> out_;
};

/// One keep-alive HTTP connection: POSTs are queued and sent one at a
/// time (a queued one's latency still counts from its scheduled time).
class http_conn : public std::enable_shared_from_this<http_conn> {
public:
  using headers = std::vector<std::pair<std::string, std::string>>;

  http_conn(run_state& rs, const tcp::endpoint& ep, std::string host,
            std::string target, headers hdrs)
    : rs_(rs), ep_(ep), host_(std::move(host)), target_(std::move(target)),
      headers_(std::move(hdrs)), stream_(rs.io.get_executor()) {}

  void start(std::function<void()> ready) {
    auto self = shared_from_this();
    stream_.expires_after(connect_timeout);
    stream_.async_connect(ep_, [self, ready](beast::error_code ec) {
      if (ec)
        return self->rs_.error("connect: " + ec.message());
      self->stream_.expires_never();
      ready();
    });
  }

  void post(std::string body) {
    queue_.push_back(std::move(body));
    if (queue_.size() == 1)
      next();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

private:
  void next() {
    req_ = {};
    req_.version(11);
    req_.method(http::verb::post);
    req_.target(target_);
    req_.set(http::field::host, host_);
    req_.set(http::field::content_type, "application/json");
    for (auto& [k, v] : headers_)
      req_.set(k, v);
    req_.keep_alive(true);
    req_.body() = queue_.front();
    req_.prepare_payload();
    auto self = shared_from_this();
    http::async_write(stream_, req_, [self](beast::error_code ec, size_t) {
      if (ec)
        return self->rs_.error("http write: " + ec.message());
      self->res_ = {};
      http::async_read(self->stream_, self->buffer_, self->res_,
                       [self](beast::error_code ec, size_t) {
                         if (ec)
                           return self->rs_.error("http read: " + ec.message());
                         auto code = self->res_.result_int();
                         if (code < 200 || code >= 300)
                           self->rs_.error("HTTP " + std::to_string(code) + " "
                                           + self->res_.body().substr(0, 200));
                         self->queue_.pop_front();
                         if (!self->queue_.empty())
                           self->next();
                       });
    });
  }

  run_state& rs_;
  tcp::endpoint ep_;
  std::string host_;
  std::string target_;
  headers headers_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::deque<std::string> queue_;
};

/// Runs one direction: connects, sends on schedule, waits for stragglers.
open_loop_row run_path(const open_loop_config& cfg, const std::string& path,
                       const std::function<double()>& server_cpu) {
  run_state rs;
  rs.rate = cfg.rate;
  auto n = cfg.agents.size();
  bool to_app = path == "rest>app" || path == "ws>app";
  bool acks = path == "post>acks";
  std::shared_ptr<ws_conn> app;
  std::vector<std::shared_ptr<ws_conn>> agent_ws;
  std::vector<std::shared_ptr<http_conn>> http_conns;
  size_t waiting = 0;
  std::function<void()> begin; // set below: starts the schedule
  auto ready = [&] {
    if (--waiting == 0)
      begin();
  };

  if (to_app) {
    ++waiting;
    auto& node = cfg.nodes.front();
    app = std::make_shared<ws_conn>(
      rs, node.endpoint, node.host, "/ws/app",
      "{\"type\":\"auth\",\"token\":" + quote(cfg.token) + "}",
      [&rs](ws_conn&, const rapidjson::Document& doc) {
        if (member(doc, "type") != "message" || !doc.HasMember("message"))
          return;
        if (auto k = message_number(member(doc["message"], "text")))
          rs.arrive(*k);
      });
  }
  if (path != "rest>app")
    for (size_t i = 0; i < n; ++i) {
      ++waiting;
      auto& a = cfg.agents[i];
      auto& node = agent_node(cfg.nodes, i);
      auto auth = "{\"type\":\"auth\",\"secret\":" + quote(a.secret)
                  + (acks ? ",\"acks\":true}" : "}");
      agent_ws.push_back(std::make_shared<ws_conn>(
        rs, node.endpoint, node.host, "/ws/agent/" + a.id, auth,
        [&rs, acks](ws_conn& ws, const rapidjson::Document& doc) {
          if (member(doc, "type") != "user_message")
            return;
          if (acks && doc.HasMember("seq") && doc["seq"].IsUint64())
            ws.send("{\"type\":\"ack\",\"seq\":"
                    + std::to_string(doc["seq"].GetUint64()) + "}");
          if (auto k = message_number(member(doc, "text")))
            rs.arrive(*k);
        }));
    }
  if (path != "ws>app")
    for (size_t i = 0; i < n; ++i) {
      ++waiting;
      auto& a = cfg.agents[i];
      if (path == "rest>app") {
        auto& node = agent_node(cfg.nodes, i);
        http_conns.push_back(std::make_shared<http_conn>(
          rs, node.endpoint, node.host, "/api/agent/events",
          http_conn::headers{{"X-Nod-Agent-Id", a.id},
                             {"X-Nod-Secret", a.secret}}));
      } else {
        auto& node = person_node(cfg.nodes, i);
        http_conns.push_back(std::make_shared<http_conn>(
          rs, node.endpoint, node.host, "/api/agents/" + a.id + "/messages",
          http_conn::headers{{"Authorization", "Bearer " + cfg.token}}));
      }
    }

  auto total = static_cast<uint64_t>(std::ceil(
    (std::chrono::duration<double>(warmup).count() + cfg.seconds) * cfg.rate));
  rs.first = static_cast<uint64_t>(
    std::ceil(std::chrono::duration<double>(warmup).count() * cfg.rate));
  rs.end = total;
  rs.arrived.assign(total, 0);
  net::steady_timer timer{rs.io};
  uint64_t next = 0;
  double cpu0 = -1;
  double cpu1 = -1;
  clock_type::time_point measured_from;
  clock_type::time_point measured_to;
  std::function<void()> tick;
  auto send = [&](uint64_t k) {
    auto a = k % n;
    auto text = quote(text_prefix + std::to_string(k));
    if (path == "rest>app")
      http_conns[a]->post("{\"type\":\"message\",\"text\":" + text + "}");
    else if (path == "ws>app")
      agent_ws[a]->send("{\"type\":\"message\",\"text\":" + text + "}");
    else
      http_conns[a]->post("{\"text\":" + text + "}");
  };
  tick = [&] {
    if (cfg.interrupted && cfg.interrupted())
      next = total;
    auto now = clock_type::now();
    while (next < total && rs.due(next) <= now) {
      if (next == rs.first) {
        measured_from = now;
        if (server_cpu)
          cpu0 = server_cpu();
      }
      send(next++);
    }
    if (next < total) {
      timer.expires_at(rs.due(next));
      timer.async_wait([&](beast::error_code ec) {
        if (!ec)
          tick();
      });
      return;
    }
    measured_to = clock_type::now();
    if (server_cpu)
      cpu1 = server_cpu();
    timer.expires_after(drain);
    timer.async_wait([&](beast::error_code) {
      rs.stopping = true;
      rs.io.stop();
    });
  };
  begin = [&] {
    rs.t0 = clock_type::now() + 50ms;
    tick();
  };
  // Start: connections first, then the schedule once all are ready.
  if (app)
    app->start(ready);
  for (auto& ws : agent_ws)
    ws->start(ready);
  for (auto& h : http_conns)
    h->start(ready);
  // A run that cannot connect ends after the connect timeout.
  net::steady_timer give_up{rs.io};
  give_up.expires_after(connect_timeout
                        + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(cfg.seconds + 5)));
  give_up.async_wait([&](beast::error_code ec) {
    if (!ec) {
      rs.stopping = true;
      rs.io.stop();
    }
  });
  rs.io.run();

  open_loop_row row;
  row.name = path;
  row.scheduled = rs.end - rs.first;
  row.arrived = rs.latencies_us.size();
  row.errors = row.scheduled - std::min(row.scheduled, row.arrived);
  row.first_error = rs.first_error;
  if (row.errors > 0 && row.first_error.empty())
    row.first_error = "messages that never arrived";
  std::sort(rs.latencies_us.begin(), rs.latencies_us.end());
  row.latencies_us = std::move(rs.latencies_us);
  row.seconds
    = std::chrono::duration<double>(measured_to - measured_from).count();
  if (cpu0 >= 0 && cpu1 >= 0 && row.seconds > 0)
    row.server_cpu_pct = (cpu1 - cpu0) / row.seconds * 100;
  for (auto& ws : agent_ws)
    ws->close();
  for (auto& h : http_conns)
    h->close();
  if (app)
    app->close();
  return row;
}

} // namespace

std::vector<std::string> open_loop_paths() {
  return {"rest>app", "ws>app", "post>agent", "post>acks"};
}

std::vector<open_loop_row>
run_open_loop(const open_loop_config& cfg,
              const std::function<double()>& server_cpu) {
  std::vector<open_loop_row> rows;
  for (auto& path : cfg.paths) {
    if (cfg.interrupted && cfg.interrupted())
      break;
    rows.push_back(run_path(cfg, path, server_cpu));
  }
  return rows;
}

} // namespace nod::bench
