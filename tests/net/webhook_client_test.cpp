#include "net/webhook_client.hpp"
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <mutex>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nod::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using header_list = std::vector<std::pair<std::string, std::string>>;

/// How long a test waits for a `done` that should come.
constexpr auto done_wait = 10s;

// --- A self-signed certificate, made with the OpenSSL C API ---------------

struct test_cert {
  std::string cert_pem;
  std::string key_pem;
};

struct openssl_free {
  void operator()(EVP_PKEY* p) const {
    EVP_PKEY_free(p);
  }
  void operator()(X509* p) const {
    X509_free(p);
  }
  void operator()(X509_EXTENSION* p) const {
    X509_EXTENSION_free(p);
  }
  void operator()(BIO* p) const {
    BIO_free(p);
  }
};

template <class T>
using openssl_ptr = std::unique_ptr<T, openssl_free>;

void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string{"OpenSSL: "} + what);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

/// An EC P-256 key and a self-signed X.509 v3 certificate for `san`
/// (subjectAltName syntax, e.g. "IP:127.0.0.1,DNS:localhost").
test_cert make_cert(const std::string& san) {
  openssl_ptr<EVP_PKEY> key{EVP_EC_gen("P-256")};
  check(key != nullptr, "EVP_EC_gen");
  openssl_ptr<X509> x509{X509_new()};
  check(x509 != nullptr, "X509_new");
  check(X509_set_version(x509.get(), 2) == 1, "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), 1) == 1, "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(x509.get()), -3600) != nullptr,
        "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(x509.get()), 24 * 3600) != nullptr,
        "notAfter");
  check(X509_set_pubkey(x509.get(), key.get()) == 1, "X509_set_pubkey");
  auto* name = X509_get_subject_name(x509.get());
  check(X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>("nod test"), -1, -1, 0)
          == 1,
        "CN");
  check(X509_set_issuer_name(x509.get(), name) == 1, "issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x509.get(), x509.get(), nullptr, nullptr, 0);
  auto add_ext = [&](int nid, const std::string& value) {
    openssl_ptr<X509_EXTENSION> ext{
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())};
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    check(X509_add_ext(x509.get(), ext.get(), -1) == 1, "X509_add_ext");
  };
  add_ext(NID_basic_constraints, "critical,CA:TRUE");
  add_ext(NID_subject_key_identifier, "hash");
  add_ext(NID_subject_alt_name, san);
  check(X509_sign(x509.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  test_cert out;
  openssl_ptr<BIO> cert_bio{BIO_new(BIO_s_mem())};
  check(PEM_write_bio_X509(cert_bio.get(), x509.get()) == 1, "PEM cert");
  out.cert_pem = bio_text(cert_bio.get());
  openssl_ptr<BIO> key_bio{BIO_new(BIO_s_mem())};
  check(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0,
                                 nullptr, nullptr)
          == 1,
        "PEM key");
  out.key_pem = bio_text(key_bio.get());
  return out;
}

// --- A tiny HTTP(S) receiver on its own thread -----------------------------

/// One request as the receiver read it.
struct received {
  std::string method;
  std::string target;
  unsigned version = 0;
  header_list headers;
  std::string body;
  /// TLS server name the client sent, empty if none (or plain HTTP).
  std::string sni;
};

/// A raw HTTP/1.1 response with Content-Length and `Connection: close`.
std::string raw_response(unsigned status, const std::string& reason,
                         const header_list& headers = {},
                         const std::string& body = {}) {
  std::string out
    = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  for (const auto& [name, value] : headers)
    out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(body.size())
         + "\r\nConnection: close\r\n\r\n" + body;
  return out;
}

