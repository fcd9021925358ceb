// The outbound address policy and client addresses
// (protocol/address_policy.hpp, webhook.hpp's URL parser). The input is
// NUL-separated: a policy list, a URL, a host, an X-Forwarded-For value.
// Properties: every spelling of an address reads as one canonical address;
// a URL whose literal host is loopback, link-local or unspecified is always
// refused by the default policy; a policy or network list that parses
// prints as text that parses to the same thing; the client behind a proxy
// is the peer or an address the proxy named.

#include "fuzz/fuzz_check.hpp"
#include "protocol/address_policy.hpp"
#include "protocol/text.hpp"
#include "protocol/webhook.hpp"

#include <cstddef>
#include <cstdint>

namespace {

using namespace nod;

void check_host(std::string_view host) {
  auto a = parse_ip_host(host);
  if (!a)
    return;
  FUZZ_CHECK(a->unmapped() == *a);
  auto text = a->to_string();
  FUZZ_CHECK(parse_ip_host(text) == a);
  FUZZ_CHECK(address_bucket(text) == address_bucket(address_bucket(text)));
  auto kind = classify(*a);
  static const address_policy defaults;
  bool refused = !defaults.allows(host, *a, 443);
  FUZZ_CHECK(refused == (kind != address_kind::external));
}

void check_url(std::string_view url) {
  static const address_policy defaults;
  auto parts = parse_http_url(url);
  auto refusal = literal_host_refusal(url, defaults);
  if (!parts) {
    FUZZ_CHECK(!refusal);
    return;
  }
  FUZZ_CHECK(!parts->host.empty() && !parts->target.empty()
             && parts->target[0] == '/');
  auto port = std::stoul(parts->port);
  FUZZ_CHECK(port >= 1 && port <= 65535);
  if (auto a = parse_ip_host(parts->host)) {
    auto kind = classify(*a);
    FUZZ_CHECK(refusal.has_value() == (kind != address_kind::external));
  } else {
    FUZZ_CHECK(!refusal);
  }
  if (refusal)
    FUZZ_CHECK(refusal->find('\n') == std::string::npos);
}

void check_policy(std::string_view list, std::string_view host) {
  std::string error;
  auto policy = address_policy::parse(list, error);
  if (!policy) {
    FUZZ_CHECK(!error.empty() && error.find('\n') == std::string::npos);
    return;
  }
  auto text = policy->to_string();
  auto again = address_policy::parse(text, error);
  FUZZ_CHECK(again && again->to_string() == text);
  if (auto a = parse_ip_host(host)) {
    FUZZ_CHECK(policy->allows(host, *a, 80) == again->allows(host, *a, 80));
    auto kind = classify(*a);
    // Only an explicit CIDR lets these through, and that prints as one.
    if ((kind == address_kind::link_local || kind == address_kind::unspecified)
        && policy->allows(host, *a, 80))
      FUZZ_CHECK(text.find('/') != std::string::npos);
  }
}

void check_forwarded(std::string_view list, std::string_view host,
                     std::string_view xff) {
  std::string error;
  auto trusted = parse_network_list(list, error);
  if (!trusted) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  auto peer = parse_ip_host(host);
  if (!peer)
    return;
  auto client = forwarded_client(*peer, xff, *trusted);
  bool peer_trusted = false;
  for (auto& net : *trusted)
    peer_trusted = peer_trusted || net.contains(*peer);
  if (!peer_trusted) {
    FUZZ_CHECK(client == *peer);
    return;
  }
  bool named = client == *peer;
  for (auto& hop : fuzz::split_list(xff, ','))
    named = named || parse_ip_host(text::trim(hop)) == client;
  FUZZ_CHECK(named);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = fuzz::split_nul({reinterpret_cast<const char*>(data), size});
  parts.resize(4);
  check_host(parts[2]);
  check_url(parts[1]);
  check_policy(parts[0], parts[2]);
  check_forwarded(parts[0], parts[2], parts[3]);
  return 0;
}
