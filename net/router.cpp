#include "net/router.hpp"

#include "protocol/text.hpp"

#include <algorithm>
#include <string_view>

namespace nod::net {

namespace {

// Splits `/a/b/c` into `a`, `b`, `c`. A trailing slash yields an empty last
// segment, so `/api/agents/` and `/api/agents` never match each other.
template <class String>
std::vector<String> split_path(std::string_view path) {
  std::vector<String> out;
  if (path.empty() || path.front() != '/')
    return out;
  path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_placeholder(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// True if `segments` (a pattern) matches `path`.
bool matches(const std::vector<std::string>& segments,
             const std::vector<std::string_view>& path) {
  if (segments.size() != path.size())
    return false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (is_placeholder(segments[i])) {
      // A placeholder needs a value: `/api/agents/` is not `{id}` = "".
      if (path[i].empty())
        return false;
    } else if (segments[i] != path[i]) {
      return false;
    }
  }
  return true;
}

// Negative if `a` is more specific than `b`: the first segment where one is
// literal and the other a placeholder decides.
int compare_specificity(const std::vector<std::string>& a,
                        const std::vector<std::string>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    bool pa = is_placeholder(a[i]);
    bool pb = is_placeholder(b[i]);
    if (pa != pb)
      return pa ? 1 : -1;
  }
  return 0;
}

} // namespace

void router::add(std::string method, std::string pattern, handler h, gate g) {
  auto segments = split_path<std::string>(pattern);
  routes_.push_back(route{std::move(method), std::move(pattern),
                          std::move(segments), std::move(h), std::move(g)});
}

router::match_result router::match(const std::string& method,
                                   const std::string& path) const {
  match_result result;
  auto parts = split_path<std::string_view>(path);
  if (parts.empty())
    return result;
  const route* best = nullptr;
  bool best_exact = false;
  const route* best_any = nullptr; // Most specific path match, any method.
  std::vector<std::string_view> methods;
  for (const auto& r : routes_) {
    if (!matches(r.segments, parts))
      continue;
    if (best_any == nullptr
        || compare_specificity(r.segments, best_any->segments) < 0)
      best_any = &r;
    // Collect every method of the path for a possible 405.
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end())
      methods.push_back(r.method);
    bool exact = r.method == method;
    bool fallback = !exact && method == "HEAD" && r.method == "GET";
    if (!exact && !fallback)
      continue;
    if (best == nullptr) {
      best = &r;
      best_exact = exact;
      continue;
    }
    auto cmp = compare_specificity(r.segments, best->segments);
    // More specific wins; at equal specificity an exact method beats the
    // HEAD-to-GET fallback, and otherwise the earlier route wins.
    if (cmp < 0 || (cmp == 0 && exact && !best_exact)) {
      best = &r;
      best_exact = exact;
    }
  }
  if (best != nullptr) {
    result.target = &best->h;
    if (best->g)
      result.check = &best->g;
    result.route = best->pattern;
    for (size_t i = 0; i < parts.size(); ++i)
      if (is_placeholder(best->segments[i]))
        result.params.emplace_back(
          best->segments[i].substr(1, best->segments[i].size() - 2),
          text::percent_decode(parts[i], text::plus::literal));
  } else if (best_any != nullptr) {
    result.route = best_any->pattern;
    result.method_not_allowed = true;
    for (auto m : methods) {
      if (!result.allow.empty())
        result.allow += ", ";
      result.allow += m;
    }
  }
  return result;
}

std::vector<std::pair<std::string, std::string>> router::list() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& r : routes_)
    out.emplace_back(r.method, r.pattern);
  return out;
}

} // namespace nod::net