/// A raw HTTP/1.1 response that leaves the connection open.
std::string keep_alive_response(unsigned status, const std::string& body = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " Whatever\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// What the receiver does with a connection after its answer.
enum class after_reply {
  /// Shuts it down.
  close,
  /// Reads the next request on it (HTTP/1.1 keep-alive).
  keep,
};

/// Accepts on 127.0.0.1, reads requests and answers each with the bytes
/// `respond` returns; an empty answer keeps the connection open without a
/// word until the receiver is destroyed.
class receiver {
public:
  using responder = std::function<std::string(const received&)>;

  explicit receiver(responder respond, const test_cert* cert = nullptr,
                    after_reply then = after_reply::close)
    : respond_(std::move(respond)), then_(then) {
    if (cert) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(cert->cert_pem));
      tls_->use_private_key(asio::buffer(cert->key_pem), ssl::context::pem);
    }
    tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] {
      ioc_.run();
    });
  }

  ~receiver() {
    ioc_.stop();
    thread_.join();
  }

  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  uint16_t port() const {
    return port_;
  }

  /// "http(s)://127.0.0.1:port" + `target`.
  std::string url(const std::string& target = "/hook") const {
    return std::string{tls_ ? "https" : "http"}
           + "://127.0.0.1:" + std::to_string(port_) + target;
  }

  std::vector<received> requests() {
    std::lock_guard<std::mutex> lock{mtx_};
    return requests_;
  }

  /// Connections accepted so far.
  size_t connections() const {
    return connections_;
  }

  /// Waits until `n` requests have been read; false on timeout.
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] {
      return requests_.size() >= n;
    });
  }

private:
  struct session_base {
    virtual ~session_base() = default;
  };

  template <class Stream>
  class session : public session_base,
                  public std::enable_shared_from_this<session<Stream>> {
  public:
    session(receiver& owner, Stream stream)
      : owner_(owner), stream_(std::move(stream)) {}

    void start() {
      auto self = this->shared_from_this();
      if constexpr (is_tls) {
        stream_.async_handshake(
          ssl::stream_base::server, [self](beast::error_code ec) {
            if (ec)
              return;
            if (auto* name = SSL_get_servername(self->stream_.native_handle(),
                                                TLSEXT_NAMETYPE_host_name))
              self->sni_ = name;
            self->read();
          });
      } else {
        read();
      }
    }

  private:
    static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

    void read() {
      auto self = this->shared_from_this();
      parser_.emplace();
      parser_->body_limit(16 * 1024 * 1024);
      http::async_read(stream_, buffer_, *parser_,
                       [self](beast::error_code ec, size_t) {
                         if (!ec)
                           self->on_request();
                       });
    }

    void on_request() {
      auto& req = parser_->get();
      received r;
      r.method = std::string{req.method_string()};
      r.target = std::string{req.target()};
      r.version = req.version();
      for (const auto& field : req)
        r.headers.emplace_back(std::string{field.name_string()},
                               std::string{field.value()});
      r.body = req.body();
      r.sni = sni_;
      reply_ = owner_.record(std::move(r));
      auto self = this->shared_from_this();
      if (reply_.empty()) {
        owner_.held_.push_back(self);
        return;
      }
      asio::async_write(stream_, asio::buffer(reply_),
                        [self](beast::error_code ec, size_t) {
                          if (!ec && self->owner_.then_ == after_reply::keep)
                            return self->read();
                          auto& socket = beast::get_lowest_layer(self->stream_);
                          socket.shutdown(tcp::socket::shutdown_both, ec);
                          socket.close(ec);
                        });
    }

    receiver& owner_;
    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::string sni_;
    std::string reply_;
  };

  void do_accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted)
        return;
      if (!ec) {
        ++connections_;
        if (tls_)
          std::make_shared<session<ssl::stream<tcp::socket>>>(
            *this, ssl::stream<tcp::socket>{std::move(socket), *tls_})
            ->start();
        else
          std::make_shared<session<tcp::socket>>(*this, std::move(socket))
            ->start();
      }
      do_accept();
    });
  }

  std::string record(received r) {
    std::string reply = respond_(r);
    {
      std::lock_guard<std::mutex> lock{mtx_};
      requests_.push_back(std::move(r));
    }
    cv_.notify_all();
    return reply;
  }

  responder respond_;
  after_reply then_;
  std::atomic<size_t> connections_{0};
  std::optional<ssl::context> tls_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  /// Connections never answered; touched on the receiver's thread only.
  std::vector<std::shared_ptr<session_base>> held_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<received> requests_;
  std::thread thread_;
};

