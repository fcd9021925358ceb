#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// Tiny synchronous HTTP/1.1 and WebSocket clients for tests. Beast stays in
// the .cpp.

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

/// A synchronous WebSocket client to 127.0.0.1. Each call drives the
/// connection until it is done or its deadline passes. The client answers
/// the server's pings only while it reads: one that never calls a read
/// function behaves like a peer that stopped reading.
class ws_client {
public:
  ws_client();
  ~ws_client();

  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// Shrinks the socket's receive buffer to `bytes`; call before
  /// `connect`. Makes a client that never reads back the server up soon.
  void receive_buffer(int bytes);

  /// Connects to `port` and asks to upgrade `target`, with `headers`
  /// added to the request. Returns the status of the answer: 101 when the
  /// WebSocket is open. Throws std::runtime_error when connecting or the
  /// exchange fails (10 s timeout).
  unsigned
  connect(uint16_t port, const std::string& target,
          const std::vector<std::pair<std::string, std::string>>& headers = {});

  /// Sends a text message; false if the connection failed.
  bool send_text(const std::string& text);

  /// Sends a binary message; false if the connection failed.
  bool send_binary(const std::string& data);

  /// The next message (text or binary), or nothing if none came within
  /// `timeout` or the connection ended (see `closed`). A read that timed
  /// out stays pending and the next call continues it: nothing is lost.
  std::optional<std::string> read_text(std::chrono::milliseconds timeout
                                       = std::chrono::seconds(5));

  /// Reads and drops messages until the connection ends. Returns the close
  /// code received, 1006 if it ended without a close frame, 0 if it was
  /// still open after `timeout`.
  uint16_t read_until_close(std::chrono::milliseconds timeout
                            = std::chrono::seconds(5));

  /// True once the connection ended.
  bool closed() const;

  /// The reason in the close frame received, if any.
  const std::string& close_reason() const;

  /// Sends a close frame with `code` and waits up to 5 s for the server's
  /// answer. Returns the code the server answered with, 1006 if none.
  uint16_t close(uint16_t code = 1000);

  /// Drops the TCP connection without a close frame.
  void drop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace nod::test
