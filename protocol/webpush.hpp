#pragma once

// Web Push (RFC 8030) as an application server sends it: the VAPID key
// pair and its ES256 JWT (RFC 8292), and payload encryption with
// `aes128gcm` (RFC 8291, RFC 8188). The primitives are OpenSSL's (P-256
// ECDH and ECDSA, AES-128-GCM, HMAC-SHA256 for HKDF).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod::webpush {

/// URL-safe base64 without padding (RFC 4648 §5), as Web Push writes keys.
std::string base64url_encode(std::string_view bytes);

/// Decodes URL-safe base64, padding optional (browsers' `PushSubscription`
/// JSON has none); standard-alphabet input is accepted too. Nothing on
/// any other character.
std::optional<std::string> base64url_decode(std::string_view text);

/// A P-256 key pair: the private scalar (32 bytes) and the public point,
/// uncompressed (65 bytes, 0x04 || x || y).
struct key_pair {
  std::string private_key;
  std::string public_key;
};

/// A fresh key pair; nothing if OpenSSL fails.
std::optional<key_pair> generate_key_pair();

/// True when `public_key` is an uncompressed point on P-256.
bool valid_public_key(std::string_view public_key);

/// The VAPID JWT (ES256) for a push service: `aud` is the origin of the
/// subscription's endpoint, `exp` Unix seconds (at most 24 h ahead), `sub`
/// a `mailto:` or `https:` contact. Nothing if signing fails.
std::optional<std::string> vapid_jwt(const key_pair& key, std::string_view aud,
                                     int64_t exp, std::string_view sub);

/// The `Authorization` header value: "vapid t=<jwt>, k=<public key>".
std::string vapid_authorization(const key_pair& key, const std::string& jwt);

/// "scheme://host[:port]" of an endpoint URL (the JWT's audience).
std::string endpoint_origin(std::string_view url);

/// Fixed inputs of `encrypt`, for the RFC's test vector; normally random.
struct encrypt_inputs {
  /// The sender's one-time key pair.
  key_pair sender;
  /// 16 bytes.
  std::string salt;
};

/// Encrypts `plaintext` for one subscription (RFC 8291): `ua_public` is its
/// `p256dh` key (65 bytes), `auth` its 16-byte secret. Returns the request
/// body (RFC 8188 header, then one record; `Content-Encoding: aes128gcm`),
/// or nothing with `error` set for a bad key or a payload over 3,993
/// bytes (one 4,096-byte record).
std::optional<std::string> encrypt(std::string_view plaintext,
                                   std::string_view ua_public,
                                   std::string_view auth, std::string& error,
                                   const encrypt_inputs* fixed = nullptr);

/// Largest plaintext `encrypt` takes.
constexpr size_t max_plaintext = 4096 - 16 - 1 - 86;

} // namespace nod::webpush
