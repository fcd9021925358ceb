#include "bench/webhook.hpp"

#include "bench/clients.hpp"
#include "testkit/json.hpp"

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <optional>
#include <utility>

namespace nod::bench {

// A person's keep-alive connection posting to an offline agent that has a
// webhook_url, one message in flight. A message is done when both the REST
// reply and the receiver's request with the reply's event_id (in
// X-Nod-Event-Id) have arrived, in either order; its latency runs from
// sending the POST to the receiver having read the webhook request.
class webhook_client : public conn_base<webhook_client> {
public:
  webhook_client(net::io_context& io, phase_state& st, conn_stats& stats,
                 size_t index, const agent_creds* agent,
                 const std::string* token, hook_board& board)
    : conn_base(st, stats, index), io_(io), http_(st.executor_for(io)),
      deadline_(http_.get_executor()), agent_(agent), token_(token),
      board_(board) {}

  webhook_client(const webhook_client& prev)
    : conn_base(prev.st_, prev.stats_, prev.index_), io_(prev.io_),
      http_(prev.st_.executor_for(prev.io_)), deadline_(http_.get_executor()),
      agent_(prev.agent_), token_(prev.token_), board_(prev.board_) {
    seq_ = prev.seq_;
  }

  void start() {
    if (st_.now() == stage::done)
      return finish();
    {
      std::lock_guard<std::mutex> lock{board_.mtx};
      board_.clients[index_] = weak_from_this();
    }
    http_.expires_after(connect_timeout);
    http_.async_connect(person_node().endpoint,
                        guarded([this](beast::error_code ec) {
                          if (ec)
                            return fail("connect: " + ec.message());
                          send();
                        }));
  }

  net::any_io_executor executor() {
    return http_.get_executor();
  }

  void close_now() {
    beast::error_code ec;
    deadline_.cancel();
    http_.socket().shutdown(tcp::socket::shutdown_both, ec);
    http_.close();
  }

  // The receiver read a webhook for this agent (called on its strand).
  void webhook_seen(std::string event_id, clock_type::time_point at) {
    net::post(http_.get_executor(),
              guarded([this, event_id = std::move(event_id), at] {
                on_webhook(event_id, at);
              }));
  }

private:
  void send() {
    if (st_.now() == stage::done) {
      close_now();
      return finish();
    }
    auto op = ++seq_;
    build_message_request(req_, person_node().host, agent_->id, *token_,
                          "bench webhook " + std::to_string(index_) + "."
                            + std::to_string(op));
    in_flight_ = true;
    event_id_.clear();
    early_.clear();
    started_ = clock_type::now();
    deadline_.expires_after(op_timeout);
    deadline_.async_wait(guarded([this, op](beast::error_code ec) {
      if (ec || failed_ || !in_flight_ || op != seq_)
        return;
      fail("no webhook within " + std::to_string(op_timeout.count())
           + " s of the POST");
    }));
    http_.expires_after(op_timeout);
    http::async_write(
      http_, req_, guarded([this](beast::error_code ec, size_t) {
        if (failed_)
          return;
        if (ec)
          return fail("write: " + ec.message());
        res_ = {};
        http::async_read(http_, buffer_, res_,
                         guarded([this](beast::error_code ec, size_t) {
                           on_reply(ec);
                         }));
      }));
  }

  void on_reply(beast::error_code ec) {
    if (failed_)
      return;
    if (ec)
      return fail("read: " + ec.message());
    keep_alive_ = res_.keep_alive();
    if (res_.result() == http::status::created)
      event_id_ = testkit::str(testkit::parse(res_.body()), "event_id");
    if (event_id_.empty()) {
      // No event (or none we can recognise): no webhook to wait for.
      record_error((res_.result() == http::status::created
                      ? "reply without event_id: "
                      : "")
                   + describe(res_));
      return complete(std::nullopt);
    }
    std::optional<clock_type::time_point> seen;
    for (auto& [id, at] : early_)
      if (id == event_id_ && !seen)
        seen = at;
      else
        board_.unmatched.fetch_add(1, std::memory_order_relaxed);
    early_.clear();
    if (seen)
      complete(seen);
  }

  void on_webhook(const std::string& event_id, clock_type::time_point at) {
    if (failed_ || !in_flight_)
      board_.unmatched.fetch_add(1, std::memory_order_relaxed);
    else if (event_id_.empty())
      early_.emplace_back(event_id, at); // before the REST reply
    else if (event_id == event_id_)
      complete(at);
    else
      board_.unmatched.fetch_add(1, std::memory_order_relaxed);
  }

