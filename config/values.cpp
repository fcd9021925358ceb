#include "config/values.hpp"

#include "protocol/address_policy.hpp"
#include "protocol/cors.hpp"
#include "protocol/webhook.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace nod::config_values {

constexpr size_t kib = 1024;
constexpr size_t mib = 1024 * kib;
constexpr size_t gib = 1024 * mib;
constexpr size_t min_size = kib;
constexpr size_t max_size = gib;

// -- small string helpers ----------------------------------------------------

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
         || c == '\v';
}

std::string trim(const std::string& s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && is_space(s[b]))
    ++b;
  while (e > b && is_space(s[e - 1]))
    --e;
  return s.substr(b, e - b);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Quotes a user-supplied value for an error message.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// -- value parsers -----------------------------------------------------------

enum class int_parse { ok, not_number, overflow };

// Whole string must be a decimal integer; no sign prefix '+', no spaces.
int_parse parse_int(const std::string& s, long long& out) {
  const char* first = s.data();
  const char* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(first, last, out);
  if (ec == std::errc::result_out_of_range && ptr == last)
    return int_parse::overflow;
  if (ec != std::errc() || ptr != last || s.empty())
    return int_parse::not_number;
  return int_parse::ok;
}

std::string range_text(long long lo, long long hi) {
  return std::to_string(lo) + "-" + std::to_string(hi);
}

reason parse_count(const std::string& v, long long lo, long long hi,
                   size_t& out) {
  long long n = 0;
  switch (parse_int(v, n)) {
    case int_parse::not_number: return quote(v) + " is not a whole number";
    case int_parse::overflow:
      return v + " is out of range " + range_text(lo, hi);
    case int_parse::ok: break;
  }
  if (n < lo || n > hi)
    return std::to_string(n) + " is out of range " + range_text(lo, hi);
  out = static_cast<size_t>(n);
  return std::nullopt;
}

// Splits "123abc" into the leading digits and the (trimmed) suffix.
bool split_number(const std::string& v, unsigned long long& n,
                  std::string& suffix) {
  const char* first = v.data();
  const char* last = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(first, last, n);
  if (ptr == first)
    return false; // no digits at all
  if (ec == std::errc::result_out_of_range)
    n = ~0ull; // saturate: caught by the range check
  else if (ec != std::errc())
    return false;
  suffix = lower(trim(std::string(ptr, last)));
  return true;
}

std::string format_size(size_t n) {
  if (n != 0 && n % gib == 0)
    return std::to_string(n / gib) + "GiB";
  if (n != 0 && n % mib == 0)
    return std::to_string(n / mib) + "MiB";
  if (n != 0 && n % kib == 0)
    return std::to_string(n / kib) + "KiB";
  return std::to_string(n);
}

reason parse_size(const std::string& v, size_t& out) {
  unsigned long long n = 0;
  std::string suffix;
  unsigned long long unit = 0;
  if (split_number(v, n, suffix)) {
    if (suffix.empty() || suffix == "b")
      unit = 1;
    else if (suffix == "kib")
      unit = kib;
    else if (suffix == "mib")
      unit = mib;
    else if (suffix == "gib")
      unit = gib;
  }
  if (unit == 0)
    return quote(v) + " is not a size (bytes, or a number with KiB, MiB or "
           + "GiB)";
  // Compare before multiplying so huge inputs cannot wrap around.
  if (n > max_size / unit || n * unit < min_size)
    return quote(v) + " is out of range " + format_size(min_size) + "-"
           + format_size(max_size);
  out = static_cast<size_t>(n * unit);
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms != 0 && ms % 86400000 == 0)
    return std::to_string(ms / 86400000) + "d";
  if (ms != 0 && ms % 3600000 == 0)
    return std::to_string(ms / 3600000) + "h";
  if (ms != 0 && ms % 60000 == 0)
    return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

reason parse_duration(const std::string& v, std::chrono::milliseconds& out,
                      long long max_ms) {
  unsigned long long n = 0;
  std::string suffix;
  unsigned long long unit = 0;
  if (split_number(v, n, suffix)) {
    if (suffix.empty() || suffix == "s")
      unit = 1000;
    else if (suffix == "ms")
      unit = 1;
    else if (suffix == "m")
      unit = 60000;
    else if (suffix == "h")
      unit = 3600000;
    else if (suffix == "d")
      unit = 86400000;
  }
  if (unit == 0)
    return quote(v) + " is not a duration (e.g. 500ms, 30s, 2m; a bare "
           + "number means seconds)";
  if (n == 0)
    return quote(v) + " is not greater than 0";
  if (n > static_cast<unsigned long long>(max_ms) / unit)
    return quote(v) + " is longer than the maximum "
           + format_duration(std::chrono::milliseconds{max_ms});
  out = std::chrono::milliseconds{static_cast<long long>(n * unit)};
  return std::nullopt;
}

reason parse_retention(const std::string& v, std::chrono::milliseconds& out) {
  auto s = lower(v);
  if (s == "0" || s == "off" || s == "forever") {
    out = std::chrono::milliseconds{0};
    return std::nullopt;
  }
  // Up to about a century: long enough for any policy, far from overflow.
  constexpr long long century_ms = 36500LL * 86400000;
  return parse_duration(v, out, century_ms);
}

std::string format_retention(std::chrono::milliseconds d) {
  return d.count() == 0 ? "off" : format_duration(d);
}

