#pragma once

// An asynchronous SMTP client for the email channel (issue #19): STARTTLS
// (required) or implicit TLS, AUTH PLAIN, one message per connection.
// Asio stays in the .cpp; callers see `nod::mail_message`.

#include "actors/alerts.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace nod::net {

/// Settings of the SMTP client (the `smtp-*` settings).
struct smtp_options {
  std::string host;
  uint16_t port = 587;
  /// "starttls" (required), "tls" (implicit) or "none".
  std::string tls = "starttls";
  bool verify_tls = true;
  /// AUTH PLAIN when `user` is set (only over TLS).
  std::string user;
  std::string password;
  /// "Name <address>" or "address".
  std::string from = "nod@localhost";
  /// The whole exchange, connect to QUIT.
  std::chrono::milliseconds timeout{30000};
  /// What EHLO says this host is.
  std::string helo_name = "nod-server";
};

/// Sends emails on its own thread. `send` returns at once; `done` is called
/// once, on the client's thread, with "" on success or the reason (e.g.
/// "SMTP 550 after RCPT TO: no such user").
class smtp_client {
public:
  explicit smtp_client(smtp_options opts);
  ~smtp_client();

  smtp_client(const smtp_client&) = delete;
  smtp_client& operator=(const smtp_client&) = delete;

  void send(mail_message message, std::function<void(std::string)> done);

  /// Cancels what is in flight (each `done` gets "client stopped") and
  /// joins the thread. Idempotent; the destructor calls it.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace nod::net
