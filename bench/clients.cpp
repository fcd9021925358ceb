#include "bench/clients.hpp"

#include "testkit/json.hpp"

#include <memory>
#include <optional>

namespace nod::bench {

rapidjson::Document take_ws_frame(beast::flat_buffer& buffer,
                                  std::string& text) {
  text = beast::buffers_to_string(buffer.data());
  buffer.consume(buffer.size());
  return testkit::parse(text);
}

std::string ws_read_error(ws_stream& ws, beast::error_code ec) {
  if (ec == websocket::error::closed) {
    auto r = ws.reason();
    return "closed by the server with code " + std::to_string(r.code)
           + (r.reason.empty()
                ? ""
                : " (" + std::string{r.reason.data(), r.reason.size()} + ")");
  }
  return ec.message();
}

std::string auth_frame(const agent_creds& a, bool acks) {
  return "{\"type\":\"auth\",\"agent_id\":" + testkit::quote(a.id)
         + ",\"secret\":" + testkit::quote(a.secret)
         + (acks ? ",\"acks\":true}" : "}");
}

void build_message_request(http::request<http::string_body>& req,
                           const std::string& host, const std::string& agent_id,
                           const std::string& token, const std::string& text) {
  req = {};
  req.version(11);
  req.method(http::verb::post);
  req.target("/api/agents/" + agent_id + "/messages");
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "nod-bench");
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = "{\"text\":" + testkit::quote(text) + "}";
  req.prepare_payload();
}

namespace {

// One keep-alive HTTP connection looping one request: GET /healthz or
// POST /api/agent/events.
class http_client : public conn_base<http_client> {
public:
  enum class kind { healthz, rest };

  http_client(net::io_context& io, phase_state& st, conn_stats& stats,
              size_t index, kind k, const agent_creds* agent)
    : conn_base(st, stats, index), io_(io), stream_(st.executor_for(io)),
      kind_(k), agent_(agent) {}

  // A fresh connection taking over from `prev` (a stream cannot be reused
  // safely after an error, so every reconnect is a new object).
  http_client(const http_client& prev)
    : conn_base(prev.st_, prev.stats_, prev.index_), io_(prev.io_),
      stream_(prev.st_.executor_for(prev.io_)), kind_(prev.kind_),
      agent_(prev.agent_) {
    seq_ = prev.seq_;
  }

  void start() {
    if (st_.now() == stage::done)
      return finish();
    build_request();
    stream_.expires_after(connect_timeout);
    stream_.async_connect(agent_node().endpoint,
                          guarded([this](beast::error_code ec) {
                            if (ec)
                              return fail("connect: " + ec.message());
                            send();
                          }));
  }

  net::any_io_executor executor() {
    return stream_.get_executor();
  }

  void close_now() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

private:
  void build_request() {
    req_ = {};
    req_.version(11);
    req_.set(http::field::host, agent_node().host);
    req_.set(http::field::user_agent, "nod-bench");
    req_.keep_alive(true);
    if (kind_ == kind::healthz) {
      req_.method(http::verb::get);
      req_.target("/healthz");
    } else {
      req_.method(http::verb::post);
      req_.target("/api/agent/events");
      req_.set("X-Nod-Agent-Id", agent_->id);
      req_.set("X-Nod-Secret", agent_->secret);
      req_.set(http::field::content_type, "application/json");
    }
    req_.prepare_payload();
  }

  void send() {
    if (st_.now() == stage::done) {
      close_now();
      return finish();
    }
    ++seq_;
    if (kind_ == kind::rest) {
      req_.body() = "{\"type\":\"message\",\"text\":\"bench message "
                    + std::to_string(index_) + "." + std::to_string(seq_)
                    + "\"}";
      req_.prepare_payload();
    }
    started_ = clock_type::now();
    stream_.expires_after(op_timeout);
    http::async_write(
      stream_, req_, guarded([this](beast::error_code ec, size_t) {
        if (ec)
          return fail("write: " + ec.message());
        res_ = {};
        http::async_read(stream_, buffer_, res_,
                         guarded([this](beast::error_code ec, size_t) {
                           on_read(ec);
                         }));
      }));
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return fail("read: " + ec.message());
    bool ok = res_.result() == http::status::ok;
    if (ok && kind_ == kind::rest)
      ok = res_.body().find("\"message_id\"") != std::string::npos;
    if (ok)
      record_success(started_);
    else
      record_error(describe(res_));
    if (!res_.keep_alive())
      return fail("server closed the connection", false);
    send();
  }