// --- Helpers ---------------------------------------------------------------

/// What one `done` call saw.
struct outcome {
  http_post_result result;
  std::thread::id thread;
};

/// Posts `req` and waits for its `done`.
outcome post_and_wait(webhook_client& client, http_post req) {
  auto promise = std::make_shared<std::promise<outcome>>();
  auto future = promise->get_future();
  client.post(std::move(req), [promise](http_post_result res) {
    promise->set_value({std::move(res), std::this_thread::get_id()});
  });
  if (future.wait_for(done_wait) != std::future_status::ready) {
    ADD_FAILURE() << "done was not called";
    return {};
  }
  return future.get();
}

http_post make_post(const std::string& url, std::string body = "{}",
                    int64_t timeout_ms = 10000) {
  http_post req;
  req.url = url;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = std::move(body);
  req.timeout_ms = timeout_ms;
  return req;
}

/// Counts `done` calls per request index, for many posts at once.
class done_counter {
public:
  /// A `done` for request `index`.
  std::function<void(http_post_result)> callback(size_t index) {
    return [this, index](http_post_result res) {
      std::lock_guard<std::mutex> lock{mtx_};
      ++calls_[index];
      results_[index] = std::move(res);
      threads_[index] = std::this_thread::get_id();
      cv_.notify_all();
    };
  }

  /// Waits until `n` distinct requests have reported.
  bool wait_for(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] {
      return calls_.size() >= n;
    });
  }

  size_t calls(size_t index) {
    std::lock_guard<std::mutex> lock{mtx_};
    auto it = calls_.find(index);
    return it == calls_.end() ? 0 : it->second;
  }

  http_post_result result(size_t index) {
    std::lock_guard<std::mutex> lock{mtx_};
    return results_[index];
  }

  std::thread::id thread(size_t index) {
    std::lock_guard<std::mutex> lock{mtx_};
    return threads_[index];
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<size_t, size_t> calls_;
  std::map<size_t, http_post_result> results_;
  std::map<size_t, std::thread::id> threads_;
};

/// A port on 127.0.0.1 nobody listens on (bound once, then released).
uint16_t unused_port() {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc,
                         tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
  return acceptor.local_endpoint().port();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
    .count();
}

class webhook_client_test : public ::testing::Test {
protected:
  webhook_client_options opts;
};

using WebhookClient = webhook_client_test;

// --- Plain HTTP ------------------------------------------------------------

TEST_F(WebhookClient, posts_to_one_receiver_share_a_kept_connection) {
  receiver srv{[](const received& r) {
                 return keep_alive_response(200, r.body);
               },
               nullptr, after_reply::keep};
  webhook_client client{opts};
  for (int i = 0; i < 3; ++i) {
    auto out = post_and_wait(client, make_post(srv.url(), std::to_string(i)));
    EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
    EXPECT_EQ(out.result.status, 200u);
  }
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].body, "2");
  EXPECT_EQ(srv.connections(), 1u);
}

TEST_F(WebhookClient, a_receiver_that_says_close_gets_a_connection_each) {
  // It would read on, but its answers say `Connection: close`.
  receiver srv{[](const received&) {
                 return raw_response(200, "OK");
               },
               nullptr, after_reply::keep};
  webhook_client client{opts};
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(post_and_wait(client, make_post(srv.url())).result.status, 200u);
  EXPECT_EQ(srv.requests().size(), 3u);
  EXPECT_EQ(srv.connections(), 3u);
}

