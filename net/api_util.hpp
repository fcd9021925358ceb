#pragma once

// Helpers shared by the REST handlers of the app and agent APIs.

#include "net/http.hpp"
#include "protocol/json.hpp"

#include <caf/fwd.hpp>

namespace nod::net {

/// The HTTP answer for an actor's error: the project's codes map to their
/// statuses with the detail as `{"detail"}`; `rate_limited` carries the
/// seconds to wait as detail and becomes 429 with `Retry-After`; any other
/// error (an actor gone or too slow) is 503.
http_response from_error(const caf::error& err);

/// Parses the JSON object body of `req` into `doc`. Answers 415 for a
/// non-JSON content type or 400 naming the problem, and returns false.
bool read_body(const http_request& req, const responder& respond,
               json::document& doc);

} // namespace nod::net
