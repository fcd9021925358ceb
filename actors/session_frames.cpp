#include "actors/session_frames.hpp"

#include "protocol/json.hpp"

namespace nod {

std::string error_frame(const std::optional<std::string>& request_id,
                        std::string_view detail) {
  json::writer w;
  w.start_object();
  w.field("type", "error");
  if (request_id) {
    w.key("request_id");
    w.raw_json(*request_id);
  }
  w.field("detail", detail);
  w.end_object();
  return w.str();
}

} // namespace nod