TEST_F(WebhookClient, a_kept_connection_the_receiver_closed_is_replaced) {
  // Every answer promises keep-alive, then the receiver hangs up (its idle
  // timeout is shorter than the client's): each later post finds its kept
  // connection dead and goes again on a new one.
  receiver srv{[](const received&) {
                 return keep_alive_response(200);
               },
               nullptr, after_reply::close};
  webhook_client client{opts};
  for (int i = 0; i < 3; ++i) {
    auto out = post_and_wait(client, make_post(srv.url(), std::to_string(i)));
    EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
    EXPECT_EQ(out.result.status, 200u);
    // Let the receiver's close reach the client's socket.
    std::this_thread::sleep_for(50ms);
  }
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 3u); // each once: the dead connection carried none
  EXPECT_EQ(got[1].body, "1");
  EXPECT_EQ(srv.connections(), 3u);
}

TEST_F(WebhookClient, an_idle_connection_past_its_time_is_not_reused) {
  receiver srv{[](const received&) {
                 return keep_alive_response(200);
               },
               nullptr, after_reply::keep};
  opts.idle_timeout = 100ms;
  webhook_client client{opts};
  EXPECT_EQ(post_and_wait(client, make_post(srv.url())).result.status, 200u);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(post_and_wait(client, make_post(srv.url())).result.status, 200u);
  EXPECT_EQ(srv.connections(), 2u);
}

TEST_F(WebhookClient, posts_headers_and_body_exactly) {
  receiver srv{[](const received&) {
    return raw_response(200, "OK", {{"Content-Type", "text/plain"}}, "thanks");
  }};
  webhook_client client{opts};
  // Every byte value, CR LF and NUL included.
  std::string body;
  for (int i = 0; i < 3; ++i)
    for (int c = 0; c < 256; ++c)
      body += static_cast<char>(c);
  body += "\r\n\r\n{\"end\":true}";
  http_post req;
  req.url = srv.url("/hooks/in?x=1&y=%20z");
  req.headers = {{"Content-Type", "application/json"},
                 {"X-Nod-Event-Id", "evt_1"},
                 {"X-Nod-Signature", "sha256=abc"},
                 {"webhook-id", "msg_1"},
                 {"X-Spaces", "a b  c"}};
  req.body = body;
  req.timeout_ms = 10000;
  auto out = post_and_wait(client, req);
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 200u);
  EXPECT_EQ(out.result.retry_after, "");
  EXPECT_EQ(out.result.error, "");
  EXPECT_GT(out.result.elapsed_us, 0);
  EXPECT_NE(out.thread, std::this_thread::get_id());
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/hooks/in?x=1&y=%20z");
  EXPECT_EQ(got[0].version, 11u);
  header_list want = {{"Host", "127.0.0.1:" + std::to_string(srv.port())},
                      {"User-Agent", "nod-server"},
                      {"Content-Type", "application/json"},
                      {"X-Nod-Event-Id", "evt_1"},
                      {"X-Nod-Signature", "sha256=abc"},
                      {"webhook-id", "msg_1"},
                      {"X-Spaces", "a b  c"},
                      {"Content-Length", std::to_string(body.size())}};
  EXPECT_EQ(got[0].headers, want);
  EXPECT_EQ(got[0].body.size(), body.size());
  EXPECT_TRUE(got[0].body == body);
}

TEST_F(WebhookClient, caller_cannot_override_framing_headers) {
  receiver srv{[](const received&) {
    return raw_response(204, "No Content");
  }};
  webhook_client client{opts};
  auto req = make_post(srv.url(), "12345");
  req.headers.emplace_back("Content-Length", "1");
  req.headers.emplace_back("Host", "evil.example");
  req.headers.emplace_back("Transfer-Encoding", "chunked");
  auto out = post_and_wait(client, req);
  EXPECT_EQ(out.result.status, 204u) << out.result.error;
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "12345");
  size_t hosts = 0;
  for (const auto& [name, value] : got[0].headers) {
    EXPECT_NE(name, "Transfer-Encoding");
    if (name == "Content-Length") {
      EXPECT_EQ(value, "5");
    }
    if (name == "Host") {
      ++hosts;
      EXPECT_EQ(value, "127.0.0.1:" + std::to_string(srv.port()));
    }
  }
  EXPECT_EQ(hosts, 1u);
}

