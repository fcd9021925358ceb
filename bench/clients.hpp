#pragma once

// nod-bench's load clients: asynchronous Beast connections, each looping
// one operation with one in flight (see phase.hpp), and the helpers they
// share. The webhook phase's are in webhook.hpp.

#include "bench/common.hpp"
#include "bench/phase.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <rapidjson/document.h>
#include <string>

namespace nod::bench {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

using response = http::response<http::string_body>;
using ws_stream = websocket::stream<beast::tcp_stream>;

/// "HTTP <status> <body, clipped>" of `res`.
inline std::string describe(const response& res) {
  return describe(res.result_int(), res.body());
}

/// The frame read into `buffer`, parsed; its text stays in `text` for error
/// messages and the buffer is emptied for the next read.
rapidjson::Document take_ws_frame(beast::flat_buffer& buffer,
                                  std::string& text);

/// Why a read on `ws` failed, with the close code if the server closed it.
std::string ws_read_error(ws_stream& ws, beast::error_code ec);

/// The agent's auth frame (A3), asking for acks (A6) if `acks`.
std::string auth_frame(const agent_creds& a, bool acks = false);

/// A person's chat message: POST /api/agents/{id}/messages with the
/// admin's token and `text` (B2), to the node whose Host header is `host`.
void build_message_request(http::request<http::string_body>& req,
                           const std::string& host, const std::string& agent_id,
                           const std::string& token, const std::string& text);

/// healthz: GET /healthz on a keep-alive connection.
void start_healthz_client(net::io_context& io, phase_state& st,
                          conn_stats& stats, size_t index);

/// rest: POST /api/agent/events as `agent` on a keep-alive connection.
void start_rest_client(net::io_context& io, phase_state& st, conn_stats& stats,
                       size_t index, const agent_creds* agent);

/// ws: message/result round trips on `agent`'s WebSocket.
void start_ws_client(net::io_context& io, phase_state& st, conn_stats& stats,
                     size_t index, const agent_creds* agent);

/// reply, reply-acks: a person's message until `agent`'s WebSocket has it
/// (reply_client.cpp).
void start_reply_client(net::io_context& io, phase_state& st, conn_stats& stats,
                        size_t index, const agent_creds* agent,
                        const std::string* token, bool acks);

} // namespace nod::bench
