#pragma once

// WebSocket close codes, the one list for the network layer and the
// sessions. RFC 6455 7.4.1 defines those below 4000; 4000-4999 are the
// server's own (API.md A3, B3).

#include <cstdint>

namespace nod::ws_close {

/// The purpose of the connection is fulfilled.
constexpr uint16_t normal = 1000;
/// The server is shutting down.
constexpr uint16_t going_away = 1001;
/// The peer broke the protocol (Beast fails such a connection itself).
constexpr uint16_t protocol_error = 1002;
/// A message of a type the endpoint does not take (binary: the APIs speak
/// JSON text).
constexpr uint16_t unsupported_data = 1003;
/// Reported when the peer's close frame had no code; never sent.
constexpr uint16_t no_status = 1005;
/// Reported when the connection ended without a close frame; never sent.
constexpr uint16_t abnormal = 1006;
/// A text message that is not UTF-8 (Beast fails such a connection
/// itself).
constexpr uint16_t invalid_payload = 1007;
/// The client broke a rule of the API (e.g. its rate limit).
constexpr uint16_t policy_violation = 1008;
/// A message larger than the server reads.
constexpr uint16_t too_big = 1009;
/// The server failed: a handler threw, or a service it needs did not
/// answer.
constexpr uint16_t internal_error = 1011;
/// Refused for now: too many wrong secrets from this address (the reason
/// says when to try again).
constexpr uint16_t try_again_later = 1013;

/// Auth frame missing, late, not JSON or not `auth`.
constexpr uint16_t auth_required = 4001;
/// Wrong secret or token.
constexpr uint16_t auth_failed = 4003;
/// Unknown agent.
constexpr uint16_t unknown_agent = 4004;
/// The client read too slowly: its send queue overflowed.
constexpr uint16_t too_slow = 4008;
/// The agent opened more sockets than `max-sockets-per-agent`: the oldest
/// is closed.
constexpr uint16_t too_many_sockets = 4009;

} // namespace nod::ws_close
