#include "protocol/webpush.hpp"

#include "protocol/credentials.hpp"
#include "protocol/webhook.hpp"

#include <memory>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

namespace nod::webpush {

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* p) const {
    EVP_PKEY_free(p);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

template <class T, void (*Free)(T*)>
struct freer {
  void operator()(T* p) const {
    Free(p);
  }
};
using pkey_ctx_ptr
  = std::unique_ptr<EVP_PKEY_CTX, freer<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using md_ctx_ptr
  = std::unique_ptr<EVP_MD_CTX, freer<EVP_MD_CTX, EVP_MD_CTX_free>>;
using cipher_ctx_ptr
  = std::unique_ptr<EVP_CIPHER_CTX, freer<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, freer<BIGNUM, BN_free>>;
using param_bld_ptr
  = std::unique_ptr<OSSL_PARAM_BLD, freer<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using params_ptr
  = std::unique_ptr<OSSL_PARAM, freer<OSSL_PARAM, OSSL_PARAM_free>>;
using sig_ptr = std::unique_ptr<ECDSA_SIG, freer<ECDSA_SIG, ECDSA_SIG_free>>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

/// A P-256 key from its public point and, when given, its private scalar.
pkey_ptr load_key(std::string_view public_key, std::string_view private_key) {
  if (public_key.size() != 65 || public_key[0] != 0x04)
    return nullptr;
  param_bld_ptr bld{OSSL_PARAM_BLD_new()};
  if (!bld)
    return nullptr;
  bn_ptr priv;
  if (!OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                       "prime256v1", 0)
      || !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                           public_key.data(),
                                           public_key.size()))
    return nullptr;
  if (!private_key.empty()) {
    if (private_key.size() != 32)
      return nullptr;
    priv.reset(BN_bin2bn(bytes(private_key), 32, nullptr));
    if (!priv
        || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY,
                                   priv.get()))
      return nullptr;
  }
  params_ptr params{OSSL_PARAM_BLD_to_param(bld.get())};
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0)
    return nullptr;
  EVP_PKEY* out = nullptr;
  int selection = private_key.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR;
  if (EVP_PKEY_fromdata(ctx.get(), &out, selection, params.get()) <= 0)
    return nullptr;
  pkey_ptr key{out};
  // fromdata does not check that the point is on the curve.
  pkey_ctx_ptr check{EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr)};
  if (!check || EVP_PKEY_public_check(check.get()) <= 0)
    return nullptr;
  return key;
}

std::string hkdf_extract(std::string_view salt, std::string_view ikm) {
  return hmac_sha256(salt, ikm);
}

/// HKDF-Expand for at most one block (32 bytes), all that RFC 8291 needs.
std::string hkdf_expand(std::string_view prk, std::string info, size_t len) {
  info.push_back('\x01');
  return hmac_sha256(prk, info).substr(0, len);
}

} // namespace

// The URL-safe alphabet over the project's base64 (protocol/credentials).
std::string base64url_encode(std::string_view in) {
  auto out = base64_encode(in);
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string text{in};
  for (auto& c : text)
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  return base64_decode(text);
}

std::optional<key_pair> generate_key_pair() {
  pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  if (!key)
    return std::nullopt;
  key_pair out;
  unsigned char* pub = nullptr;
  size_t pub_len = EVP_PKEY_get1_encoded_public_key(key.get(), &pub);
  if (pub_len != 65) {
    OPENSSL_free(pub);
    return std::nullopt;
  }
  out.public_key.assign(reinterpret_cast<char*>(pub), pub_len);
  OPENSSL_free(pub);
  BIGNUM* priv = nullptr;
  if (!EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &priv))
    return std::nullopt;
  bn_ptr owned{priv};
  out.private_key.resize(32);
  if (BN_bn2binpad(priv,
                   reinterpret_cast<unsigned char*>(out.private_key.data()), 32)
      != 32)
    return std::nullopt;
  return out;
}

bool valid_public_key(std::string_view public_key) {
  return load_key(public_key, {}) != nullptr;
}

std::optional<std::string> vapid_jwt(const key_pair& key, std::string_view aud,
                                     int64_t exp, std::string_view sub) {
  auto pkey = load_key(key.public_key, key.private_key);
  if (!pkey)
    return std::nullopt;
  // The claims are plain ASCII (an origin, a number, a contact checked by
  // the configuration), so no JSON escaping is needed.
  std::string claims = "{\"aud\":\"" + std::string{aud}
                       + "\",\"exp\":" + std::to_string(exp) + ",\"sub\":\""
                       + std::string{sub} + "\"}";
  auto input = base64url_encode(R"({"typ":"JWT","alg":"ES256"})") + "."
               + base64url_encode(claims);
  md_ctx_ptr md{EVP_MD_CTX_new()};
  size_t der_len = 0;
  if (!md
      || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr,
                            pkey.get())
           <= 0
      || EVP_DigestSign(md.get(), nullptr, &der_len, bytes(input), input.size())
           <= 0)
    return std::nullopt;
  std::string der(der_len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()),
                     &der_len, bytes(input), input.size())
      <= 0)
    return std::nullopt;
  // JWS wants r || s, 32 bytes each, not DER.
  auto* p = bytes(der);
  sig_ptr sig{d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len))};
  if (!sig)
    return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32)
    return std::nullopt;
  return input + "." + base64url_encode(raw);
}

