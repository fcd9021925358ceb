#pragma once

// A real HTTP/1.1 webhook receiver for end-to-end tests: it listens on
// 127.0.0.1 (a free port), records every request and answers each one as
// the test's script says. Plain sockets; no Beast here or in the .cpp.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nod::test {

/// What the sink does with one request.
struct sink_action {
  enum class kind {
    /// Answer with `status` (and `Retry-After` when set), then close.
    reply,
    /// Never answer; the connection stays open until the client gives up
    /// or the sink stops.
    hang,
    /// Close the connection without a word.
    close,
  };

  kind what = kind::reply;
  unsigned status = 200;
  /// `Retry-After` value to send; empty for none.
  std::string retry_after;
  /// More header fields of the reply.
  std::vector<std::pair<std::string, std::string>> headers;

  /// Answer `status`, with `Retry-After: retry_after` when not empty.
  static sink_action reply(unsigned status, std::string retry_after = {});
  /// Never answer.
  static sink_action hang();
  /// Close the connection without answering.
  static sink_action close();

  /// This action with header `name: value` added to the reply.
  sink_action with(std::string name, std::string value) const;
};

/// One request as the sink read it.
struct sink_request {
  /// When the whole request (head and body) had arrived.
  std::chrono::steady_clock::time_point at;
  std::string method;
  std::string target;
  /// Header fields in arrival order, names as the client spelled them.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The body, byte for byte (chunked bodies decoded).
  std::string body;
  /// What the sink did with it.
  sink_action action;

  /// Value of header `name` (case-insensitive), or empty.
  std::string header(const std::string& name) const;
  /// How many fields named `name` (case-insensitive) the request had.
  size_t header_count(const std::string& name) const;
};

/// The receiver. Each connection is served on its own thread; requests
/// are numbered from 0 in the order they were read.
class webhook_sink {
public:
  /// Picks the action for request number `index` (0-based). It runs on a
  /// connection's thread with the sink's lock held, so it must not call
  /// the sink.
  using script = std::function<sink_action(size_t index, const sink_request&)>;

  /// Starts a sink that answers 200 to everything. Throws
  /// std::runtime_error when it cannot listen.
  webhook_sink();

  /// Starts a sink that answers as `s` says.
  explicit webhook_sink(script s);

  /// Stops the sink (see `stop`).
  ~webhook_sink();

  webhook_sink(const webhook_sink&) = delete;
  webhook_sink& operator=(const webhook_sink&) = delete;

  /// The port it listens on.
  uint16_t port() const;

  /// "http://127.0.0.1:<port>" + `path`.
  std::string url(const std::string& path = "/hook") const;

  /// Replaces the script; later requests follow the new one.
  void set_script(script s);

  /// Answers request i with `actions[i]`, and every request past the end
  /// with the last action.
  void set_sequence(std::vector<sink_action> actions);

  /// Answers every request the same way.
  void always(sink_action action);

  /// Every request read so far.
  std::vector<sink_request> requests() const;

  /// How many requests were read so far.
  size_t count() const;

  /// Waits until at least `n` requests (1-based: the n-th) have been read
  /// and returns the n-th, or nothing when `timeout` passes first.
  std::optional<sink_request> wait_for(size_t n,
                                       std::chrono::milliseconds timeout);

  /// Stops listening, ends every connection (hanging ones included) and
  /// joins the threads. Idempotent.
  void stop();

private:
  void accept_loop();
  void serve(int fd);
  sink_action record(sink_request r);

  int listen_fd_ = -1;
  /// Written once by `stop` to wake every poll.
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  script script_;
  std::vector<sink_request> requests_;
  std::vector<std::thread> connections_;
  bool stopped_ = false;
};

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
uint16_t closed_port();

} // namespace nod::test
