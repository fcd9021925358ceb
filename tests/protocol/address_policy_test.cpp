#include "protocol/address_policy.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace nod {
namespace {

ip_address v4(const char* text) {
  in_addr a{};
  EXPECT_EQ(inet_pton(AF_INET, text, &a), 1) << text;
  std::array<uint8_t, 4> b{};
  std::memcpy(b.data(), &a, 4);
  return ip_address::v4(b);
}

// An IPv6 address as the resolver hands it over: never unmapped.
ip_address v6(const char* text) {
  std::array<uint8_t, 16> b{};
  EXPECT_EQ(inet_pton(AF_INET6, text, b.data()), 1) << text;
  return ip_address::v6(b);
}

// The address `text` reads as, by its own parser (`inet_pton`).
ip_address addr(const std::string& text) {
  return text.find(':') != std::string::npos ? v6(text.c_str())
                                             : v4(text.c_str());
}

address_policy policy(const std::string& list) {
  std::string error;
  auto p = address_policy::parse(list, error);
  EXPECT_TRUE(p) << list << ": " << error;
  EXPECT_EQ(error, "");
  return p ? *p : address_policy{};
}

std::string parse_error(const std::string& list) {
  std::string error;
  auto p = address_policy::parse(list, error);
  EXPECT_FALSE(p) << list << " parsed as " << (p ? p->to_string() : "");
  EXPECT_EQ(error.find('\n'), std::string::npos);
  return error;
}

// ---- ip_address
// --------------------------------------------------------------

TEST(ip_address, bytes_values_and_text) {
  auto a = ip_address::v4(0x7f000001);
  EXPECT_EQ(a.family, ip_family::v4);
  EXPECT_EQ(a.to_string(), "127.0.0.1");
  EXPECT_EQ(a.v4_value(), 0x7f000001u);
  EXPECT_EQ(a, ip_address::v4({127, 0, 0, 1}));
  EXPECT_NE(a, ip_address::v4({127, 0, 0, 2}));
  EXPECT_EQ(v6("2001:0db8:0000:0000:0000:0000:0000:0001").to_string(),
            "2001:db8::1");
  EXPECT_EQ(v6("::1").to_string(), "::1");
  // The same bytes in another family are another address.
  EXPECT_NE(ip_address::v4(0), v6("::"));
  // Mapped addresses unmap; others stay.
  EXPECT_EQ(v6("::ffff:127.0.0.1").unmapped(), a);
  EXPECT_EQ(v6("::ffff:7f00:1").unmapped(), a);
  EXPECT_EQ(v6("::127.0.0.1").unmapped(), v6("::127.0.0.1"));
  EXPECT_EQ(v6("::fffe:7f00:1").unmapped(), v6("::fffe:7f00:1"));
  EXPECT_EQ(a.unmapped(), a);
}

// ---- parse_ip_host
// -------------------------------------------------------------

TEST(parse_ip_host, every_spelling_of_an_address) {
  struct spelling {
    const char* host;
    const char* address;
  };
  for (auto& s : std::vector<spelling>{
         {"127.0.0.1", "127.0.0.1"},
         {"0177.0.0.1", "127.0.0.1"},
         {"0x7f.0.0.1", "127.0.0.1"},
         {"0X7F.0.0.1", "127.0.0.1"},
         {"0x7f.0x0.0x0.0x1", "127.0.0.1"},
         {"00000177.0.00.01", "127.0.0.1"},
         {"127.1", "127.0.0.1"},
         {"127.0.1", "127.0.0.1"},
         {"0x7f.1", "127.0.0.1"},
         {"2130706433", "127.0.0.1"},
         {"0x7f000001", "127.0.0.1"},
         {"017700000001", "127.0.0.1"},
         {"127.0.0.1.", "127.0.0.1"},
         {"169.254.169.254", "169.254.169.254"},
         {"2852039166", "169.254.169.254"},
         {"0xa9fea9fe", "169.254.169.254"},
         {"0251.0376.0251.0376", "169.254.169.254"},
         {"169.254.43518", "169.254.169.254"},
         {"169.16689662", "169.254.169.254"},
         {"0", "0.0.0.0"},
         {"0x", "0.0.0.0"},
         {"0.0.0.0", "0.0.0.0"},
         {"10.0.0.1", "10.0.0.1"},
         {"4294967295", "255.255.255.255"},
         {"255.255.65535", "255.255.255.255"},
         {"8.8.8.8", "8.8.8.8"},
         {"::1", "::1"},
         {"[::1]", "::1"},
         {"[0:0:0:0:0:0:0:1]", "::1"},
         {"[0000:0000:0000:0000:0000:0000:0000:0001]", "::1"},
         {"[::]", "::"},
         {"[2001:DB8::1]", "2001:db8::1"},
         {"[fe80::1]", "fe80::1"},
         {"[::ffff:127.0.0.1]", "127.0.0.1"},
         {"[::ffff:7f00:1]", "127.0.0.1"},
         {"[::FFFF:7F00:0001]", "127.0.0.1"},
         {"[0:0:0:0:0:ffff:127.0.0.1]", "127.0.0.1"},
         {"::ffff:169.254.169.254", "169.254.169.254"},
         {"[64:ff9b::7f00:1]", "64:ff9b::7f00:1"},
       }) {
    SCOPED_TRACE(s.host);
    auto got = parse_ip_host(s.host);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, addr(s.address));
    EXPECT_EQ(got->to_string(), s.address);
  }
}

