#pragma once

// The values settings take, as text and back: sizes, durations, counts,
// booleans, listen addresses, URLs and address lists. Internal to config/.

#include "config/config.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace nod::config_values {

/// Why a value is bad (one line), or nothing when it is fine.
using reason = std::optional<std::string>;

std::string trim(const std::string& s);

bool starts_with(const std::string& s, const std::string& prefix);

std::string quote(const std::string& s);

std::string range_text(long long lo, long long hi);

reason parse_count(const std::string& v, long long lo, long long hi,
                   size_t& out);

std::string format_size(size_t n);

reason parse_size(const std::string& v, size_t& out);

std::string format_duration(std::chrono::milliseconds d);

reason parse_duration(const std::string& v, std::chrono::milliseconds& out,
                      long long max_ms = 3600 * 1000);

/// A retention period: a duration as `parse_duration` reads it (days too,
/// `30d`), up to about a century, or `0`/`off`/`forever` for keeping
/// everything (0 ms).
reason parse_retention(const std::string& v, std::chrono::milliseconds& out);

/// `off` for 0, else as `format_duration`.
std::string format_retention(std::chrono::milliseconds d);

reason parse_bool(const std::string& v, bool& out);

reason parse_listen(const std::string& v, config& cfg);

std::string format_listen(const config& cfg);

reason parse_log_level(const std::string& v, std::string& out);

reason parse_public_url(const std::string& v, std::string& out);

reason parse_trusted_proxies(const std::string& v, std::string& out);

reason parse_allowed_hosts(const std::string& v, std::string& out);

reason parse_cors_origins(const std::string& v, std::string& out);

/// The items of a comma list, trimmed, empty ones dropped.
std::vector<std::string> split_list(const std::string& v);

/// NATS server URLs (`nats://` or `tls://`, comma-separated) in normal
/// form: trimmed, joined by commas.
reason parse_nats_urls(const std::string& v, std::string& out);

/// A node name: up to 64 letters, digits, `.`, `_`, `-` (empty: the host
/// name).
reason parse_node_name(const std::string& v, std::string& out);

/// `http://HOST[:PORT]` (no path, no TLS), or empty.
reason parse_node_url(const std::string& v, std::string& out);

} // namespace nod::config_values
