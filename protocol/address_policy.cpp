#include "protocol/address_policy.hpp"

#include "protocol/text.hpp"
#include "protocol/webhook.hpp"

#include <arpa/inet.h>
#include <charconv>

namespace nod {

namespace {

constexpr uint64_t max_v4 = 0xffffffff;

// -- parsing addresses -------------------------------------------------------

// One part of an IPv4 host: decimal, octal (a leading 0) or hex (0x, digits
// optional as in inet_aton). Nothing when it is not such a number or does
// not fit in 32 bits.
std::optional<uint64_t> parse_v4_part(std::string_view s) {
  if (s.empty())
    return std::nullopt;
  int base = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() >= 2 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : s) {
    auto d = text::hex_value(c);
    if (d < 0 || d >= base)
      return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    if (v > max_v4)
      return std::nullopt;
  }
  return v;
}

// IPv4 in inet_aton's (and the WHATWG URL parser's) forms: one to four
// parts, all but the last one byte each, the last filling the rest.
std::optional<uint32_t> parse_v4_host(std::string_view s) {
  if (!s.empty() && s.back() == '.')
    s.remove_suffix(1);
  if (s.empty())
    return std::nullopt;
  uint64_t parts[4];
  size_t n = 0;
  while (true) {
    if (n == 4)
      return std::nullopt;
    auto dot = s.find('.');
    auto part = parse_v4_part(s.substr(0, dot));
    if (!part)
      return std::nullopt;
    parts[n++] = *part;
    if (dot == std::string_view::npos)
      break;
    s.remove_prefix(dot + 1);
  }
  uint64_t out = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    if (parts[i] > 255)
      return std::nullopt;
    out |= parts[i] << (24 - 8 * i);
  }
  auto last_max = n == 1 ? max_v4 : (uint64_t{1} << (8 * (5 - n))) - 1;
  if (parts[n - 1] > last_max)
    return std::nullopt;
  return static_cast<uint32_t>(out | parts[n - 1]);
}

// IPv4 as four decimal numbers 0-255 without leading zeros: the only
// spelling accepted in the list, where `010.0.0.1` would surprise.
std::optional<uint32_t> parse_v4_strict(std::string_view s) {
  uint32_t out = 0;
  for (int i = 0; i < 4; ++i) {
    auto dot = s.find('.');
    if ((i < 3) != (dot != std::string_view::npos))
      return std::nullopt;
    auto part = s.substr(0, dot);
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
      return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec != std::errc{} || end != part.data() + part.size() || v > 255)
      return std::nullopt;
    out = (out << 8) | v;
    if (dot != std::string_view::npos)
      s.remove_prefix(dot + 1);
  }
  return out;
}

std::optional<ip_address> parse_v6(std::string_view s) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN)
    return std::nullopt;
  // inet_pton needs a C string; it refuses zone ids ("%eth0").
  std::string str{s};
  std::array<uint8_t, 16> b{};
  if (inet_pton(AF_INET6, str.c_str(), b.data()) != 1)
    return std::nullopt;
  return ip_address::v6(b);
}

// An address as the list writes it: strict IPv4, or IPv6 without brackets.
std::optional<ip_address> parse_list_address(std::string_view s) {
  if (s.find(':') != std::string_view::npos)
    return parse_v6(s);
  if (auto v = parse_v4_strict(s))
    return ip_address::v4(*v);
  return std::nullopt;
}

// -- networks ----------------------------------------------------------------

size_t width(ip_family f) {
  return f == ip_family::v4 ? 32 : 128;
}

// `a` with every bit after the first `prefix` cleared.
ip_address masked(ip_address a, unsigned prefix) {
  for (size_t bit = prefix; bit < width(a.family); ++bit)
    a.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return a;
}

ip_network network(std::string_view base, unsigned prefix) {
  return {*parse_list_address(base), prefix};
}

struct special_range {
  ip_network net;
  address_kind kind;
};

