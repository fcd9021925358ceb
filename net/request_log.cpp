#include "net/request_log.hpp"

namespace nod::net {

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > max_request_id)
    return false;
  for (char c : id)
    if (c <= ' ' || c > '~')
      return false;
  return true;
}

void format_request_id(uint64_t n, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out.assign("req_");
  for (int shift = 60; shift >= 0; shift -= 4)
    out.push_back(hex[(n >> shift) & 0xf]);
}

void loggable_path(std::string_view target, std::string& out) {
  constexpr std::string_view trigger_route = "/webhook/";
  constexpr size_t trigger_shown = 12; // "trg_" and 8 of its 32 digits
  auto path = target.substr(0, target.find('?'));
  if (path.substr(0, trigger_route.size()) == trigger_route
      && path.size() > trigger_route.size() + trigger_shown) {
    out.assign(path.substr(0, trigger_route.size() + trigger_shown));
    out.append("\u2026");
    return;
  }
  out.assign(path);
}

} // namespace nod::net