TEST_F(WebhookClient, header_injection_is_refused) {
  receiver srv{[](const received&) {
    return raw_response(200, "OK");
  }};
  webhook_client client{opts};
  auto req = make_post(srv.url());
  req.headers.emplace_back("X-Evil", "a\r\nX-Injected: yes");
  auto out = post_and_wait(client, req);
  EXPECT_EQ(out.result.failure, post_failure::connection_error);
  req = make_post(srv.url());
  req.headers.emplace_back("Bad Name", "x");
  out = post_and_wait(client, req);
  EXPECT_EQ(out.result.failure, post_failure::connection_error);
  EXPECT_TRUE(srv.requests().empty());
}

TEST_F(WebhookClient, server_error_status_is_reported) {
  receiver srv{[](const received&) {
    return raw_response(500, "Internal Server Error", {}, "oops");
  }};
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post(srv.url()));
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 500u);
  EXPECT_EQ(out.result.retry_after, "");
}

TEST_F(WebhookClient, retry_after_is_reported) {
  receiver srv{[](const received&) {
    return raw_response(503, "Service Unavailable", {{"Retry-After", "7"}});
  }};
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post(srv.url()));
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 503u);
  EXPECT_EQ(out.result.retry_after, "7");
}

TEST_F(WebhookClient, redirect_is_not_followed) {
  receiver* self = nullptr;
  receiver srv{[&self](const received& r) {
    if (r.target == "/elsewhere")
      return raw_response(200, "OK");
    return raw_response(302, "Found", {{"Location", self->url("/elsewhere")}});
  }};
  self = &srv;
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post(srv.url()));
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 302u);
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/hook");
}

TEST_F(WebhookClient, interim_response_is_skipped) {
  receiver srv{[](const received&) {
    return "HTTP/1.1 100 Continue\r\n\r\n" + raw_response(201, "Created");
  }};
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post(srv.url()));
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 201u);
}

TEST_F(WebhookClient, silent_receiver_times_out) {
  receiver srv{[](const received&) {
    return std::string{};
  }};
  webhook_client client{opts};
  auto start = std::chrono::steady_clock::now();
  auto out = post_and_wait(client, make_post(srv.url(), "{}", 300));
  auto elapsed = seconds_since(start);
  EXPECT_EQ(out.result.failure, post_failure::timeout) << out.result.error;
  EXPECT_NE(out.result.error.find("timed out"), std::string::npos)
    << out.result.error;
  EXPECT_EQ(out.result.status, 0u);
  EXPECT_GE(elapsed, 0.25);
  EXPECT_LE(elapsed, 5.0);
  EXPECT_GE(out.result.elapsed_us, 250000);
  EXPECT_LE(out.result.elapsed_us, 5000000);
  // The request itself did arrive.
  EXPECT_EQ(srv.requests().size(), 1u);
}

TEST_F(WebhookClient, connection_refused_is_connection_error) {
  auto port = unused_port();
  webhook_client client{opts};
  auto out = post_and_wait(
    client, make_post("http://127.0.0.1:" + std::to_string(port) + "/hook"));
  EXPECT_EQ(out.result.failure, post_failure::connection_error);
  EXPECT_EQ(out.result.status, 0u);
  EXPECT_NE(out.result.error.find("refused"), std::string::npos)
    << out.result.error;
}

TEST_F(WebhookClient, bad_url_is_connection_error_on_a_client_thread) {
  webhook_client client{opts};
  for (std::string url :
       {"", "not a url", "ftp://example.com/hook", "http://", "http://:80/",
        "http://user@example.com/", "http://example.com:99999/",
        "http://exa mple.com/"}) {
    auto out = post_and_wait(client, make_post(url));
    EXPECT_EQ(out.result.failure, post_failure::connection_error) << url;
    EXPECT_NE(out.result.error, "") << url;
    EXPECT_NE(out.thread, std::this_thread::get_id()) << url;
  }
}

