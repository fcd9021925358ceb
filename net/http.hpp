#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// Beast-free request/response types, so handlers and the actors they talk to
// never see asio objects (an actor holding one can outlive the io_context:
// a use-after-free under ASan).

namespace nod::net {

/// One HTTP request as handlers see it: fully read, body included.
struct http_request {
  std::string method;
  /// Path without the query string, percent-decoding not applied.
  std::string path;
  /// Raw query string without `?`, may be empty.
  std::string query;
  /// Header names in lower case, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Peer address, `ip:port`.
  std::string remote;
  /// The client's address without the port: the peer's, or, when the peer
  /// is a trusted proxy (`trusted-proxies`), the one its `X-Forwarded-For`
  /// names. What throttling counts by.
  std::string client;
  /// Values of `{name}` segments of the matched route, in order.
  std::vector<std::pair<std::string, std::string>> params;

  /// Value of header `name` (lower case), or empty.
  const std::string& header(const std::string& name) const;
  /// Value of route parameter `name`, or empty.
  const std::string& param(const std::string& name) const;
  /// Decoded value of query parameter `name`, if present.
  bool query_param(const std::string& name, std::string& out) const;
};

/// One HTTP response as handlers build it.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Extra headers, e.g. `Retry-After`.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// A JSON response `{"detail": detail}` with the given status.
http_response error_response(unsigned status, const std::string& detail);

/// A JSON response with the given status and already serialized body.
http_response json_response(unsigned status, std::string body);

/// Sends the response for one request. Callable from any thread (an actor's
/// included), at most once; a call after the connection closed or the
/// server stopped is dropped.
using responder = std::function<void(http_response)>;

/// Handles one request; must not block. Calls `respond` exactly once, now or
/// later from any thread.
using handler = std::function<void(const http_request&, responder respond)>;

/// A gate's answer, given later: nothing lets the body be read, a response
/// refuses the request. Callable from any thread, at most once.
using gate_decision = std::function<void(std::optional<http_response>)>;

/// What a route's gate says of a request once its headers are read and
/// before its body is (credentials, sizes): by default, read the body.
struct gate_verdict {
  /// Refuse now with this response; the body is never read.
  std::optional<http_response> refuse;
  /// Decide later: called once, at once, with the callback that takes the
  /// decision (e.g. after asking an actor).
  std::function<void(gate_decision)> later;
  /// A smaller body limit for this route than `max-body-bytes`.
  std::optional<uint64_t> body_limit;

  /// Refuses with `res`.
  static gate_verdict refused(http_response res) {
    gate_verdict v;
    v.refuse = std::move(res);
    return v;
  }
};

/// Runs on an io thread for a request that has a body, with everything but
/// the body (`body` empty); must not block.
using gate = std::function<gate_verdict(const http_request& head)>;

} // namespace nod::net
