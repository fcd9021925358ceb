#include "testkit/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <functional>
#include <stdexcept>

namespace nod::testkit {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// Async operations with a deadline, driven to completion on this thread:
// plain blocking sockets cannot time out in asio.
constexpr std::chrono::seconds call_timeout{10};
constexpr std::chrono::seconds raw_timeout{5};
constexpr std::chrono::seconds ws_close_timeout{5};

[[noreturn]] void fail(const std::string& what, const beast::error_code& ec) {
  throw std::runtime_error(what + ": " + ec.message());
}

void connect(asio::io_context& ioc, beast::tcp_stream& stream,
             const std::string& host, uint16_t port,
             std::chrono::milliseconds timeout = call_timeout) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    fail("bad address " + host, ec);
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint{address, port}, [&](beast::error_code e) {
    ec = e;
  });
  ioc.run();
  ioc.restart();
  if (ec)
    fail("cannot connect to " + host + ":" + std::to_string(port), ec);
}

} // namespace

std::string http_reply::header(const std::string& name) const {
  for (const auto& [key, value] : headers)
    if (beast::iequals(key, name))
      return value;
  return {};
}

// -- http_session ------------------------------------------------------------

struct http_session::impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::string address;
  uint16_t port = 0;
  std::string host_header;
  std::string user_agent = "nod-test";
  std::chrono::milliseconds connect_limit = call_timeout;
  std::chrono::milliseconds call_limit = call_timeout;
  bool connected = false;

  /// Runs the operation just started to its end; its error.
  beast::error_code run(beast::error_code& ec) {
    ioc.run();
    ioc.restart();
    return ec;
  }

  http_reply exchange(http::request<http::string_body>& req,
                      const std::string& method, const std::string& target) {
    beast::error_code ec;
    stream.expires_after(call_limit);
    http::async_write(stream, req, [&](beast::error_code e, size_t) {
      ec = e;
    });
    if (run(ec))
      fail("cannot write " + method + " " + target, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    if (req.method() == http::verb::head)
      parser.skip(true);
    stream.expires_after(call_limit);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) {
      ec = e;
    });
    if (run(ec))
      fail("cannot read the response to " + method + " " + target, ec);
    auto& res = parser.get();
    http_reply reply;
    reply.status = res.result_int();
    reply.body = std::move(res.body());
    for (const auto& field : res)
      reply.headers.emplace_back(std::string{field.name_string()},
                                 std::string{field.value()});
    if (!res.keep_alive())
      close();
    return reply;
  }

  void close() {
    if (!connected)
      return;
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    buffer.clear();
    connected = false;
  }
};

http_session::http_session(const std::string& address, uint16_t port,
                           std::string host_header)
  : impl_(std::make_unique<impl>()) {
  impl_->address = address;
  impl_->port = port;
  impl_->host_header = host_header.empty()
                         ? address + ":" + std::to_string(port)
                         : std::move(host_header);
}

http_session::~http_session() {
  close();
}

void http_session::user_agent(std::string value) {
  impl_->user_agent = std::move(value);
}

void http_session::timeouts(std::chrono::milliseconds connect,
                            std::chrono::milliseconds call) {
  impl_->connect_limit = connect;
  impl_->call_limit = call;
}

http_reply http_session::call(const std::string& method,
                              const std::string& target,
                              const std::string& body,
                              const header_list& headers) {
  auto& d = *impl_;
  http::request<http::string_body> req;
  auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown)
    req.method_string(method);
  else
    req.method(verb);
  req.target(target);
  req.version(11);
  req.set(http::field::host, d.host_header);
  req.set(http::field::user_agent, d.user_agent);
  for (const auto& [name, value] : headers)
    req.insert(name, value);
  req.body() = body;
  if (!body.empty() || verb == http::verb::post || verb == http::verb::put
      || verb == http::verb::patch)
    req.content_length(body.size());
  for (;;) {
    bool reused = d.connected;
    if (!d.connected) {
      connect(d.ioc, d.stream, d.address, d.port, d.connect_limit);
      d.connected = true;
    }
    try {
      return d.exchange(req, method, target);
    } catch (const std::exception&) {
      d.close();
      if (!reused)
        throw;
    }
  }
}