TEST(parse_ip_host, agrees_with_inet_aton_on_ipv4) {
  // glibc's resolver reads numeric hosts with inet_aton: whatever it takes
  // for an address, the policy must see as the same address.
  for (const char* host :
       {"127.0.0.1", "0177.0.0.1", "0x7f.0.0.1", "127.1", "127.0.1",
        "2130706433", "0x7f000001", "017700000001", "0xa9fea9fe", "0", "0x7F.1",
        "10.0x10.010.9", "1.2.3.4", "255.255.255.255", "169.16689662",
        "0300.0250.0.1"}) {
    SCOPED_TRACE(host);
    in_addr a{};
    ASSERT_EQ(inet_aton(host, &a), 1);
    auto got = parse_ip_host(host);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->v4_value(), ntohl(a.s_addr));
  }
  // And what it refuses is a name to us as well.
  for (const char* host : {"256.0.0.1", "1.2.3.4.5", "08.0.0.1", "0x1g.0.0.1",
                           "1.2.3.256", "4294967296"}) {
    SCOPED_TRACE(host);
    in_addr a{};
    EXPECT_EQ(inet_aton(host, &a), 0);
    EXPECT_FALSE(parse_ip_host(host));
  }
}

TEST(parse_ip_host, names_and_malformed_hosts_are_not_addresses) {
  for (const char* host : {"",
                           ".",
                           "..",
                           "example.com",
                           "localhost",
                           "foo.1",
                           "1.foo",
                           "1.2.3.4.5",
                           "256.0.0.1",
                           "1.256.0.0",
                           "1.2.65536",
                           "1.16777216",
                           "4294967296",
                           "0x100000000",
                           "08",
                           "09.0.0.1",
                           "0x1g",
                           "1..2",
                           "1.2.3.4..",
                           "-1.0.0.1",
                           "+1.0.0.1",
                           " 127.0.0.1",
                           "127.0.0.1 ",
                           "[",
                           "[]",
                           "[::1",
                           "::1]",
                           "[127.0.0.1]",
                           "[fe80::1%eth0]",
                           "fe80::1%25eth0",
                           ":::",
                           "1::2::3",
                           "[::ffff:0x7f.0.0.1]",
                           "::ffff:127.1",
                           "[::1]:80",
                           "12345::1"}) {
    SCOPED_TRACE(host);
    EXPECT_FALSE(parse_ip_host(host));
  }
}

// ---- classify
// --------------------------------------------------------------------

