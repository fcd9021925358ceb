// The agent WebSocket's frame path: raw bytes from a client, after the
// upgrade, through Beast's server-side WebSocket reader with the server's
// settings (masking, fragmentation, control frames, UTF-8 of text, the
// frame limit), then each text message as an agent session reads it (the
// auth frame, or a frame with a type: ping, ack, an event) and the reply
// frame it would send. Property: every reply is a JSON object, whatever the
// client's request_id was.

#include "config/config.hpp"
#include "fuzz/fuzz_check.hpp"
#include "protocol/events.hpp"
#include "protocol/frames.hpp"
#include "protocol/text.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstddef>
#include <cstdint>

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using namespace nod;

constexpr std::string_view upgrade
  = "GET /ws/agents/agt_0123456789abcdef HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

void check_reply(const std::string& frame) {
  json::document doc;
  json::field_error err;
  FUZZ_CHECK(json::parse_object(frame, doc, err));
}

// What agent_session does with one text message (actors/agent_session.cpp).
void on_message(std::string_view text, bool authenticated) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(text, doc, err)) {
    check_reply(error_frame(std::nullopt, err.message));
    return;
  }
  auto request_id = request_id_of(doc);
  std::optional<std::string> type;
  if (!json::get_string(doc, "type", 64, type, err) || !type) {
    check_reply(
      error_frame(request_id, type ? err.message : "type: is required"));
    return;
  }
  if (!authenticated || *type == "auth") {
    std::optional<std::string> secret, agent_id;
    std::optional<bool> acks;
    std::optional<int64_t> resume_from;
    (void)(json::get_string(doc, "secret", 256, secret, err)
           && json::get_string(doc, "agent_id", 64, agent_id, err)
           && json::get_bool(doc, "acks", acks, err)
           && json::get_int(doc, "resume_from", 0, INT64_MAX, resume_from,
                            err));
    return;
  }
  if (*type == "ack") {
    std::optional<int64_t> seq;
    if (!json::get_int(doc, "seq", 0, INT64_MAX, seq, err) || !seq)
      check_reply(
        error_frame(request_id, seq ? err.message : "seq: is required"));
    return;
  }
  agent_event ev;
  if (!parse_agent_event(doc, ev, err)) {
    check_reply(error_frame(request_id, err.message));
    return;
  }
  check_reply(result_frame(request_id, R"({"id":"msg_0123456789abcdef"})"));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const size_t max_frame = nod::config{}.max_frame_bytes;
  boost::asio::io_context ioc;
  beast::test::stream peer{ioc};
  websocket::stream<beast::test::stream> ws{ioc};
  ws.next_layer().connect(peer);
  ws.next_layer().append({upgrade.data(), upgrade.size()});
  ws.next_layer().append({reinterpret_cast<const char*>(data), size});
  ws.next_layer().close_remote();
  ws.read_message_max(max_frame);
  beast::error_code ec;
  ws.accept(ec);
  FUZZ_CHECK(!ec);
  beast::flat_buffer buffer;
  bool authenticated = false;
  for (;;) {
    ws.read(buffer, ec);
    if (ec)
      break;
    if (ws.got_text()) {
      auto text = beast::buffers_to_string(buffer.data());
      // Beast lets a message whose last UTF-8 sequence is cut short
      // through when its final frame is empty; the server closes with
      // 1007 then (net/websocket_session.cpp).
      if (!text::valid_utf8(text))
        break;
      on_message(text, authenticated);
      authenticated = true;
    }
    buffer.consume(buffer.size());
  }
  return 0;
}
