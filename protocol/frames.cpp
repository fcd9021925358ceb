#include "protocol/frames.hpp"

namespace nod {

std::optional<std::string> request_id_of(const json::value& frame) {
  if (!frame.IsObject())
    return std::nullopt;
  auto i = frame.FindMember("request_id");
  if (i == frame.MemberEnd() || !(i->value.IsString() || i->value.IsNumber()))
    return std::nullopt;
  return json::to_string(i->value);
}

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

std::string result_frame(const std::optional<std::string>& request_id,
                         std::string_view reply) {
  std::string out = R"({"type":"result",)";
  if (request_id)
    out += "\"request_id\":" + *request_id + ",";
  out += reply.substr(1); // the reply's fields and closing brace
  return out;
}

} // namespace nod
