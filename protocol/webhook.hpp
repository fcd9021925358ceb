#pragma once

// Outbound webhooks as pure data (API.md A7): the request one attempt sends,
// what came back, the signatures, and the retry policy. The HTTP client
// lives in net/ (Beast); the retry timers in actors/ (webhook_scheduler).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nod {

/// One outbound HTTP POST.
struct http_post {
  /// `http://` or `https://` URL.
  std::string url;
  /// Extra header fields, sent in this order (Host, Content-Length and
  /// User-Agent are added by the client).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Whole exchange (resolve, connect, TLS, write, read), milliseconds.
  int64_t timeout_ms = 30000;
};

/// Why an attempt got no HTTP status.
enum class post_failure : uint8_t {
  /// An HTTP response arrived (any status).
  none,
  /// `timeout_ms` passed first.
  timeout,
  /// DNS, connect, TLS, write or read failed, the URL is unusable, or the
  /// response was malformed or too large.
  connection_error,
  /// The host resolved only to addresses `webhook-allowed-hosts` refuses:
  /// no connection was made, and none will be (not retried).
  blocked_address,
};

/// What one HTTP POST came to.
struct http_post_result {
  post_failure failure = post_failure::none;
  /// The response status when `failure` is `none`.
  unsigned status = 0;
  /// The response's `Retry-After` value as sent, empty if none.
  std::string retry_after;
  /// Human-readable reason when `failure` is not `none`.
  std::string error;
  /// Time the attempt took.
  int64_t elapsed_us = 0;
  /// The response body, when the client keeps bodies (up to its
  /// `max_response_bytes`); last, so that brace-initialised results
  /// elsewhere keep their meaning.
  std::string body;
};

/// The parts of an `http(s)://host[:port][/path][?query]` URL.
struct url_parts {
  bool tls = false;
  /// Host name or IP address, IPv6 without brackets.
  std::string host;
  /// Explicit port, or "80"/"443".
  std::string port;
  /// Path and query, "/" when empty.
  std::string target;
};

/// Parses an absolute http or https URL (scheme case-insensitive, host
/// lowercased, a `#fragment` dropped, a port given with leading zeros
/// normalized). Nothing for other schemes or relative references, user
/// info, an empty host, a host other than a name (letters, digits, `-`, `.`,
/// `_`), an IPv4 address or a bracketed IPv6 literal, a port that is empty,
/// not digits or outside 1-65535, or spaces, control characters or non-ASCII
/// bytes anywhere.
std::optional<url_parts> parse_http_url(std::string_view url);

/// Raw 32-byte HMAC-SHA256 of `data` keyed with `key`; empty only if
/// OpenSSL failed.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// `X-Nod-Signature`: "sha256=" + lowercase hex HMAC-SHA256 of
/// "{timestamp}.{body}".
std::string nod_signature(std::string_view key, int64_t timestamp_s,
                          std::string_view body);

/// True if `header` (GitHub's `X-Hub-Signature-256`: "sha256=" + hex
/// HMAC-SHA256 of the body, hex in either case) signs `body` with
/// `secret`. Compared in constant time.
bool valid_hub_signature(std::string_view secret, std::string_view body,
                         std::string_view header);

/// Standard Webhooks v1 `webhook-signature`: "v1," + base64 HMAC-SHA256 of
/// "{webhook_id}.{timestamp}.{body}".
std::string standard_webhooks_signature(std::string_view key,
                                        std::string_view webhook_id,
                                        int64_t timestamp_s,
                                        std::string_view body);

/// Every header of one attempt (API.md A7), in this order: Content-Type,
/// X-Nod-Event-Id, X-Nod-Delivery-Id, X-Nod-Timestamp, X-Nod-Retry-Num,
/// X-Nod-Retry-Reason, X-Nod-Signature, webhook-id, webhook-timestamp,
/// webhook-signature, and X-Nod-Hops: `hops`, the webhooks this request
/// is into a chain (1 unless the event came from a trigger call that
/// carried X-Nod-Hops). `key` is the decoded `whsec_` secret.
std::vector<std::pair<std::string, std::string>>
webhook_headers(std::string_view key, std::string_view event_id,
                std::string_view delivery_id, int64_t timestamp_s,
                unsigned retry_num, std::string_view retry_reason,
                std::string_view body, unsigned hops);

/// A trigger call whose `X-Nod-Hops` says it has passed through this many
/// webhooks is refused (508): a chain of agents and servers triggering
/// each other ends there.
constexpr unsigned max_webhook_hops = 8;

/// Reads an `X-Nod-Hops` header: empty is 0; otherwise a decimal number.
/// Nothing when malformed. Numbers over `max_webhook_hops` read as
/// `max_webhook_hops`.
std::optional<unsigned> parse_hops(std::string_view header);

/// How failed webhook attempts are retried.
struct retry_policy {
  /// Attempts in all, the first included.
  unsigned attempts = 3;
  /// Delay before the first retry.
  int64_t first_delay_ms = 1000;
  /// Each delay is this many times the one before (1 s, 5 s, 25 s, ...).
  double factor = 5;
  /// Each delay is scaled by a factor drawn from [1 - jitter, 1 + jitter].
  double jitter = 0.2;
  /// The most a `Retry-After` may make us wait.
  int64_t retry_after_max_ms = 300000;
};

/// Delay before retry number `retry` (1 = the first retry):
/// `first_delay_ms * factor^(retry-1)`, scaled by `1 - jitter + 2 * jitter
/// * unit` where `unit` is a random draw in [0, 1), rounded to the nearest
/// millisecond. Never negative and at most 24 hours (however large
/// `retry`). Retry 0 counts as 1; `unit` is clamped to [0, 1), `jitter` to
/// [0, 1], and a negative or NaN `factor` counts as 1.
int64_t backoff_delay_ms(const retry_policy& policy, unsigned retry,
                         double unit);

/// A `Retry-After` value (delta seconds, or an IMF-fixdate HTTP date) as
/// milliseconds from `now_ms`, at least 0 (a date in the past) and at most
/// 2^31 seconds (RFC 9111's limit for delta-seconds; callers cap further
/// with `retry_policy::retry_after_max_ms`); nothing when malformed. The
/// obsolete RFC 850 and asctime date formats count as malformed.
std::optional<int64_t> parse_retry_after(std::string_view value,
                                         int64_t now_ms);

/// `X-Nod-Retry-Reason` of the attempt after `previous`: "timeout",
/// "connection_error" or "http_<status>". (The first attempt's reason,
/// "first_attempt", has no previous result.)
std::string retry_reason(const http_post_result& previous);

/// True when `result` is a success (a 2xx status).
bool is_success(const http_post_result& result);

} // namespace nod
