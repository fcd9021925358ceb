#pragma once

// Validation of app API request bodies: pure functions from parsed JSON to
// typed input, or a `field_error` naming the field (API.md: 400 says which).

#include "protocol/json.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// Limits on fields, in bytes of UTF-8.
namespace limits {
constexpr size_t agent_name = 100;
constexpr size_t agent_avatar = 2048;
constexpr size_t agent_description = 2000;
constexpr size_t url = 2048;
constexpr size_t username = 64;
constexpr size_t password_min = 8;
constexpr size_t password_max = 1024;
} // namespace limits

/// Fields of `POST /api/agents` or `PATCH /api/agents/{id}`. In a patch an
/// absent field is unchanged; `clear_*` is set when the field was `null`.
struct agent_input {
  std::optional<std::string> name;
  std::optional<std::string> avatar;
  std::optional<std::string> description;
  std::optional<std::string> webhook_url;
  std::optional<std::string> type;
  bool clear_avatar = false;
  bool clear_description = false;
  bool clear_webhook_url = false;
};

/// `POST /api/agents`: `name` required (1-100, not only whitespace);
/// `avatar`, `description` optional strings within limits; `webhook_url`
/// an absolute http(s) URL (`is_webhook_url`); `type` "interactive"
/// (default) or "approval_only". Unknown fields are ignored.
bool parse_agent_create(const json::value& body, agent_input& out,
                        json::field_error& err);

/// `PATCH /api/agents/{id}`: every field optional, same rules; `null`
/// clears `avatar`, `description` and `webhook_url`; `name` and `type`
/// cannot be null or empty. A patch with no known field is fine (no-op).
bool parse_agent_patch(const json::value& body, agent_input& out,
                       json::field_error& err);

/// `POST /api/auth/login`: `username` and `password`, both required
/// strings (length is not checked here: a wrong login is a 401).
bool parse_login(const json::value& body, std::string& username,
                 std::string& password, json::field_error& err);

/// `POST /api/users`: `username` 1-64 of [A-Za-z0-9_.-] starting with a
/// letter or digit; `password` 8-1024 bytes.
bool parse_new_user(const json::value& body, std::string& username,
                    std::string& password, json::field_error& err);

/// Checks a username with the rules of `parse_new_user`; the error text
/// without field prefix, or nothing when fine.
std::optional<std::string> check_username(std::string_view username);

/// Checks a password length; the error text, or nothing when fine.
std::optional<std::string> check_password(std::string_view password);

/// An absolute `http://` or `https://` URL with a non-empty host, optional
/// port 1-65535, no whitespace or control characters, no userinfo
/// (`user@`), at most 2048 bytes.
bool is_webhook_url(std::string_view url);

} // namespace nod
