#include "tests/e2e/webhook_sink.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nod::test {

namespace {

/// The largest request the sink reads (head and body).
constexpr size_t max_request_bytes = 16 * 1024 * 1024;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("webhook_sink: " + what + ": "
                           + std::strerror(errno));
}

bool iequal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && strcasecmp(a.c_str(), b.c_str()) == 0;
}

std::string trim(const std::string& s) {
  auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos)
    return {};
  auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

const char* reason_phrase(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

/// Reads from a client socket, giving up when the peer closes, a read
/// fails or `wake` becomes readable (the sink stops).
class reader {
public:
  reader(int fd, int wake) : fd_(fd), wake_(wake) {}

  /// Reads more bytes into `buf`; false when no more will come.
  bool fill() {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
    for (;;) {
      auto n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || (fds[1].revents & POLLIN))
        return false;
      if (fds[0].revents == 0)
        continue;
      char chunk[16384];
      auto got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0 || buf.size() + static_cast<size_t>(got) > max_request_bytes)
        return false;
      buf.append(chunk, static_cast<size_t>(got));
      return true;
    }
  }

  /// Ensures `buf` holds at least `n` bytes from `pos`.
  bool need(size_t pos, size_t n) {
    while (buf.size() < pos + n)
      if (!fill())
        return false;
    return true;
  }

  /// Position just past the next "\r\n" at or after `pos`.
  std::optional<size_t> line_end(size_t pos) {
    for (;;) {
      auto at = buf.find("\r\n", pos);
      if (at != std::string::npos)
        return at + 2;
      if (!fill())
        return std::nullopt;
    }
  }

  std::string buf;

private:
  int fd_;
  int wake_;
};

/// Reads one request from `fd` into `out`; false when the connection ended
/// (or the sink stopped) before a whole request arrived.
bool read_request(int fd, int wake, sink_request& out) {
  reader in{fd, wake};
  size_t head_end = 0;
  for (;;) {
    auto at = in.buf.find("\r\n\r\n");
    if (at != std::string::npos) {
      head_end = at + 4;
      break;
    }
    if (!in.fill())
      return false;
  }
  // Request line.
  auto first = in.buf.find("\r\n");
  auto line = in.buf.substr(0, first);
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1)
    return false;
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  // Header fields.
  size_t pos = first + 2;
  while (pos < head_end - 2) {
    auto end = in.buf.find("\r\n", pos);
    auto field = in.buf.substr(pos, end - pos);
    pos = end + 2;
    auto colon = field.find(':');
    if (colon == std::string::npos)
      return false;
    out.headers.emplace_back(field.substr(0, colon),
                             trim(field.substr(colon + 1)));
  }
  // Body: Content-Length or chunked.
  auto chunked = false;
  std::optional<size_t> length;
  for (auto& [name, value] : out.headers) {
    if (iequal(name, "transfer-encoding")
        && value.find("chunked") != std::string::npos)
      chunked = true;
    if (iequal(name, "content-length"))
      length = static_cast<size_t>(std::stoull(value));
  }
  if (chunked) {
    pos = head_end;
    for (;;) {
      auto end = in.line_end(pos);
      if (!end)
        return false;
      auto size = std::stoull(in.buf.substr(pos, *end - 2 - pos), nullptr, 16);
      pos = *end;
      if (size == 0) {
        // Trailer fields, up to the empty line.
        for (;;) {
          auto t = in.line_end(pos);
          if (!t)
            return false;
          bool empty = *t == pos + 2;
          pos = *t;
          if (empty)
            return true;
        }
      }
      if (!in.need(pos, size + 2))
        return false;
      out.body.append(in.buf, pos, size);
      pos += size + 2;
    }
  }
  if (length) {
    if (*length > max_request_bytes || !in.need(head_end, *length))
      return false;
    out.body = in.buf.substr(head_end, *length);
  }
  return true;
}

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    done += static_cast<size_t>(n);
  }
}

/// Waits until the peer closes `fd` or `wake` becomes readable.
void wait_for_end(int fd, int wake) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
  for (;;) {
    auto n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || (fds[1].revents & POLLIN))
      return;
    if (fds[0].revents == 0)
      continue;
    char chunk[4096];
    auto got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got == 0 || (got < 0 && errno != EINTR))
      return;
  }
}

} // namespace

sink_action sink_action::reply(unsigned status, std::string retry_after) {
  sink_action a;
  a.what = kind::reply;
  a.status = status;
  a.retry_after = std::move(retry_after);
  return a;
}

sink_action sink_action::hang() {
  sink_action a;
  a.what = kind::hang;
  a.status = 0;
  return a;
}

