#include "net/api_util.hpp"

#include "actors/error.hpp"
#include "protocol/ids.hpp"

#include <charconv>

namespace nod::net {

http_response from_error(const caf::error& err) {
  auto code = code_of(err);
  if (code == ec::rate_limited) {
    auto seconds = detail_of(err);
    auto res = error_response(429, "too many requests; try again in " + seconds
                                     + " s");
    res.headers.emplace_back("Retry-After", seconds);
    return res;
  }
  // Not one of the project's errors: an actor gone or too slow.
  auto res = code == ec::none
               ? error_response(503, "service unavailable")
               : error_response(http_status(code), detail_of(err));
  // Unavailable is for now (an actor gone, a journal that cannot write, a
  // cluster node that lost its lease): clients may come back.
  if (res.status == 503)
    res.headers.emplace_back("Retry-After", "1");
  return res;
}

bool read_body(const http_request& req, const responder& respond,
               json::document& doc) {
  auto& type = req.header("content-type");
  if (!type.empty() && type.find("application/json") == std::string::npos
      && type.find("+json") == std::string::npos) {
    respond(error_response(415, "content-type must be application/json"));
    return false;
  }
  json::field_error err;
  if (!json::parse_object(req.body.empty() ? "{}" : req.body, doc, err)) {
    respond(error_response(400, err.message));
    return false;
  }
  return true;
}

/// Reads `limit` (1-200) into `out`, kept when absent.
bool read_limit(const http_request& req, const responder& respond,
                uint32_t& out) {
  std::string text;
  if (req.query_param("limit", text)) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || ptr != text.data() + text.size() || n < 1
        || n > 200) {
      respond(error_response(400, "limit: must be an integer from 1 to 200"));
      return false;
    }
    out = static_cast<uint32_t>(n);
  }
  return true;
}

/// Reads `limit` (1-200, default 50) and `before` (an id with `prefix`).
bool read_page(const http_request& req, const responder& respond,
               std::string_view prefix, page_query& out) {
  if (!read_limit(req, respond, out.limit))
    return false;
  std::string text;
  if (req.query_param("before", text) && !text.empty()) {
    out.before = parse_id64(prefix, text);
    if (!out.before) {
      respond(error_response(400, "before: must be an id like "
                                    + std::string{prefix} + "…"));
      return false;
    }
  }
  return true;
}

/// The id in the path, or a 404.
std::optional<uint64_t> path_id(const http_request& req, const char* param,
                                std::string_view prefix,
                                const responder& respond) {
  auto id = parse_id64(prefix, req.param(param));
  if (!id)
    respond(error_response(404, "not found"));
  return id;
}

bool read_decision_status(const http_request& req, const responder& respond,
                          std::string& out) {
  static const char* const statuses[]
    = {"pending",  "resolved",  "expired",  "approved",
       "rejected", "responded", "dismissed"};
  std::string text;
  if (!req.query_param("status", text) || text.empty())
    return true;
  for (auto* status : statuses)
    if (text == status) {
      out = std::move(text);
      return true;
    }
  respond(error_response(400, "status: must be pending, resolved, expired, "
                              "approved, rejected, responded or dismissed"));
  return false;
}

} // namespace nod::net