TEST_F(WebhookClient, oversized_response_is_connection_error) {
  opts.max_response_bytes = 1024;
  receiver big_body{[](const received&) {
    return raw_response(200, "OK", {}, std::string(4096, 'x'));
  }};
  receiver big_header{[](const received&) {
    return raw_response(200, "OK", {{"X-Big", std::string(2000, 'h')}});
  }};
  receiver small{[](const received&) {
    return raw_response(200, "OK", {}, std::string(500, 'x'));
  }};
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post(big_body.url()));
  EXPECT_EQ(out.result.failure, post_failure::connection_error);
  EXPECT_EQ(out.result.status, 0u);
  EXPECT_NE(out.result.error.find("larger than 1024"), std::string::npos)
    << out.result.error;
  out = post_and_wait(client, make_post(big_header.url()));
  EXPECT_EQ(out.result.failure, post_failure::connection_error);
  EXPECT_NE(out.result.error.find("larger than 1024"), std::string::npos)
    << out.result.error;
  out = post_and_wait(client, make_post(small.url()));
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 200u);
}

TEST_F(WebhookClient, many_concurrent_posts_all_complete) {
  receiver srv{[](const received& r) {
    return raw_response(200, "OK", {}, r.body);
  }};
  opts.threads = 2;
  constexpr size_t n = 50;
  done_counter counter;
  {
    webhook_client client{opts};
    for (size_t i = 0; i < n; ++i) {
      auto req = make_post(srv.url(), "request " + std::to_string(i));
      req.headers.emplace_back("X-Index", std::to_string(i));
      client.post(std::move(req), counter.callback(i));
    }
    ASSERT_TRUE(counter.wait_for(n, done_wait));
  }
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(counter.calls(i), 1u) << i;
    EXPECT_EQ(counter.result(i).status, 200u) << counter.result(i).error;
  }
  auto got = srv.requests();
  ASSERT_EQ(got.size(), n);
  std::vector<bool> seen(n, false);
  for (const auto& r : got) {
    auto i = std::stoul(r.body.substr(std::string{"request "}.size()));
    ASSERT_LT(i, n);
    EXPECT_FALSE(seen[i]);
    seen[i] = true;
    auto index
      = std::find_if(r.headers.begin(), r.headers.end(), [](const auto& h) {
          return h.first == "X-Index";
        });
    ASSERT_NE(index, r.headers.end());
    EXPECT_EQ(index->second, std::to_string(i));
  }
}

// --- Stopping --------------------------------------------------------------

TEST_F(WebhookClient, stop_reports_every_request_in_flight_once) {
  receiver srv{[](const received&) {
    return std::string{};
  }};
  opts.threads = 2;
  constexpr size_t n = 10;
  done_counter counter;
  webhook_client client{opts};
  for (size_t i = 0; i < n; ++i)
    client.post(make_post(srv.url(), "{}", 30000), counter.callback(i));
  ASSERT_TRUE(srv.wait_for_requests(n, done_wait));
  auto start = std::chrono::steady_clock::now();
  client.stop();
  EXPECT_LT(seconds_since(start), 5.0);
  // stop() returns only after every done ran.
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(counter.calls(i), 1u) << i;
    auto res = counter.result(i);
    EXPECT_EQ(res.failure, post_failure::connection_error) << i;
    EXPECT_EQ(res.error, "client stopped") << i;
    EXPECT_NE(counter.thread(i), std::this_thread::get_id()) << i;
  }
  client.stop(); // idempotent
  // After stop: done at once, on this thread.
  bool called = false;
  client.post(make_post(srv.url()), [&](http_post_result res) {
    called = true;
    EXPECT_EQ(res.failure, post_failure::connection_error);
    EXPECT_EQ(res.error, "client stopped");
  });
  EXPECT_TRUE(called);
  for (size_t i = 0; i < n; ++i)
    EXPECT_EQ(counter.calls(i), 1u) << i;
}

