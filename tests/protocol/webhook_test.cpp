#include "protocol/credentials.hpp"
#include "protocol/ids.hpp"
#include "protocol/webhook.hpp"

#include <climits>
#include <cmath>
#include <gtest/gtest.h>
#include <limits>

namespace nod {
namespace {

// The Standard Webhooks reference vector (standard-webhooks spec and its
// reference libraries).
constexpr std::string_view sw_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view sw_msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t sw_timestamp = 1614265330;
constexpr std::string_view sw_payload = R"({"test": 2432232314})";
constexpr std::string_view sw_signature
  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// X-Nod-Signature of the reference vector's timestamp and payload with its
// key, computed independently with the OpenSSL command line:
//   KEY=$(printf %s MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | base64 -d | xxd -p)
//   printf %s '1614265330.{"test": 2432232314}' |
//     openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY
constexpr std::string_view nod_reference_signature
  = "sha256=e96203c6de850e7dc1fde7489ef6140b402d3a5a64fe250cd2eef9830fac1cef";
// The same for timestamp 1700000000 and an empty body:
//   printf %s '1700000000.' | openssl dgst -sha256 -mac HMAC -macopt ...
constexpr std::string_view nod_empty_body_signature
  = "sha256=a47626fdb1957e843cf1333da5c199b1d047be5c15318b0babf76ecda5eb9bf4";

std::string sw_key() {
  auto key = webhook_secret_key(sw_secret);
  EXPECT_TRUE(key);
  return key.value_or("");
}

TEST(webhook, hmac_sha256_rfc4231) {
  struct row {
    const char* name;
    std::string key;
    std::string data;
    const char* hex;
  };
  // RFC 4231 section 4 (case 5 is truncated output, left out).
  row rows[] = {
    {"case 1", std::string(20, '\x0b'), "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"case 2", "Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"case 3", std::string(20, '\xaa'), std::string(50, '\xdd'),
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"case 4",
     "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11"
     "\x12\x13\x14\x15\x16\x17\x18\x19",
     std::string(50, '\xcd'),
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {"case 6", std::string(131, '\xaa'),
     "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {"case 7", std::string(131, '\xaa'),
     "This is a test using a larger than block-size key and a larger than "
     "block-size data. The key needs to be hashed before being used by the "
     "HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    // Empty key and data (`openssl dgst -sha256 -mac HMAC -macopt hexkey:00`
    // of empty input: a zero byte pads to the same block as no key).
    {"empty", "", "",
     "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
  };
  for (const auto& r : rows) {
    auto mac = hmac_sha256(r.key, r.data);
    EXPECT_EQ(mac.size(), 32u) << r.name;
    EXPECT_EQ(to_hex(mac), r.hex) << r.name;
  }
}

TEST(webhook, hmac_sha256_default_string_views) {
  // Null data pointers must not reach OpenSSL.
  EXPECT_EQ(to_hex(hmac_sha256(std::string_view{}, std::string_view{})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(webhook, standard_webhooks_reference_vector) {
  EXPECT_EQ(sw_key().size(), 24u);
  EXPECT_EQ(
    standard_webhooks_signature(sw_key(), sw_msg_id, sw_timestamp, sw_payload),
    sw_signature);
  // Any change to what is signed changes the signature.
  EXPECT_NE(standard_webhooks_signature(sw_key(), sw_msg_id, sw_timestamp + 1,
                                        sw_payload),
            sw_signature);
  EXPECT_NE(standard_webhooks_signature(sw_key(), "msg_other", sw_timestamp,
                                        sw_payload),
            sw_signature);
  EXPECT_NE(standard_webhooks_signature(sw_key(), sw_msg_id, sw_timestamp,
                                        R"({"test": 2432232315})"),
            sw_signature);
}

TEST(webhook, nod_signature_matches_openssl_cli) {
  EXPECT_EQ(nod_signature(sw_key(), sw_timestamp, sw_payload),
            nod_reference_signature);
  EXPECT_EQ(nod_signature(sw_key(), 1700000000, ""), nod_empty_body_signature);
  // Also equal to the spelled-out definition.
  EXPECT_EQ(nod_signature("k", 42, "body"),
            "sha256=" + to_hex(hmac_sha256("k", "42.body")));
  EXPECT_EQ(nod_signature("k", -5, "x"),
            "sha256=" + to_hex(hmac_sha256("k", "-5.x")));
}

TEST(webhook, headers_order_and_values) {
  auto headers = webhook_headers(sw_key(), sw_msg_id, "dlv_0123456789abcdef",
                                 sw_timestamp, 2, "http_503", sw_payload, 3);
  std::vector<std::pair<std::string, std::string>> expected{
    {"Content-Type", "application/json"},
    {"X-Nod-Event-Id", std::string{sw_msg_id}},
    {"X-Nod-Delivery-Id", "dlv_0123456789abcdef"},
    {"X-Nod-Timestamp", "1614265330"},
    {"X-Nod-Retry-Num", "2"},
    {"X-Nod-Retry-Reason", "http_503"},
    {"X-Nod-Signature", std::string{nod_reference_signature}},
    {"webhook-id", std::string{sw_msg_id}},
    {"webhook-timestamp", "1614265330"},
    {"webhook-signature", std::string{sw_signature}},
    {"X-Nod-Hops", "3"},
  };
  EXPECT_EQ(headers, expected);
}

TEST(webhook, parse_hops_reads_the_header_or_refuses_it) {
  EXPECT_EQ(parse_hops(""), 0u);
  EXPECT_EQ(parse_hops("0"), 0u);
  EXPECT_EQ(parse_hops("7"), 7u);
  EXPECT_EQ(parse_hops("8"), max_webhook_hops);
  // Huge counts are a loop all the same, not an error.
  EXPECT_EQ(parse_hops("4294967296"), max_webhook_hops);
  EXPECT_EQ(parse_hops("99999999999999999999"), max_webhook_hops);
  for (const char* bad : {"-1", "1.5", " 3", "3 ", "x", "0x10", "+2"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parse_hops(bad), std::nullopt);
  }
}

TEST(webhook, headers_first_attempt) {
  auto headers = webhook_headers("key", "evt_1", "dlv_1", 1700000000, 0,
                                 "first_attempt", "{}", 1);
  ASSERT_EQ(headers.size(), 11u);
  EXPECT_EQ(headers[4].second, "0");
  EXPECT_EQ(headers[5].second, "first_attempt");
  EXPECT_EQ(headers[6].second, nod_signature("key", 1700000000, "{}"));
  EXPECT_EQ(headers[9].second,
            standard_webhooks_signature("key", "evt_1", 1700000000, "{}"));
  EXPECT_EQ(headers[10],
            (std::pair<std::string, std::string>{"X-Nod-Hops", "1"}));
}

TEST(webhook, parse_http_url_accepts) {
  struct row {
    const char* url;
    bool tls;
    const char* host;
    const char* port;
    const char* target;
  };
  for (auto r : {
         row{"http://example.com", false, "example.com", "80", "/"},
         row{"https://example.com", true, "example.com", "443", "/"},
         row{"http://example.com/", false, "example.com", "80", "/"},
         row{"HTTPS://Example.COM/Hook", true, "example.com", "443", "/Hook"},
         row{"hTTp://example.com/x", false, "example.com", "80", "/x"},
         row{"http://example.com/a/b?x=1&y=2", false, "example.com", "80",
             "/a/b?x=1&y=2"},
         row{"http://example.com?q", false, "example.com", "80", "/?q"},
         row{"http://example.com/?q", false, "example.com", "80", "/?q"},
         row{"http://example.com/?", false, "example.com", "80", "/?"},
         row{"http://example.com?a=/b", false, "example.com", "80", "/?a=/b"},
         row{"http://example.com/path#frag", false, "example.com", "80",
             "/path"},
         row{"http://example.com#frag", false, "example.com", "80", "/"},
         row{"http://example.com/p?q#f?g", false, "example.com", "80", "/p?q"},
         row{"http://example.com:8080/x", false, "example.com", "8080", "/x"},
         row{"https://example.com:8443", true, "example.com", "8443", "/"},
         row{"https://example.com:80/", true, "example.com", "80", "/"},
         row{"http://example.com:1/", false, "example.com", "1", "/"},
         row{"http://example.com:65535/", false, "example.com", "65535", "/"},
         row{"http://example.com:080/", false, "example.com", "80", "/"},
         row{"http://example.com:8080?q", false, "example.com", "8080", "/?q"},
         row{"http://127.0.0.1:3000/hook", false, "127.0.0.1", "3000", "/hook"},
         row{"http://[::1]:8080/x", false, "::1", "8080", "/x"},
         row{"http://[::1]", false, "::1", "80", "/"},
         row{"https://[2001:DB8::1]/", true, "2001:db8::1", "443", "/"},
         row{"http://[::ffff:192.0.2.1]?q", false, "::ffff:192.0.2.1", "80",
             "/?q"},
         row{"http://my_host.local./x", false, "my_host.local.", "80", "/x"},
         row{"http://localhost/a%20b", false, "localhost", "80", "/a%20b"},
         row{"http://h/a//b/../c;p", false, "h", "80", "/a//b/../c;p"},
       }) {
    auto parts = parse_http_url(r.url);
    ASSERT_TRUE(parts) << r.url;
    EXPECT_EQ(parts->tls, r.tls) << r.url;
    EXPECT_EQ(parts->host, r.host) << r.url;
    EXPECT_EQ(parts->port, r.port) << r.url;
    EXPECT_EQ(parts->target, r.target) << r.url;
  }
}

TEST(webhook, parse_http_url_rejects) {
  for (std::string_view url : std::initializer_list<std::string_view>{
         // Not an absolute http(s) URL.
         "",
         "example.com",
         "/path",
         "#frag",
         "//example.com/x",
         "ftp://example.com/",
         "ws://example.com/",
         "httpx://example.com/",
         "http:/example.com/",
         "http:example.com",
         "://example.com/",
         // Empty host.
         "http://",
         "https://",
         "http:///path",
         "http://?q",
         "http://#frag",
         "http://:80/",
         "http://[]/",
         // User info.
         "http://user@example.com/",
         "http://user:pw@example.com/",
         "http://@example.com/",
         "http://example.com@evil.com/",
         "http://example.com\\@evil.com/",
         // Bad port.
         "http://example.com:/",
         "http://example.com:",
         "http://example.com:0/",
         "http://example.com:00000/",
         "http://example.com:65536/",
         "http://example.com:99999999999999999999999/",
         "http://example.com:-1/",
         "http://example.com:+80/",
         "http://example.com:8o/",
         "http://example.com:80:90/",
         "http://example.com: 80/",
         "http://[::1]:/",
         "http://[::1]:0/",
         "http://[::1]:70000/",
         // Bad host.
         "http://::1/",
         "http://[::1/",
         "http://[::1]x/",
         "http://[::1]]/",
         "http://[example.com]/",
         "http://[127.0.0.1]/",
         "http://[fe80::1%25eth0]/",
         "http://exa%6dple.com/",
         "http://example.com\\evil/",
         "http://exa!mple.com/",
         // Spaces, control characters, non-ASCII.
         " http://example.com/",
         "http://example.com/ ",
         "http://exa mple.com/",
         "http://example.com/a b",
         "http://example.com/\r\nX-Injected: 1",
         "http://example.com/\t",
         "http://example.com/\x7f",
         "http://example.com/\x01",
         "http://ex\xc3\xa9.com/",
         "http://example.com/caf\xc3\xa9",
         std::string_view{"http://example.com/\0x", 21},
       })
    EXPECT_FALSE(parse_http_url(url)) << '"' << url << '"';
}

TEST(webhook, retry_after_values) {
  constexpr int64_t cap = int64_t{2147483648} * 1000; // 2^31 s
  // "Sun, 06 Nov 1994 08:49:37 GMT" is 784111777 s (`date -u -d ... +%s`).
  constexpr int64_t t1994 = 784111777000;
  struct row {
    std::string_view value;
    int64_t now_ms;
    int64_t ms;
  };
  for (auto r : {
         // delta-seconds, whatever `now_ms` is.
         row{"0", t1994, 0},
         row{"1", t1994, 1000},
         row{"120", 0, 120000},
         row{"007", 0, 7000},
         row{" 30 ", 0, 30000},
         row{"\t5", 0, 5000},
         row{"2147483647", 0, 2147483647000},
         row{"2147483648", 0, cap},
         row{"2147483649", 0, cap},
         row{"99999999999999999999999999999999", 0, cap},
         row{"5", INT64_MAX, 5000},
         // IMF-fixdate, relative to `now_ms`.
         row{"Sun, 06 Nov 1994 08:49:37 GMT", t1994 - 10000, 10000},
         row{"Sun, 06 Nov 1994 08:49:37 GMT", t1994 - 1, 1},
         row{"Sun, 06 Nov 1994 08:49:37 GMT", t1994, 0},
         row{"Sun, 06 Nov 1994 08:49:37 GMT", t1994 + 1, 0},
         row{"Sun, 06 Nov 1994 08:49:37 GMT", t1994 + 86400000, 0},
         row{"Sun, 06 Nov 1994 08:49:37 GMT", 0, t1994},
         row{" Sun, 06 Nov 1994 08:49:37 GMT\t", t1994 - 2000, 2000},
         row{"Thu, 29 Feb 2024 12:00:00 GMT", 1709208000000 - 5000, 5000},
         row{"Sat, 28 Nov 2026 22:03:11 GMT", 1795903391000 - 60000, 60000},
         // A leap second is one second after :59.
         row{"Sat, 31 Dec 2016 23:59:60 GMT", 1483228799000, 1000},
         // Extreme clocks neither overflow nor go negative.
         row{"Fri, 31 Dec 9999 23:59:59 GMT", INT64_MIN, cap},
         row{"Fri, 31 Dec 9999 23:59:59 GMT", INT64_MAX, 0},
         row{"Mon, 01 Jan 0001 00:00:00 GMT", INT64_MAX, 0},
         row{"Mon, 01 Jan 0001 00:00:00 GMT", INT64_MIN, cap},
       })
    EXPECT_EQ(parse_retry_after(r.value, r.now_ms), r.ms)
      << '"' << r.value << "\" at " << r.now_ms;
}

TEST(webhook, retry_after_rejects) {
  for (std::string_view value : {
         "",
         " ",
         "-1",
         "+5",
         "1.5",
         "5s",
         "1 2",
         "0x10",
         "1e3",
         // Not an IMF-fixdate.
         "Sun, 06 Nov 1994 08:49:37 UTC",
         "Sun, 06 Nov 1994 08:49:37 gmt",
         "Sun, 06 Nov 1994 08:49:37 GMTx",
         "Sun, 06 Nov 1994 08:49:37",
         "Sunday, 06-Nov-94 08:49:37 GMT", // RFC 850, obsolete
         "Sun Nov  6 08:49:37 1994",       // asctime, obsolete
         "sun, 06 Nov 1994 08:49:37 GMT",
         "Xyz, 06 Nov 1994 08:49:37 GMT",
         "Sun, 06 nov 1994 08:49:37 GMT",
         "Sun, 6 Nov 1994 08:49:37 GMT",
         "Sun,  6 Nov 1994 08:49:37 GMT",
         "Sun, 06 Nov 94 08:49:37 GMT",
         "Sun 06 Nov 1994 08:49:37 GMT",
         "Sun, 06 Nov 1994 8:49:37 GMT",
         "Sun, 06 Nov 1994 08-49-37 GMT",
         "1994-11-06T08:49:37Z",
         // Out of range.
         "Sun, 00 Nov 1994 08:49:37 GMT",
         "Sun, 31 Nov 1994 08:49:37 GMT",
         "Wed, 29 Feb 2023 08:49:37 GMT",
         "Sun, 06 Nov 1994 24:00:00 GMT",
         "Sun, 06 Nov 1994 08:60:00 GMT",
         "Sun, 06 Nov 1994 08:49:61 GMT",
       })
    EXPECT_FALSE(parse_retry_after(value, 0)) << '"' << value << '"';
}

TEST(webhook, backoff_jitter_bounds) {
  retry_policy policy; // 1 s, factor 5, jitter 0.2
  auto below_one = std::nextafter(1.0, 0.0);
  auto nan = std::numeric_limits<double>::quiet_NaN();
  struct row {
    unsigned retry;
    double unit;
    int64_t ms;
  };
  for (auto r : {
         row{1, 0.0, 800},         // 1 - jitter
         row{1, 0.5, 1000},        // no jitter
         row{1, 0.25, 900},        //
         row{1, below_one, 1200},  // 1 + jitter, at the limit
         row{1, 1.0, 1200},        // clamped below 1
         row{1, 7.0, 1200},        // clamped below 1
         row{1, -3.0, 800},        // clamped to 0
         row{1, nan, 800},         // clamped to 0
         row{2, 0.0, 4000},        // 5 s * 0.8
         row{2, below_one, 6000},  // 5 s * 1.2
         row{3, 0.0, 20000},       // 25 s * 0.8
         row{3, below_one, 30000}, // 25 s * 1.2
         row{0, 0.5, 1000},        // retry 0 counts as 1
       })
    EXPECT_EQ(backoff_delay_ms(policy, r.retry, r.unit), r.ms)
      << "retry " << r.retry << " unit " << r.unit;
  // Every draw stays within [0.8, 1.2] times the undisturbed delay.
  for (unsigned retry = 1; retry <= 6; ++retry) {
    auto base = 1000 * std::pow(5.0, retry - 1);
    for (int i = 0; i < 100; ++i) {
      auto ms = backoff_delay_ms(policy, retry, i / 100.0);
      EXPECT_GE(ms, std::llround(base * 0.8)) << retry << ' ' << i;
      EXPECT_LE(ms, std::llround(base * 1.2)) << retry << ' ' << i;
    }
  }
}

TEST(webhook, backoff_grows_by_factor) {
  retry_policy policy;
  policy.first_delay_ms = 1000;
  policy.factor = 5;
  policy.jitter = 0;
  int64_t expected = 1000;
  for (unsigned retry = 1; retry <= 6; ++retry, expected *= 5)
    EXPECT_EQ(backoff_delay_ms(policy, retry, 0.5), expected) << retry;
  policy.factor = 2;
  policy.first_delay_ms = 250;
  EXPECT_EQ(backoff_delay_ms(policy, 1, 0.3), 250);
  EXPECT_EQ(backoff_delay_ms(policy, 2, 0.3), 500);
  EXPECT_EQ(backoff_delay_ms(policy, 5, 0.3), 4000);
  // With jitter, each delay over the one before is the factor, for a fixed
  // draw.
  policy.jitter = 0.2;
  for (unsigned retry = 1; retry < 10; ++retry)
    EXPECT_EQ(backoff_delay_ms(policy, retry + 1, 0.9),
              2 * backoff_delay_ms(policy, retry, 0.9))
      << retry;
}

TEST(webhook, backoff_capped_and_never_negative) {
  constexpr int64_t day = 86'400'000;
  auto with = [](int64_t first, double factor, double jitter) {
    retry_policy p;
    p.first_delay_ms = first;
    p.factor = factor;
    p.jitter = jitter;
    return p;
  };
  auto inf = std::numeric_limits<double>::infinity();
  auto nan = std::numeric_limits<double>::quiet_NaN();
  struct row {
    const char* name;
    retry_policy policy;
    unsigned retry;
    double unit;
    int64_t ms;
  };
  for (const auto& r : {
         row{"5^11 s is past a day", retry_policy{}, 12, 0.5, day},
         row{"huge retry", retry_policy{}, 1000, 0.0, day},
         row{"largest retry", retry_policy{}, UINT_MAX, 0.99, day},
         row{"factor 1, largest retry", with(1000, 1, 0), UINT_MAX, 0.5, 1000},
         row{"largest first delay", with(INT64_MAX, 5, 0.2), 1, 0.0, day},
         row{"negative first delay", with(-1000, 5, 0.2), 3, 0.5, 0},
         row{"zero first delay", with(0, 5, 0.2), UINT_MAX, 0.5, 0},
         row{"jitter 1, unit 0", with(1000, 5, 1), 2, 0.0, 0},
         row{"jitter 1, unit 0, infinite", with(1000, 5, 1), UINT_MAX, 0.0, 0},
         row{"jitter above 1 clamped", with(1000, 5, 7), 1, 0.0, 0},
         row{"negative jitter ignored", with(1000, 5, -0.5), 1, 0.0, 1000},
         row{"NaN jitter ignored", with(1000, 5, nan), 1, 0.0, 1000},
         row{"negative factor as 1", with(1000, -5, 0), 2, 0.5, 1000},
         row{"NaN factor as 1", with(1000, nan, 0), 4, 0.5, 1000},
         row{"infinite factor", with(1000, inf, 0), 2, 0.5, day},
         row{"factor 0", with(1000, 0, 0), 2, 0.5, 0},
         row{"factor below 1 shrinks", with(1000, 0.5, 0), 3, 0.5, 250},
       })
    EXPECT_EQ(backoff_delay_ms(r.policy, r.retry, r.unit), r.ms) << r.name;
}

TEST(webhook, retry_reason_values) {
  auto result = [](post_failure failure, unsigned status) {
    http_post_result r;
    r.failure = failure;
    r.status = status;
    return r;
  };
  struct row {
    http_post_result previous;
    const char* reason;
  };
  for (const auto& r : {
         row{result(post_failure::timeout, 0), "timeout"},
         row{result(post_failure::timeout, 503), "timeout"},
         row{result(post_failure::connection_error, 0), "connection_error"},
         row{result(post_failure::none, 500), "http_500"},
         row{result(post_failure::none, 503), "http_503"},
         row{result(post_failure::none, 410), "http_410"},
         row{result(post_failure::none, 404), "http_404"},
         row{result(post_failure::none, 302), "http_302"},
         row{result(post_failure::none, 429), "http_429"},
       })
    EXPECT_EQ(retry_reason(r.previous), r.reason) << r.reason;
}

TEST(webhook, is_success_values) {
  struct row {
    post_failure failure;
    unsigned status;
    bool success;
  };
  for (auto r : {
         row{post_failure::none, 200, true},
         row{post_failure::none, 201, true},
         row{post_failure::none, 204, true},
         row{post_failure::none, 299, true},
         row{post_failure::none, 0, false},
         row{post_failure::none, 100, false},
         row{post_failure::none, 199, false},
         row{post_failure::none, 300, false},
         row{post_failure::none, 301, false},
         row{post_failure::none, 404, false},
         row{post_failure::none, 410, false},
         row{post_failure::none, 500, false},
         row{post_failure::timeout, 200, false},
         row{post_failure::connection_error, 204, false},
       }) {
    http_post_result result;
    result.failure = r.failure;
    result.status = r.status;
    EXPECT_EQ(is_success(result), r.success)
      << static_cast<int>(r.failure) << ' ' << r.status;
  }
}

} // namespace
} // namespace nod
