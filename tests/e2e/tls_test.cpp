// Native TLS for one-binary deployments (issue #17, part 6): with tls-cert
// and tls-key the listen port speaks HTTPS and WSS, and SIGHUP loads a new
// certificate for new connections. The certificates are made here, at test
// time, with OpenSSL.

#include "tests/e2e/server_fixture.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fstream>
#include <gtest/gtest.h>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string>

namespace nod::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// -- certificates -------------------------------------------------------------

struct certificate {
  std::string cert_pem;
  std::string key_pem;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

/// A self-signed certificate for 127.0.0.1 and localhost, valid for an
/// hour, with a fresh P-256 key; `serial` tells certificates apart.
certificate make_certificate(long serial) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_EC_gen("P-256"),
                                                          EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> x{X509_new(), X509_free};
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  auto* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("nod test"),
                             -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
        std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x.get(), key.get(), EVP_sha256());
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio{BIO_new(BIO_s_mem()),
                                                     BIO_free};
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio{BIO_new(BIO_s_mem()),
                                                    BIO_free};
  PEM_write_bio_X509(cert_bio.get(), x.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0,
                           nullptr, nullptr);
  return {bio_text(cert_bio.get()), bio_text(key_bio.get())};
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::trunc};
  out << text;
}

// -- a TLS client
// ---------------------------------------------------------------

/// What a TLS client saw: the response and the server's certificate serial.
struct tls_reply {
  unsigned status = 0;
  std::string body;
  long serial = -1;
};

/// A client context trusting `ca_pem` only, checking the name 127.0.0.1.
std::shared_ptr<ssl::context> client_context(const std::string& ca_pem) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->add_certificate_authority(asio::buffer(ca_pem));
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

long peer_serial(SSL* ssl) {
  std::unique_ptr<X509, decltype(&X509_free)> peer{
    SSL_get1_peer_certificate(ssl), X509_free};
  return peer ? ASN1_INTEGER_get(X509_get_serialNumber(peer.get())) : -1;
}

/// One HTTPS request to 127.0.0.1:`port`; throws when TLS or HTTP fail.
tls_reply https_call(uint16_t port, const std::string& ca_pem,
                     const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::string& bearer = {}) {
  asio::io_context ioc;
  auto ctx = client_context(ca_pem);
  beast::ssl_stream<beast::tcp_stream> stream{ioc, *ctx};
  stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  beast::get_lowest_layer(stream).expires_after(10s);
  beast::get_lowest_layer(stream).connect(
    tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  stream.handshake(ssl::stream_base::client);
  http::request<http::string_body> req{http::string_to_verb(method), target,
                                       11};
  req.set(http::field::host, "127.0.0.1");
  if (!bearer.empty())
    req.set(http::field::authorization, "Bearer " + bearer);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {res.result_int(), res.body(), peer_serial(stream.native_handle())};
}

// -- the fixture
// -----------------------------------------------------------------

class tls_e2e : public ::testing::Test {
protected:
  tls_e2e() : first(make_certificate(1)) {
    write_file(dir / "cert.pem", first.cert_pem);
    write_file(dir / "key.pem", first.key_pem);
  }

  ~tls_e2e() override {
    if (server) {
      server->signal(SIGTERM);
      EXPECT_EQ(server->wait(20s), 0) << server->output();
    }
  }

  /// Starts the server with `env` on top of TLS, a data directory and the
  /// admin password; false if it did not come up.
  bool start(std::vector<std::string> env = {}) {
    env.push_back("NOD_LISTEN=127.0.0.1:0");
    env.push_back("NOD_DATA_DIR=" + (dir / "data"));
    env.push_back("NOD_ADMIN_PASSWORD=" + admin_password);
    env.push_back("NOD_TLS_CERT=" + (dir / "cert.pem"));
    env.push_back("NOD_TLS_KEY=" + (dir / "key.pem"));
    server = std::make_unique<child_process>(NOD_SERVER_BINARY,
                                             std::vector<std::string>{}, env);
    port = wait_for_port(*server);
    return port != 0;
  }

  std::string login() {
    auto r = https_call(port, first.cert_pem, "POST", "/api/auth/login",
                        R"({"username":"admin","password":")" + admin_password
                          + "\"}");
    EXPECT_EQ(r.status, 200u) << r.body;
    return str(parse(r.body), "token");
  }

  temp_dir dir;
  certificate first;
  std::unique_ptr<child_process> server;
  uint16_t port = 0;
};

