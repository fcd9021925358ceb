#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// Fills `out` with `n` cryptographically random bytes (OpenSSL). Returns
/// false only when the system's randomness source failed.
bool random_bytes(void* out, size_t n);

/// `prefix` followed by `hex_digits` random lowercase hex digits, e.g.
/// `random_id("agt_", 16)`. `hex_digits` must be even.
std::string random_id(std::string_view prefix, size_t hex_digits);

/// Lowercase hex of `bytes`.
std::string to_hex(std::string_view bytes);

/// A 64-bit id as `prefix` + 16 lowercase hex digits (big-endian), the
/// printable form of the numeric ids the store keys on.
std::string format_id64(std::string_view prefix, uint64_t value);

/// Parses what `format_id64` prints; nothing if the prefix, length or
/// digits are wrong (uppercase hex is rejected: ids are lowercase).
std::optional<uint64_t> parse_id64(std::string_view prefix,
                                   std::string_view text);

/// A new time-ordered 64-bit id: Unix milliseconds in the high 48 bits, a
/// counter in the low 16, strictly increasing within the process (and
/// across restarts as long as the clock does not go back). Key order of
/// such ids is age order, which newest-first paging relies on.
uint64_t next_time_id();

} // namespace nod