TEST(classify, ranges) {
  using k = address_kind;
  struct row {
    const char* address;
    address_kind kind;
  };
  for (auto& r : std::vector<row>{
         {"8.8.8.8", k::external},
         {"1.1.1.1", k::external},
         {"172.15.255.255", k::external},
         {"172.32.0.0", k::external},
         {"100.63.255.255", k::external},
         {"100.128.0.0", k::external},
         {"169.253.255.255", k::external},
         {"223.255.255.255", k::external},
         {"0.0.0.0", k::unspecified},
         {"0.1.2.3", k::unspecified},
         {"10.0.0.1", k::private_use},
         {"10.255.255.255", k::private_use},
         {"172.16.0.1", k::private_use},
         {"172.31.255.255", k::private_use},
         {"192.168.1.1", k::private_use},
         {"100.64.0.1", k::private_use},
         {"100.127.255.255", k::private_use},
         {"127.0.0.1", k::loopback},
         {"127.255.255.254", k::loopback},
         {"169.254.169.254", k::link_local},
         {"169.254.0.1", k::link_local},
         {"192.0.0.8", k::reserved},
         {"192.0.2.1", k::reserved},
         {"198.18.0.1", k::reserved},
         {"198.19.255.255", k::reserved},
         {"198.51.100.7", k::reserved},
         {"203.0.113.9", k::reserved},
         {"192.88.99.1", k::reserved},
         {"224.0.0.1", k::multicast},
         {"239.255.255.250", k::multicast},
         {"240.0.0.1", k::reserved},
         {"255.255.255.254", k::reserved},
         {"255.255.255.255", k::broadcast},
         {"2606:4700:4700::1111", k::external},
         {"2a00:1450::1", k::external},
         {"::", k::unspecified},
         {"::1", k::loopback},
         {"fe80::1", k::link_local},
         {"febf::1", k::link_local},
         {"fec0::1", k::reserved},
         {"fc00::1", k::private_use},
         {"fd12:3456::1", k::private_use},
         {"ff02::1", k::multicast},
         {"2001:db8::1", k::reserved},
         {"2001::1", k::reserved},
         {"2002:7f00:1::1", k::reserved},
         {"3fff::1", k::reserved},
         {"::127.0.0.1", k::reserved},
         {"100::1", k::reserved},
         {"4000::1", k::reserved},
         // Mapped and NAT64 addresses are what they reach.
         {"::ffff:127.0.0.1", k::loopback},
         {"::ffff:169.254.169.254", k::link_local},
         {"::ffff:8.8.8.8", k::external},
         {"64:ff9b::7f00:1", k::loopback},
         {"64:ff9b::a9fe:a9fe", k::link_local},
         {"64:ff9b::808:808", k::external},
       }) {
    SCOPED_TRACE(r.address);
    EXPECT_STREQ(to_string(classify(addr(r.address))), to_string(r.kind));
  }
}

TEST(ip_network, contains_by_prefix_and_family) {
  ip_network net{v4("10.1.0.0"), 16};
  EXPECT_TRUE(net.contains(v4("10.1.0.0")));
  EXPECT_TRUE(net.contains(v4("10.1.255.255")));
  EXPECT_TRUE(net.contains(v6("::ffff:10.1.2.3")));
  EXPECT_FALSE(net.contains(v4("10.2.0.0")));
  EXPECT_FALSE(net.contains(v6("::a01:203")));
  EXPECT_EQ(net.to_string(), "10.1.0.0/16");
  ip_network all6{v6("::"), 0};
  EXPECT_TRUE(all6.contains(v6("fe80::1")));
  EXPECT_FALSE(all6.contains(v4("1.2.3.4")));
  EXPECT_FALSE(all6.contains(v6("::ffff:1.2.3.4")));
  ip_network odd{v6("fd00::"), 9};
  EXPECT_TRUE(odd.contains(v6("fd7f::1")));
  EXPECT_FALSE(odd.contains(v6("fd80::1")));
}

// ---- the keywords
// ----------------------------------------------------------------

// `yes` must be allowed and `no` refused by `list`, as resolved addresses
// of host name "hooks.example.net" on port 443.
void expect_policy(const std::string& list, std::vector<std::string> yes,
                   std::vector<std::string> no) {
  auto p = policy(list);
  for (auto& a : yes)
    EXPECT_TRUE(p.allows("hooks.example.net", addr(a), 443))
      << list << " refuses " << a << ": "
      << p.refusal("hooks.example.net", addr(a), 443).value_or("");
  for (auto& a : no)
    EXPECT_FALSE(p.allows("hooks.example.net", addr(a), 443))
      << list << " allows " << a;
}

const std::vector<std::string> always_refused = {"169.254.169.254",
                                                 "169.254.0.1",
                                                 "0.0.0.0",
                                                 "0.0.0.1",
                                                 "::",
                                                 "fe80::1",
                                                 "febf::ff",
                                                 "::ffff:169.254.169.254",
                                                 "::ffff:0.0.0.0",
                                                 "64:ff9b::a9fe:a9fe"};