  // Ends the message in flight (`at`: when its webhook was read).
  void complete(std::optional<clock_type::time_point> at) {
    in_flight_ = false;
    deadline_.cancel();
    if (at)
      record_success(started_, *at);
    if (!keep_alive_)
      return fail("server closed the connection", false);
    send();
  }

  net::io_context& io_;
  beast::tcp_stream http_;
  net::steady_timer deadline_;
  const agent_creds* agent_;
  const std::string* token_;
  hook_board& board_;
  http::request<http::string_body> req_;
  response res_;
  beast::flat_buffer buffer_;
  std::string event_id_;
  std::vector<std::pair<std::string, clock_type::time_point>> early_;
  clock_type::time_point started_;
  bool in_flight_ = false;
  bool keep_alive_ = true;
};

namespace {

// One webhook connection to the receiver: read a request, tell the
// connection posting to that agent, answer 200 with an empty body, and read
// the next one while the server keeps the connection open (as a real
// receiver would).
class hook_session : public std::enable_shared_from_this<hook_session> {
public:
  hook_session(tcp::socket socket, phase_state& st, hook_board& board)
    : stream_(std::move(socket)), st_(st), board_(board) {}

  void start() {
    stream_.expires_after(op_timeout);
    req_ = {};
    http::async_read(stream_, buffer_, req_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_read(ec);
                     });
  }

private:
  void on_read(beast::error_code ec) noexcept {
    auto at = clock_type::now();
    // A kept connection the server closed, or left idle: not an error.
    if (ec == http::error::end_of_stream
        || (ec == beast::error::timeout && buffer_.size() == 0))
      return close();
    if (ec) {
      board_.bad.fetch_add(1, std::memory_order_relaxed);
      return close();
    }
    board_.total.fetch_add(1, std::memory_order_relaxed);
    if (st_.now() == stage::measure)
      board_.measured.fetch_add(1, std::memory_order_relaxed);
    try {
      auto retry = req_["X-Nod-Retry-Num"];
      if (!retry.empty() && retry != "0")
        board_.retries.fetch_add(1, std::memory_order_relaxed);
      hand_over(at);
      res_.version(11);
      res_.result(http::status::ok);
      res_.keep_alive(req_.keep_alive());
      res_.prepare_payload();
      http::async_write(
        stream_, res_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (!ec && self->res_.keep_alive())
            return self->start();
          self->close();
        });
    } catch (const std::exception&) {
      board_.bad.fetch_add(1, std::memory_order_relaxed);
      close();
    }
  }

  // Finds the connection waiting for agent i (target /hook/i).
  void hand_over(clock_type::time_point at) {
    static const std::string prefix = "/hook/";
    std::string target{req_.target().data(), req_.target().size()};
    std::shared_ptr<webhook_client> who;
    if (target.compare(0, prefix.size(), prefix) == 0) {
      char* end = nullptr;
      auto i = std::strtoul(target.c_str() + prefix.size(), &end, 10);
      std::lock_guard<std::mutex> lock{board_.mtx};
      if (*end == '\0' && i < board_.clients.size())
        who = board_.clients[i].lock();
    }
    auto event_id = req_["X-Nod-Event-Id"];
    if (who)
      who->webhook_seen(std::string{event_id.data(), event_id.size()}, at);
    else
      board_.unmatched.fetch_add(1, std::memory_order_relaxed);
  }

  void close() noexcept {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  phase_state& st_;
  hook_board& board_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::empty_body> res_;
};

} // namespace

void start_webhook_client(net::io_context& io, phase_state& st,
                          conn_stats& stats, size_t index,
                          const agent_creds* agent, const std::string* token,
                          hook_board& board) {
  std::make_shared<webhook_client>(io, st, stats, index, agent, token, board)
    ->start();
}

hook_receiver::hook_receiver(net::io_context& io, phase_state& st,
                             hook_board& board)
  : io_(io), st_(st), board_(board),
    acceptor_(io, tcp::endpoint{net::ip::address_v4::loopback(), 0}),
    retry_(io) {}

void hook_receiver::start() {
  acceptor_.async_accept(
    st_.executor_for(io_),
    [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
}

void hook_receiver::on_accept(beast::error_code ec,
                              tcp::socket socket) noexcept {
  if (ec == net::error::operation_aborted)
    return;
  try {
    if (ec) {
      // Out of descriptors, most likely: do not spin.
      board_.bad.fetch_add(1, std::memory_order_relaxed);
      retry_.expires_after(reconnect_delay);
      retry_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec)
          self->start();
      });
      return;
    }
    std::make_shared<hook_session>(std::move(socket), st_, board_)->start();
    start();
  } catch (const std::exception&) {
    // Out of memory: the receiver stops; the phase reports timeouts.
    board_.bad.fetch_add(1, std::memory_order_relaxed);
  }
}

} // namespace nod::bench
