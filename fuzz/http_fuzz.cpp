// HTTP requests as the server reads them: Beast's parser with the server's
// header limit, one request after another on a kept-alive connection, then
// the conversion handlers see (net/beast_request.hpp), routing over the
// server's route table (net/router.hpp), query and header lookups and the
// client address behind a trusted proxy. Properties: header names arrive in
// lower case; a path never holds the query; a match binds every
// placeholder; a 405 names the methods allowed.

#include "fuzz/fuzz_check.hpp"
#include "net/beast_request.hpp"
#include "net/router.hpp"
#include "protocol/address_policy.hpp"

#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>

namespace {

namespace http = boost::beast::http;
using nod::net::router;

// The server's routes when this target was written (net/*.cpp).
const char* const routes[][2] = {
  {"DELETE", "/api/agents/{id}"},
  {"DELETE", "/api/tasks/{id}"},
  {"GET", "/api/activity"},
  {"GET", "/api/agent/decisions/{id}"},
  {"GET", "/api/agent/inbox"},
  {"GET", "/api/agent/tasks"},
  {"GET", "/api/agent/tasks/due"},
  {"GET", "/api/agent/tasks/triggers/pending"},
  {"GET", "/api/agents"},
  {"GET", "/api/agents/{id}"},
  {"GET", "/api/agents/{id}/conversations"},
  {"GET", "/api/agents/{id}/deliveries"},
  {"GET", "/api/conversations/{id}/messages"},
  {"GET", "/api/decisions"},
  {"GET", "/api/decisions/{id}"},
  {"GET", "/api/me"},
  {"GET", "/api/tasks"},
  {"GET", "/api/tasks/{id}"},
  {"GET", "/api/tasks/{id}/runs"},
  {"GET", "/healthz"},
  {"GET", "/media/{id}"},
  {"GET", "/readyz"},
  {"PATCH", "/api/agents/{id}"},
  {"PATCH", "/api/tasks/{id}"},
  {"POST", "/api/agent/events"},
  {"POST", "/api/agent/inbox/ack"},
  {"POST", "/api/agent/tasks"},
  {"POST", "/api/agent/tasks/runs/{run_id}/complete"},
  {"POST", "/api/agent/tasks/{task_id}/run/complete"},
  {"POST", "/api/agent/tasks/{task_id}/run/start"},
  {"POST", "/api/agents"},
  {"POST", "/api/agents/{id}/messages"},
  {"POST", "/api/agents/{id}/secret"},
  {"POST", "/api/agents/{id}/webhook-secret"},
  {"POST", "/api/auth/login"},
  {"POST", "/api/auth/logout"},
  {"POST", "/api/decisions/{id}/resolve"},
  {"POST", "/api/tasks/{agent_id}"},
  {"POST", "/api/tasks/{id}/run"},
  {"POST", "/api/users"},
  {"POST", "/webhook/{trigger_id}"},
};

const router& table() {
  static const router r = [] {
    router r;
    for (auto& [method, pattern] : routes)
      r.add(method, pattern, [](const nod::net::http_request&, auto) {});
    return r;
  }();
  return r;
}

size_t placeholders(const std::string& pattern) {
  size_t n = 0;
  for (char c : pattern)
    n += c == '{';
  return n;
}

const std::vector<nod::ip_network>& trusted() {
  static const auto nets = [] {
    std::string error;
    return *nod::parse_network_list("127.0.0.0/8, ::1, 10.0.0.0/8", error);
  }();
  return nets;
}

void check_request(const http::request<http::string_body>& msg) {
  auto req = nod::net::to_http_request(msg);
  FUZZ_CHECK(req.path.find('?') == std::string::npos);
  for (auto& [name, value] : req.headers)
    for (char c : name)
      FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  auto found = table().match(req.method, req.path);
  if (found.target != nullptr) {
    FUZZ_CHECK(!found.route.empty());
    FUZZ_CHECK(found.params.size() == placeholders(found.route));
    for (auto& [name, value] : found.params)
      FUZZ_CHECK(!name.empty());
  } else if (found.method_not_allowed) {
    FUZZ_CHECK(!found.allow.empty() && !found.route.empty());
  }
  req.params = std::move(found.params);
  std::string value;
  for (auto* name : {"limit", "before", "status", "timeout", "after_seq"})
    req.query_param(name, value);
  (void)req.header("authorization");
  (void)req.param("id");
  auto peer = nod::ip_address::v4(0x7f000001);
  auto client
    = nod::forwarded_client(peer, nod::net::forwarded_for(req), trusted());
  (void)nod::address_bucket(client.to_string());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::asio::const_buffer input{data, size};
  // Requests one after another, as on a kept-alive connection.
  while (input.size() > 0) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(nod::net::request_header_limit);
    parser.body_limit(1024 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!ec && !parser.is_done()) {
      input += parser.put(input, ec);
      // All there is has been given: the rest is the end of the stream.
      if (ec == http::error::need_more || (!ec && input.size() == 0)) {
        ec = {};
        parser.put_eof(ec);
        break;
      }
    }
    if (ec)
      return 0;
    check_request(parser.get());
  }
  return 0;
}