void http_session::close() {
  impl_->close();
}

http_reply http_call(uint16_t port, const std::string& method,
                     const std::string& target, const std::string& body,
                     const header_list& headers, const std::string& host) {
  http_session session{host, port};
  return session.call(method, target, body, headers);
}

std::string raw_exchange(uint16_t port, const std::string& bytes) {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  connect(ioc, stream, "127.0.0.1", port);
  std::string out;
  stream.expires_after(raw_timeout);
  if (!bytes.empty()) {
    asio::async_write(stream, asio::buffer(bytes),
                      [](beast::error_code, size_t) {});
    ioc.run();
    ioc.restart();
  }
  // Read until EOF, reset, or the deadline (which closes the stream). A
  // failed write still reads: the server may have answered and closed.
  char chunk[4096];
  std::function<void(beast::error_code, size_t)> on_read;
  on_read = [&](beast::error_code e, size_t n) {
    out.append(chunk, n);
    if (!e)
      stream.async_read_some(asio::buffer(chunk), on_read);
  };
  stream.async_read_some(asio::buffer(chunk), on_read);
  ioc.run();
  return out;
}

// -- ws_client ---------------------------------------------------------------

struct ws_client::impl {
  using clock = std::chrono::steady_clock;

  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  int receive_buffer = 0;
  std::string user_agent = "nod-test";
  http_reply handshake_reply;
  // The read in progress; it may outlive a read_text that timed out.
  bool read_pending = false;
  bool read_done = false;
  beast::error_code read_ec;
  // The end of the connection.
  bool ended = false;
  uint16_t close_code = 0;
  std::string close_reason;

  /// Runs handlers until `done` or `deadline`; false on the deadline.
  bool run_until(const bool& done, clock::time_point deadline) {
    while (!done) {
      auto now = clock::now();
      if (now >= deadline)
        return false;
      if (ioc.stopped())
        ioc.restart();
      ioc.run_one_for(deadline - now);
    }
    return true;
  }

  void start_read() {
    read_pending = true;
    read_done = false;
    ws.async_read(buffer, [this](beast::error_code ec, size_t) {
      read_ec = ec;
      read_done = true;
    });
  }

  /// The pending read finished: the message, or nothing if it ended the
  /// connection.
  std::optional<std::string> take_read() {
    read_pending = false;
    read_done = false;
    if (read_ec) {
      end(read_ec);
      return std::nullopt;
    }
    auto text = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    return text;
  }

  void end(const beast::error_code& ec) {
    if (ended)
      return;
    ended = true;
    if (ec == websocket::error::closed) {
      close_code = ws.reason().code;
      close_reason
        = std::string(ws.reason().reason.data(), ws.reason().reason.size());
    } else {
      close_code = 1006;
    }
  }