TEST_F(WebhookClient, stop_right_after_post_reports_each_once) {
  receiver srv{[](const received&) {
    return std::string{};
  }};
  opts.threads = 2;
  // Requests caught in every phase: queued, resolving, connecting, reading.
  for (int round = 0; round < 20; ++round) {
    constexpr size_t n = 5;
    done_counter counter;
    webhook_client client{opts};
    for (size_t i = 0; i < n; ++i)
      client.post(make_post(srv.url(), "{}", 30000), counter.callback(i));
    if (round % 2 == 1)
      std::this_thread::yield();
    client.stop();
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(counter.calls(i), 1u) << "round " << round << " #" << i;
      EXPECT_EQ(counter.result(i).failure, post_failure::connection_error);
    }
  }
}

TEST_F(WebhookClient, destructor_reports_requests_in_flight) {
  receiver srv{[](const received&) {
    return std::string{};
  }};
  constexpr size_t n = 3;
  done_counter counter;
  {
    webhook_client client{opts};
    for (size_t i = 0; i < n; ++i)
      client.post(make_post(srv.url(), "{}", 30000), counter.callback(i));
    ASSERT_TRUE(srv.wait_for_requests(n, done_wait));
  }
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(counter.calls(i), 1u) << i;
    EXPECT_EQ(counter.result(i).error, "client stopped");
  }
}

TEST_F(WebhookClient, posts_racing_stop_report_each_once) {
  receiver srv{[](const received&) {
    return raw_response(200, "OK");
  }};
  opts.threads = 2;
  constexpr size_t per_thread = 25;
  constexpr size_t posters = 4;
  done_counter counter;
  webhook_client client{opts};
  std::atomic<size_t> started{0};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < posters; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < per_thread; ++i) {
        client.post(make_post(srv.url()), counter.callback(t * per_thread + i));
        ++started;
      }
    });
  while (started < posters * per_thread / 2)
    std::this_thread::yield();
  client.stop();
  for (auto& t : threads)
    t.join();
  // Every post reported once: completed, cancelled, or refused after stop.
  for (size_t i = 0; i < posters * per_thread; ++i)
    EXPECT_EQ(counter.calls(i), 1u) << i;
}

TEST_F(WebhookClient, stop_inside_done_does_not_deadlock) {
  receiver srv{[](const received&) {
    return raw_response(200, "OK");
  }};
  auto client = std::make_unique<webhook_client>(opts);
  std::promise<unsigned> status;
  client->post(make_post(srv.url()), [&](http_post_result res) {
    client->stop();
    status.set_value(res.status);
  });
  auto future = status.get_future();
  ASSERT_EQ(future.wait_for(done_wait), std::future_status::ready);
  EXPECT_EQ(future.get(), 200u);
  client.reset(); // joins the threads
}

TEST_F(WebhookClient, throwing_done_does_not_break_the_client) {
  receiver srv{[](const received&) {
    return raw_response(200, "OK");
  }};
  webhook_client client{opts};
  client.post(make_post(srv.url()), [](http_post_result) {
    throw std::runtime_error("boom");
  });
  ASSERT_TRUE(srv.wait_for_requests(1, done_wait));
  auto out = post_and_wait(client, make_post(srv.url()));
  EXPECT_EQ(out.result.status, 200u) << out.result.error;
}

// --- HTTPS -----------------------------------------------------------------

class webhook_client_tls_test : public webhook_client_test {
protected:
  webhook_client_tls_test()
    : cert(make_cert("IP:127.0.0.1,DNS:localhost")), ca_file(dir / "ca.pem") {
    std::ofstream out{ca_file};
    out << cert.cert_pem;
  }

  test_cert cert;
  test::temp_dir dir;
  std::string ca_file;
};

using WebhookClientTls = webhook_client_tls_test;

