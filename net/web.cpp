#include "net/web.hpp"

#include "net/server.hpp"
#include "protocol/text.hpp"

#include <algorithm>
#include <string_view>

namespace nod::net {

const char* const web_content_security_policy
  = "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'";

namespace {

// The q-value of one `Accept-Encoding` element's parameters (`;q=0.5`):
// only whether it is above zero matters, and it is unless every digit is 0.
bool positive_q(std::string_view params) {
  while (!params.empty()) {
    auto semi = params.find(';');
    auto param = text::trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{}
                                            : params.substr(semi + 1);
    auto eq = param.find('=');
    if (eq == std::string_view::npos
        || !text::iequals(text::trim(param.substr(0, eq)), "q"))
      continue;
    for (char c : param.substr(eq + 1))
      if (c >= '1' && c <= '9')
        return true;
    return false;
  }
  return true;
}

} // namespace

bool accepts_gzip(const std::string& accept_encoding) {
  std::string_view rest{accept_encoding};
  int gzip = -1; // -1 not listed, 0 refused, 1 accepted
  int any = -1;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto element = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{}
                                           : rest.substr(comma + 1);
    auto semi = element.find(';');
    auto coding = text::trim(element.substr(0, semi));
    auto params = semi == std::string_view::npos ? std::string_view{}
                                                 : element.substr(semi + 1);
    if (text::iequals(coding, "gzip") || text::iequals(coding, "x-gzip"))
      gzip = std::max(gzip, positive_q(params) ? 1 : 0);
    else if (coding == "*")
      any = std::max(any, positive_q(params) ? 1 : 0);
  }
  return gzip >= 0 ? gzip == 1 : any == 1;
}

bool etag_matches(const std::string& if_none_match, const std::string& etag) {
  std::string_view rest{if_none_match};
  std::string_view want{etag};
  if (want.size() >= 2 && want.substr(0, 2) == "W/")
    want.remove_prefix(2);
  for (;;) {
    while (!rest.empty()
           && (text::is_space(rest.front()) || rest.front() == ','))
      rest.remove_prefix(1);
    if (rest.empty())
      return false;
    if (rest.front() == '*')
      return true;
    if (rest.size() >= 2 && rest.substr(0, 2) == "W/")
      rest.remove_prefix(2);
    if (rest.empty() || rest.front() != '"')
      return false; // malformed: stop, match nothing more
    auto close = rest.find('"', 1);
    if (close == std::string_view::npos)
      return false;
    if (rest.substr(0, close + 1) == want)
      return true;
    rest.remove_prefix(close + 1);
  }
}

http_response serve_web_asset(const web_asset& asset, const http_request& req) {
  http_response res;
  res.content_type = asset.content_type;
  bool has_gzip = asset.gzip_data != nullptr;
  bool gzip = has_gzip && accepts_gzip(req.header("accept-encoding"));
  const char* etag = gzip ? asset.gzip_etag : asset.etag;
  auto& h = res.headers;
  h.emplace_back("ETag", etag);
  // Always revalidate: a 304 is cheap, and a new binary takes effect at
  // once without hashed file names.
  h.emplace_back("Cache-Control", "no-cache");
  if (has_gzip)
    h.emplace_back("Vary", "Accept-Encoding");
  h.emplace_back("Content-Security-Policy", web_content_security_policy);
  h.emplace_back("X-Content-Type-Options", "nosniff");
  h.emplace_back("Referrer-Policy", "no-referrer");
  h.emplace_back("X-Frame-Options", "DENY");
  if (etag_matches(req.header("if-none-match"), etag)) {
    res.status = 304; // the server sends neither body nor Content-Type
    return res;
  }
  if (gzip) {
    h.emplace_back("Content-Encoding", "gzip");
    res.body.assign(reinterpret_cast<const char*>(asset.gzip_data),
                    asset.gzip_size);
  } else if (asset.size > 0) {
    res.body.assign(reinterpret_cast<const char*>(asset.data), asset.size);
  }
  return res;
}

void add_web_app(server& srv, web_asset_list assets) {
  auto& routes = srv.routes();
  for (const web_asset* asset : assets)
    routes.add("GET", asset->path,
               [asset](const http_request& req, responder respond) {
                 respond(serve_web_asset(*asset, req));
               });
}

void add_web_app(server& srv) {
  add_web_app(srv, embedded_web_assets());
}

} // namespace nod::net
