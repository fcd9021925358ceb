#include "protocol/credentials.hpp"

#include <functional>
#include <gtest/gtest.h>
#include <set>

namespace nod {
namespace {

// Matches ^PREFIX[CHARS]{N}SUFFIX$ (std::regex trips GCC 12's
// -Wmaybe-uninitialized under ASan, so the patterns are spelled out).
bool matches(std::string_view s, std::string_view prefix,
             std::string_view chars, size_t n, std::string_view suffix = "") {
  if (s.size() != prefix.size() + n + suffix.size()
      || s.substr(0, prefix.size()) != prefix
      || s.substr(prefix.size() + n) != suffix)
    return false;
  return s.substr(prefix.size(), n).find_first_not_of(chars)
         == std::string_view::npos;
}

constexpr std::string_view lower_hex = "0123456789abcdef";
constexpr std::string_view b64_chars
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

TEST(credentials, format_matcher) {
  EXPECT_TRUE(matches("nod_00ff", "nod_", lower_hex, 4));
  EXPECT_FALSE(matches("nod_00fF", "nod_", lower_hex, 4));
  EXPECT_FALSE(matches("nod_00f", "nod_", lower_hex, 4));
  EXPECT_FALSE(matches("nod_00fff", "nod_", lower_hex, 4));
  EXPECT_FALSE(matches("agt_00ff", "nod_", lower_hex, 4));
  EXPECT_FALSE(matches("ab=", "", b64_chars, 2, "=="));
}

TEST(credentials, agent_secret_format) {
  // ^nod_[0-9a-f]{40}$
  for (int i = 0; i < 100; ++i) {
    auto s = new_agent_secret();
    EXPECT_TRUE(matches(s, "nod_", lower_hex, 40)) << s;
  }
}

TEST(credentials, session_token_format) {
  // ^nodt_[0-9a-f]{64}$
  for (int i = 0; i < 100; ++i) {
    auto s = new_session_token();
    EXPECT_TRUE(matches(s, "nodt_", lower_hex, 64)) << s;
  }
}

TEST(credentials, webhook_secret_format) {
  // 32 bytes: ^whsec_[A-Za-z0-9+/]{43}=$
  for (int i = 0; i < 100; ++i) {
    auto s = new_webhook_secret();
    EXPECT_TRUE(matches(s, "whsec_", b64_chars, 43, "=")) << s;
    auto key = webhook_secret_key(s);
    ASSERT_TRUE(key) << s;
    EXPECT_EQ(key->size(), 32u);
    EXPECT_EQ("whsec_" + base64_encode(*key), s);
  }
}

TEST(credentials, unique_over_1000_draws) {
  std::vector<std::pair<const char*, std::function<std::string()>>> makers{
    {"agent_secret", new_agent_secret},
    {"webhook_secret", new_webhook_secret},
    {"session_token", new_session_token},
  };
  for (auto& [name, make] : makers) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i)
      EXPECT_TRUE(seen.insert(make()).second) << name;
  }
}

TEST(credentials, webhook_secret_key_parsing) {
  // The example secret of the Standard Webhooks spec (24 bytes).
  auto key = webhook_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 24u);
  EXPECT_EQ(webhook_secret_key("whsec_Zm9vYmFy"), "foobar");
  for (auto bad :
       {"", "whsec_", "whsec", "Zm9vYmFy", "WHSEC_Zm9vYmFy", "whsec_Zm9vYmF",
        "whsec_Zm9v YmFy", "whsec_!!!!", "nod_Zm9vYmFy", " whsec_Zm9vYmFy"})
    EXPECT_FALSE(webhook_secret_key(bad)) << bad;
}

