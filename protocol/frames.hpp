#pragma once

// Frames app and agent sessions answer with over the WebSocket (API.md A3,
// B3), as pure functions of what the client sent.

#include "protocol/json.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// `request_id` of a frame as JSON text (a string is quoted), if any.
/// A request id is a string or a number (A3 says any string; numbers are a
/// courtesy); other values are not echoed.
std::optional<std::string> request_id_of(const json::value& frame);

/// `{"type":"error","request_id":…,"detail":…}`; `request_id` is JSON text
/// and left out when absent.
std::string error_frame(const std::optional<std::string>& request_id,
                        std::string_view detail);

/// `{"type":"result","request_id":…, …reply fields}`: `reply` is the JSON
/// object REST would answer with.
std::string result_frame(const std::optional<std::string>& request_id,
                         std::string_view reply);

} // namespace nod