TEST(address_policy, default_is_external) {
  address_policy d;
  EXPECT_EQ(d.to_string(), "external");
  EXPECT_EQ(policy("external").to_string(), "external");
  auto no = always_refused;
  for (const char* a :
       {"127.0.0.1",      "127.1.2.3",   "::1",        "::ffff:127.0.0.1",
        "::ffff:7f00:1",  "10.0.0.1",    "172.16.0.1", "192.168.0.1",
        "100.64.0.1",     "fd00::1",     "192.0.2.1",  "198.51.100.1",
        "203.0.113.1",    "198.18.0.1",  "224.0.0.1",  "255.255.255.255",
        "240.0.0.1",      "2001:db8::1", "ff02::1",    "64:ff9b::7f00:1",
        "::ffff:10.0.0.1"})
    no.push_back(a);
  expect_policy("external",
                {"8.8.8.8", "1.1.1.1", "172.32.0.1", "::ffff:8.8.8.8",
                 "2606:4700:4700::1111", "64:ff9b::808:808"},
                no);
  for (auto& a : no)
    EXPECT_FALSE(d.allows("hooks.example.net", addr(a), 443)) << a;
  EXPECT_TRUE(d.allows("hooks.example.net", addr("8.8.8.8"), 443));
}

TEST(address_policy, private_keyword) {
  auto no = always_refused;
  for (const char* a : {"8.8.8.8", "127.0.0.1", "::1", "172.32.0.1",
                        "100.128.0.1", "192.0.2.1", "fe80::1"})
    no.push_back(a);
  expect_policy("private",
                {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",
                 "192.168.44.1", "100.64.0.1", "100.127.255.254", "fc00::1",
                 "fdff::1", "::ffff:192.168.0.1"},
                no);
}

TEST(address_policy, loopback_keyword) {
  auto no = always_refused;
  for (const char* a : {"8.8.8.8", "10.0.0.1", "fd00::1", "::2"})
    no.push_back(a);
  expect_policy("loopback",
                {"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1",
                 "::ffff:7f00:1"},
                no);
}

TEST(address_policy, star_allows_anything_but_the_always_refused) {
  expect_policy("*",
                {"8.8.8.8", "10.0.0.1", "127.0.0.1", "::1", "fd00::1",
                 "192.0.2.1", "224.0.0.1", "2001:db8::1"},
                always_refused);
  // Keywords combine.
  expect_policy("loopback, private", {"127.0.0.1", "10.0.0.1"},
                {"8.8.8.8", "169.254.169.254"});
  expect_policy("external,loopback", {"127.0.0.1", "8.8.8.8"},
                {"10.0.0.1", "0.0.0.0"});
}

// ---- CIDRs
// -----------------------------------------------------------------------

TEST(address_policy, cidrs_allow_their_range) {
  expect_policy("10.1.0.0/16", {"10.1.0.0", "10.1.255.255", "::ffff:10.1.2.3"},
                {"10.2.0.1", "10.0.255.255", "8.8.8.8", "127.0.0.1"});
  expect_policy("fd00::/8", {"fd00::1", "fdff:ffff::1"},
                {"fc00::1", "fe80::1", "10.0.0.1", "8.8.8.8"});
  expect_policy("8.8.8.8/32", {"8.8.8.8"}, {"8.8.8.9", "1.1.1.1"});
  // A bare address is that address alone.
  expect_policy("192.168.1.10", {"192.168.1.10"}, {"192.168.1.11"});
  expect_policy("2001:db8::5", {"2001:db8::5"}, {"2001:db8::6"});
  // A mapped range is its IPv4 range.
  expect_policy("::ffff:10.0.0.0/104", {"10.9.9.9", "::ffff:10.9.9.9"},
                {"11.0.0.1"});
  // IPv4 addresses, mapped ones included, match IPv4 ranges only.
  expect_policy("::/0", {"fe80::1", "::", "fd00::1"},
                {"::ffff:127.0.0.1", "127.0.0.1", "169.254.169.254"});
}

TEST(address_policy, only_an_explicit_cidr_allows_the_always_refused) {
  expect_policy("169.254.169.254/32", {"169.254.169.254"},
                {"169.254.169.253", "0.0.0.0", "fe80::1"});
  expect_policy("169.254.0.0/16", {"169.254.169.254", "::ffff:169.254.1.1"},
                {"fe80::1"});
  expect_policy("fe80::/10", {"fe80::1"}, {"169.254.169.254", "::"});
  expect_policy("0.0.0.0/32", {"0.0.0.0"}, {"0.0.0.1"});
  expect_policy("::/128", {"::"}, {"0.0.0.0"});
  expect_policy("0.0.0.0/0", {"169.254.169.254", "0.0.0.0", "8.8.8.8"},
                {"fe80::1"});
  // No keyword does.
  expect_policy("external, private, loopback, *", {}, always_refused);
}

// ---- host names and globs
// --------------------------------------------------------

