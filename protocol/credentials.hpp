#pragma once

// Credentials and their hashes. Secrets and tokens are random and long, so
// a fast hash (SHA-256) suffices to store them; passwords are chosen by
// people and get a slow, salted hash (Argon2id, libsodium).

#include <optional>
#include <string>
#include <string_view>

namespace nod {

/// `nod_` + 40 lowercase hex digits (160 random bits): an agent secret.
std::string new_agent_secret();

/// `whsec_` + base64 (standard alphabet, padded) of 32 random bytes.
std::string new_webhook_secret();

/// The key bytes a `whsec_` secret encodes; nothing if malformed.
std::optional<std::string> webhook_secret_key(std::string_view secret);

/// A bearer token for people: `nodt_` + 64 hex digits (256 random bits).
std::string new_session_token();

/// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64 (padding optional, no whitespace); nothing on
/// invalid input.
std::optional<std::string> base64_decode(std::string_view text);

/// Compares in time independent of where `a` and `b` differ.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Cost of password hashing.
enum class password_cost {
  /// libsodium's "interactive" Argon2id limits (for the server).
  interactive,
  /// The minimum limits (for tests only: fast, still a real Argon2id).
  minimum,
};

/// Argon2id hash of `password` in libsodium's self-describing string form
/// (`$argon2id$v=19$m=...`), salted; nothing if hashing failed (out of
/// memory).
std::optional<std::string> hash_password(std::string_view password,
                                         password_cost cost);

/// True if `password` matches `hash` (from `hash_password`).
bool verify_password(std::string_view hash, std::string_view password);

} // namespace nod
