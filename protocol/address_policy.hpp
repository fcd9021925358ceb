#pragma once

// The outbound address policy of agents' webhooks (`webhook-allowed-hosts`,
// after Gitea's ALLOWED_HOST_LIST): which addresses a webhook may connect
// to. Pure data and parsing: every spelling of an IP address a URL host may
// use, what kind of address it is, the list parsed once into a policy, and
// the answer for one (host, address, port). The webhook client asks it for
// every endpoint it is about to connect to; agent create and update ask it
// for URLs whose host is a literal address.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nod {

/// The family of an `ip_address`.
enum class ip_family : uint8_t { v4, v6 };

/// An IPv4 or IPv6 address, bytes in network order (an IPv4 address in the
/// first four). Compares by family and bytes.
struct ip_address {
  ip_family family = ip_family::v4;
  std::array<uint8_t, 16> bytes{};

  /// The IPv4 address `a.b.c.d` from its four bytes (as
  /// `asio::ip::address_v4::to_bytes()` gives them).
  static ip_address v4(const std::array<uint8_t, 4>& b);

  /// The IPv4 address with the 32-bit value `host_order`
  /// (`0x7f000001` is 127.0.0.1).
  static ip_address v4(uint32_t host_order);

  /// The IPv6 address from its 16 bytes (as
  /// `asio::ip::address_v6::to_bytes()` gives them).
  static ip_address v6(const std::array<uint8_t, 16>& b);

  /// The 32-bit value of an IPv4 address, host order; 0 for IPv6.
  uint32_t v4_value() const;

  /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it
  /// reaches; any other address unchanged.
  ip_address unmapped() const;

  /// Canonical text: a dotted quad, or IPv6 as RFC 5952 writes it (`::1`),
  /// without brackets.
  std::string to_string() const;

  friend bool operator==(const ip_address& x, const ip_address& y) {
    return x.family == y.family && x.bytes == y.bytes;
  }

  friend bool operator!=(const ip_address& x, const ip_address& y) {
    return !(x == y);
  }
};

/// Parses a URL host as an IP address, in every spelling a resolver or a
/// browser accepts: IPv4 as one to four dot-separated numbers, each decimal,
/// octal (leading `0`) or hex (`0x`), the last filling the remaining bytes
/// (`127.1`, `0177.0.0.1`, `0x7f.0.0.1`, `2130706433`; one trailing dot
/// allowed); IPv6 in any form `inet_pton` reads (compressed, with an IPv4
/// tail), with or without brackets, no zone id. An IPv4-mapped IPv6 address
/// comes back as its IPv4 address. Nothing when `host` is not an address
/// (a host name).
std::optional<ip_address> parse_ip_host(std::string_view host);

/// What an address is, as the policy's keywords see it.
enum class address_kind : uint8_t {
  /// Public unicast: none of the ranges below.
  external,
  /// 10/8, 172.16/12, 192.168/16 (RFC 1918), 100.64/10 (CGNAT), fc00::/7.
  private_use,
  /// 127/8, ::1.
  loopback,
  /// 169.254/16 (cloud metadata at 169.254.169.254), fe80::/10.
  link_local,
  /// 0/8, ::.
  unspecified,
  /// 224/4, ff00::/8.
  multicast,
  /// 255.255.255.255.
  broadcast,
  /// Every other special range: documentation, benchmarking, 240/4, IETF
  /// assignments, 6to4, Teredo, deprecated IPv6 ranges, and IPv6 outside
  /// 2000::/3.
  reserved,
};

/// Classifies `a` (an IPv4-mapped address as its IPv4 address, a NAT64
/// address `64:ff9b::/96` as the IPv4 address it embeds).
address_kind classify(const ip_address& a);

/// The kind as a word for messages: "external", "private", "loopback",
/// "link-local", "unspecified", "multicast", "broadcast", "reserved".
const char* to_string(address_kind k);

/// A range of addresses, e.g. `10.1.0.0/16`.
struct ip_network {
  /// The first address; no bits set beyond `prefix`.
  ip_address base;
  /// Leading bits that are fixed: 0-32 for IPv4, 0-128 for IPv6.
  unsigned prefix = 0;

  /// True if `a` (unmapped) is in the range; never across families.
  bool contains(const ip_address& a) const;

  /// `base/prefix`.
  std::string to_string() const;
};

/// The parsed `webhook-allowed-hosts` plus this server's own endpoints:
/// decides whether a webhook may connect to an address. Immutable once
/// built; safe to share between threads.
///
/// An address is allowed when an explicit CIDR entry contains it; else it
/// is refused when it is link-local, unspecified or one of this server's
/// own endpoints (only a CIDR entry allows those, not `*` or a keyword);
/// else it is allowed by `*`, by a host-name or glob entry matching the
/// host as written in the URL (never for a literal address), or by the
/// keyword of its kind (`external`, `private`, `loopback`).
class address_policy {
public:
  /// The default policy, `external`.
  address_policy();