TEST(address_policy, names_allow_whatever_they_resolve_to) {
  auto p = policy("hooks.internal, *.corp.example.com");
  for (const char* a : {"10.0.0.5", "127.0.0.1", "192.0.2.1", "8.8.8.8"}) {
    EXPECT_TRUE(p.allows("hooks.internal", addr(a), 80)) << a;
    EXPECT_TRUE(p.allows("HOOKS.Internal.", addr(a), 80)) << a;
    EXPECT_TRUE(p.allows("a.corp.example.com", addr(a), 80)) << a;
    EXPECT_TRUE(p.allows("a.b.corp.example.com", addr(a), 80)) << a;
    // Not the name, not external: refused.
    EXPECT_FALSE(p.allows("corp.example.com", addr(a), 80)) << a;
    EXPECT_FALSE(p.allows("xcorp.example.com", addr(a), 80)) << a;
    EXPECT_FALSE(p.allows("hooks.internal.evil.com", addr(a), 80)) << a;
    EXPECT_FALSE(p.allows("other.internal", addr(a), 80)) << a;
  }
  // But never to the always-refused.
  for (auto& a : always_refused) {
    EXPECT_FALSE(p.allows("hooks.internal", addr(a), 80)) << a;
    EXPECT_FALSE(p.allows("a.corp.example.com", addr(a), 80)) << a;
  }
  // A glob in the middle, and several stars.
  auto q = policy("hook-*.example.com, *-*.test");
  EXPECT_TRUE(q.allows("hook-1.example.com", addr("10.0.0.1"), 80));
  EXPECT_TRUE(q.allows("hook-.example.com", addr("10.0.0.1"), 80));
  EXPECT_FALSE(q.allows("hook.example.com", addr("10.0.0.1"), 80));
  EXPECT_TRUE(q.allows("a-b.test", addr("10.0.0.1"), 80));
  EXPECT_FALSE(q.allows("ab.test", addr("10.0.0.1"), 80));
}

TEST(address_policy, names_never_match_literal_addresses) {
  // A glob that would match the text of a literal host does not: a literal
  // is an address, judged by CIDRs and keywords.
  auto p = policy("*7f*, *.0.0.1x, *x*");
  EXPECT_FALSE(p.allows("0x7f.0.0.1", addr("127.0.0.1"), 80));
  EXPECT_FALSE(p.allows("[::ffff:7f00:1]", addr("127.0.0.1"), 80));
  EXPECT_FALSE(p.allows("0x7f000001", addr("127.0.0.1"), 80));
  EXPECT_TRUE(p.allows("x7f.example", addr("127.0.0.1"), 80));
}

// ---- this server itself
// ------------------------------------------------------------

TEST(address_policy, own_endpoints_are_refused_unless_a_cidr_names_them) {
  for (const char* list : {"loopback", "*", "loopback, private, external"}) {
    SCOPED_TRACE(list);
    auto p = policy(list);
    p.add_own_address(v4("127.0.0.1"), 8000);
    EXPECT_FALSE(p.allows("localhost", addr("127.0.0.1"), 8000));
    EXPECT_FALSE(p.allows("127.0.0.1", addr("127.0.0.1"), 8000));
    EXPECT_FALSE(p.allows("x", addr("::ffff:127.0.0.1"), 8000));
    // Another port on the same address is another service.
    EXPECT_TRUE(p.allows("localhost", addr("127.0.0.1"), 8001));
    EXPECT_TRUE(p.allows("localhost", addr("127.0.0.2"), 8000));
    auto why = p.refusal("localhost", addr("127.0.0.1"), 8000);
    ASSERT_TRUE(why);
    EXPECT_EQ(*why, "address 127.0.0.1 is not allowed by webhook-allowed-hosts "
                    "(port 8000 there is this server; only a CIDR entry "
                    "allows it)");
  }
  // A CIDR naming it allows it.
  auto c = policy("127.0.0.1/32");
  c.add_own_address(v4("127.0.0.1"), 8000);
  EXPECT_TRUE(c.allows("localhost", addr("127.0.0.1"), 8000));
  // A host-name entry does not.
  auto n = policy("localhost");
  n.add_own_address(v4("127.0.0.1"), 8000);
  EXPECT_FALSE(n.allows("localhost", addr("127.0.0.1"), 8000));
  EXPECT_TRUE(n.allows("localhost", addr("127.0.0.1"), 9000));
  // A whole network (listening on 0.0.0.0), and IPv6.
  auto w = policy("*");
  w.add_own_network({v4("127.0.0.0"), 8}, 8000);
  w.add_own_address(v6("2001:db8::7"), 8000);
  w.add_own_address(v6("::ffff:10.0.0.7"), 8000);
  EXPECT_FALSE(w.allows("x", addr("127.3.2.1"), 8000));
  EXPECT_FALSE(w.allows("x", addr("2001:db8::7"), 8000));
  EXPECT_FALSE(w.allows("x", addr("10.0.0.7"), 8000));
  EXPECT_TRUE(w.allows("x", addr("10.0.0.8"), 8000));
}