// The special ranges, most specific first where they nest.
const std::vector<special_range>& special_ranges() {
  using k = address_kind;
  static const std::vector<special_range> table = {
    {network("0.0.0.0", 8), k::unspecified},
    {network("10.0.0.0", 8), k::private_use},
    {network("100.64.0.0", 10), k::private_use},
    {network("127.0.0.0", 8), k::loopback},
    {network("169.254.0.0", 16), k::link_local},
    {network("172.16.0.0", 12), k::private_use},
    {network("192.0.0.0", 24), k::reserved},   // IETF assignments
    {network("192.0.2.0", 24), k::reserved},   // TEST-NET-1
    {network("192.88.99.0", 24), k::reserved}, // 6to4 relays
    {network("192.168.0.0", 16), k::private_use},
    {network("198.18.0.0", 15), k::reserved},   // benchmarking
    {network("198.51.100.0", 24), k::reserved}, // TEST-NET-2
    {network("203.0.113.0", 24), k::reserved},  // TEST-NET-3
    {network("224.0.0.0", 4), k::multicast},
    {network("255.255.255.255", 32), k::broadcast},
    {network("240.0.0.0", 4), k::reserved},
    {network("::", 128), k::unspecified},
    {network("::1", 128), k::loopback},
    {network("fe80::", 10), k::link_local},
    {network("fec0::", 10), k::reserved}, // site-local, deprecated
    {network("fc00::", 7), k::private_use},
    {network("ff00::", 8), k::multicast},
    {network("2001:db8::", 32), k::reserved}, // documentation
    {network("2001::", 23), k::reserved},     // IETF: Teredo, benchmarking
    {network("2002::", 16), k::reserved},     // 6to4
    {network("3fff::", 20), k::reserved},     // documentation
  };
  return table;
}

// -- host names and globs ----------------------------------------------------

// Lower case, without one trailing dot: "Hooks.Example.COM." and
// "hooks.example.com" name the same host.
std::string normalize_name(std::string_view s) {
  if (!s.empty() && s.back() == '.')
    s.remove_suffix(1);
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    out += text::ascii_lower(c);
  return out;
}

// `*` in `pattern` matches any run of characters, dots included.
bool glob_match(std::string_view pattern, std::string_view s) {
  size_t p = 0;
  size_t i = 0;
  size_t star = std::string_view::npos;
  size_t mark = 0;
  while (i < s.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pattern.size() && pattern[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
         || c == '_' || c == '.' || c == '*';
}

// True when the last label is a number as `parse_v4_part` reads it
// (decimal, or 0x and hex digits): resolvers and browsers take such a host
// for an IPv4 address, never for a name.
bool ends_in_number(std::string_view name) {
  auto label = name.substr(name.rfind('.') + 1);
  if (label.empty())
    return false;
  if (label.size() >= 2 && label[0] == '0' && label[1] == 'x') {
    for (char c : label.substr(2))
      if (text::hex_value(c) < 0)
        return false;
    return true;
  }
  for (char c : label)
    if (c < '0' || c > '9')
      return false;
  return true;
}

// -- the list ----------------------------------------------------------------

const char* const what_is_allowed
  = "expected external, private, loopback, *, a host name, a glob such as "
    "*.example.com, or a CIDR such as 10.0.0.0/8";

// Errors are one line, whatever the entry held.
std::string quoted(std::string_view s) {
  return "\"" + text::one_line(s) + "\"";
}

// Parses "base/prefix" or a bare address into `out`; returns why not.
std::optional<std::string> parse_network(std::string_view entry,
                                         ip_network& out) {
  auto slash = entry.find('/');
  auto base_text = entry.substr(0, slash);
  auto base = parse_list_address(base_text);
  if (!base) {
    if (base_text.find(':') == std::string_view::npos
        && parse_v4_host(base_text))
      return std::string{"write IPv4 addresses as four decimal numbers "
                         "without leading zeros, e.g. 127.0.0.1"};
    return quoted(base_text) + " is not an IP address";
  }
  auto max = width(base->family);
  unsigned prefix = static_cast<unsigned>(max);
  if (slash != std::string_view::npos) {
    auto p = entry.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || p.size() > 3 || ec != std::errc{}
        || end != p.data() + p.size())
      return "prefix length " + quoted(p) + " is not a number";
    if (prefix > max)
      return "prefix length " + std::to_string(prefix) + " is out of range 0-"
             + std::to_string(max);
  }
  if (masked(*base, prefix) != *base)
    return "host bits are set (did you mean "
           + ip_network{masked(*base, prefix), prefix}.to_string() + "?)";
  // An IPv4-mapped range is the IPv4 range: addresses are checked unmapped.
  if (prefix >= 96 && base->unmapped().family != base->family) {
    out = {base->unmapped(), prefix - 96};
    return std::nullopt;
  }
  out = {*base, prefix};
  return std::nullopt;
}

// Checks a host name or glob entry (already lower case).
std::optional<std::string> check_name(std::string_view name) {
  if (name.empty())
    return std::string{what_is_allowed};
  for (char c : name)
    if (!is_name_char(c))
      return std::string{what_is_allowed};
  // One trailing dot (the root) is gone already; a second is an empty
  // label ("example.com.." would print as "example.com.", which reads back
  // as another name).
  if (name.front() == '.' || name.back() == '.'
      || name.find("..") != std::string_view::npos)
    return std::string{"empty label in host name"};
  bool pattern = name.find_first_not_of("0123456789.*") == std::string::npos;
  if (ends_in_number(name) || pattern)
    return std::string{"an IP address or address pattern: use a CIDR such "
                       "as 10.0.0.0/8"};
  return std::nullopt;
}

} // namespace