sink_action sink_action::close() {
  sink_action a;
  a.what = kind::close;
  a.status = 0;
  return a;
}

sink_action sink_action::with(std::string name, std::string value) const {
  auto a = *this;
  a.headers.emplace_back(std::move(name), std::move(value));
  return a;
}

std::string sink_request::header(const std::string& name) const {
  for (auto& [key, value] : headers)
    if (iequal(key, name))
      return value;
  return {};
}

size_t sink_request::header_count(const std::string& name) const {
  return static_cast<size_t>(
    std::count_if(headers.begin(), headers.end(), [&](const auto& field) {
      return iequal(field.first, name);
    }));
}

webhook_sink::webhook_sink()
  : webhook_sink([](size_t, const sink_request&) {
      return sink_action::reply(200);
    }) {}

webhook_sink::webhook_sink(script s) : script_(std::move(s)) {
  if (::pipe2(wake_, O_CLOEXEC) != 0)
    fail("pipe2");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    fail("socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail("bind");
  if (::listen(listen_fd_, 128) != 0)
    fail("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    fail("getsockname");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] {
    accept_loop();
  });
}

webhook_sink::~webhook_sink() {
  stop();
}

uint16_t webhook_sink::port() const {
  return port_;
}

std::string webhook_sink::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void webhook_sink::set_script(script s) {
  std::lock_guard<std::mutex> lock{mtx_};
  script_ = std::move(s);
}

void webhook_sink::set_sequence(std::vector<sink_action> actions) {
  if (actions.empty())
    actions.push_back(sink_action::reply(200));
  set_script([actions = std::move(actions)](size_t i, const sink_request&) {
    return actions[std::min(i, actions.size() - 1)];
  });
}

void webhook_sink::always(sink_action action) {
  set_script([action](size_t, const sink_request&) {
    return action;
  });
}

std::vector<sink_request> webhook_sink::requests() const {
  std::lock_guard<std::mutex> lock{mtx_};
  return requests_;
}

size_t webhook_sink::count() const {
  std::lock_guard<std::mutex> lock{mtx_};
  return requests_.size();
}

std::optional<sink_request>
webhook_sink::wait_for(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{mtx_};
  if (n == 0)
    return std::nullopt;
  if (!cv_.wait_for(lock, timeout, [&] {
        return requests_.size() >= n;
      }))
    return std::nullopt;
  return requests_[n - 1];
}

void webhook_sink::stop() {
  {
    std::lock_guard<std::mutex> lock{mtx_};
    if (stopped_)
      return;
    stopped_ = true;
  }
  char byte = 1;
  while (::write(wake_[1], &byte, 1) < 0 && errno == EINTR) {
  }
  acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    connections.swap(connections_);
  }
  for (auto& t : connections)
    t.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void webhook_sink::accept_loop() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  for (;;) {
    auto n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || (fds[1].revents & POLLIN))
      return;
    if (!(fds[0].revents & POLLIN))
      continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    std::lock_guard<std::mutex> lock{mtx_};
    if (stopped_) {
      ::close(fd);
      return;
    }
    connections_.emplace_back([this, fd] {
      serve(fd);
      ::close(fd);
    });
  }
}

void webhook_sink::serve(int fd) {
  sink_request req;
  bool complete = false;
  try {
    complete = read_request(fd, wake_[0], req);
  } catch (const std::exception&) {
    // A malformed number in the head: not a request we can answer.
  }
  if (!complete)
    return;
  req.at = std::chrono::steady_clock::now();
  auto action = record(std::move(req));
  switch (action.what) {
    case sink_action::kind::reply: {
      std::string out = "HTTP/1.1 " + std::to_string(action.status) + " "
                        + reason_phrase(action.status) + "\r\n";
      if (!action.retry_after.empty())
        out += "Retry-After: " + action.retry_after + "\r\n";
      for (auto& [name, value] : action.headers)
        out += name + ": " + value + "\r\n";
      out += "Content-Type: text/plain\r\nContent-Length: 2\r\n"
             "Connection: close\r\n\r\nok";
      write_all(fd, out);
      ::shutdown(fd, SHUT_WR);
      // Let the client read the answer and close first.
      wait_for_end(fd, wake_[0]);
      return;
    }
    case sink_action::kind::hang: wait_for_end(fd, wake_[0]); return;
    case sink_action::kind::close: return;
  }
}

sink_action webhook_sink::record(sink_request r) {
  sink_action action;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    // The script runs under the lock: it must not call the sink.
    action = script_(requests_.size(), r);
    r.action = action;
    requests_.push_back(std::move(r));
  }
  cv_.notify_all();
  return action;
}

uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    fail("bind");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace nod::test
