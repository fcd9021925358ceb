#pragma once

// CORS for the agent API and the trigger URLs (`cors-origins`): which
// browser origins may call them, and the headers that say so. The people's
// API is not covered: its cookie session stays same-origin.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nod {

class cors_policy {
public:
  /// A comma list of origins (`https://app.example.com`,
  /// `http://localhost:5173`) or `*`; empty: none (the default). Nothing,
  /// with `error` set, for anything but a scheme, a host and an optional
  /// port.
  static std::optional<cors_policy> parse(std::string_view text,
                                          std::string& error);

  /// True for the paths CORS applies to: `/api/agent/…` and `/webhook/…`.
  static bool covers(std::string_view path);

  /// True if `origin` (a request's `Origin`) may call.
  bool allows(std::string_view origin) const;

  bool empty() const {
    return !any_ && origins_.empty();
  }

  /// The normal form: "*", or the origins joined by ", ".
  std::string to_string() const;

  /// Headers a preflight's answer adds to `response_headers`.
  static std::vector<std::pair<std::string, std::string>> preflight_headers();

  /// Headers of a response to an allowed origin.
  std::vector<std::pair<std::string, std::string>>
  response_headers(std::string_view origin) const;

private:
  bool any_ = false;
  std::vector<std::string> origins_;
};

} // namespace nod
