#pragma once

// The one conversion from a parsed Beast request to the Beast-free
// `http_request` handlers see. Shared by the server and the HTTP fuzz
// target, so the fuzzer exercises exactly what the server runs.

#include "net/http.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>

namespace nod::net {

/// Header block limit of a request, in bytes (431 beyond it).
constexpr uint32_t request_header_limit = 16 * 1024;

/// Method, path, query and headers (names lower-cased, in arrival order)
/// of `msg`; body, peer and client are left to the caller.
http_request to_http_request(
  const boost::beast::http::request<boost::beast::http::string_body>& msg);

/// Every `X-Forwarded-For` of `req` as one list, in order: a proxy may add
/// its own header instead of extending the client's.
std::string forwarded_for(const http_request& req);

/// As above, for a request as Beast parsed it.
std::string forwarded_for(
  const boost::beast::http::request<boost::beast::http::string_body>& msg);

} // namespace nod::net