std::string vapid_authorization(const key_pair& key, const std::string& jwt) {
  return "vapid t=" + jwt + ", k=" + base64url_encode(key.public_key);
}

std::string endpoint_origin(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return std::string{url};
  auto end = url.find_first_of("/?#", sep + 3);
  return std::string{url.substr(0, end)};
}

std::optional<std::string> encrypt(std::string_view plaintext,
                                   std::string_view ua_public,
                                   std::string_view auth, std::string& error,
                                   const encrypt_inputs* fixed) {
  if (plaintext.size() > max_plaintext) {
    error = "payload larger than " + std::to_string(max_plaintext) + " bytes";
    return std::nullopt;
  }
  if (auth.size() != 16) {
    error = "keys.auth: must be 16 bytes";
    return std::nullopt;
  }
  auto peer = load_key(ua_public, {});
  if (!peer) {
    error = "keys.p256dh: not a P-256 public key";
    return std::nullopt;
  }
  key_pair sender;
  std::string salt(16, '\0');
  if (fixed) {
    sender = fixed->sender;
    salt = fixed->salt;
  } else {
    auto fresh = generate_key_pair();
    if (!fresh
        || RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16) != 1) {
      error = "no randomness for the sender key";
      return std::nullopt;
    }
    sender = std::move(*fresh);
  }
  auto own = load_key(sender.public_key, sender.private_key);
  if (!own || salt.size() != 16) {
    error = "bad sender key";
    return std::nullopt;
  }
  // ECDH, then the key schedule of RFC 8291 §3.3-3.4.
  pkey_ctx_ptr dctx{EVP_PKEY_CTX_new_from_pkey(nullptr, own.get(), nullptr)};
  size_t secret_len = 0;
  if (!dctx || EVP_PKEY_derive_init(dctx.get()) <= 0
      || EVP_PKEY_derive_set_peer(dctx.get(), peer.get()) <= 0
      || EVP_PKEY_derive(dctx.get(), nullptr, &secret_len) <= 0) {
    error = "ECDH failed";
    return std::nullopt;
  }
  std::string ecdh(secret_len, '\0');
  if (EVP_PKEY_derive(dctx.get(), reinterpret_cast<unsigned char*>(ecdh.data()),
                      &secret_len)
      <= 0) {
    error = "ECDH failed";
    return std::nullopt;
  }
  ecdh.resize(secret_len);
  std::string key_info = "WebPush: info";
  key_info.push_back('\0');
  key_info.append(ua_public);
  key_info.append(sender.public_key);
  auto ikm = hkdf_expand(hkdf_extract(auth, ecdh), key_info, 32);
  auto prk = hkdf_extract(salt, ikm);
  auto cek = hkdf_expand(
    prk, std::string{"Content-Encoding: aes128gcm", 27} + std::string(1, '\0'),
    16);
  auto nonce = hkdf_expand(
    prk, std::string{"Content-Encoding: nonce"} + std::string(1, '\0'), 12);

  // One record: the plaintext and the last-record delimiter 0x02.
  std::string record{plaintext};
  record.push_back('\x02');
  cipher_ctx_ptr cctx{EVP_CIPHER_CTX_new()};
  std::string cipher(record.size(), '\0');
  int len = 0;
  int fin = 0;
  std::string tag(16, '\0');
  if (!cctx
      || EVP_EncryptInit_ex(cctx.get(), EVP_aes_128_gcm(), nullptr, bytes(cek),
                            bytes(nonce))
           != 1
      || EVP_EncryptUpdate(cctx.get(),
                           reinterpret_cast<unsigned char*>(cipher.data()),
                           &len, bytes(record), static_cast<int>(record.size()))
           != 1
      || EVP_EncryptFinal_ex(
           cctx.get(), reinterpret_cast<unsigned char*>(cipher.data()) + len,
           &fin)
           != 1
      || EVP_CIPHER_CTX_ctrl(cctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag.data())
           != 1) {
    error = "AES-128-GCM failed";
    return std::nullopt;
  }
  cipher.resize(static_cast<size_t>(len + fin));

  // RFC 8188 header: salt, record size 4096, the key id (our public key).
  std::string body = salt;
  body.append("\x00\x00\x10\x00", 4);
  body.push_back(static_cast<char>(sender.public_key.size()));
  body.append(sender.public_key);
  body.append(cipher);
  body.append(tag);
  return body;
}

} // namespace nod::webpush
