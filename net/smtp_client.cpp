#include "net/smtp_client.hpp"

#include "net/beast_aliases.hpp"
#include "protocol/ids.hpp"
#include "protocol/mail.hpp"
#include "protocol/time.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <openssl/ssl.h>
#include <set>
#include <spdlog/spdlog.h>
#include <thread>

namespace nod::net {

namespace {

namespace ssl = asio::ssl;

/// One message: connect, (TLS,) greeting, EHLO, (STARTTLS, EHLO,) (AUTH,)
/// MAIL, RCPT, DATA, QUIT. Every step runs on the session's strand.
class session : public std::enable_shared_from_this<session> {
public:
  session(asio::io_context& ioc, ssl::context& tls_ctx,
          const smtp_options& opts, mail_message message,
          std::function<void(std::string)> done)
    : opts_(opts), resolver_(asio::make_strand(ioc)),
      tcp_(resolver_.get_executor()), tls_(tcp_, tls_ctx),
      message_(std::move(message)), done_(std::move(done)) {}

  void start() {
    tcp_.expires_after(opts_.timeout);
    resolver_.async_resolve(
      opts_.host, std::to_string(opts_.port),
      [self = shared_from_this()](beast::error_code ec,
                                  tcp::resolver::results_type results) {
        if (ec)
          return self->fail("resolve " + self->opts_.host + ": "
                            + ec.message());
        self->tcp_.async_connect(
          results, [self](beast::error_code ec, const tcp::endpoint&) {
            if (ec)
              return self->fail("connect: " + ec.message());
            if (self->opts_.tls == "tls")
              self->handshake([self] {
                self->greeting();
              });
            else
              self->greeting();
          });
      });
  }

  /// Ends the exchange early (the client stops).
  void cancel() {
    asio::post(tcp_.get_executor(), [self = shared_from_this()] {
      self->fail("client stopped");
    });
  }

private:
  using step = std::function<void()>;

  void finish(std::string error) {
    if (!done_)
      return;
    auto done = std::move(done_);
    done_ = nullptr;
    beast::error_code ignored;
    tcp_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_.close();
    done(std::move(error));
  }

  void fail(std::string why) {
    finish(why.empty() ? std::string{"failed"} : std::move(why));
  }

  void handshake(step next) {
    // SNI and the certificate's name are the configured host.
    if (!SSL_set_tlsext_host_name(tls_.native_handle(), opts_.host.c_str()))
      return fail("TLS: cannot set the server name");
    if (opts_.verify_tls)
      tls_.set_verify_callback(ssl::host_name_verification(opts_.host));
    tls_.async_handshake(
      ssl::stream_base::client,
      [self = shared_from_this(), next](beast::error_code ec) {
        if (ec)
          return self->fail("TLS handshake: " + ec.message());
        self->secure_ = true;
        next();
      });
  }

  /// Reads one complete reply, then `then(reply)`.
  void read_reply(std::function<void(const mail::reply&)> then) {
    if (auto r = mail::parse_reply(in_)) {
      auto reply = *r;
      in_.erase(0, r->size);
      then(reply);
      return;
    }
    if (in_.size() > 64 * 1024)
      return fail("SMTP reply too long");
    auto on_read
      = [self = shared_from_this(), then](beast::error_code ec, size_t n) {
          if (ec)
            return self->fail("read: " + ec.message());
          self->in_.append(self->chunk_.data(), n);
          self->read_reply(then);
        };
    if (secure_)
      tls_.async_read_some(asio::buffer(chunk_), on_read);
    else
      tcp_.async_read_some(asio::buffer(chunk_), on_read);
  }

  /// Sends `line` (with CRLF), reads the reply, and goes on with `next`
  /// when its code is one of `ok`; otherwise fails naming `what`.
  void command(std::string line, std::set<int> ok, std::string what,
               std::function<void(const mail::reply&)> next) {
    out_ = std::move(line) + "\r\n";
    auto on_write
      = [self = shared_from_this(), ok = std::move(ok), what = std::move(what),
         next = std::move(next)](beast::error_code ec, size_t) {
          if (ec)
            return self->fail("write: " + ec.message());
          self->read_reply([self, ok, what, next](const mail::reply& r) {
            if (!ok.count(r.code))
              return self->fail("SMTP " + std::to_string(r.code) + " after "
                                + what + ": " + r.text);
            next(r);
          });
        };
    if (secure_)
      asio::async_write(tls_, asio::buffer(out_), on_write);
    else
      asio::async_write(tcp_, asio::buffer(out_), on_write);
  }

  void greeting() {
    read_reply([self = shared_from_this()](const mail::reply& r) {
      if (r.code != 220)
        return self->fail("SMTP greeting " + std::to_string(r.code) + ": "
                          + r.text);
      self->ehlo([self](const mail::reply& caps) {
        self->after_ehlo(caps);
      });
    });
  }

