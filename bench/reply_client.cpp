#include "bench/clients.hpp"
#include "testkit/json.hpp"

#include <memory>

namespace nod::bench {

namespace {

// The return path to an online agent: the agent's WebSocket (authenticated,
// then always reading) and a person's keep-alive HTTP connection (to
// another node, with a cluster) that posts a message with a unique text,
// one in flight. A message is done when both the REST reply and the
// agent's `user_message` with that text have arrived, in either order (the
// push may beat the reply); its latency runs from sending the POST to
// reading the frame.
class reply_client : public conn_base<reply_client> {
public:
  reply_client(net::io_context& io, phase_state& st, conn_stats& stats,
               size_t index, const agent_creds* agent, const std::string* token,
               bool acks)
    : conn_base(st, stats, index), io_(io), ws_(st.executor_for(io)),
      http_(ws_.get_executor()), agent_(agent), token_(token), acks_(acks) {}

  reply_client(const reply_client& prev)
    : conn_base(prev.st_, prev.stats_, prev.index_), io_(prev.io_),
      ws_(prev.st_.executor_for(prev.io_)), http_(ws_.get_executor()),
      agent_(prev.agent_), token_(prev.token_), acks_(prev.acks_) {
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
                                return fail("agent connect: " + ec.message());
                              handshake();
                            }));
  }

  net::any_io_executor executor() {
    return ws_.get_executor();
  }

  void close_now() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both,
                                                   ec);
    beast::get_lowest_layer(ws_).close();
    http_.socket().shutdown(tcp::socket::shutdown_both, ec);
    http_.close();
  }

private:
  void handshake() {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = connect_timeout;
    // A read is always pending: no frame for this long means a lost push
    // (or a hung server).
    t.idle_timeout = op_timeout;
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.text(true);
    ws_.async_handshake(
      upgrade_res_, agent_node().host, "/ws/agent/" + agent_->id,
      guarded([this](beast::error_code ec) {
        if (ec == websocket::error::upgrade_declined)
          return fail("agent upgrade declined: " + describe(upgrade_res_));
        if (ec)
          return fail("agent handshake: " + ec.message());
        out_ = auth_frame(*agent_, acks_);
        ws_.async_write(
          net::buffer(out_), guarded([this](beast::error_code ec, size_t) {
            if (ec)
              return fail("agent auth: " + ec.message());
            ws_.async_read(buffer_,
                           guarded([this](beast::error_code ec, size_t) {
                             on_auth(ec);
                           }));
          }));
      }));
  }

  void on_auth(beast::error_code ec) {
    if (ec)
      return fail("agent auth: " + ws_read_error(ws_, ec));
    auto doc = take_ws_frame(buffer_, last_frame_);
    if (testkit::str(doc, "type") != "auth_ok")
      return fail("agent auth: unexpected reply " + clip(last_frame_));
    // Online now; the person connects.
    read_frame();
    http_.expires_after(connect_timeout);
    http_.async_connect(person_node().endpoint,
                        guarded([this](beast::error_code ec) {
                          if (failed_)
                            return;
                          if (ec)
                            return fail("person connect: " + ec.message());
                          send();
                        }));
  }

  void read_frame() {
    ws_.async_read(buffer_, guarded([this](beast::error_code ec, size_t) {
                     on_frame(ec);
                   }));
  }

  void on_frame(beast::error_code ec) {
    if (closing_ || failed_)
      return;
    if (ec)
      return fail("agent socket: " + ws_read_error(ws_, ec));
    auto at = clock_type::now();
    auto doc = take_ws_frame(buffer_, last_frame_);
    read_frame();
    // Anything else (events replayed on auth, the probe's message) is
    // skipped.
    if (!in_flight_ || got_frame_ || testkit::str(doc, "type") != "user_message"
        || testkit::str(doc, "text") != text_)
      return;
    frame_at_ = at;
    frame_message_id_ = testkit::str(doc, "message_id");
    if (!acks_) {
      got_frame_ = true;
      return maybe_next();
    }
    // The next message waits for the ack to be written: the phase
    // measures the ack path too.
    out_ = "{\"type\":\"ack\",\"seq\":"
           + std::to_string(testkit::uint(doc, "seq")) + "}";
    ws_.async_write(net::buffer(out_),
                    guarded([this](beast::error_code ec, size_t) {
                      if (failed_ || closing_)
                        return;
                      if (ec)
                        return fail("agent ack: " + ec.message());
                      got_frame_ = true;
                      maybe_next();
                    }));
  }

  void send() {
    if (st_.now() == stage::done)
      return close_politely();
    text_
      = "bench reply " + std::to_string(index_) + "." + std::to_string(++seq_);
    build_message_request(req_, person_node().host, agent_->id, *token_, text_);
    in_flight_ = true;
    got_reply_ = false;
    got_frame_ = false;
    started_ = clock_type::now();
    http_.expires_after(op_timeout);
    http::async_write(
      http_, req_, guarded([this](beast::error_code ec, size_t) {
        if (failed_)
          return;
        if (ec)
          return fail("person write: " + ec.message());
        res_ = {};
        http::async_read(http_, http_buffer_, res_,
                         guarded([this](beast::error_code ec, size_t) {
                           on_reply(ec);
                         }));
      }));
  }

  void on_reply(beast::error_code ec) {
    if (failed_)
      return;
    if (ec)
      return fail("person read: " + ec.message());
    keep_alive_ = res_.keep_alive();
    if (res_.result() != http::status::created) {
      // No event was made, so no frame will come.
      record_error(describe(res_));
      in_flight_ = false;
      return next();
    }
    got_reply_ = true;
    reply_message_id_ = testkit::str(testkit::parse(res_.body()), "message_id");
    maybe_next();
  }

  void maybe_next() {
    if (!got_reply_ || !got_frame_)
      return;
    in_flight_ = false;
    if (reply_message_id_.empty() || reply_message_id_ != frame_message_id_)
      record_error("user_message has message_id \"" + frame_message_id_
                   + "\", the REST reply \"" + reply_message_id_ + "\"");
    else
      record_success(started_, frame_at_);
    next();
  }

  void next() {
    if (!keep_alive_)
      return fail("server closed the connection", false);
    send();
  }

  void close_politely() {
    closing_ = true;
    beast::error_code ec;
    http_.socket().shutdown(tcp::socket::shutdown_both, ec);
    http_.close();
    // The pending read ends with the close handshake.
    ws_.async_close(websocket::close_code::normal,
                    guarded([this](beast::error_code) {
                      close_now();
                      finish();
                    }));
  }

  net::io_context& io_;
  ws_stream ws_;
  beast::tcp_stream http_;
  const agent_creds* agent_;
  const std::string* token_;
  bool acks_ = false;
  websocket::response_type upgrade_res_;
  beast::flat_buffer buffer_;
  std::string out_;
  std::string last_frame_;
  http::request<http::string_body> req_;
  response res_;
  beast::flat_buffer http_buffer_;
  std::string text_;
  std::string reply_message_id_;
  std::string frame_message_id_;
  clock_type::time_point started_;
  clock_type::time_point frame_at_;
  bool in_flight_ = false;
  bool got_reply_ = false;
  bool got_frame_ = false;
  bool keep_alive_ = true;
  bool closing_ = false;
};

} // namespace

void start_reply_client(net::io_context& io, phase_state& st, conn_stats& stats,
                        size_t index, const agent_creds* agent,
                        const std::string* token, bool acks) {
  std::make_shared<reply_client>(io, st, stats, index, agent, token, acks)
    ->start();
}

} // namespace nod::bench