TEST(credentials, sha256_known_vectors) {
  EXPECT_EQ(sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
    sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string_view{"\0", 1}),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST(base64, rfc4648_vectors_both_ways) {
  struct row {
    const char* plain;
    const char* padded;
    const char* unpadded;
  };
  for (auto r :
       {row{"", "", ""}, row{"f", "Zg==", "Zg"}, row{"fo", "Zm8=", "Zm8"},
        row{"foo", "Zm9v", "Zm9v"}, row{"foob", "Zm9vYg==", "Zm9vYg"},
        row{"fooba", "Zm9vYmE=", "Zm9vYmE"},
        row{"foobar", "Zm9vYmFy", "Zm9vYmFy"}}) {
    EXPECT_EQ(base64_encode(r.plain), r.padded);
    EXPECT_EQ(base64_decode(r.padded), r.plain) << r.padded;
    EXPECT_EQ(base64_decode(r.unpadded), r.plain) << r.unpadded;
  }
}

TEST(base64, binary_round_trip_and_alphabet) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 7) {
    auto part = all.substr(0, n);
    auto enc = base64_encode(part);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(base64_decode(enc), part);
  }
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_decode("+/8="), "\xfb\xff");
}

TEST(base64, rejects_invalid_input) {
  for (const std::string& bad : std::vector<std::string>{
         "Z",        // one digit cannot encode a byte
         "Zm9vY",    // likewise after a full quantum
         "Zg=",      // incomplete padding
         "Zg===",    // too much padding
         "Z===",     // too much padding
         "=",        // padding only
         "====",     // padding only
         "=Zg=",     // padding first
         "Zm8=Zm8=", // padding inside
         "Zm9v!",    // not in the alphabet
         "Zm9v-_",   // URL-safe alphabet
         "Zm 9v",    // whitespace
         "Zm9v\n",   // newline
         "Zh==",     // non-zero trailing bits
         "Zm9=",     // non-zero trailing bits
         "Zm9vYg=a", // data after padding
         std::string("Zm\0v", 4),
         "Zm9v\xc3\xa9", // non-ASCII
       })
    EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(credentials, constant_time_equal) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal(std::string_view{}, ""));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "bbc"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal(std::string_view{"a\0b", 3},
                                   std::string_view{"a\0c", 3}));
  auto s = new_agent_secret();
  EXPECT_TRUE(constant_time_equal(sha256_hex(s), sha256_hex(s)));
}

TEST(passwords, hash_and_verify) {
  auto hash = hash_password("correct horse", password_cost::minimum);
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(verify_password(*hash, "correct horse"));
  EXPECT_FALSE(verify_password(*hash, "correct horsE"));
  EXPECT_FALSE(verify_password(*hash, "correct hors"));
  EXPECT_FALSE(verify_password(*hash, ""));
}

TEST(passwords, salted) {
  auto a = hash_password("same password", password_cost::minimum);
  auto b = hash_password("same password", password_cost::minimum);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password(*a, "same password"));
  EXPECT_TRUE(verify_password(*b, "same password"));
}

TEST(passwords, unusual_passwords) {
  for (std::string pw : {std::string{}, std::string("a\0b", 3),
                         std::string(1024, 'x'), std::string("\xc3\xa9")}) {
    auto hash = hash_password(pw, password_cost::minimum);
    ASSERT_TRUE(hash);
    EXPECT_TRUE(verify_password(*hash, pw));
    EXPECT_FALSE(verify_password(*hash, pw + "x"));
  }
  // Bytes after a NUL count.
  auto hash = hash_password(std::string("a\0b", 3), password_cost::minimum);
  ASSERT_TRUE(hash);
  EXPECT_FALSE(verify_password(*hash, std::string("a\0c", 3)));
}

TEST(passwords, interactive_cost) {
  auto hash = hash_password("server password", password_cost::interactive);
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=65536,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(verify_password(*hash, "server password"));
  EXPECT_FALSE(verify_password(*hash, "server passwore"));
}

TEST(passwords, malformed_hashes_do_not_verify) {
  auto good = hash_password("pw", password_cost::minimum);
  ASSERT_TRUE(good);
  for (std::string bad :
       {std::string{}, std::string("$argon2id$"), std::string("garbage"),
        std::string(500, '$'), good->substr(0, good->size() - 2),
        *good + std::string("\0", 1), *good + "x"})
    EXPECT_FALSE(verify_password(bad, "pw")) << bad;
}

} // namespace
} // namespace nod
