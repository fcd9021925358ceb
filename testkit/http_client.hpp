#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// Tiny synchronous HTTP/1.1 and WebSocket clients for tests and for
// nod-bench's setup and probes (its load runs on its own asynchronous
// clients). Each call drives its operations with a deadline on a private
// io_context. Beast stays in the .cpp.

namespace nod::testkit {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// What the server answered.
struct http_reply {
  unsigned status = 0;
  std::string body;
  /// Header fields as received (names as the server spelled them).
  header_list headers;

  /// Value of header `name` (case-insensitive), or empty.
  std::string header(const std::string& name) const;
};

/// A keep-alive HTTP/1.1 connection to one server, opened on the first
/// call and again whenever the server closed it.
class http_session {
public:
  /// `address` is an IP address; `host_header` defaults to
  /// "`address`:`port`".
  http_session(const std::string& address, uint16_t port,
               std::string host_header = {});
  ~http_session();

  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

  /// The `User-Agent` of every request (default "nod-test").
  void user_agent(std::string value);

  /// How long connecting may take, and then each of writing the request
  /// and reading the response (default 10 s each).
  void timeouts(std::chrono::milliseconds connect,
                std::chrono::milliseconds call);

  /// Sends a request and reads the response. `method` may be any token;
  /// `headers` are added as they are. A request with a body (or a POST,
  /// PUT or PATCH) gets its Content-Length. A request on a connection
  /// that served an earlier one is sent again, once, on a fresh connection
  /// if it fails: the server may have closed it meanwhile. Throws
  /// std::runtime_error when connecting, writing or reading fails.
  http_reply call(const std::string& method, const std::string& target,
                  const std::string& body = {},
                  const header_list& headers = {});

  /// Shuts the connection down, if one is open.
  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Sends one request on a fresh connection and reads the response (10 s
/// timeout). Throws std::runtime_error when connecting, writing or reading
/// fails.
http_reply http_call(uint16_t port, const std::string& method,
                     const std::string& target, const std::string& body = {},
                     const header_list& headers = {},
                     const std::string& host = "127.0.0.1");

/// Connects to 127.0.0.1:`port`, sends `bytes` as they are, then reads until
/// the peer closes or 5 s pass, and returns what was read. Throws
/// std::runtime_error when connecting fails.
std::string raw_exchange(uint16_t port, const std::string& bytes);

/// A synchronous WebSocket client. Each call drives the
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

  /// Connects to 127.0.0.1:`port` and asks to upgrade `target`, with `headers`
  /// added to the request. Returns the status of the answer: 101 when the
  /// WebSocket is open. Throws std::runtime_error when connecting or the
  /// exchange fails (10 s timeout).
  unsigned connect(uint16_t port, const std::string& target,
                   const header_list& headers = {});

  /// `connect` to `address` (an IP address) with `host_header` as the
  /// request's Host.
  unsigned connect_to(const std::string& address, uint16_t port,
                      const std::string& host_header, const std::string& target,
                      const header_list& headers = {});

  /// The `User-Agent` of the upgrade request (default "nod-test"); call
  /// before `connect`.
  void user_agent(std::string value);

  /// The answer to the upgrade request (its body when declined).
  const http_reply& handshake_reply() const;

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

  /// The code in the close frame received (1006 if the connection ended
  /// without one; 0 while open).
  uint16_t close_code() const;

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

} // namespace nod::testkit
