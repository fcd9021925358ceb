#include "protocol/ids.hpp"

#include <atomic>
#include <chrono>
#include <climits>
#include <openssl/rand.h>

namespace nod {

namespace {

constexpr char hex_digits_lc[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

} // namespace

bool random_bytes(void* out, size_t n) {
  return n <= INT_MAX
         && RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n))
              == 1;
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += hex_digits_lc[c >> 4];
    out += hex_digits_lc[c & 0x0F];
  }
  return out;
}

std::string random_id(std::string_view prefix, size_t hex_digits) {
  std::string raw(hex_digits / 2, '\0');
  if (!random_bytes(raw.data(), raw.size()))
    return {}; // callers treat an empty id as a failed randomness source
  std::string out{prefix};
  out += to_hex(raw);
  return out;
}

std::string format_id64(std::string_view prefix, uint64_t value) {
  std::string out{prefix};
  out.resize(prefix.size() + 16);
  for (int i = 15; i >= 0; --i) {
    out[prefix.size() + static_cast<size_t>(i)] = hex_digits_lc[value & 0x0F];
    value >>= 4;
  }
  return out;
}

std::optional<uint64_t> parse_id64(std::string_view prefix,
                                   std::string_view text) {
  if (text.size() != prefix.size() + 16
      || text.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  uint64_t value = 0;
  for (char c : text.substr(prefix.size())) {
    auto digit = hex_value(c);
    if (digit < 0)
      return std::nullopt;
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  return value;
}

uint64_t next_time_id() {
  static std::atomic<uint64_t> last{0};
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  auto candidate = static_cast<uint64_t>(now) << 16;
  auto prev = last.load(std::memory_order_relaxed);
  uint64_t next = 0;
  do {
    next = candidate > prev ? candidate : prev + 1;
  } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  return next;
}

} // namespace nod