// -- ip_address --------------------------------------------------------------

ip_address ip_address::v4(const std::array<uint8_t, 4>& b) {
  ip_address a;
  a.family = ip_family::v4;
  for (size_t i = 0; i < 4; ++i)
    a.bytes[i] = b[i];
  return a;
}

ip_address ip_address::v4(uint32_t host_order) {
  return v4({static_cast<uint8_t>(host_order >> 24),
             static_cast<uint8_t>(host_order >> 16),
             static_cast<uint8_t>(host_order >> 8),
             static_cast<uint8_t>(host_order)});
}

ip_address ip_address::v6(const std::array<uint8_t, 16>& b) {
  ip_address a;
  a.family = ip_family::v6;
  a.bytes = b;
  return a;
}

uint32_t ip_address::v4_value() const {
  if (family != ip_family::v4)
    return 0;
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16)
         | (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
}

ip_address ip_address::unmapped() const {
  if (family != ip_family::v6)
    return *this;
  for (size_t i = 0; i < 10; ++i)
    if (bytes[i] != 0)
      return *this;
  if (bytes[10] != 0xff || bytes[11] != 0xff)
    return *this;
  return v4({bytes[12], bytes[13], bytes[14], bytes[15]});
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == ip_family::v4)
    inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  else
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<ip_address> parse_ip_host(std::string_view host) {
  std::optional<ip_address> out;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']')
      return std::nullopt;
    out = parse_v6(host.substr(1, host.size() - 2));
  } else if (host.find(':') != std::string_view::npos) {
    out = parse_v6(host);
  } else if (auto v4 = parse_v4_host(host)) {
    out = ip_address::v4(*v4);
  }
  if (out)
    out = out->unmapped();
  return out;
}

// -- classify ----------------------------------------------------------------

address_kind classify(const ip_address& address) {
  auto a = address.unmapped();
  // NAT64 (RFC 6052): the gateway connects to the embedded IPv4 address.
  static const auto nat64 = network("64:ff9b::", 96);
  if (nat64.contains(a))
    return classify(
      ip_address::v4({a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]}));
  for (auto& r : special_ranges())
    if (r.net.contains(a))
      return r.kind;
  if (a.family == ip_family::v4)
    return address_kind::external;
  // IPv6 global unicast is 2000::/3; the rest is unassigned or special.
  return (a.bytes[0] & 0xe0) == 0x20 ? address_kind::external
                                     : address_kind::reserved;
}