  /// Parses a comma-separated list of `external`, `private`, `loopback`,
  /// `*`, host names (`hooks.example.com`), globs (`*.example.com`, `*`
  /// matching any run of characters) and CIDRs (`10.1.0.0/16`, `fd00::/8`;
  /// a bare address means just that address). Case-insensitive; blanks
  /// around entries ignored. On a bad entry returns nothing and sets
  /// `error` to one line naming the entry and why.
  static std::optional<address_policy> parse(std::string_view list,
                                             std::string& error);

  /// Marks `port` on `a` as this server itself (its listen address).
  void add_own_address(const ip_address& a, uint16_t port);

  /// Marks `port` on every address of `net` as this server itself (e.g.
  /// 127.0.0.0/8 when it listens on 0.0.0.0).
  void add_own_network(const ip_network& net, uint16_t port);

  /// Marks `port` on host name `name` as this server itself (the public
  /// URL's host, when it is a name).
  void add_own_host(std::string_view name, uint16_t port);

  /// Why a webhook to host `host` (as written in the URL; a name or a
  /// literal address, brackets optional) may not connect to `address`
  /// (what `host` resolved to) on `port`: one line such as "address
  /// 127.0.0.1 is not allowed by webhook-allowed-hosts (loopback)".
  /// Nothing when it may.
  std::optional<std::string> refusal(std::string_view host,
                                     const ip_address& address,
                                     uint16_t port) const;

  /// True if (`host` as written in a URL, the `address` it resolved to if
  /// known, `port`) is this server itself: one of its own addresses, or
  /// its public URL's host name.
  bool own_endpoint(std::string_view host,
                    const std::optional<ip_address>& address,
                    uint16_t port) const;

  /// `!refusal(host, address, port)`.
  bool allows(std::string_view host, const ip_address& address,
              uint16_t port) const;

  /// The entries as parsed, normalised, e.g. "external, 10.1.0.0/16".
  std::string to_string() const;

private:
  struct own_address {
    ip_network net;
    uint16_t port;
  };

  struct own_host {
    std::string name;
    uint16_t port;
  };

  bool external_ = true;
  bool private_ = false;
  bool loopback_ = false;
  bool any_ = false;
  std::vector<ip_network> networks_;
  /// Host names and globs, lower case, without a trailing dot.
  std::vector<std::string> names_;
  /// The entries as `to_string` shows them.
  std::vector<std::string> entries_{"external"};
  std::vector<own_address> own_;
  std::vector<own_host> own_hosts_;
};

/// For agent create and update: when the host of `url` (an `http(s)` URL)
/// is a literal IP address in any spelling `parse_ip_host` reads and
/// `policy` refuses it on the URL's port, why (as `refusal` says it).
/// Nothing for a host name (checked on the resolved address when
/// connecting), an allowed address, or a URL that does not parse.
std::optional<std::string> literal_host_refusal(std::string_view url,
                                                const address_policy& policy);

/// True if `path` (of a URL) is under this server's inbound trigger route
/// `/webhook/`.
bool is_trigger_path(std::string_view path);

/// For agent create and update: true if `url` is a trigger URL of this
/// server (its path under `/webhook/`, its host and port this server's own
/// by `policy.own_endpoint`), which would make the agent trigger itself.
/// Refused whatever `webhook-allowed-hosts` says.
bool is_own_trigger_url(std::string_view url, const address_policy& policy);

// -- clients behind a reverse proxy ------------------------------------------

/// Parses `trusted-proxies`: a comma-separated list of CIDRs (a bare
/// address is that one address), written as for `address_policy`. An empty
/// list is valid (no proxy trusted). On a bad entry returns nothing and sets
/// `error` to one line naming the entry and why.
std::optional<std::vector<ip_network>> parse_network_list(std::string_view list,
                                                          std::string& error);

/// The address of the client behind `peer`, as nginx's `real_ip` module
/// finds it: `peer` itself unless it is in `trusted`; else, walking
/// `x_forwarded_for` from the right, the first address not in `trusted`
/// (the leftmost when every hop is trusted). A hop that is not an address
/// ends the walk at the hop before it, which the proxy vouched for.
ip_address forwarded_client(const ip_address& peer,
                            std::string_view x_forwarded_for,
                            const std::vector<ip_network>& trusted);

/// What throttling counts a client address by: an IPv4 address whole, an
/// IPv6 address by its /64 (one subscriber's network: a client has all of
/// it), as text. Text that is not an address comes back as it is.
std::string address_bucket(std::string_view client);

} // namespace nod
