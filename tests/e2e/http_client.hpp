#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

// A tiny synchronous HTTP/1.1 client for tests. Beast stays in the .cpp.

namespace nod::test {

/// What the server answered.
struct http_reply {
  unsigned status = 0;
  std::string body;
  /// Header fields as received (names as the server spelled them).
  std::vector<std::pair<std::string, std::string>> headers;

  /// Value of header `name` (case-insensitive), or empty.
  std::string header(const std::string& name) const;
};

/// Sends one request on a fresh connection and reads the response (10 s
/// timeout). Throws std::runtime_error when connecting, writing or reading
/// fails.
http_reply
http_call(uint16_t port, const std::string& method, const std::string& target,
          const std::string& body = {},
          const std::vector<std::pair<std::string, std::string>>& headers = {},
          const std::string& host = "127.0.0.1");

/// Connects to 127.0.0.1:`port`, sends `bytes` as they are, then reads until
/// the peer closes or 5 s pass, and returns what was read. Throws
/// std::runtime_error when connecting fails.
std::string raw_exchange(uint16_t port, const std::string& bytes);

} // namespace nod::test