TEST_F(WebhookClientTls, trusted_certificate_posts_body_intact) {
  receiver srv{[](const received& r) {
                 return raw_response(200, "OK", {}, r.body);
               },
               &cert};
  opts.ca_file = ca_file;
  opts.verify_tls = true;
  webhook_client client{opts};
  std::string body(20000, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>(i * 7 % 251);
  // By IP address: verified against the IP SAN, no SNI.
  auto out = post_and_wait(client, make_post(srv.url(), body));
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 200u);
  // By name: verified against the DNS SAN, with SNI.
  auto by_name = "https://localhost:" + std::to_string(srv.port()) + "/named";
  out = post_and_wait(client, make_post(by_name, body));
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 200u);
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].body == body);
  EXPECT_EQ(got[0].sni, "");
  EXPECT_TRUE(got[1].body == body);
  EXPECT_EQ(got[1].sni, "localhost");
  EXPECT_EQ(got[1].target, "/named");
  header_list want_host = {{"Host", "localhost:" + std::to_string(srv.port())}};
  ASSERT_FALSE(got[1].headers.empty());
  EXPECT_EQ(got[1].headers.front(), want_host.front());
}

TEST_F(WebhookClientTls, posts_share_one_tls_connection) {
  receiver srv{[](const received&) {
                 return keep_alive_response(200);
               },
               &cert, after_reply::keep};
  opts.ca_file = ca_file;
  webhook_client client{opts};
  for (int i = 0; i < 3; ++i) {
    auto out = post_and_wait(client, make_post(srv.url()));
    EXPECT_EQ(out.result.status, 200u) << out.result.error;
  }
  EXPECT_EQ(srv.requests().size(), 3u);
  EXPECT_EQ(srv.connections(), 1u);
}

TEST_F(WebhookClientTls, untrusted_certificate_fails_the_handshake) {
  receiver srv{[](const received&) {
                 return raw_response(200, "OK");
               },
               &cert};
  opts.verify_tls = true; // and no ca_file
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post(srv.url()));
  EXPECT_EQ(out.result.failure, post_failure::connection_error);
  EXPECT_EQ(out.result.status, 0u);
  EXPECT_NE(out.result.error.find("certificate verify failed"),
            std::string::npos)
    << out.result.error;
  EXPECT_TRUE(srv.requests().empty());
}

TEST_F(WebhookClientTls, wrong_host_name_fails_verification) {
  // Trusted, but for 127.0.0.1 only: "localhost" does not match.
  auto ip_only = make_cert("IP:127.0.0.1");
  receiver srv{[](const received&) {
                 return raw_response(200, "OK");
               },
               &ip_only};
  std::string ip_only_ca = dir / "ip-only.pem";
  {
    std::ofstream out{ip_only_ca};
    out << ip_only.cert_pem;
  }
  opts.ca_file = ip_only_ca;
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post(srv.url()));
  EXPECT_EQ(out.result.status, 200u) << out.result.error;
  auto by_name = "https://localhost:" + std::to_string(srv.port()) + "/hook";
  out = post_and_wait(client, make_post(by_name));
  EXPECT_EQ(out.result.failure, post_failure::connection_error);
  EXPECT_NE(out.result.error.find("certificate verify failed"),
            std::string::npos)
    << out.result.error;
  EXPECT_EQ(srv.requests().size(), 1u);
}

TEST_F(WebhookClientTls, verification_off_accepts_any_certificate) {
  receiver srv{[](const received&) {
                 return raw_response(202, "Accepted");
               },
               &cert};
  opts.verify_tls = false;
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post(srv.url()));
  EXPECT_EQ(out.result.failure, post_failure::none) << out.result.error;
  EXPECT_EQ(out.result.status, 202u);
}

TEST_F(WebhookClientTls, missing_ca_file_fails_every_post) {
  opts.ca_file = dir / "no-such.pem";
  webhook_client client{opts};
  auto out = post_and_wait(client, make_post("https://127.0.0.1:1/hook"));
  EXPECT_EQ(out.result.failure, post_failure::connection_error);
  EXPECT_NE(out.result.error.find("CA file"), std::string::npos)
    << out.result.error;
}

} // namespace
} // namespace nod::net