TEST(address_policy, own_public_host_name_is_refused_on_its_port) {
  auto p = policy("*");
  p.add_own_host("Nod.Example.com", 443);
  EXPECT_FALSE(p.allows("nod.example.com", addr("8.8.8.8"), 443));
  EXPECT_FALSE(p.allows("NOD.example.com.", addr("8.8.8.8"), 443));
  EXPECT_TRUE(p.allows("nod.example.com", addr("8.8.8.8"), 8443));
  EXPECT_TRUE(p.allows("other.example.com", addr("8.8.8.8"), 443));
  auto c = policy("8.8.8.0/24");
  c.add_own_host("nod.example.com", 443);
  EXPECT_TRUE(c.allows("nod.example.com", addr("8.8.8.8"), 443));
}

// ---- messages and normal form
// -------------------------------------------------------

TEST(address_policy, refusals_name_the_address_and_why) {
  address_policy d;
  EXPECT_EQ(d.refusal("x", addr("::ffff:127.0.0.1"), 80),
            "address 127.0.0.1 is not allowed by webhook-allowed-hosts "
            "(loopback)");
  EXPECT_EQ(d.refusal("x", addr("10.1.2.3"), 80),
            "address 10.1.2.3 is not allowed by webhook-allowed-hosts "
            "(private)");
  EXPECT_EQ(policy("*").refusal("x", addr("169.254.169.254"), 80),
            "address 169.254.169.254 is not allowed by webhook-allowed-hosts "
            "(link-local; only a CIDR entry allows it)");
  EXPECT_EQ(policy("*").refusal("x", addr("::"), 80),
            "address :: is not allowed by webhook-allowed-hosts "
            "(unspecified; only a CIDR entry allows it)");
  EXPECT_EQ(d.refusal("x", addr("8.8.8.8"), 80), std::nullopt);
}

TEST(address_policy, to_string_is_the_normal_form) {
  EXPECT_EQ(policy(" External , LOOPBACK,10.1.0.0/16, FD00::/8,*.Example.com.,"
                   "Hooks.Example.NET, 192.168.1.10, ::FFFF:10.0.0.0/104, *")
              .to_string(),
            "external, loopback, 10.1.0.0/16, fd00::/8, *.example.com, "
            "hooks.example.net, 192.168.1.10/32, 10.0.0.0/8, *");
  // Without `external`, external addresses are refused.
  EXPECT_FALSE(policy("loopback").allows("x", addr("8.8.8.8"), 80));
}

