#include "protocol/validate.hpp"

#include "protocol/text.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cstdint>
#include <limits>

namespace nod {

namespace {

constexpr size_t no_limit = std::numeric_limits<size_t>::max();

constexpr char type_message[] = "must be \"interactive\" or \"approval_only\"";

bool fail(json::field_error& err, const char* field, std::string what) {
  err.field = field;
  err.message = field;
  err.message += ": ";
  err.message += what;
  return false;
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A dotted quad with each part 0-255 and no leading zeros (which some
// resolvers read as octal).
bool is_ipv4(std::string_view s) {
  int parts = 0;
  while (true) {
    auto dot = s.find('.');
    auto part = s.substr(0, dot);
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
      return false;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc{} || end != part.data() + part.size() || v > 255)
      return false;
    ++parts;
    if (dot == std::string_view::npos)
      break;
    s.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// A DNS-style name: letters, digits, '-' and '_' in non-empty labels
// separated by dots (a trailing dot is fine). All-numeric names must be
// IPv4 addresses.
bool is_host_name(std::string_view s) {
  if (s.empty())
    return false;
  if (s.find_first_not_of("0123456789.") == std::string_view::npos)
    return is_ipv4(s);
  if (s.back() == '.')
    s.remove_suffix(1);
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0)
        return false;
      label = 0;
    } else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '~') {
      ++label;
    } else {
      return false;
    }
  }
  return label > 0;
}

bool is_ipv6(std::string_view s) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN)
    return false;
  std::string str{s};
  unsigned char addr[16];
  return inet_pton(AF_INET6, str.c_str(), addr) == 1;
}

// 1 to 5 digits, 1-65535.
bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5)
    return false;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size() && v >= 1
         && v <= 65535;
}

// Characters never allowed anywhere in a webhook URL: controls, space,
// non-ASCII, and those RFC 3986 excludes that clients treat oddly ('\\' is
// read as '/' by browsers, which would move the host).
bool is_bad_url_char(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c <= 0x20 || c >= 0x7F || ch == '\\' || ch == '"' || ch == '<'
         || ch == '>';
}

// Shared by create and patch: the optional fields other than `name`.
bool parse_optional_fields(const json::value& body, agent_input& out,
                           json::field_error& err, bool patch) {
  if (!json::get_string(body, "avatar", limits::agent_avatar, out.avatar, err)
      || !json::get_string(body, "description", limits::agent_description,
                           out.description, err)
      || !json::get_string(body, "webhook_url", limits::url, out.webhook_url,
                           err))
    return false;
  if (out.webhook_url && !is_webhook_url(*out.webhook_url))
    return fail(err, "webhook_url", "must be an absolute http(s) URL");
  if (patch) {
    out.clear_avatar = json::is_null(body, "avatar");
    out.clear_description = json::is_null(body, "description");
    out.clear_webhook_url = json::is_null(body, "webhook_url");
    if (json::is_null(body, "type"))
      return fail(err, "type", type_message);
  }
  if (!json::get_string(body, "type", no_limit, out.type, err))
    return false;
  if (out.type && *out.type != "interactive" && *out.type != "approval_only")
    return fail(err, "type", type_message);
  return true;
}

bool check_name(const std::string& name, json::field_error& err) {
  if (is_blank(name))
    return fail(err, "name", "must not be only whitespace");
  return true;
}

bool require_object(const json::value& body, json::field_error& err) {
  if (body.IsObject())
    return true;
  err.field.clear();
  err.message = "body: must be a JSON object";
  return false;
}

} // namespace

bool parse_agent_create(const json::value& body, agent_input& out,
                        json::field_error& err) {
  out = agent_input{};
  if (!require_object(body, err))
    return false;
  std::string name;
  if (!json::require_string(body, "name", limits::agent_name, name, err)
      || !check_name(name, err))
    return false;
  out.name = std::move(name);
  if (!parse_optional_fields(body, out, err, false))
    return false;
  if (!out.type)
    out.type = "interactive";
  return true;
}

bool parse_agent_patch(const json::value& body, agent_input& out,
                       json::field_error& err) {
  out = agent_input{};
  if (!require_object(body, err))
    return false;
  if (json::is_null(body, "name"))
    return fail(err, "name", "must not be null or empty");
  if (!json::get_string(body, "name", limits::agent_name, out.name, err))
    return false;
  if (out.name && out.name->empty())
    return fail(err, "name", "must not be null or empty");
  if (out.name && !check_name(*out.name, err))
    return false;
  return parse_optional_fields(body, out, err, true);
}

bool parse_login(const json::value& body, std::string& username,
                 std::string& password, json::field_error& err) {
  return require_object(body, err)
         && json::require_string(body, "username", no_limit, username, err)
         && json::require_string(body, "password", no_limit, password, err);
}

bool parse_new_user(const json::value& body, std::string& username,
                    std::string& password, json::field_error& err) {
  if (!require_object(body, err)
      || !json::require_string(body, "username", no_limit, username, err))
    return false;
  if (auto what = check_username(username))
    return fail(err, "username", std::move(*what));
  if (!json::require_string(body, "password", no_limit, password, err))
    return false;
  if (auto what = check_password(password))
    return fail(err, "password", std::move(*what));
  return true;
}

std::optional<std::string> check_username(std::string_view username) {
  if (username.empty())
    return "is required";
  if (username.size() > limits::username)
    return "at most " + std::to_string(limits::username) + " characters";
  for (char c : username)
    if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '.' && c != '-')
      return "only letters, digits, '_', '.' and '-'";
  if (!is_alpha(username[0]) && !is_digit(username[0]))
    return "must start with a letter or digit";
  return std::nullopt;
}

std::optional<std::string> check_password(std::string_view password) {
  if (password.size() < limits::password_min)
    return "at least " + std::to_string(limits::password_min) + " characters";
  if (password.size() > limits::password_max)
    return "at most " + std::to_string(limits::password_max) + " characters";
  return std::nullopt;
}

bool is_webhook_url(std::string_view url) {
  if (url.empty() || url.size() > limits::url)
    return false;
  for (char c : url)
    if (is_bad_url_char(c))
      return false;
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return false;
  auto scheme = url.substr(0, sep);
  if (!text::iequals(scheme, "http") && !text::iequals(scheme, "https"))
    return false;
  auto rest = url.substr(sep + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return false;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos
        || !is_ipv6(authority.substr(1, close - 1)))
      return false;
    auto after = authority.substr(close + 1);
    return after.empty() || (after.front() == ':' && is_port(after.substr(1)));
  }
  auto colon = authority.find(':');
  if (colon != std::string_view::npos && !is_port(authority.substr(colon + 1)))
    return false;
  return is_host_name(authority.substr(0, colon));
}

} // namespace nod