TEST_F(tls_e2e, the_port_speaks_https_and_wss) {
  ASSERT_TRUE(start()) << server->output();
  EXPECT_NE(server->output().find("listening on https://127.0.0.1:"),
            std::string::npos);
  auto health = https_call(port, first.cert_pem, "GET", "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.serial, 1);
  // Plain HTTP gets no HTTP answer on a TLS port.
  auto plain = raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(plain.find("HTTP/1.1 200"), std::string::npos) << plain;

  // The whole flow over TLS: log in, create an agent, its socket.
  auto token = login();
  auto created = https_call(port, first.cert_pem, "POST", "/api/agents",
                            R"({"name":"secure"})", token);
  ASSERT_EQ(created.status, 201u) << created.body;
  auto doc = parse(created.body);
  auto id = str(doc, "agent_id");
  auto secret = str(doc, "secret");
  asio::io_context ioc;
  auto ctx = client_context(first.cert_pem);
  beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws{ioc, *ctx};
  beast::get_lowest_layer(ws).expires_after(10s);
  beast::get_lowest_layer(ws).connect(
    tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  ws.next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  ws.next_layer().handshake(ssl::stream_base::client);
  ws.handshake("127.0.0.1", "/ws/agent/" + id);
  ws.write(asio::buffer(R"({"type":"auth","agent_id":")" + id
                        + R"(","secret":")" + secret + "\"}"));
  beast::flat_buffer buffer;
  ws.read(buffer);
  auto frame = beast::buffers_to_string(buffer.data());
  EXPECT_EQ(str(parse(frame), "type"), "auth_ok") << frame;
  ws.close(beast::websocket::close_code::normal);
}

TEST_F(tls_e2e, sighup_loads_a_new_certificate_for_new_connections) {
  ASSERT_TRUE(start()) << server->output();
  EXPECT_EQ(https_call(port, first.cert_pem, "GET", "/healthz").serial, 1);
  auto second = make_certificate(2);
  write_file(dir / "cert.pem", second.cert_pem);
  write_file(dir / "key.pem", second.key_pem);
  server->signal(SIGHUP);
  ASSERT_TRUE(server->wait_for_output("received SIGHUP: reloaded", 10s))
    << server->output();
  auto after = https_call(port, second.cert_pem, "GET", "/healthz");
  EXPECT_EQ(after.status, 200u);
  EXPECT_EQ(after.serial, 2);
  // A broken file is refused and the certificate in use stays.
  write_file(dir / "cert.pem", "not a certificate");
  server->signal(SIGHUP);
  ASSERT_TRUE(server->wait_for_output("the certificate in use stays", 10s))
    << server->output();
  EXPECT_NE(server->output().find("tls-cert: cannot load"), std::string::npos);
  EXPECT_EQ(https_call(port, second.cert_pem, "GET", "/healthz").serial, 2);
}

TEST_F(tls_e2e, bad_tls_settings_stop_the_start_with_a_clear_error) {
  // A certificate without its key.
  child_process half{NOD_SERVER_BINARY,
                     {},
                     {"NOD_LISTEN=127.0.0.1:0", "NOD_DATA_DIR=" + (dir / "d1"),
                      "NOD_TLS_CERT=" + (dir / "cert.pem")}};
  EXPECT_EQ(half.wait(20s), 1);
  EXPECT_NE(half.output().find("tls-cert and tls-key: set both"),
            std::string::npos)
    << half.output();
  // Files that are not there, or a key of another certificate.
  auto other = make_certificate(3);
  write_file(dir / "other-key.pem", other.key_pem);
  struct bad {
    std::string cert, key, says;
  };
  for (auto& b : {bad{dir / "missing.pem", dir / "key.pem",
                      "tls-cert: cannot load " + (dir / "missing.pem")},
                  bad{dir / "cert.pem", dir / "other-key.pem",
                      "tls-key: cannot load " + (dir / "other-key.pem")}}) {
    child_process p{NOD_SERVER_BINARY,
                    {},
                    {"NOD_LISTEN=127.0.0.1:0", "NOD_DATA_DIR=" + (dir / "d2"),
                     "NOD_TLS_CERT=" + b.cert, "NOD_TLS_KEY=" + b.key}};
    EXPECT_EQ(p.wait(20s), 1) << p.output();
    EXPECT_NE(p.output().find(b.says), std::string::npos) << p.output();
  }
}

} // namespace
} // namespace nod::test
