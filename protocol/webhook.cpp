#include "protocol/webhook.hpp"

#include "protocol/credentials.hpp"
#include "protocol/ids.hpp"
#include "protocol/text.hpp"
#include "protocol/time.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace nod {

namespace {

// Largest delay `backoff_delay_ms` returns: a day.
constexpr int64_t backoff_max_ms = 86'400'000;

// Largest `Retry-After` `parse_retry_after` returns: 2^31 seconds, the
// value RFC 9111 section 1.2.2 prescribes for delta-seconds too large to
// represent.
constexpr int64_t retry_after_cap_ms = int64_t{2147483648} * 1000;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A letter, digit, '-', '.' or '_': what a DNS name or IPv4 address is made
// of. Percent-encoded or internationalized names are not supported.
bool is_host_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || c == '-' || c == '.' || c == '_';
}

// A port: digits only (no sign), 1 to 65535; leading zeros are allowed and
// dropped.
std::optional<std::string> parse_port(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c))
      return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 65535) // stop before `value` could overflow
      return std::nullopt;
  }
  if (value == 0)
    return std::nullopt;
  return std::to_string(value);
}

// Reads exactly `n` decimal digits at `pos`, advancing it.
bool read_digits(std::string_view text, size_t& pos, size_t n, int& out) {
  if (text.size() - pos < n)
    return false;
  int x = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!is_digit(text[pos + i]))
      return false;
    x = x * 10 + (text[pos + i] - '0');
  }
  pos += n;
  out = x;
  return true;
}

// Reads `word` at `pos` (case-sensitive), advancing it.
bool read_word(std::string_view text, size_t& pos, std::string_view word) {
  if (text.substr(pos, word.size()) != word)
    return false;
  pos += word.size();
  return true;
}

// An IMF-fixdate (RFC 9110 section 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37
// GMT", as Unix milliseconds. Names are case-sensitive; the day name is
// not checked against the date.
std::optional<int64_t> parse_imf_fixdate(std::string_view text) {
  static constexpr std::string_view day_names[]
    = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::string_view month_names[]
    = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29)
    return std::nullopt;
  size_t pos = 0;
  bool day_ok = false;
  for (auto name : day_names)
    day_ok = day_ok || read_word(text, pos, name);
  int day = 0, month = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!day_ok || !read_word(text, pos, ", ") || !read_digits(text, pos, 2, day)
      || !read_word(text, pos, " "))
    return std::nullopt;
  for (int m = 0; m < 12 && month == 0; ++m)
    if (read_word(text, pos, month_names[m]))
      month = m + 1;
  if (month == 0 || !read_word(text, pos, " ")
      || !read_digits(text, pos, 4, year) || !read_word(text, pos, " ")
      || !read_digits(text, pos, 2, hour) || !read_word(text, pos, ":")
      || !read_digits(text, pos, 2, minute) || !read_word(text, pos, ":")
      || !read_digits(text, pos, 2, second) || !read_word(text, pos, " GMT")
      || pos != text.size())
    return std::nullopt;
  // The grammar allows a leap second (60); parse_iso8601 does not.
  int leap = 0;
  if (second == 60) {
    second = 59;
    leap = 1000;
  }
  // parse_iso8601 checks the ranges (month lengths, leap years included).
  char iso[32];
  std::snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month,
                day, hour, minute, second);
  auto ms = parse_iso8601(iso);
  if (!ms)
    return std::nullopt;
  return *ms + leap;
}

} // namespace

