#pragma once

// What app and agent sessions share: the close codes (from protocol/),
// frames, and the way a session sends to and closes its client.

#include "protocol/close_codes.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// `{"type":"error","request_id":…,"detail":…}`; `request_id` is JSON text
/// and left out when absent.
std::string error_frame(const std::optional<std::string>& request_id,
                        std::string_view detail);

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

} // namespace nod
