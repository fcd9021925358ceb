#pragma once

#include <cstdint>
#include <string>

namespace nod {

/// Error codes of the project. Carried in `caf::error` (category "nod")
/// between actors and mapped to HTTP statuses at the edge.
enum class ec : uint8_t {
  /// Not an error.
  none = 0,
  /// A request field is missing or invalid (HTTP 400).
  invalid_argument,
  /// Missing or wrong credentials (HTTP 401).
  unauthenticated,
  /// Authenticated but not allowed (HTTP 403).
  forbidden,
  /// The object does not exist or is not visible (HTTP 404).
  not_found,
  /// Already resolved, completed or existing (HTTP 409).
  conflict,
  /// Too many requests (HTTP 429).
  rate_limited,
  /// The store failed to read or write (HTTP 503).
  storage_error,
  /// The server is shutting down (HTTP 503).
  shutting_down,
  /// Well-formed but at odds with an earlier request, e.g. an
  /// `Idempotency-Key` reused with another body (HTTP 422).
  unprocessable,
};

/// Name of `x`, e.g. "storage_error".
std::string to_string(ec x);

/// HTTP status for `x` (500 for unknown codes).
unsigned http_status(ec x);

} // namespace nod