  bool write(const std::string& data, bool text) {
    if (ended)
      return false;
    ws.text(text);
    bool done = false;
    beast::error_code ec;
    ws.async_write(asio::buffer(data), [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!run_until(done, clock::now() + call_timeout)) {
      beast::get_lowest_layer(ws).cancel();
      run_until(done, clock::now() + call_timeout);
    }
    return !ec;
  }
};

ws_client::ws_client() : impl_(std::make_unique<impl>()) {
  // nop
}

ws_client::~ws_client() {
  drop();
}

void ws_client::receive_buffer(int bytes) {
  impl_->receive_buffer = bytes;
}

unsigned ws_client::connect(uint16_t port, const std::string& target,
                            const header_list& headers) {
  return connect_to("127.0.0.1", port, "127.0.0.1:" + std::to_string(port),
                    target, headers);
}

void ws_client::user_agent(std::string value) {
  impl_->user_agent = std::move(value);
}

const http_reply& ws_client::handshake_reply() const {
  return impl_->handshake_reply;
}

unsigned ws_client::connect_to(const std::string& address, uint16_t port,
                               const std::string& host_header,
                               const std::string& target,
                               const header_list& headers) {
  auto& d = *impl_;
  auto& tcp_layer = beast::get_lowest_layer(d.ws);
  beast::error_code ec;
  tcp::endpoint endpoint{asio::ip::make_address(address, ec), port};
  if (ec)
    fail("bad address " + address, ec);
  tcp_layer.socket().open(endpoint.protocol(), ec);
  if (!ec && d.receive_buffer > 0)
    tcp_layer.socket().set_option(
      asio::socket_base::receive_buffer_size(d.receive_buffer), ec);
  if (ec)
    fail("cannot open a socket", ec);
  bool done = false;
  tcp_layer.expires_after(call_timeout);
  tcp_layer.async_connect(endpoint, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  d.run_until(done, impl::clock::now() + call_timeout);
  if (ec)
    fail("cannot connect to port " + std::to_string(port), ec);
  // The WebSocket's own timeout replaces the stream's.
  tcp_layer.expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = call_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  d.ws.set_option(timeouts);
  d.ws.set_option(websocket::stream_base::decorator(
    [headers, agent = d.user_agent](websocket::request_type& req) {
      req.set(http::field::user_agent, agent);
      for (const auto& [name, value] : headers)
        req.insert(name, value);
    }));
  websocket::response_type res;
  done = false;
  d.ws.async_handshake(res, host_header, target, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  d.run_until(done, impl::clock::now() + 2 * call_timeout);
  if (!done)
    fail("no handshake answer for " + target,
         make_error_code(beast::error::timeout));
  d.handshake_reply.status = res.result_int();
  d.handshake_reply.body = res.body();
  for (const auto& field : res)
    d.handshake_reply.headers.emplace_back(std::string{field.name_string()},
                                           std::string{field.value()});
  if (ec && res.result_int() == 0)
    fail("cannot upgrade " + target, ec);
  if (ec)
    d.ended = true;
  return res.result_int();
}

bool ws_client::send_text(const std::string& text) {
  return impl_->write(text, true);
}

bool ws_client::send_binary(const std::string& data) {
  return impl_->write(data, false);
}

std::optional<std::string>
ws_client::read_text(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (d.ended)
    return std::nullopt;
  if (!d.read_pending)
    d.start_read();
  if (!d.run_until(d.read_done, impl::clock::now() + timeout))
    return std::nullopt;
  return d.take_read();
}

uint16_t ws_client::read_until_close(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  auto deadline = impl::clock::now() + timeout;
  while (!d.ended) {
    if (!d.read_pending)
      d.start_read();
    if (!d.run_until(d.read_done, deadline))
      return 0;
    d.take_read();
  }
  return d.close_code;
}

bool ws_client::closed() const {
  return impl_->ended;
}

uint16_t ws_client::close_code() const {
  return impl_->close_code;
}

const std::string& ws_client::close_reason() const {
  return impl_->close_reason;
}

uint16_t ws_client::close(uint16_t code) {
  auto& d = *impl_;
  if (d.ended)
    return d.close_code;
  bool done = false;
  beast::error_code ec;
  d.ws.async_close(websocket::close_reason{code}, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  auto deadline = impl::clock::now() + ws_close_timeout;
  d.run_until(done, deadline);
  // A read left pending sees the server's close frame.
  if (d.read_pending)
    d.run_until(d.read_done, deadline);
  if (!d.ended) {
    d.ended = true;
    d.close_code
      = done && !ec ? static_cast<uint16_t>(d.ws.reason().code) : 1006;
    d.close_reason
      = std::string(d.ws.reason().reason.data(), d.ws.reason().reason.size());
  }
  drop();
  return d.close_code;
}

void ws_client::drop() {
  auto& d = *impl_;
  if (!d.ended) {
    d.ended = true;
    d.close_code = 1006;
  }
  beast::error_code ec;
  auto& socket = beast::get_lowest_layer(d.ws).socket();
  if (socket.is_open())
    socket.close(ec);
}

} // namespace nod::testkit
