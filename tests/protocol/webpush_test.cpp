#include "protocol/webpush.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

namespace wp = nod::webpush;

namespace {

std::string b64(std::string_view s) {
  auto out = wp::base64url_decode(s);
  EXPECT_TRUE(out) << s;
  return out.value_or("");
}

} // namespace

TEST(webpush, base64url_round_trips_and_accepts_padding_and_standard_alphabet) {
  for (std::string s : std::initializer_list<std::string>{
         "", "f", "fo", "foo", "foob", "fooba", "foobar",
         std::string("\xfb\xff\xfe", 3)}) {
    auto enc = wp::base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(wp::base64url_decode(enc), s);
  }
  EXPECT_EQ(wp::base64url_encode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(wp::base64url_decode("-_8="), std::string("\xfb\xff", 2));
  EXPECT_EQ(wp::base64url_decode("+/8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(wp::base64url_decode("ab$d"));
  EXPECT_FALSE(wp::base64url_decode("abcde"));
}

// RFC 8291, Appendix A: every input fixed, the body is known.
TEST(webpush, encrypt_matches_the_rfc_8291_example) {
  wp::encrypt_inputs fixed;
  fixed.sender.private_key = b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw");
  fixed.sender.public_key
    = b64("BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6Tl"
          "zAC8wEqKK6PBru3jl7A8");
  fixed.salt = b64("DGv6ra1nlYgDCS1FRnbzlw");
  auto ua_public
    = b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7"
          "Vd8pZGH6SRpkNtoIAiw4");
  auto auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
  std::string error;
  auto body = wp::encrypt("When I grow up, I want to be a watermelon",
                          ua_public, auth, error, &fixed);
  ASSERT_TRUE(body) << error;
  EXPECT_EQ(wp::base64url_encode(*body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlml"
            "MoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4"
            "Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN");
}

TEST(webpush, encrypt_refuses_bad_keys_and_large_payloads) {
  auto ua = wp::generate_key_pair();
  ASSERT_TRUE(ua);
  std::string auth(16, 'a');
  std::string error;
  EXPECT_TRUE(wp::encrypt("hi", ua->public_key, auth, error)) << error;
  // Two encryptions of the same text differ (fresh key and salt each).
  EXPECT_NE(wp::encrypt("hi", ua->public_key, auth, error),
            wp::encrypt("hi", ua->public_key, auth, error));
  EXPECT_FALSE(wp::encrypt("hi", ua->public_key, "short", error));
  EXPECT_EQ(error, "keys.auth: must be 16 bytes");
  auto off_curve = ua->public_key;
  off_curve[40] ^= 1;
  EXPECT_FALSE(wp::encrypt("hi", off_curve, auth, error));
  EXPECT_EQ(error, "keys.p256dh: not a P-256 public key");
  EXPECT_FALSE(wp::valid_public_key(off_curve));
  EXPECT_TRUE(wp::valid_public_key(ua->public_key));
  EXPECT_TRUE(wp::encrypt(std::string(wp::max_plaintext, 'x'), ua->public_key,
                          auth, error));
  EXPECT_FALSE(wp::encrypt(std::string(wp::max_plaintext + 1, 'x'),
                           ua->public_key, auth, error));
}

// The JWT verifies with the public key alone, through OpenSSL's own ECDSA
// verification of the JWS signature (r || s turned back into DER).
TEST(webpush, vapid_jwt_verifies_with_the_public_key) {
  auto key = wp::generate_key_pair();
  ASSERT_TRUE(key);
  ASSERT_EQ(key->public_key.size(), 65u);
  ASSERT_EQ(key->private_key.size(), 32u);
  auto jwt = wp::vapid_jwt(*key, "https://push.example.net", 1700000000,
                           "mailto:ops@example.com");
  ASSERT_TRUE(jwt);
  auto dot1 = jwt->find('.');
  auto dot2 = jwt->rfind('.');
  EXPECT_EQ(b64(jwt->substr(0, dot1)), R"({"typ":"JWT","alg":"ES256"})");
  EXPECT_EQ(
    b64(jwt->substr(dot1 + 1, dot2 - dot1 - 1)),
    R"({"aud":"https://push.example.net","exp":1700000000,"sub":"mailto:ops@example.com"})");
  auto raw = b64(jwt->substr(dot2 + 1));
  ASSERT_EQ(raw.size(), 64u);

  // Public key only.
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1",
                                  0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                   key->public_key.data(),
                                   key->public_key.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pub = nullptr;
  ASSERT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params), 1);
  auto u = [](const std::string& s) {
    return reinterpret_cast<const unsigned char*>(s.data());
  };
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(u(raw), 32, nullptr),
                 BN_bin2bn(u(raw) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  auto verify = [&](const std::string& signed_part) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, pub);
    int ok = EVP_DigestVerify(md, der, static_cast<size_t>(der_len),
                              u(signed_part), signed_part.size());
    EVP_MD_CTX_free(md);
    return ok == 1;
  };
  auto signed_part = jwt->substr(0, dot2);
  EXPECT_TRUE(verify(signed_part));
  EXPECT_FALSE(verify(signed_part + "x"));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  EVP_PKEY_free(pub);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);

  EXPECT_EQ(wp::vapid_authorization(*key, *jwt),
            "vapid t=" + *jwt + ", k=" + wp::base64url_encode(key->public_key));
  EXPECT_EQ(wp::endpoint_origin("https://fcm.googleapis.com/fcm/send/abc"),
            "https://fcm.googleapis.com");
  EXPECT_EQ(wp::endpoint_origin("http://127.0.0.1:9000/push?x=1"),
            "http://127.0.0.1:9000");
}
