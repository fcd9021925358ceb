#pragma once

// Helpers shared by the REST handlers of the app and agent APIs.

#include "actors/actors.hpp"
#include "net/http.hpp"
#include "protocol/json.hpp"

#include <caf/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod::net {

/// The HTTP answer for an actor's error: the project's codes map to their
/// statuses with the detail as `{"detail"}`; `rate_limited` carries the
/// seconds to wait as detail and becomes 429 with `Retry-After`; any other
/// error (an actor gone or too slow) is 503. Every 503 says `Retry-After:
/// 1`.
http_response from_error(const caf::error& err);

/// Parses the JSON object body of `req` into `doc`. Answers 415 for a
/// non-JSON content type or 400 naming the problem, and returns false.
bool read_body(const http_request& req, const responder& respond,
               json::document& doc);

/// Reads the JSON object body of `req` and hands it to `parse(doc, err)`,
/// which fills the handler's input. Answers as `read_body` does, or 400
/// with `err`'s message when `parse` returns false, and returns false.
template <class Parse>
bool read_input(const http_request& req, const responder& respond,
                Parse&& parse) {
  json::document doc;
  if (!read_body(req, respond, doc))
    return false;
  json::field_error err;
  if (!parse(doc, err)) {
    respond(error_response(400, err.message));
    return false;
  }
  return true;
}

/// Reads `limit` (1-200) into `out`, kept when absent; 400 otherwise.
bool read_limit(const http_request& req, const responder& respond,
                uint32_t& out);

/// Reads `limit` (1-200, default 50) and `before` (an id with `prefix`).
bool read_page(const http_request& req, const responder& respond,
               std::string_view prefix, page_query& out);

/// The id with `prefix` in path parameter `param`, or a 404.
std::optional<uint64_t> path_id(const http_request& req, const char* param,
                                std::string_view prefix,
                                const responder& respond);

/// Reads the `status` filter of a decision list into `out`: pending,
/// resolved (any answer), expired, or one answer (approved, rejected,
/// responded, dismissed); 400 for anything else.
bool read_decision_status(const http_request& req, const responder& respond,
                          std::string& out);

} // namespace nod::net
