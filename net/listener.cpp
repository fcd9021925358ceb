#include "net/listener.hpp"

#include "net/http_session.hpp"
#include "net/server_core.hpp"

#include <boost/asio/post.hpp>
#include <chrono>
#include <exception>
#include <spdlog/spdlog.h>

namespace nod::net::detail {

namespace {

/// The answer to a connection over every bound, refusal budget included.
constexpr char refused_response[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                    "Content-Type: application/json\r\n"
                                    "Retry-After: 1\r\n"
                                    "Connection: close\r\n"
                                    "Content-Length: 36\r\n\r\n"
                                    "{\"detail\":\"too many connections\"}\n";

/// The peer's address, an IPv4-mapped IPv6 one as IPv4, so one client
/// counts once whichever way it came in.
std::optional<ip_address> peer_address(const tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec)
    return std::nullopt;
  return to_ip_address(ep.address());
}

/// Tells the client 503 without waiting (a fresh socket's send buffer
/// takes these few bytes) and closes.
void refuse_at_once(tcp::socket& socket) {
  beast::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(refused_response, sizeof refused_response - 1),
                    ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

} // namespace

listener::listener(server_core& srv, asio::io_context& ioc)
  : srv_(srv), ioc_(ioc), acceptor_(asio::make_strand(ioc)),
    retry_(acceptor_.get_executor()) {
  // nop
}

std::optional<std::string> listener::open(const std::string& host,
                                          uint16_t port) {
  auto where = endpoint_string(host, port);
  auto failed = [&](const beast::error_code& ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    return "cannot listen on " + where + ": " + ec.message();
  };
  // Resolve: a literal address, else a name such as `localhost`.
  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint{address, port};
  } else {
    tcp::resolver resolver{ioc_};
    auto results = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive, ec);
    if (ec)
      return failed(ec);
    if (results.empty())
      return failed(asio::error::host_not_found);
    endpoint = results.begin()->endpoint();
  }
  // Bind and listen.
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec)
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor_.bind(endpoint, ec);
  if (!ec)
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return failed(ec);
  local_ = acceptor_.local_endpoint(ec);
  if (ec)
    return failed(ec);
  return std::nullopt;
}

void listener::run() {
  asio::post(acceptor_.get_executor(), [this] {
    do_accept();
  });
}

void listener::close() {
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  });
}

void listener::do_accept() {
  auto strand = asio::make_strand(ioc_);
  acceptor_.async_accept(
    strand, [this, strand](beast::error_code ec, tcp::socket socket) {
      on_accept(ec, std::move(socket), strand);
    });
}

void listener::on_accept(beast::error_code ec, tcp::socket socket,
                         strand_type strand) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    // Typically out of file descriptors: retry a little later instead of
    // spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    retry_.expires_after(std::chrono::milliseconds(50));
    retry_.async_wait([this](beast::error_code ec) {
      if (!ec && acceptor_.is_open())
        do_accept();
    });
    return;
  }
  if (srv_.stopping_) {
    socket.close(ec);
    return;
  }
  srv_.connections_total_.inc();
  // A trusted proxy carries many clients: only the total bounds it.
  auto peer = peer_address(socket);
  auto slot = srv_.limits_.acquire(peer ? peer->to_string() : std::string{},
                                   !peer || !srv_.trusted_proxy(*peer));
  if (!slot || slot.refusal())
    srv_.connections_refused_.inc();
  if (!slot) {
    refuse_at_once(socket);
    return do_accept();
  }
  socket.set_option(tcp::no_delay(true), ec);
  try {
    auto tls = srv_.tls_context();
    auto stream = tls ? flex_stream{std::move(socket), std::move(tls)}
                      : flex_stream{std::move(socket)};
    auto s = std::make_shared<http_session>(srv_, std::move(stream),
                                            std::move(strand), std::move(slot));
    srv_.add_session(s);
    s->run();
  } catch (const std::exception& e) {
    spdlog::warn("http: cannot start a session: {}", e.what());
  }
  do_accept();
}

} // namespace nod::net::detail
