// Memory bounds against the real binary (issue #17, part 4): credentials
// checked before a body is read, the server-wide budget of request-body
// bytes, caps on free-form JSON, and list replies bounded in bytes.

#include "tests/e2e/server_fixture.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace nod::test {
namespace {

using namespace std::chrono_literals;

/// A client connection that sends exactly what it is told, when told.
class raw_client {
public:
  explicit raw_client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      ADD_FAILURE() << "cannot connect";
  }

  ~raw_client() {
    ::close(fd_);
  }

  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  void send(const std::string& bytes) {
    size_t at = 0;
    while (at < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) {
        ADD_FAILURE() << "send failed";
        return;
      }
      at += static_cast<size_t>(n);
    }
  }

  /// The response's status line and headers (up to the blank line), or
  /// what came before the peer closed or 10 s passed.
  std::string head() {
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

private:
  int fd_;
};

/// The head of a POST to `target` announcing a body of `length` bytes.
std::string post_head(const std::string& target, size_t length,
                      const std::string& extra_headers = {}) {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         + "Content-Type: application/json\r\n" + extra_headers
         + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

std::string agent_headers(const agent_info& a, const std::string& secret) {
  return "X-Nod-Agent-Id: " + a.id + "\r\nX-Nod-Secret: " + secret + "\r\n";
}

class memory_bounds_e2e : public server_fixture {
protected:
  memory_bounds_e2e()
    : server_fixture(
      {{"NOD_MAX_BODY_BYTES", "2MiB"}, {"NOD_MAX_BODY_MEMORY", "3MiB"}}) {}
};

TEST_F(memory_bounds_e2e, no_body_is_read_without_valid_credentials) {
  auto a = create_agent("guarded");
  // Each request announces a large body and sends none of it: the answer
  // comes from the headers alone.
  struct probe {
    std::string head;
    const char* status;
  };
  std::vector<probe> probes{
    {post_head("/api/agent/events", 2000000), "HTTP/1.1 401"},
    {post_head("/api/agent/events", 2000000, agent_headers(a, "nod_wrong")),
     "HTTP/1.1 401"},
    {post_head("/api/agent/inbox/ack", 2000000,
               agent_headers(a, a.secret + "0")),
     "HTTP/1.1 401"},
    {post_head("/api/agents", 2000000), "HTTP/1.1 401"},
    {post_head("/api/agents", 2000000,
               "Authorization: Bearer nodt_" + std::string(64, '0') + "\r\n"),
     "HTTP/1.1 401"},
    {post_head("/api/auth/login", 100000), "HTTP/1.1 413"},
    {post_head("/webhook/trg_" + std::string(32, '0'), 2000000),
     "HTTP/1.1 413"},
    {post_head("/webhook/nope", 1000), "HTTP/1.1 404"},
  };
  for (auto& p : probes) {
    SCOPED_TRACE(p.head);
    raw_client c{port};
    c.send(p.head);
    auto head = c.head();
    EXPECT_EQ(head.rfind(p.status, 0), 0u) << head;
  }
  // Valid credentials: the body is read and handled.
  raw_client ok{port};
  std::string body = R"({"type":"message","text":"hi"})";
  ok.send(
    post_head("/api/agent/events", body.size(), agent_headers(a, a.secret)));
  ok.send(body);
  EXPECT_EQ(ok.head().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(memory_bounds_e2e, bodies_in_flight_share_one_budget) {
  auto a = create_agent("uploader");
  // Announces 2 MiB and sends only the start: the budget holds 2 of 3 MiB.
  raw_client slow{port};
  slow.send(post_head("/api/agent/events", 2 * 1024 * 1024,
                      agent_headers(a, a.secret)));
  slow.send(R"({"type":"message","text":")");
  std::this_thread::sleep_for(300ms);
  raw_client second{port};
  second.send(
    post_head("/api/agent/events", 1536 * 1024, agent_headers(a, a.secret)));
  auto refused = second.head();
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  // Small requests still fit beside it.
  EXPECT_EQ(agent_call(a, "POST", "/api/agent/events",
                       R"({"type":"message","text":"small"})")
              .status,
            200u);
  auto metrics = http_call(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("nod_http_bodies_refused_total 1"), std::string::npos);
}

TEST_F(memory_bounds_e2e, free_form_json_is_capped_by_size) {
  auto a = create_agent("verbose");
  auto big = std::string(70 * 1024, 'x');
  auto r = agent_call(a, "POST", "/api/agent/events",
                      R"({"type":"status","action":"dump","details":{"log":")"
                        + big + "\"}}");
  EXPECT_EQ(r.status, 400u) << r.body.substr(0, 200);
  EXPECT_NE(r.body.find("details: at most 65536 bytes"), std::string::npos)
    << r.body.substr(0, 200);
  auto fits = std::string(60 * 1024, 'x');
  EXPECT_EQ(agent_call(a, "POST", "/api/agent/events",
                       R"({"type":"status","action":"dump","details":{"log":")"
                         + fits + "\"}}")
              .status,
            200u);
}

TEST_F(memory_bounds_e2e, lists_are_bounded_in_bytes_and_page_on) {
  auto a = create_agent("chatty");
  auto fits = std::string(60 * 1024, 'x');
  constexpr int events = 90; // ~5.4 MB of activity in all
  for (int i = 0; i < events; ++i)
    ASSERT_EQ(agent_call(a, "POST", "/api/agent/events",
                         R"({"type":"status","action":"step )"
                           + std::to_string(i) + R"(","details":{"log":")"
                           + fits + "\"}}")
                .status,
              200u);
  size_t seen = 0;
  std::string before;
  for (int page = 0; page < 10 && seen < events; ++page) {
    auto r = app("GET", "/api/activity?limit=200" + before);
    ASSERT_EQ(r.status, 200u);
    EXPECT_LE(r.body.size(), 4u * 1024 * 1024 + 64 * 1024);
    auto list = parse(r.body);
    ASSERT_TRUE(list.IsArray());
    ASSERT_GT(list.Size(), 0u);
    if (page == 0) {
      EXPECT_LT(list.Size(), static_cast<size_t>(events))
        << "one page of 5 MB: not bounded in bytes";
    }
    seen += list.Size();
    before = "&before=" + str(list[list.Size() - 1], "id");
  }
  EXPECT_EQ(seen, static_cast<size_t>(events));
}

} // namespace
} // namespace nod::test