const char* to_string(address_kind k) {
  switch (k) {
    case address_kind::external: return "external";
    case address_kind::private_use: return "private";
    case address_kind::loopback: return "loopback";
    case address_kind::link_local: return "link-local";
    case address_kind::unspecified: return "unspecified";
    case address_kind::multicast: return "multicast";
    case address_kind::broadcast: return "broadcast";
    case address_kind::reserved: return "reserved";
  }
  return "reserved";
}

// -- ip_network --------------------------------------------------------------

bool ip_network::contains(const ip_address& address) const {
  auto a = address.unmapped();
  return a.family == base.family && masked(a, prefix) == base;
}

std::string ip_network::to_string() const {
  return base.to_string() + "/" + std::to_string(prefix);
}

// -- address_policy ----------------------------------------------------------

address_policy::address_policy() = default;

std::optional<address_policy> address_policy::parse(std::string_view list,
                                                    std::string& error) {
  address_policy p;
  p.external_ = false;
  p.entries_.clear();
  if (text::trim(list).empty()) {
    error = std::string{"the list is empty ("} + what_is_allowed + ")";
    return std::nullopt;
  }
  size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    auto raw = text::trim(list.substr(pos, comma - pos));
    pos = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
    auto fail = [&](const std::string& why) {
      error = "entry " + quoted(raw) + ": " + why;
      return std::nullopt;
    };
    if (raw.empty()) {
      error = "empty entry (two commas, or a comma at the start or end)";
      return std::nullopt;
    }
    auto entry = normalize_name(raw);
    if (entry == "external") {
      p.external_ = true;
    } else if (entry == "private") {
      p.private_ = true;
    } else if (entry == "loopback") {
      p.loopback_ = true;
    } else if (entry == "*") {
      p.any_ = true;
    } else if (entry.find_first_of("/:") != std::string::npos
               || parse_v4_host(entry)) {
      ip_network net;
      if (auto why = parse_network(entry, net))
        return fail(*why);
      p.networks_.push_back(net);
      p.entries_.push_back(net.to_string());
      continue;
    } else {
      if (auto why = check_name(entry))
        return fail(*why);
      p.names_.push_back(entry);
    }
    p.entries_.push_back(entry);
  }
  return p;
}

void address_policy::add_own_address(const ip_address& a, uint16_t port) {
  auto u = a.unmapped();
  add_own_network({u, static_cast<unsigned>(width(u.family))}, port);
}

void address_policy::add_own_network(const ip_network& net, uint16_t port) {
  own_.push_back({net, port});
}

void address_policy::add_own_host(std::string_view name, uint16_t port) {
  own_hosts_.push_back({normalize_name(name), port});
}

std::optional<std::string> address_policy::refusal(std::string_view host,
                                                   const ip_address& address,
                                                   uint16_t port) const {
  auto a = address.unmapped();
  // 1. An explicit CIDR allows whatever it names.
  for (auto& net : networks_)
    if (net.contains(a))
      return std::nullopt;
  auto refused = [&](const std::string& why) {
    return "address " + a.to_string()
           + " is not allowed by webhook-allowed-hosts (" + why + ")";
  };
  // 2. Refused unless a CIDR names them: link-local (cloud metadata),
  // unspecified (reaches this machine), this server itself.
  auto kind = classify(a);
  if (kind == address_kind::link_local || kind == address_kind::unspecified)
    return refused(std::string{nod::to_string(kind)}
                   + "; only a CIDR entry allows it");
  bool literal = parse_ip_host(host).has_value();
  auto name = literal ? std::string{} : normalize_name(host);
  if (own_endpoint(host, a, port))
    return refused("port " + std::to_string(port)
                   + " there is this server; only a CIDR entry allows it");
  // 3. Anything, a listed name, or the keyword of the address's kind.
  if (any_)
    return std::nullopt;
  if (!literal)
    for (auto& pattern : names_)
      if (glob_match(pattern, name))
        return std::nullopt;
  if ((kind == address_kind::external && external_)
      || (kind == address_kind::private_use && private_)
      || (kind == address_kind::loopback && loopback_))
    return std::nullopt;
  return refused(nod::to_string(kind));
}

