#pragma once

// The short names net/*.cpp use for Asio and Beast. Internal to net/: only
// source files include it, never a header other code includes, so Beast
// stays out of the rest of the build (the headers are compiled once, in
// net/asio_impl.cpp).

#include "protocol/address_policy.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>

// Declared here so that the aliases below need no Beast header; the source
// files include the parts they use.
namespace boost::beast::http {}
namespace boost::beast::websocket {}

namespace nod::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
/// Each connection (and the listener) runs on a strand of its own.
using strand_type = asio::strand<asio::io_context::executor_type>;

/// `a` as the address policy and throttling see it (IPv4-mapped as IPv4).
inline ip_address to_ip_address(const asio::ip::address& a) {
  auto ip = a.is_v4() ? ip_address::v4(a.to_v4().to_bytes())
                      : ip_address::v6(a.to_v6().to_bytes());
  return ip.unmapped();
}

} // namespace nod::net