std::optional<url_parts> parse_http_url(std::string_view url) {
  // No spaces, control characters or non-ASCII bytes anywhere: a request
  // line cannot carry them, and they hint at header injection.
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F)
      return std::nullopt;
  }
  // The fragment never leaves the client.
  url = url.substr(0, url.find('#'));
  // Scheme, case-insensitive.
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return std::nullopt;
  url_parts out;
  auto scheme = url.substr(0, sep);
  if (text::iequals(scheme, "https"))
    out.tls = true;
  else if (!text::iequals(scheme, "http"))
    return std::nullopt;
  auto rest = url.substr(sep + 3);
  // The authority ends at the path or the query.
  auto authority = rest.substr(0, rest.find_first_of("/?"));
  auto path_query = rest.substr(authority.size());
  if (authority.find('@') != std::string_view::npos)
    return std::nullopt; // user info
  // Host: a bracketed IPv6 literal, or a name or IPv4 address.
  std::string_view host, port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return std::nullopt;
      has_port = true;
      port = after.substr(1);
    }
    // inet_pton needs a C string; zone ids ("%25eth0") are refused.
    unsigned char addr[16];
    std::string literal{host};
    if (inet_pton(AF_INET6, literal.c_str(), addr) != 1)
      return std::nullopt;
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
    }
    for (char c : host)
      if (!is_host_char(c))
        return std::nullopt;
  }
  if (host.empty())
    return std::nullopt;
  for (char c : host)
    out.host += text::ascii_lower(c);
  // Port: explicit (1-65535, never empty) or the scheme's default.
  if (has_port) {
    auto p = parse_port(port);
    if (!p)
      return std::nullopt;
    out.port = std::move(*p);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  // Target: the path (at least "/") and the query.
  if (path_query.empty() || path_query.front() == '?')
    out.target = "/";
  out.target += path_query;
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  // HMAC() takes the key length as an int. A key longer than a block is
  // hashed first (RFC 2104 section 2), so hashing a huge one here gives the
  // same MAC.
  unsigned char key_digest[SHA256_DIGEST_LENGTH];
  if (key.size() > static_cast<size_t>(INT_MAX)) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(),
           key_digest);
    key = {reinterpret_cast<const char*>(key_digest), sizeof(key_digest)};
  }
  // An empty string_view may have a null data pointer.
  auto key_ptr = key.empty() ? "" : key.data();
  auto data_ptr = data.empty() ? "" : data.data();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data_ptr), data.size(), mac,
           &mac_len)
        == nullptr
      || mac_len != SHA256_DIGEST_LENGTH)
    return {};
  return std::string{reinterpret_cast<const char*>(mac), mac_len};
}

std::string nod_signature(std::string_view key, int64_t timestamp_s,
                          std::string_view body) {
  auto signed_text = std::to_string(timestamp_s);
  signed_text += '.';
  signed_text += body;
  return "sha256=" + to_hex(hmac_sha256(key, signed_text));
}

bool valid_hub_signature(std::string_view secret, std::string_view body,
                         std::string_view header) {
  constexpr std::string_view scheme = "sha256=";
  if (header.size() != scheme.size() + 64
      || header.substr(0, scheme.size()) != scheme)
    return false;
  std::string presented{header.substr(scheme.size())};
  for (auto& c : presented)
    if (c >= 'A' && c <= 'F')
      c = static_cast<char>(c - 'A' + 'a');
  auto expected = to_hex(hmac_sha256(secret, body));
  return !expected.empty() && constant_time_equal(presented, expected);
}

std::string standard_webhooks_signature(std::string_view key,
                                        std::string_view webhook_id,
                                        int64_t timestamp_s,
                                        std::string_view body) {
  std::string signed_text{webhook_id};
  signed_text += '.';
  signed_text += std::to_string(timestamp_s);
  signed_text += '.';
  signed_text += body;
  return "v1," + base64_encode(hmac_sha256(key, signed_text));
}

std::vector<std::pair<std::string, std::string>>
webhook_headers(std::string_view key, std::string_view event_id,
                std::string_view delivery_id, int64_t timestamp_s,
                unsigned retry_num, std::string_view retry_reason,
                std::string_view body, unsigned hops) {
  auto timestamp = std::to_string(timestamp_s);
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(11);
  out.emplace_back("Content-Type", "application/json");
  out.emplace_back("X-Nod-Event-Id", event_id);
  out.emplace_back("X-Nod-Delivery-Id", delivery_id);
  out.emplace_back("X-Nod-Timestamp", timestamp);
  out.emplace_back("X-Nod-Retry-Num", std::to_string(retry_num));
  out.emplace_back("X-Nod-Retry-Reason", retry_reason);
  out.emplace_back("X-Nod-Signature", nod_signature(key, timestamp_s, body));
  // Standard Webhooks: the webhook id is the event id.
  out.emplace_back("webhook-id", event_id);
  out.emplace_back("webhook-timestamp", timestamp);
  out.emplace_back("webhook-signature", standard_webhooks_signature(
                                          key, event_id, timestamp_s, body));
  out.emplace_back("X-Nod-Hops", std::to_string(hops));
  return out;
}