bool address_policy::own_endpoint(std::string_view host,
                                  const std::optional<ip_address>& address,
                                  uint16_t port) const {
  if (address) {
    auto a = address->unmapped();
    for (auto& o : own_)
      if (o.port == port && o.net.contains(a))
        return true;
  }
  if (parse_ip_host(host))
    return false;
  auto name = normalize_name(host);
  for (auto& o : own_hosts_)
    if (o.port == port && o.name == name)
      return true;
  return false;
}

bool address_policy::allows(std::string_view host, const ip_address& address,
                            uint16_t port) const {
  return !refusal(host, address, port);
}

std::string address_policy::to_string() const {
  std::string out;
  for (auto& e : entries_)
    out += (out.empty() ? "" : ", ") + e;
  return out;
}

std::optional<std::string> literal_host_refusal(std::string_view url,
                                                const address_policy& policy) {
  auto parts = parse_http_url(url);
  if (!parts)
    return std::nullopt;
  auto address = parse_ip_host(parts->host);
  if (!address)
    return std::nullopt;
  unsigned port = 0;
  std::from_chars(parts->port.data(), parts->port.data() + parts->port.size(),
                  port);
  return policy.refusal(parts->host, *address, static_cast<uint16_t>(port));
}

bool is_trigger_path(std::string_view path) {
  return path.compare(0, 9, "/webhook/") == 0;
}

bool is_own_trigger_url(std::string_view url, const address_policy& policy) {
  auto parts = parse_http_url(url);
  if (!parts || !is_trigger_path(parts->target))
    return false;
  unsigned port = 0;
  std::from_chars(parts->port.data(), parts->port.data() + parts->port.size(),
                  port);
  return policy.own_endpoint(parts->host, parse_ip_host(parts->host),
                             static_cast<uint16_t>(port));
}

// -- clients behind a reverse proxy ------------------------------------------

std::optional<std::vector<ip_network>> parse_network_list(std::string_view list,
                                                          std::string& error) {
  std::vector<ip_network> out;
  if (text::trim(list).empty())
    return out;
  size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    auto raw = text::trim(list.substr(pos, comma - pos));
    pos = comma == std::string_view::npos ? list.size() + 1 : comma + 1;
    if (raw.empty()) {
      error = "empty entry (two commas, or a comma at the start or end)";
      return std::nullopt;
    }
    ip_network net;
    if (auto why = parse_network(normalize_name(raw), net)) {
      error = "entry " + quoted(raw) + ": " + *why;
      return std::nullopt;
    }
    out.push_back(net);
  }
  return out;
}

std::string address_bucket(std::string_view client) {
  auto a = parse_ip_host(client);
  if (!a)
    return std::string{client};
  if (a->family == ip_family::v4)
    return a->to_string();
  return ip_network{masked(*a, 64), 64}.to_string();
}

ip_address forwarded_client(const ip_address& peer,
                            std::string_view x_forwarded_for,
                            const std::vector<ip_network>& trusted) {
  auto is_trusted = [&](const ip_address& a) {
    for (auto& net : trusted)
      if (net.contains(a))
        return true;
    return false;
  };
  auto client = peer.unmapped();
  if (!is_trusted(client))
    return client;
  auto rest = x_forwarded_for;
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    auto hop = text::trim(
      comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{}
                                           : rest.substr(0, comma);
    // "[::1]" as some proxies write it; "[::1" is not an address.
    if (!hop.empty() && hop.front() == '[' && hop.back() == ']')
      hop = hop.substr(1, hop.size() - 2);
    auto address = parse_list_address(hop);
    if (!address)
      return client;
    client = address->unmapped();
    if (!is_trusted(client))
      return client;
  }
  return client;
}

} // namespace nod
