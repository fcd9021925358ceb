#pragma once

// What app and agent sessions share: the close codes and frames (from
// protocol/), and the way a session sends to and closes its client.

#include "actors/actors.hpp"
#include "protocol/close_codes.hpp"
#include "protocol/frames.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// Sends `frame` to the session's client. A client that fell too far
/// behind has been closed by the network layer (it reloads or resumes when
/// it reconnects), so the session ends.
template <class Self>
void send_frame(Self* self, std::string frame) {
  if (!self->state.link.send(std::move(frame)))
    self->quit();
}

/// Closes the client with `code` and `reason` and ends the session.
template <class Self>
void close_and_quit(Self* self, uint16_t code, std::string reason) {
  self->state.link.close(code, std::move(reason));
  self->quit();
}

/// The behavior every session has (`app_session_actor`): frames go to
/// `on_auth_frame(self, text)` until the client authenticated, then to
/// `on_frame(self, text)`; pushes go out once authenticated; the socket's
/// end, a kick and the auth deadline end the session.
template <class Self, class OnAuthFrame, class OnFrame>
app_session_actor::behavior_type
session_behavior(Self* self, OnAuthFrame on_auth_frame, OnFrame on_frame) {
  return {
    [self, on_auth_frame, on_frame](frame_atom, const std::string& text) {
      auto& st = self->state;
      if (st.authenticated)
        on_frame(self, text);
      else if (!st.auth_pending)
        on_auth_frame(self, text);
      // Frames sent while the credentials are being checked are dropped:
      // the client must wait for auth_ok.
    },
    [self](push_atom, std::string& frame) {
      if (self->state.authenticated)
        send_frame(self, std::move(frame));
    },
    [self](closed_atom) {
      self->quit();
    },
    [self](kick_atom, uint16_t code, const std::string& reason) {
      close_and_quit(self, code, reason);
    },
    [self](timeout_atom) {
      auto& st = self->state;
      if (!st.authenticated && !st.auth_pending)
        close_and_quit(self, ws_close::auth_required, "auth timeout");
    },
  };
}

} // namespace nod
