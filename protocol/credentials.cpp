#include "protocol/credentials.hpp"

#include "protocol/ids.hpp"

#include <mutex>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sodium.h>

namespace nod {

namespace {

constexpr std::string_view webhook_prefix = "whsec_";

constexpr char b64_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Value of a base64 digit, or -1.
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

// `n` random bytes as a string; empty when randomness failed.
std::string random_string(size_t n) {
  std::string out(n, '\0');
  if (!random_bytes(out.data(), out.size()))
    return {};
  return out;
}

// libsodium must be initialized once before use; sodium_init itself is
// idempotent, call_once just makes the result available to every thread.
bool sodium_ready() {
  static std::once_flag flag;
  static bool ok = false;
  std::call_once(flag, [] {
    ok = sodium_init() >= 0;
  });
  return ok;
}

} // namespace

std::string new_agent_secret() {
  return random_id("nod_", 40);
}

std::string new_webhook_secret() {
  auto key = random_string(32);
  if (key.empty())
    return {}; // as random_id: empty means the randomness source failed
  std::string out{webhook_prefix};
  out += base64_encode(key);
  return out;
}

std::optional<std::string> webhook_secret_key(std::string_view secret) {
  if (secret.substr(0, webhook_prefix.size()) != webhook_prefix)
    return std::nullopt;
  auto key = base64_decode(secret.substr(webhook_prefix.size()));
  if (!key || key->empty())
    return std::nullopt;
  return key;
}

std::string new_session_token() {
  return random_id("nodt_", 64);
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return to_hex(
    std::string_view{reinterpret_cast<const char*>(digest), sizeof(digest)});
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    auto n = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += b64_alphabet[n >> 18 & 63];
    out += b64_alphabet[n >> 12 & 63];
    out += b64_alphabet[n >> 6 & 63];
    out += b64_alphabet[n & 63];
  }
  auto rest = bytes.size() - i;
  if (rest == 1) {
    auto n = at(i) << 16;
    out += b64_alphabet[n >> 18 & 63];
    out += b64_alphabet[n >> 12 & 63];
    out += "==";
  } else if (rest == 2) {
    auto n = at(i) << 16 | at(i + 1) << 8;
    out += b64_alphabet[n >> 18 & 63];
    out += b64_alphabet[n >> 12 & 63];
    out += b64_alphabet[n >> 6 & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // Padding is optional, but if present it must complete the last quantum.
  auto data = text;
  size_t pad = 0;
  while (pad < data.size() && data[data.size() - 1 - pad] == '=')
    ++pad;
  if (pad > 0) {
    if (pad > 2 || data.size() % 4 != 0)
      return std::nullopt;
    data.remove_suffix(pad);
  }
  if (data.size() % 4 == 1)
    return std::nullopt; // one digit cannot encode a byte
  std::string out;
  out.reserve(data.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : data) {
    auto v = b64_value(c);
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6 | static_cast<uint32_t>(v)) & 0xFFFFFF;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xFF);
    }
  }
  // Leftover bits must be zero, so that every byte string has exactly one
  // encoding (RFC 4648 section 3.5).
  if ((acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    // Still touch every byte of `a`, so the time depends on sizes only.
    (void)CRYPTO_memcmp(a.data(), a.data(), a.size());
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> hash_password(std::string_view password,
                                         password_cost cost) {
  if (!sodium_ready())
    return std::nullopt;
  auto ops = cost == password_cost::interactive
               ? crypto_pwhash_OPSLIMIT_INTERACTIVE
               : crypto_pwhash_OPSLIMIT_MIN;
  auto mem = cost == password_cost::interactive
               ? crypto_pwhash_MEMLIMIT_INTERACTIVE
               : crypto_pwhash_MEMLIMIT_MIN;
  char out[crypto_pwhash_STRBYTES];
  // An empty string_view may have a null data pointer.
  auto pw = password.empty() ? "" : password.data();
  if (crypto_pwhash_str_alg(out, pw, password.size(), ops, mem,
                            crypto_pwhash_ALG_ARGON2ID13)
      != 0)
    return std::nullopt;
  return std::string{out};
}

bool verify_password(std::string_view hash, std::string_view password) {
  // libsodium reads `hash` as a C string of at most STRBYTES.
  if (!sodium_ready() || hash.size() >= crypto_pwhash_STRBYTES
      || hash.find('\0') != std::string_view::npos)
    return false;
  std::string str{hash};
  auto pw = password.empty() ? "" : password.data();
  return crypto_pwhash_str_verify(str.c_str(), pw, password.size()) == 0;
}

} // namespace nod
