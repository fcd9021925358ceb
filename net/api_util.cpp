#include "net/api_util.hpp"

#include "actors/error.hpp"

namespace nod::net {

http_response from_error(const caf::error& err) {
  auto code = code_of(err);
  if (code == ec::none)
    return error_response(503, "service unavailable");
  if (code == ec::rate_limited) {
    auto seconds = detail_of(err);
    auto res = error_response(429, "too many requests; try again in " + seconds
                                     + " s");
    res.headers.emplace_back("Retry-After", seconds);
    return res;
  }
  return error_response(http_status(code), detail_of(err));
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

} // namespace nod::net