  void ehlo(std::function<void(const mail::reply&)> next) {
    command("EHLO " + opts_.helo_name, {250}, "EHLO", std::move(next));
  }

  void after_ehlo(const mail::reply& caps) {
    auto self = shared_from_this();
    if (opts_.tls == "starttls" && !secure_) {
      // Required: no credentials or mail over plain text.
      if (!mail::offers(caps, "STARTTLS"))
        return fail("the SMTP server does not offer STARTTLS (smtp-tls)");
      command("STARTTLS", {220}, "STARTTLS", [self](const mail::reply&) {
        self->handshake([self] {
          self->ehlo([self](const mail::reply& c) {
            self->authenticate(c);
          });
        });
      });
      return;
    }
    authenticate(caps);
  }

  void authenticate(const mail::reply& caps) {
    auto self = shared_from_this();
    if (opts_.user.empty())
      return envelope();
    if (!mail::offers(caps, "AUTH PLAIN"))
      return fail("the SMTP server does not offer AUTH PLAIN");
    command(mail::auth_plain(opts_.user, opts_.password), {235}, "AUTH",
            [self](const mail::reply&) {
              self->envelope();
            });
  }

  void envelope() {
    auto self = shared_from_this();
    command("MAIL FROM:<" + mail::bare_address(opts_.from) + ">", {250},
            "MAIL FROM", [self](const mail::reply&) {
              self->command("RCPT TO:<" + self->message_.to + ">", {250, 251},
                            "RCPT TO", [self](const mail::reply&) {
                              self->command("DATA", {354}, "DATA",
                                            [self](const mail::reply&) {
                                              self->data();
                                            });
                            });
            });
  }

  void data() {
    auto self = shared_from_this();
    auto text = mail::format_message(opts_.from, message_.to, message_.subject,
                                     message_.body, now_ms(),
                                     random_id("", 32) + "@" + opts_.helo_name);
    // The message ends with CRLF; "." alone on a line ends DATA.
    command(text + ".", {250}, "the message", [self](const mail::reply&) {
      self->command("QUIT", {221}, "QUIT", [self](const mail::reply&) {
        self->finish({});
      });
      // Delivered once the message is accepted: QUIT's answer is a
      // courtesy.
      auto done = std::move(self->done_);
      self->done_ = nullptr;
      done({});
    });
  }

  const smtp_options& opts_;
  tcp::resolver resolver_;
  beast::tcp_stream tcp_;
  ssl::stream<beast::tcp_stream&> tls_;
  bool secure_ = false;
  mail_message message_;
  std::function<void(std::string)> done_;
  std::string in_;
  std::string out_;
  std::array<char, 4096> chunk_{};
};

} // namespace

struct smtp_client::impl {
  explicit impl(smtp_options o)
    : opts(std::move(o)), tls_ctx(ssl::context::tls_client),
      work(asio::make_work_guard(ioc)) {
    SSL_CTX_set_min_proto_version(tls_ctx.native_handle(), TLS1_2_VERSION);
    beast::error_code ec;
    tls_ctx.set_default_verify_paths(ec);
    tls_ctx.set_verify_mode(
      opts.verify_tls ? ssl::verify_peer : ssl::verify_none, ec);
    thread = std::thread([this] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("smtp client: handler threw: {}", e.what());
        }
      }
    });
  }

  smtp_options opts;
  ssl::context tls_ctx;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  std::mutex mtx;
  bool stopped = false;
  std::vector<std::weak_ptr<session>> live;
};

smtp_client::smtp_client(smtp_options opts)
  : impl_(std::make_unique<impl>(std::move(opts))) {}

smtp_client::~smtp_client() {
  stop();
}

void smtp_client::send(mail_message message,
                       std::function<void(std::string)> done) {
  std::unique_lock lock{impl_->mtx};
  if (impl_->stopped) {
    lock.unlock();
    done("client stopped");
    return;
  }
  auto s = std::make_shared<session>(impl_->ioc, impl_->tls_ctx, impl_->opts,
                                     std::move(message), std::move(done));
  impl_->live.erase(std::remove_if(impl_->live.begin(), impl_->live.end(),
                                   [](const std::weak_ptr<session>& w) {
                                     return w.expired();
                                   }),
                    impl_->live.end());
  impl_->live.push_back(s);
  lock.unlock();
  asio::post(impl_->ioc, [s] {
    s->start();
  });
}

void smtp_client::stop() {
  std::vector<std::weak_ptr<session>> live;
  {
    std::lock_guard lock{impl_->mtx};
    if (impl_->stopped)
      return;
    impl_->stopped = true;
    live.swap(impl_->live);
  }
  for (auto& w : live)
    if (auto s = w.lock())
      s->cancel();
  impl_->work.reset();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

} // namespace nod::net
