#pragma once

// An asynchronous HTTP(S) client for outbound webhooks (API.md A7). Beast
// stays in the .cpp; callers see only `nod::http_post`.

#include "protocol/address_policy.hpp"
#include "protocol/webhook.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace nod::net {

/// Settings of the webhook client.
struct webhook_client_options {
  /// Threads running the client's own io_context.
  size_t threads = 1;
  /// Verify server certificates against the system's CA store (and
  /// `ca_file` when set) and the host name. Off only for tests.
  bool verify_tls = true;
  /// Extra PEM CA file to trust; empty for none.
  std::string ca_file;
  /// Largest response (headers and body) read; larger is a
  /// connection_error.
  size_t max_response_bytes = 64 * 1024;
  /// Hand the response body to the caller (`http_post_result::body`);
  /// webhooks and pushes need only the status.
  bool keep_body = false;
  /// Where the client may connect (`webhook-allowed-hosts`), checked on
  /// every resolved address before connecting; null allows anything.
  std::shared_ptr<const address_policy> allowed_hosts;
  /// Idle keep-alive connections kept per receiver (scheme, host, port).
  size_t max_idle_per_host = 64;
  /// How long an idle connection is kept for the next request.
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds{15};
};

/// Posts webhooks on its own io_context. Never blocks the caller: `post`
/// returns at once and `done` is called later, on one of the client's
/// threads, exactly once per `post` (also when the client stops).
/// Redirects are not followed (a 3xx is just a status). Connections are
/// kept open between requests to the same receiver when it allows it
/// (HTTP/1.1 keep-alive), at most `max_idle_per_host` idle ones each, and a
/// kept connection found closed is replaced once, transparently.
class webhook_client {
public:
  explicit webhook_client(webhook_client_options opts = {});
  ~webhook_client();

  webhook_client(const webhook_client&) = delete;
  webhook_client& operator=(const webhook_client&) = delete;

  /// Starts one POST of `req`. `done` must not block. After `stop`, `done`
  /// is called at once, on the caller's thread, with a connection_error.
  void post(http_post req, std::function<void(http_post_result)> done);

  /// Cancels what is in flight (each `done` is called with a
  /// connection_error "client stopped") and joins the threads. Idempotent;
  /// the destructor calls it. Called from inside a `done` it only cancels;
  /// the threads are joined by a later call from outside.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace nod::net
