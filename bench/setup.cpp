#include "bench/setup.hpp"

#include "bench/clients.hpp"
#include "testkit/json.hpp"

#include <map>
#include <stdexcept>

namespace nod::bench {

namespace {

std::string describe(const testkit::http_reply& r) {
  return bench::describe(r.status, r.body);
}

} // namespace

api_client::api_client(const boost::asio::ip::tcp::endpoint& ep,
                       std::string host)
  : session_(ep.address().to_string(), ep.port(), std::move(host)) {
  session_.user_agent("nod-bench");
  // Login hashes a password slowly.
  session_.timeouts(connect_timeout, std::chrono::seconds{60});
}

testkit::http_reply api_client::call(const std::string& method,
                                     const std::string& target,
                                     const std::string& body,
                                     const testkit::header_list& headers) {
  testkit::header_list all;
  if (!token_.empty())
    all.emplace_back("Authorization", "Bearer " + token_);
  all.insert(all.end(), headers.begin(), headers.end());
  if (!body.empty() || method == "POST")
    all.emplace_back("Content-Type", "application/json");
  return session_.call(method, target, body, all);
}

agent_creds create_agent(api_client& c, const std::string& name,
                         const std::string& extra) {
  auto r = c.call("POST", "/api/agents",
                  "{\"name\":" + testkit::quote(name) + extra + "}");
  if (r.status != 201 && r.status != 200)
    throw std::runtime_error("creating agent " + name
                             + " failed: " + describe(r));
  auto doc = testkit::parse(r.body);
  agent_creds a{testkit::str(doc, "agent_id"), testkit::str(doc, "secret")};
  if (a.id.empty())
    a.id = testkit::str(doc, "id");
  if (a.id.empty() || a.secret.empty())
    throw std::runtime_error("agent reply lacks agent_id or secret: "
                             + describe(r));
  return a;
}

setup_result setup(api_client& c, const std::string& password, int n) {
  setup_result s;
  auto res = c.call(
    "POST", "/api/auth/login",
    "{\"username\":\"admin\",\"password\":" + testkit::quote(password) + "}");
  if (res.status != 200)
    throw std::runtime_error("login as admin failed: " + describe(res));
  s.token = testkit::str(testkit::parse(res.body), "token");
  if (s.token.empty())
    throw std::runtime_error("login reply has no token: " + describe(res));
  c.set_token(s.token);
  s.tag = random_hex(3);
  for (int i = 0; i < n && !interrupted; ++i)
    s.agents.push_back(
      create_agent(c, "bench-" + s.tag + "-" + std::to_string(i)));
  return s;
}

std::string delivery_summary(api_client& c, const std::string& agent_id) {
  testkit::http_reply res;
  try {
    res = c.call("GET", "/api/agents/" + agent_id + "/deliveries?limit=200");
  } catch (const std::exception& e) {
    return std::string{"GET deliveries failed: "} + e.what();
  }
  auto doc = testkit::parse(res.body);
  if (res.status != 200 || !doc.IsArray())
    return "GET deliveries failed: " + describe(res);
  std::map<std::string, size_t> counts;
  for (auto& d : doc.GetArray()) {
    auto state = testkit::str(d, "state");
    auto channel = testkit::str(d, "channel");
    ++counts[state + (channel.empty() ? "" : " by " + channel)];
  }
  std::string out = "the newest " + std::to_string(doc.Size())
                    + " deliveries to " + agent_id + ":";
  for (auto& [what, n] : counts)
    out += " " + std::to_string(n) + " " + what + ",";
  if (!counts.empty())
    out.pop_back();
  return out;
}

std::optional<std::string> probe_rest(api_client& c, const agent_creds& a) {
  testkit::http_reply res;
  try {
    res = c.call("POST", "/api/agent/events",
                 "{\"type\":\"message\",\"text\":\"bench probe\"}",
                 {{"X-Nod-Agent-Id", a.id}, {"X-Nod-Secret", a.secret}});
  } catch (const std::exception& e) {
    return std::string{"POST /api/agent/events failed: "} + e.what();
  }
  if (res.status == 200 && res.body.find("\"message_id\"") != std::string::npos)
    return std::nullopt;
  if (res.status == 404 || res.status == 405)
    return "POST /api/agent/events is not served (" + describe(res) + ")";
  return "POST /api/agent/events failed: " + describe(res);
}

std::optional<std::string> probe_message(api_client& c, const agent_creds& a) {
  auto target = "/api/agents/" + a.id + "/messages";
  testkit::http_reply res;
  try {
    res = c.call("POST", target, "{\"text\":\"bench probe\"}");
  } catch (const std::exception& e) {
    return "POST " + target + " failed: " + e.what();
  }
  if (res.status == 201 && res.body.find("\"event_id\"") != std::string::npos)
    return std::nullopt;
  if (res.status == 404 || res.status == 405)
    return "POST /api/agents/{id}/messages is not served (" + describe(res)
           + ")";
  return "POST " + target + " failed: " + describe(res);
}

std::optional<std::string> probe_ws(const boost::asio::ip::tcp::endpoint& ep,
                                    const std::string& host,
                                    const agent_creds& a) {
  auto target = "/ws/agent/" + a.id;
  try {
    testkit::ws_client ws;
    ws.user_agent("nod-bench");
    auto status
      = ws.connect_to(ep.address().to_string(), ep.port(), host, target);
    if (status != 101)
      return "GET " + target + " was not upgraded ("
             + describe(ws.handshake_reply()) + ")";
    ws.send_text(auth_frame(a));
    auto frame = ws.read_text(op_timeout);
    if (!frame && ws.closed() && ws.close_code() != 1006)
      return "auth refused: closed with code " + std::to_string(ws.close_code())
             + " " + ws.close_reason();
    if (!frame)
      return std::string{"auth failed: "}
             + (ws.closed() ? "the connection ended" : "no reply in time");
    if (testkit::str(testkit::parse(*frame), "type") != "auth_ok")
      return "auth failed: unexpected reply " + clip(*frame);
    ws.close();
  } catch (const std::exception& e) {
    return std::string{"WebSocket probe failed: "} + e.what();
  }
  return std::nullopt;
}

} // namespace nod::bench
