#pragma once

// The seam between a WebSocket and the actor that serves it, shared by the
// app and agent sockets: the actor gets a `client_link` that queues frames
// on the connection, and the connection's callbacks become messages to the
// actor.

#include "actors/actors.hpp"
#include "net/websocket.hpp"

#include <caf/send.hpp>
#include <memory>
#include <utility>

namespace nod::net {

/// A `client_link` onto `conn` of a client at address `client`; safe to
/// call from any thread, and after the connection or the server is gone.
inline client_link link_to(const std::shared_ptr<ws_connection>& conn,
                           std::string client) {
  return {[conn](std::string frame) {
            return conn->send(std::move(frame));
          },
          [conn](std::string frame, std::function<void(bool)> on_done) {
            return conn->send(std::move(frame), std::move(on_done));
          },
          [conn](uint16_t code, std::string reason) {
            conn->close(code, std::move(reason));
          },
          std::move(client)};
}

/// Callbacks that forward `conn`'s text frames and its end to `session`;
/// binary frames close the socket with 1003 (the APIs speak JSON text).
inline ws_callbacks forward_to(const app_session_actor& session,
                               const std::shared_ptr<ws_connection>& conn) {
  ws_callbacks cb;
  cb.on_text = [session](std::string text) {
    caf::anon_send(session, frame_atom::value, std::move(text));
  };
  cb.on_binary = [conn] {
    conn->close(ws_close::unsupported_data, "text frames only");
  };
  cb.on_closed = [session](uint16_t) {
    caf::anon_send(session, closed_atom::value);
  };
  return cb;
}

} // namespace nod::net