TEST(address_policy, bad_entries_are_rejected_with_a_message) {
  struct bad {
    const char* list;
    const char* message;
  };
  for (auto& b : std::vector<bad>{
         {"", "the list is empty (expected external, private, loopback, *, a "
              "host name, a glob such as *.example.com, or a CIDR such as "
              "10.0.0.0/8)"},
         {"  ", "the list is empty"},
         {"external,", "empty entry"},
         {",external", "empty entry"},
         {"external,,loopback", "empty entry"},
         {"external, ", "empty entry"},
         {"localhost:8000", "entry \"localhost:8000\": \"localhost:8000\" is "
                            "not an IP address"},
         {"foo bar", "entry \"foo bar\": expected external, private"},
         {"ex@mple.com", "entry \"ex@mple.com\": expected"},
         {"http://example.com", "entry \"http://example.com\""},
         {"a..b", "entry \"a..b\": empty label"},
         {".example.com", "entry \".example.com\": empty label"},
         // Found by fuzz/address_policy_fuzz.cpp.
         {"example.com..", "entry \"example.com..\": empty label"},
         {"a.0..", "entry \"a.0..\": empty label"},
         {"10.1.2.3/16", "entry \"10.1.2.3/16\": host bits are set (did you "
                         "mean 10.1.0.0/16?)"},
         {"fd00::1/8", "host bits are set (did you mean fd00::/8?)"},
         {"10.0.0.0/33", "entry \"10.0.0.0/33\": prefix length 33 is out of "
                         "range 0-32"},
         {"fd00::/129", "prefix length 129 is out of range 0-128"},
         {"10.0.0.0/", "prefix length \"\" is not a number"},
         {"10.0.0.0/x", "prefix length \"x\" is not a number"},
         {"10.0.0.0/-1", "is not a number"},
         {"10.0.0.0/8/8", "is not a number"},
         {"10.0.0/8", "write IPv4 addresses as four decimal numbers"},
         {"010.0.0.0/8", "write IPv4 addresses as four decimal numbers"},
         {"0x7f.0.0.1", "write IPv4 addresses as four decimal numbers"},
         {"2130706433", "write IPv4 addresses as four decimal numbers"},
         {"127.1", "write IPv4 addresses as four decimal numbers"},
         {"256.0.0.0/8", "\"256.0.0.0\" is not an IP address"},
         {"[::1]", "is not an IP address"},
         {"fe80::1%eth0", "is not an IP address"},
         {"192.168.*.*", "an IP address or address pattern: use a CIDR"},
         {"10.*", "an IP address or address pattern"},
         {"foo.123", "entry \"foo.123\": an IP address or address pattern"},
         {"foo.0x1f", "an IP address or address pattern"},
         {"external, nope!", "entry \"nope!\""},
         // Found by fuzz/address_policy_fuzz.cpp: control characters in an
         // entry broke the one-line error.
         {"ext\nernal", "entry \"ext\\nernal\""},
         {"\x01loopback", "entry \"\\x01loopback\""},
       }) {
    SCOPED_TRACE(b.list);
    auto msg = parse_error(b.list);
    EXPECT_NE(msg.find(b.message), std::string::npos) << msg;
  }
}

// ---- literal hosts in webhook URLs
// ---------------------------------------------------

TEST(literal_host_refusal, refuses_literal_addresses_in_every_spelling) {
  address_policy d;
  for (const char* url :
       {"http://127.0.0.1:9/x", "http://0x7f.0.0.1/", "http://0177.0.0.1/",
        "http://2130706433/", "http://127.1/", "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]:8080/", "HTTP://127.0.0.1./hook?x=1"}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(literal_host_refusal(url, d),
              "address 127.0.0.1 is not allowed by webhook-allowed-hosts "
              "(loopback)");
  }
  EXPECT_EQ(literal_host_refusal("http://169.254.169.254/latest", d),
            "address 169.254.169.254 is not allowed by webhook-allowed-hosts "
            "(link-local; only a CIDR entry allows it)");
  EXPECT_EQ(literal_host_refusal("https://[::1]/", d),
            "address ::1 is not allowed by webhook-allowed-hosts (loopback)");
  EXPECT_TRUE(literal_host_refusal("http://0xa9fea9fe/", d));
  EXPECT_TRUE(literal_host_refusal("http://[fe80::1]/", d));
  EXPECT_TRUE(literal_host_refusal("http://0.0.0.0:8000/", d));
  EXPECT_TRUE(literal_host_refusal("http://10.0.0.1/", d));
  // Host names wait for the connection; allowed and malformed URLs pass.
  for (const char* url :
       {"http://localhost:9/x", "https://hooks.example.com/", "http://8.8.8.8/",
        "https://[2606:4700:4700::1111]/", "ftp://127.0.0.1/",
        "http://user@127.0.0.1/", "not a url"}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(literal_host_refusal(url, d), std::nullopt);
  }
}

TEST(literal_host_refusal, uses_the_urls_port_for_the_own_endpoint) {
  auto p = policy("loopback");
  p.add_own_address(v4("127.0.0.1"), 8000);
  EXPECT_EQ(literal_host_refusal("http://127.0.0.1/", p), std::nullopt);
  EXPECT_EQ(literal_host_refusal("http://127.0.0.1:9/x", p), std::nullopt);
  EXPECT_TRUE(literal_host_refusal("http://127.0.0.1:8000/api/me", p));
  EXPECT_TRUE(literal_host_refusal("http://[::ffff:127.0.0.1]:8000/", p));
  p.add_own_address(v4("127.0.0.1"), 443);
  EXPECT_TRUE(literal_host_refusal("https://127.0.0.1/", p));
  EXPECT_EQ(literal_host_refusal("http://127.0.0.1/", p), std::nullopt);
}

