#pragma once

// What logs say of a request: its id (X-Request-Id) and its path, with
// nothing in either that could be a credential. Beast-free.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nod::net {

/// Longest request id taken from a client's X-Request-Id.
constexpr size_t max_request_id = 128;

/// True if `id`, a client's X-Request-Id, may be the request's id: 1 to
/// `max_request_id` printable ASCII characters, no spaces (access lines
/// are space-separated `key=value` pairs).
bool acceptable_request_id(std::string_view id);

/// Writes `req_` + 16 lowercase hex digits of `n` into `out`, reusing its
/// buffer.
void format_request_id(uint64_t n, std::string& out);

/// Writes `target` as logs may show it into `out`, reusing its buffer:
/// without the query string (tokens travel there), and a trigger URL's id
/// (`/webhook/{trigger_id}`, a credential) cut to its first 12
/// characters, as the trigger's own log lines show it.
void loggable_path(std::string_view target, std::string& out);

} // namespace nod::net