  net::io_context& io_;
  beast::tcp_stream stream_;
  kind kind_;
  const agent_creds* agent_;
  http::request<http::string_body> req_;
  response res_;
  beast::flat_buffer buffer_;
  clock_type::time_point started_;
};

// One agent WebSocket: auth, then message/result round trips, one in
// flight.
class ws_client : public conn_base<ws_client> {
public:
  ws_client(net::io_context& io, phase_state& st, conn_stats& stats,
            size_t index, const agent_creds* agent)
    : conn_base(st, stats, index), io_(io), ws_(st.executor_for(io)),
      agent_(agent) {}

  ws_client(const ws_client& prev)
    : conn_base(prev.st_, prev.stats_, prev.index_), io_(prev.io_),
      ws_(prev.st_.executor_for(prev.io_)), agent_(prev.agent_) {
    seq_ = prev.seq_;
  }

  void start() {
    if (st_.now() == stage::done)
      return finish();
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(connect_timeout);
    tcp_layer.async_connect(agent_node().endpoint,
                            guarded([this](beast::error_code ec) {
                              if (ec)
                                return fail("connect: " + ec.message());
                              handshake();
                            }));
  }

  net::any_io_executor executor() {
    return ws_.get_executor();
  }

  void close_now() {
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
  }

private:
  void handshake() {
    // The websocket stream keeps its own timers from here on.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = connect_timeout;
    t.idle_timeout = op_timeout; // no frame for this long: a hung server
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.text(true);
    ws_.async_handshake(
      upgrade_res_, agent_node().host, "/ws/agent/" + agent_->id,
      guarded([this](beast::error_code ec) {
        if (ec == websocket::error::upgrade_declined)
          return fail("upgrade declined: " + describe(upgrade_res_));
        if (ec)
          return fail("handshake: " + ec.message());
        out_ = auth_frame(*agent_);
        ws_.async_write(
          net::buffer(out_), guarded([this](beast::error_code ec, size_t) {
            if (ec)
              return fail("write auth: " + ec.message());
            ws_.async_read(buffer_,
                           guarded([this](beast::error_code ec, size_t) {
                             on_auth(ec);
                           }));
          }));
      }));
  }

  void on_auth(beast::error_code ec) {
    if (ec)
      return fail("auth: " + read_error(ec));
    auto doc = take_frame();
    auto type = testkit::str(doc, "type");
    if (type != "auth_ok")
      return fail("auth: unexpected reply " + clip(last_frame_));
    send();
  }

  void send() {
    if (st_.now() == stage::done)
      return close_politely();
    request_id_ = std::to_string(++seq_);
    out_ = "{\"type\":\"message\",\"text\":\"bench message "
           + std::to_string(index_) + "." + request_id_ + "\",\"request_id\":\""
           + request_id_ + "\"}";
    started_ = clock_type::now();
    ws_.async_write(net::buffer(out_),
                    guarded([this](beast::error_code ec, size_t) {
                      if (ec)
                        return fail("write: " + ec.message());
                      read_reply();
                    }));
  }

  void read_reply() {
    ws_.async_read(buffer_, guarded([this](beast::error_code ec, size_t) {
                     if (ec)
                       return fail("read: " + read_error(ec));
                     auto doc = take_frame();
                     auto type = testkit::str(doc, "type");
                     // Anything else (delivered events, pushes) is skipped.
                     if ((type != "result" && type != "error")
                         || testkit::str(doc, "request_id") != request_id_)
                       return read_reply();
                     if (type == "result")
                       record_success(started_);
                     else
                       record_error("error frame: " + clip(last_frame_));
                     send();
                   }));
  }

  rapidjson::Document take_frame() {
    return take_ws_frame(buffer_, last_frame_);
  }

  std::string read_error(beast::error_code ec) {
    return ws_read_error(ws_, ec);
  }

  void close_politely() {
    ws_.async_close(websocket::close_code::normal,
                    guarded([this](beast::error_code) {
                      close_now();
                      finish();
                    }));
  }

  net::io_context& io_;
  ws_stream ws_;
  const agent_creds* agent_;
  websocket::response_type upgrade_res_;
  beast::flat_buffer buffer_;
  std::string out_;
  std::string last_frame_;
  std::string request_id_;
  clock_type::time_point started_;
};

} // namespace

void start_healthz_client(net::io_context& io, phase_state& st,
                          conn_stats& stats, size_t index) {
  std::make_shared<http_client>(io, st, stats, index,
                                http_client::kind::healthz, nullptr)
    ->start();
}

void start_rest_client(net::io_context& io, phase_state& st, conn_stats& stats,
                       size_t index, const agent_creds* agent) {
  std::make_shared<http_client>(io, st, stats, index, http_client::kind::rest,
                                agent)
    ->start();
}

void start_ws_client(net::io_context& io, phase_state& st, conn_stats& stats,
                     size_t index, const agent_creds* agent) {
  std::make_shared<ws_client>(io, st, stats, index, agent)->start();
}

} // namespace nod::bench
