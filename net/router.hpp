#pragma once

#include "net/http.hpp"

#include <string>
#include <vector>

namespace nod::net {

/// Maps method + path pattern to handlers. Patterns are literal segments
/// and `{name}` placeholders, e.g. `/api/agents/{id}`.
class router {
public:
  /// Adds a route. Later routes never shadow earlier ones with the same
  /// pattern; literal segments win over placeholders. `g`, when set, sees
  /// each request with a body before the body is read.
  void add(std::string method, std::string pattern, handler h, gate g = {});

  /// What `match` found.
  struct match_result {
    /// Null when no route matched (404) or only other methods did (405).
    const handler* target = nullptr;
    /// The route's gate; null when it has none (or no route matched).
    const gate* check = nullptr;
    /// The matched pattern, used as the `route` label in metrics; for a
    /// 405 the most specific pattern of the path; empty when no pattern
    /// matched the path.
    std::string route;
    /// True when the path matched but not the method.
    bool method_not_allowed = false;
    /// Methods that would have matched, for the `Allow` header: `GET,
    /// POST`, in the order the routes were added. Set only for a 405.
    std::string allow;
    /// Placeholder names and their percent-decoded values.
    std::vector<std::pair<std::string, std::string>> params;
  };

  /// Finds the handler for `method` and `path`.
  match_result match(const std::string& method, const std::string& path) const;

  /// Every route as method and pattern, in the order added.
  std::vector<std::pair<std::string, std::string>> list() const;

private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    handler h;
    gate g;
  };
  std::vector<route> routes_;
};

} // namespace nod::net