TEST(is_own_trigger_url, only_this_servers_trigger_route) {
  // Even a policy that allows everything by CIDR keeps the loop out.
  auto p = policy("127.0.0.0/8, *");
  p.add_own_address(v4("127.0.0.1"), 8000);
  p.add_own_host("nod.example.com", 443);
  EXPECT_TRUE(is_own_trigger_url("http://127.0.0.1:8000/webhook/trg_1", p));
  EXPECT_TRUE(
    is_own_trigger_url("http://[::ffff:127.0.0.1]:8000/webhook/x", p));
  EXPECT_TRUE(
    is_own_trigger_url("https://NOD.example.com/webhook/trg_1?a=1", p));
  // Other paths, ports and hosts are not this server's trigger route.
  EXPECT_FALSE(is_own_trigger_url("http://127.0.0.1:8000/api/agent/events", p));
  EXPECT_FALSE(is_own_trigger_url("http://127.0.0.1:8000/webhooks/trg_1", p));
  EXPECT_FALSE(is_own_trigger_url("http://127.0.0.1:9000/webhook/trg_1", p));
  EXPECT_FALSE(is_own_trigger_url("https://other.example.com/webhook/t", p));
  EXPECT_FALSE(is_own_trigger_url("not a url", p));
  EXPECT_TRUE(p.own_endpoint("127.0.0.1", v4("127.0.0.1"), 8000));
  EXPECT_TRUE(p.own_endpoint("nod.example.com", std::nullopt, 443));
  EXPECT_FALSE(p.own_endpoint("localhost", v4("127.0.0.2"), 8000));
}

std::vector<ip_network> networks(const std::string& list) {
  std::string error;
  auto n = parse_network_list(list, error);
  EXPECT_TRUE(n) << list << ": " << error;
  return n ? *n : std::vector<ip_network>{};
}

TEST(parse_network_list, reads_cidrs_and_bare_addresses) {
  EXPECT_TRUE(networks("").empty());
  EXPECT_TRUE(networks("  ").empty());
  auto n = networks("127.0.0.1, 10.0.0.0/8,FD00::/8");
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0].to_string(), "127.0.0.1/32");
  EXPECT_EQ(n[1].to_string(), "10.0.0.0/8");
  EXPECT_EQ(n[2].to_string(), "fd00::/8");
  std::string error;
  EXPECT_FALSE(parse_network_list("10.0.0.1/8", error));
  EXPECT_EQ(error, "entry \"10.0.0.1/8\": host bits are set (did you mean "
                   "10.0.0.0/8?)");
  EXPECT_FALSE(parse_network_list("loopback", error));
  EXPECT_EQ(error, "entry \"loopback\": \"loopback\" is not an IP address");
  EXPECT_FALSE(parse_network_list("10.0.0.0/8,", error));
  EXPECT_NE(error.find("empty entry"), std::string::npos);
}

TEST(forwarded_client, believes_only_trusted_proxies) {
  auto trusted = networks("127.0.0.1, 10.0.0.0/8");
  auto client = [&](const char* peer, const char* xff) {
    return forwarded_client(*parse_ip_host(peer), xff, trusted).to_string();
  };
  // An untrusted peer is the client, whatever it claims.
  EXPECT_EQ(client("203.0.113.9", "1.2.3.4"), "203.0.113.9");
  // A trusted proxy: the rightmost hop it did not add itself.
  EXPECT_EQ(client("127.0.0.1", "198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(client("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1"),
            "198.51.100.7");
  EXPECT_EQ(client("::ffff:127.0.0.1", " 2001:db8::5 "), "2001:db8::5");
  EXPECT_EQ(client("127.0.0.1", "[2001:db8::5]"), "2001:db8::5");
  // No header, or only proxies: the leftmost trusted hop.
  EXPECT_EQ(client("127.0.0.1", ""), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "10.2.2.2, 10.1.1.1"), "10.2.2.2");
  // Garbage ends the walk at the last hop a proxy vouched for.
  EXPECT_EQ(client("127.0.0.1", "1.2.3.4, unknown"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "unknown, 10.1.1.1"), "10.1.1.1");
  // Found by fuzz/address_policy_fuzz.cpp: an unclosed bracket was read as
  // the address inside it.
  EXPECT_EQ(client("127.0.0.1", "[2001:db8::5"), "127.0.0.1");
  EXPECT_EQ(client("127.0.0.1", "2001:db8::5]"), "127.0.0.1");
}

TEST(address_bucket, counts_an_ipv6_client_by_its_64) {
  EXPECT_EQ(address_bucket("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(address_bucket("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_bucket("2001:db8:1:2::9"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_bucket("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(address_bucket("not an address"), "not an address");
}

} // namespace
} // namespace nod
