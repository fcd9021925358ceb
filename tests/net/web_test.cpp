#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/server.hpp"
#include "net/web.hpp"
#include "tests/e2e/http_client.hpp"

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <zlib.h>

namespace nod::net {

// The table of tests/net/web_fixture (nod_web_fixture).
web_asset_list fixture_web_assets();

namespace {

using namespace std::chrono_literals;
using test::http_call;
using test::http_reply;
namespace fs = std::filesystem;

const fs::path fixture_dir = NOD_WEB_FIXTURE_DIR;
const fs::path web_dir = NOD_WEB_DIR;

std::string read_file(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Inflates a gzip stream; throws on a malformed one.
std::string gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    throw std::runtime_error("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char chunk[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - zs.avail_out);
  }
  bool rest = zs.avail_in > 0;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || rest)
    throw std::runtime_error("bad gzip stream");
  return out;
}

std::string bytes(const unsigned char* data, size_t size) {
  return size == 0 ? std::string{}
                   : std::string{reinterpret_cast<const char*>(data), size};
}

// What nod_embed_web is meant to pick for a file name.
std::string expected_type(const fs::path& file) {
  static const std::map<std::string, std::string> types{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".map", "application/json; charset=utf-8"},
    {".webmanifest", "application/manifest+json; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
  };
  auto ext = file.extension().string();
  for (auto& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto i = types.find(ext);
  return i == types.end() ? "application/octet-stream" : i->second;
}

// Files nod_embed_web embeds: not hidden, not a backup, not node_modules.
std::map<std::string, fs::path> files_under(const fs::path& dir) {
  std::map<std::string, fs::path> out;
  for (auto it = fs::recursive_directory_iterator{dir};
       it != fs::recursive_directory_iterator{}; ++it) {
    auto name = it->path().filename().string();
    if (name.front() == '.' || name == "node_modules") {
      if (it->is_directory())
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || name.back() == '~')
      continue;
    auto rel = fs::relative(it->path(), dir).generic_string();
    out.emplace(rel == "index.html" ? "/" : "/" + rel, it->path());
  }
  return out;
}

const web_asset* find(web_asset_list assets, const std::string& path) {
  for (const auto* a : assets)
    if (path == a->path)
      return a;
  return nullptr;
}

void expect_security_headers(const http_reply& r) {
  EXPECT_EQ(r.header("Content-Security-Policy"),
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'");
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(r.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(r.header("Cache-Control"), "no-cache");
}

// -- parsing ----------------------------------------------------------------

TEST(web_headers, accept_encoding) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("identity, *;q=0.1"));
  EXPECT_TRUE(accepts_gzip("gzip ; q=0.001"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("deflate, br"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000"));
  EXPECT_FALSE(accepts_gzip("gzip; Q=0, deflate"));
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *")); // named beats the wildcard
  EXPECT_FALSE(accepts_gzip("gzipped, gzip2"));
}

TEST(web_headers, if_none_match) {
  const std::string tag = "\"0123456789abcdef\"";
  EXPECT_TRUE(etag_matches(tag, tag));
  EXPECT_TRUE(etag_matches("*", tag));
  EXPECT_TRUE(etag_matches("W/" + tag, tag));
  EXPECT_TRUE(etag_matches("\"x\", " + tag, tag));
  EXPECT_TRUE(etag_matches("\"a,b\"," + tag + ",\"y\"", tag));
  EXPECT_FALSE(etag_matches("", tag));
  EXPECT_FALSE(etag_matches("\"0123456789abcdee\"", tag));
  EXPECT_FALSE(etag_matches("0123456789abcdef", tag)); // unquoted
  EXPECT_FALSE(etag_matches("\"0123456789abcdef-gzip\"", tag));
  EXPECT_FALSE(etag_matches("\"0123456789abcdef", tag));
}

// -- the fixture table over a real socket -------------------------------------

class web_test : public ::testing::Test {
protected:
  web_test() {
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    cfg.io_threads = 1;
    cfg.shutdown_grace = 2s;
    srv = std::make_unique<server>(cfg, reg, [] {
      return true;
    });
    srv->routes().add("GET", "/api/thing",
                      [](const http_request&, responder respond) {
                        respond(json_response(200, R"({"ok":true})"));
                      });
    add_web_app(*srv, fixture_web_assets());
    if (auto err = srv->start())
      throw std::runtime_error(*err);
  }

  http_reply get(const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& headers
                 = {},
                 const std::string& method = "GET") {
    return http_call(srv->port(), method, path, {}, headers);
  }

  config cfg;
  metrics::registry reg;
  std::unique_ptr<server> srv;
};

TEST_F(web_test, fixture_table_lists_what_is_on_disk) {
  auto assets = fixture_web_assets();
  auto files = files_under(fixture_dir);
  ASSERT_EQ(assets.size, files.size());
  EXPECT_EQ(assets.items[assets.size], nullptr);
  for (auto& [path, file] : files) {
    SCOPED_TRACE(path);
    auto* a = find(assets, path);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->content_type, expected_type(file));
  }
  EXPECT_EQ(find(assets, "/.hidden"), nullptr);
  EXPECT_EQ(find(assets, "/notes.txt~"), nullptr);
  EXPECT_EQ(find(assets, "/index.html"), nullptr); // it is `/`
}

TEST_F(web_test, root_serves_index_html_with_security_headers) {
  auto r = get("/");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.body, read_file(fixture_dir / "index.html"));
  EXPECT_EQ(r.header("Content-Encoding"), "");
  EXPECT_EQ(r.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
  expect_security_headers(r);
  auto etag = r.header("ETag");
  EXPECT_EQ(etag.size(), 18u) << etag; // `"` + 16 hex + `"`
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
}

TEST_F(web_test, content_types) {
  auto js = get("/app.js");
  ASSERT_EQ(js.status, 200u);
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, read_file(fixture_dir / "app.js"));
  expect_security_headers(js);
  auto css = get("/style.css");
  ASSERT_EQ(css.status, 200u);
  EXPECT_EQ(css.header("Content-Type"), "text/css; charset=utf-8");
  auto json = get("/sub/data.json");
  ASSERT_EQ(json.status, 200u);
  EXPECT_EQ(json.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(json.body, read_file(fixture_dir / "sub" / "data.json"));
}

TEST_F(web_test, gzip_when_asked) {
  for (const char* path : {"/", "/app.js", "/style.css"}) {
    SCOPED_TRACE(path);
    auto plain = get(path);
    auto r = get(path, {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("Content-Encoding"), "gzip");
    EXPECT_EQ(r.header("Vary"), "Accept-Encoding");
    EXPECT_EQ(r.header("Content-Type"), plain.header("Content-Type"));
    EXPECT_LT(r.body.size(), plain.body.size());
    EXPECT_EQ(gunzip(r.body), plain.body);
    // Another representation, another strong ETag.
    EXPECT_NE(r.header("ETag"), plain.header("ETag"));
    expect_security_headers(r);
  }
}

TEST_F(web_test, identity_unless_gzip_is_allowed) {
  auto index = read_file(fixture_dir / "index.html");
  for (const char* ae :
       {"identity", "gzip;q=0", "deflate, br", "*;q=0", "gzip;q=0, *;q=1"}) {
    SCOPED_TRACE(ae);
    auto r = get("/", {{"Accept-Encoding", ae}});
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("Content-Encoding"), "");
    EXPECT_EQ(r.body, index);
  }
  auto any = get("/", {{"Accept-Encoding", "*"}});
  EXPECT_EQ(any.header("Content-Encoding"), "gzip");
}

TEST_F(web_test, no_gzip_form_when_it_does_not_pay) {
  auto png = get("/icon.png", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(png.status, 200u);
  EXPECT_EQ(png.header("Content-Type"), "image/png");
  EXPECT_EQ(png.header("Content-Encoding"), "");
  EXPECT_EQ(png.header("Vary"), "");
  EXPECT_EQ(png.body, read_file(fixture_dir / "icon.png"));
  expect_security_headers(png);
  auto empty = get("/empty.txt", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(empty.status, 200u);
  EXPECT_EQ(empty.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(empty.header("Content-Length"), "0");
  EXPECT_EQ(empty.body, "");
}

TEST_F(web_test, etag_revalidation) {
  auto first = get("/app.js");
  ASSERT_EQ(first.status, 200u);
  auto etag = first.header("ETag");
  ASSERT_FALSE(etag.empty());
  for (const std::string& inm :
       {etag, "W/" + etag, "\"other\", " + etag, std::string{"*"}}) {
    SCOPED_TRACE(inm);
    auto r = get("/app.js", {{"If-None-Match", inm}});
    EXPECT_EQ(r.status, 304u);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.header("ETag"), etag);
    EXPECT_EQ(r.header("Content-Length"), "");
    EXPECT_EQ(r.header("Content-Type"), "");
    EXPECT_EQ(r.header("Vary"), "Accept-Encoding");
    expect_security_headers(r);
  }
  // A stale tag gets the whole file again.
  auto changed = get("/app.js", {{"If-None-Match", "\"0000000000000000\""}});
  EXPECT_EQ(changed.status, 200u);
  EXPECT_EQ(changed.body, first.body);
  EXPECT_EQ(changed.header("ETag"), etag);
  // The gzip form revalidates with its own tag.
  auto gz = get("/app.js", {{"Accept-Encoding", "gzip"}});
  auto gz_etag = gz.header("ETag");
  auto gz_304
    = get("/app.js", {{"Accept-Encoding", "gzip"}, {"If-None-Match", gz_etag}});
  EXPECT_EQ(gz_304.status, 304u);
  EXPECT_EQ(gz_304.header("ETag"), gz_etag);
  // The identity tag does not validate the gzip form.
  auto cross
    = get("/app.js", {{"Accept-Encoding", "gzip"}, {"If-None-Match", etag}});
  EXPECT_EQ(cross.status, 200u);
  EXPECT_EQ(gunzip(cross.body), first.body);
}

TEST_F(web_test, head) {
  auto index = read_file(fixture_dir / "index.html");
  auto r = get("/", {}, "HEAD");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("Content-Length"), std::to_string(index.size()));
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_FALSE(r.header("ETag").empty());
  expect_security_headers(r);
  auto gz = get("/", {{"Accept-Encoding", "gzip"}});
  auto gz_head = get("/", {{"Accept-Encoding", "gzip"}}, "HEAD");
  EXPECT_EQ(gz_head.status, 200u);
  EXPECT_EQ(gz_head.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz_head.header("Content-Length"), std::to_string(gz.body.size()));
  auto not_modified = get("/", {{"If-None-Match", r.header("ETag")}}, "HEAD");
  EXPECT_EQ(not_modified.status, 304u);
}

TEST_F(web_test, unknown_paths_and_the_api) {
  for (const char* path : {"/nope.js", "/index.html", "/.hidden", "/notes.txt~",
                           "/sub", "/sub/", "/app.js/"}) {
    SCOPED_TRACE(path);
    auto r = get(path);
    EXPECT_EQ(r.status, 404u);
  }
  auto api = get("/api/nope");
  EXPECT_EQ(api.status, 404u);
  EXPECT_EQ(api.header("Content-Type"), "application/json");
  EXPECT_EQ(api.body, R"({"detail":"not found"})");
  auto thing = get("/api/thing");
  EXPECT_EQ(thing.status, 200u);
  EXPECT_EQ(thing.body, R"({"ok":true})");
  EXPECT_EQ(thing.header("Content-Security-Policy"), "");
  auto health = get("/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.header("Content-Type"), "application/json");
  auto post = http_call(srv->port(), "POST", "/app.js", "x");
  EXPECT_EQ(post.status, 405u);
}

// -- the real table
// -------------------------------------------------------------

TEST(web_embedded, every_file_of_web_is_embedded_as_it_is_on_disk) {
  auto assets = embedded_web_assets();
  auto files = files_under(web_dir);
  ASSERT_TRUE(files.count("/") > 0) << "web/index.html is missing";
  EXPECT_EQ(assets.size, files.size());
  for (auto& [path, file] : files) {
    SCOPED_TRACE(path);
    auto* a = find(assets, path);
    ASSERT_NE(a, nullptr) << "reconfigure to pick up new files";
    auto content = read_file(file);
    // Not EXPECT_EQ: a mismatch would print whole files.
    EXPECT_TRUE(bytes(a->data, a->size) == content)
      << a->size << " bytes embedded, " << content.size()
      << " on disk: stale build?";
    EXPECT_EQ(a->content_type, expected_type(file));
    if (a->gzip_data != nullptr) {
      EXPECT_LT(a->gzip_size, a->size);
      EXPECT_TRUE(gunzip(bytes(a->gzip_data, a->gzip_size)) == content);
    }
  }
}

TEST(web_embedded, server_serves_web_index_at_root) {
  config cfg;
  cfg.listen_host = "127.0.0.1";
  cfg.listen_port = 0;
  cfg.io_threads = 1;
  metrics::registry reg;
  server srv{cfg, reg, [] {
               return true;
             }};
  add_web_app(srv);
  ASSERT_FALSE(srv.start().has_value());
  auto r = http_call(srv.port(), "GET", "/", {}, {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  auto body = r.header("Content-Encoding") == "gzip" ? gunzip(r.body) : r.body;
  EXPECT_EQ(body, read_file(web_dir / "index.html"));
  expect_security_headers(r);
}

} // namespace
} // namespace nod::net