reason parse_bool(const std::string& v, bool& out) {
  auto s = lower(v);
  if (s == "true" || s == "1" || s == "yes" || s == "on") {
    out = true;
    return std::nullopt;
  }
  if (s == "false" || s == "0" || s == "no" || s == "off") {
    out = false;
    return std::nullopt;
  }
  return quote(v) + " is not a boolean (true/false, 1/0, yes/no, on/off)";
}

reason parse_listen(const std::string& v, config& cfg) {
  const std::string missing
    = "missing port in " + quote(v) + " (expected HOST:PORT or [IPV6]:PORT)";
  std::string host;
  std::string port;
  if (starts_with(v, "[")) {
    auto close = v.find(']');
    if (close == std::string::npos)
      return "missing \"]\" in " + quote(v);
    host = v.substr(1, close - 1);
    if (close + 1 >= v.size() || v[close + 1] != ':')
      return missing;
    port = v.substr(close + 2);
  } else {
    auto colon = v.rfind(':');
    if (colon == std::string::npos)
      return missing;
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return "IPv6 address in " + quote(v) + " needs brackets, e.g. [::1]:8000";
  }
  if (host.empty())
    return "host is empty in " + quote(v);
  if (std::any_of(host.begin(), host.end(), is_space)
      || host.find_first_of("[]") != std::string::npos)
    return "invalid host " + quote(host);
  if (port.empty())
    return missing;
  long long n = 0;
  switch (parse_int(port, n)) {
    case int_parse::not_number:
      return "port " + quote(port) + " is not a number";
    case int_parse::overflow:
      return "port " + port + " is out of range 0-65535";
    case int_parse::ok: break;
  }
  if (n < 0 || n > 65535)
    return "port " + std::to_string(n) + " is out of range 0-65535";
  cfg.listen_host = host;
  cfg.listen_port = static_cast<uint16_t>(n);
  return std::nullopt;
}

std::string format_listen(const config& cfg) {
  // IPv6 hosts need brackets to stay parseable.
  if (cfg.listen_host.find(':') != std::string::npos)
    return "[" + cfg.listen_host + "]:" + std::to_string(cfg.listen_port);
  return cfg.listen_host + ":" + std::to_string(cfg.listen_port);
}

const char* const log_levels[]
  = {"trace", "debug", "info", "warn", "error", "critical", "off"};

reason parse_log_level(const std::string& v, std::string& out) {
  auto s = lower(v);
  for (auto* level : log_levels) {
    if (s == level) {
      out = s;
      return std::nullopt;
    }
  }
  std::string all;
  for (auto* level : log_levels)
    all += (all.empty() ? "" : ", ") + std::string(level);
  return quote(v) + " is not one of " + all;
}

reason parse_public_url(const std::string& v, std::string& out) {
  if (v.empty()) {
    out.clear();
    return std::nullopt;
  }
  auto s = lower(v);
  size_t scheme = 0;
  if (starts_with(s, "http://"))
    scheme = 7;
  else if (starts_with(s, "https://"))
    scheme = 8;
  auto host_end = v.find_first_of("/?#", scheme);
  if (scheme == 0 || host_end == scheme || v.size() == scheme
      || std::any_of(v.begin(), v.end(), is_space))
    return quote(v) + " is not an absolute http:// or https:// URL";
  auto url = v;
  // Links are built as public_url + "/path"; avoid "//path".
  while (url.size() > scheme + 1 && url.back() == '/')
    url.pop_back();
  out = url;
  return std::nullopt;
}

reason parse_trusted_proxies(const std::string& v, std::string& out) {
  std::string error;
  auto networks = parse_network_list(v, error);
  if (!networks)
    return error;
  out.clear();
  for (auto& net : *networks)
    out += (out.empty() ? "" : ", ") + net.to_string();
  return std::nullopt;
}

reason parse_cors_origins(const std::string& v, std::string& out) {
  std::string error;
  auto policy = cors_policy::parse(v, error);
  if (!policy)
    return error;
  out = policy->to_string();
  return std::nullopt;
}

reason parse_allowed_hosts(const std::string& v, std::string& out) {
  std::string error;
  auto policy = address_policy::parse(v, error);
  if (!policy)
    return error;
  out = policy->to_string();
  return std::nullopt;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= v.size()) {
    auto comma = v.find(',', start);
    if (comma == std::string::npos)
      comma = v.size();
    auto item = trim(v.substr(start, comma - start));
    start = comma + 1;
    if (!item.empty())
      items.push_back(std::move(item));
  }
  return items;
}

reason parse_nats_urls(const std::string& v, std::string& out) {
  std::string normal;
  for (auto& url : split_list(v)) {
    bool scheme = starts_with(url, "nats://") || starts_with(url, "tls://");
    if (!scheme || url.size() == url.find("://") + 3
        || url.find_first_of(" \t\"") != std::string::npos)
      return quote(url) + " is not a nats://HOST:PORT or tls://HOST:PORT URL";
    if (!normal.empty())
      normal += ",";
    normal += url;
  }
  out = normal;
  return std::nullopt;
}

reason parse_node_name(const std::string& v, std::string& out) {
  bool plain = v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char ch) {
                 return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                        || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'
                        || ch == '-';
               });
  if (!plain)
    return std::string{"must be up to 64 letters, digits, '.', '_' or '-'"};
  out = v;
  return std::nullopt;
}

reason parse_node_url(const std::string& v, std::string& out) {
  if (v.empty()) {
    out.clear();
    return std::nullopt;
  }
  // The others connect to it as to a webhook: the same URL rules.
  auto url = parse_http_url(v);
  if (!url || url->tls || url->target != "/")
    return std::string{"must be an http://HOST[:PORT] URL without a path"};
  out = v;
  return std::nullopt;
}

} // namespace nod::config_values
