#pragma once

// nod-bench's blocking side, never inside a handler: the admin's API client
// (login, agents, deliveries), the setup before the phases, and the probes
// that report a missing endpoint once, clearly, instead of as thousands of
// errors.

#include "bench/common.hpp"
#include "testkit/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nod::bench {

/// A blocking keep-alive client to the server, as the admin once
/// `set_token` was called. Throws on network errors.
class api_client {
public:
  api_client(const boost::asio::ip::tcp::endpoint& ep, std::string host);

  /// Sends a request with the admin's token, if set; a body (or a POST) is
  /// sent as JSON.
  testkit::http_reply call(const std::string& method, const std::string& target,
                           const std::string& body = {},
                           const testkit::header_list& headers = {});

  void set_token(std::string token) {
    token_ = std::move(token);
  }

private:
  testkit::http_session session_;
  std::string token_;
};

struct setup_result {
  std::string token;
  std::string tag; // tells runs against one --url server apart
  std::vector<agent_creds> agents;
};

/// POST /api/agents; `extra` are more JSON members (",\"k\":v").
agent_creds create_agent(api_client& c, const std::string& name,
                         const std::string& extra = {});

/// Logs in as admin with `password` and creates `n` agents.
setup_result setup(api_client& c, const std::string& password, int n);

/// What the server recorded about the newest deliveries to `agent_id`
/// (B2), e.g. "200 delivered by websocket".
std::string delivery_summary(api_client& c, const std::string& agent_id);

/// An agent message through the blocking client: why the rest phase cannot
/// run, or nothing.
std::optional<std::string> probe_rest(api_client& c, const agent_creds& a);

/// A person's message to agent `a` (the server queues it for the agent).
std::optional<std::string> probe_message(api_client& c, const agent_creds& a);

/// Agent `a`'s WebSocket: upgrade and auth.
std::optional<std::string> probe_ws(const boost::asio::ip::tcp::endpoint& ep,
                                    const std::string& host,
                                    const agent_creds& a);

} // namespace nod::bench