std::optional<unsigned> parse_hops(std::string_view header) {
  if (header.empty())
    return 0u;
  if (header.size() > 9)
    return header.find_first_not_of("0123456789") == std::string_view::npos
             ? std::optional<unsigned>{max_webhook_hops}
             : std::nullopt;
  unsigned n = 0;
  auto [end, ec]
    = std::from_chars(header.data(), header.data() + header.size(), n);
  if (ec != std::errc{} || end != header.data() + header.size())
    return std::nullopt;
  return std::min(n, max_webhook_hops);
}

int64_t backoff_delay_ms(const retry_policy& policy, unsigned retry,
                         double unit) {
  // Out-of-range inputs are clamped rather than trusted: retry 0 counts as
  // 1, a negative or NaN factor as 1, jitter to [0, 1], unit to [0, 1).
  if (retry == 0)
    retry = 1;
  auto factor = policy.factor >= 0 ? policy.factor : 1.0;
  auto jitter = policy.jitter >= 0 ? std::min(policy.jitter, 1.0) : 0.0;
  if (!(unit >= 0))
    unit = 0;
  else if (unit >= 1)
    unit = std::nextafter(1.0, 0.0);
  auto first = static_cast<double>(std::max<int64_t>(policy.first_delay_ms, 0));
  auto scale = 1 - jitter + 2 * jitter * unit;
  // pow may overflow to infinity; capping afterwards handles that, and
  // infinity times a zero scale (NaN) means no delay.
  auto delay = first * std::pow(factor, static_cast<double>(retry - 1)) * scale;
  if (std::isnan(delay) || delay <= 0)
    return 0;
  if (delay >= static_cast<double>(backoff_max_ms))
    return backoff_max_ms;
  return std::llround(delay);
}

std::optional<int64_t> parse_retry_after(std::string_view value,
                                         int64_t now_ms) {
  // Optional whitespace around a field value is not part of it.
  auto first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos)
    return std::nullopt;
  value = value.substr(first, value.find_last_not_of(" \t") - first + 1);
  // delta-seconds: digits only, capped before they could overflow.
  if (is_digit(value.front())) {
    int64_t seconds = 0;
    for (char c : value) {
      if (!is_digit(c))
        return std::nullopt;
      if (seconds < retry_after_cap_ms / 1000)
        seconds = seconds * 10 + (c - '0');
    }
    return std::min(seconds * 1000, retry_after_cap_ms);
  }
  // HTTP-date, relative to now; in the past means at once.
  auto date_ms = parse_imf_fixdate(value);
  if (!date_ms)
    return std::nullopt;
  if (*date_ms <= now_ms)
    return 0;
  // date_ms is within years 0-9999, so date_ms - cap cannot overflow, and
  // date_ms - now_ms cannot either once now_ms is above it.
  if (now_ms <= *date_ms - retry_after_cap_ms)
    return retry_after_cap_ms;
  return *date_ms - now_ms;
}

std::string retry_reason(const http_post_result& previous) {
  switch (previous.failure) {
    case post_failure::timeout: return "timeout";
    case post_failure::connection_error: return "connection_error";
    case post_failure::blocked_address: return "blocked_address";
    case post_failure::none: break;
  }
  return "http_" + std::to_string(previous.status);
}

bool is_success(const http_post_result& result) {
  return result.failure == post_failure::none && result.status >= 200
         && result.status < 300;
}

} // namespace nod
