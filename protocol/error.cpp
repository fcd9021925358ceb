#include "protocol/error.hpp"

namespace nod {

std::string to_string(ec x) {
  switch (x) {
    case ec::none: return "none";
    case ec::invalid_argument: return "invalid_argument";
    case ec::unauthenticated: return "unauthenticated";
    case ec::forbidden: return "forbidden";
    case ec::not_found: return "not_found";
    case ec::conflict: return "conflict";
    case ec::rate_limited: return "rate_limited";
    case ec::storage_error: return "storage_error";
    case ec::shutting_down: return "shutting_down";
    case ec::unprocessable: return "unprocessable";
  }
  return "unknown";
}

unsigned http_status(ec x) {
  switch (x) {
    case ec::none: return 200;
    case ec::invalid_argument: return 400;
    case ec::unauthenticated: return 401;
    case ec::forbidden: return 403;
    case ec::not_found: return 404;
    case ec::conflict: return 409;
    case ec::rate_limited: return 429;
    case ec::storage_error: return 503;
    case ec::shutting_down: return 503;
    case ec::unprocessable: return 422;
  }
  return 500;
}

} // namespace nod
