#include "tests/e2e/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <stdexcept>

namespace nod::test {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Async operations with a deadline, driven to completion on this thread:
// plain blocking sockets cannot time out in asio.
constexpr std::chrono::seconds call_timeout{10};
constexpr std::chrono::seconds raw_timeout{5};

[[noreturn]] void fail(const std::string& what, const beast::error_code& ec) {
  throw std::runtime_error(what + ": " + ec.message());
}

void connect(asio::io_context& ioc, beast::tcp_stream& stream,
             const std::string& host, uint16_t port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    fail("bad address " + host, ec);
  stream.expires_after(call_timeout);
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

http_reply
http_call(uint16_t port, const std::string& method, const std::string& target,
          const std::string& body,
          const std::vector<std::pair<std::string, std::string>>& headers,
          const std::string& host) {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  connect(ioc, stream, host, port);
  // Request.
  http::request<http::string_body> req;
  auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown)
    req.method_string(method);
  else
    req.method(verb);
  req.target(target);
  req.version(11);
  req.set(http::field::host, host + ":" + std::to_string(port));
  req.set(http::field::user_agent, "nod-test");
  for (const auto& [name, value] : headers)
    req.insert(name, value);
  req.body() = body;
  if (!body.empty() || verb == http::verb::post || verb == http::verb::put
      || verb == http::verb::patch)
    req.content_length(body.size());
  beast::error_code ec;
  stream.expires_after(call_timeout);
  http::async_write(stream, req, [&](beast::error_code e, size_t) {
    ec = e;
  });
  ioc.run();
  ioc.restart();
  if (ec)
    fail("cannot write " + method + " " + target, ec);
  // Response.
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  if (verb == http::verb::head)
    parser.skip(true);
  http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) {
    ec = e;
  });
  ioc.run();
  if (ec)
    fail("cannot read the response to " + method + " " + target, ec);
  auto& res = parser.get();
  http_reply reply;
  reply.status = res.result_int();
  reply.body = std::move(res.body());
  for (const auto& field : res)
    reply.headers.emplace_back(std::string{field.name_string()},
                               std::string{field.value()});
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return reply;
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

} // namespace nod::test
