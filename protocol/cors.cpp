#include "protocol/cors.hpp"

#include <algorithm>
#include <cctype>

namespace nod {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

/// `scheme://host[:port]` in lower case, as browsers send it; nothing for
/// anything else (a path, user info, another scheme).
std::optional<std::string> normal_origin(std::string_view text) {
  std::string out;
  for (char c : text)
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t rest = 0;
  if (out.rfind("http://", 0) == 0)
    rest = 7;
  else if (out.rfind("https://", 0) == 0)
    rest = 8;
  else
    return std::nullopt;
  auto host = std::string_view{out}.substr(rest);
  if (host.empty())
    return std::nullopt;
  auto colon = host.rfind(':');
  bool bracketed = !host.empty() && host.front() == '[';
  auto name = host;
  if (colon != std::string_view::npos
      && (!bracketed || host.find(']') < colon)) {
    auto port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5
        || !std::all_of(port.begin(), port.end(), [](char c) {
             return c >= '0' && c <= '9';
           }))
      return std::nullopt;
    name = host.substr(0, colon);
  }
  if (name.empty())
    return std::nullopt;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'
          || c == '[' || c == ']' || c == ':'))
      return std::nullopt;
  return out;
}

} // namespace

std::optional<cors_policy> cors_policy::parse(std::string_view text,
                                              std::string& error) {
  cors_policy p;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{}
                                           : text.substr(comma + 1);
    if (item.empty())
      continue;
    if (item == "*") {
      p.any_ = true;
      continue;
    }
    auto origin = normal_origin(item);
    if (!origin) {
      error = "not an origin: \"" + std::string{item}
              + "\" (scheme://host[:port], e.g. https://app.example.com, "
                "or *)";
      return std::nullopt;
    }
    if (std::find(p.origins_.begin(), p.origins_.end(), *origin)
        == p.origins_.end())
      p.origins_.push_back(std::move(*origin));
  }
  if (p.any_)
    p.origins_.clear();
  return p;
}

bool cors_policy::covers(std::string_view path) {
  return path.rfind("/api/agent/", 0) == 0 || path.rfind("/webhook/", 0) == 0;
}

bool cors_policy::allows(std::string_view origin) const {
  if (origin.empty())
    return false;
  if (any_)
    return true;
  auto normal = normal_origin(origin);
  return normal
         && std::find(origins_.begin(), origins_.end(), *normal)
              != origins_.end();
}

std::string cors_policy::to_string() const {
  if (any_)
    return "*";
  std::string out;
  for (auto& o : origins_)
    out += (out.empty() ? "" : ", ") + o;
  return out;
}

std::vector<std::pair<std::string, std::string>>
cors_policy::response_headers(std::string_view origin) const {
  // The origin itself rather than "*": credentials are headers, not
  // cookies, but a cache must still tell origins apart.
  return {{"Access-Control-Allow-Origin", std::string{origin}},
          {"Vary", "Origin"}};
}

std::vector<std::pair<std::string, std::string>>
cors_policy::preflight_headers() {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("Access-Control-Allow-Methods",
                   "GET, POST, PATCH, DELETE, OPTIONS");
  out.emplace_back("Access-Control-Allow-Headers",
                   "Content-Type, X-Nod-Agent-Id, X-Nod-Secret, "
                   "Idempotency-Key, X-Hub-Signature-256, X-Nod-Hops");
  out.emplace_back("Access-Control-Max-Age", "600");
  return out;
}

} // namespace nod
