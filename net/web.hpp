#pragma once

#include "net/http.hpp"

#include <cstddef>
#include <string>

// The browser app: the files of web/, embedded in the binary at build time
// (cmake/NodWeb.cmake) and served with ETags, gzip and a strict
// Content-Security-Policy.

namespace nod::net {

class server;

/// One embedded file. Everything points to static storage.
struct web_asset {
  /// URL path: `/` for `index.html`, else `/` + the path under web/.
  const char* path;
  /// By extension; text types carry `; charset=utf-8`.
  const char* content_type;
  /// Strong ETags, quotes included: the first 16 hex digits of the
  /// SHA-256 of the content, and the same with `-gzip` for the gzip form.
  const char* etag;
  const char* gzip_etag;
  const unsigned char* data;
  size_t size;
  /// `gzip -9 -n` of the content; null when that would not be smaller.
  const unsigned char* gzip_data;
  size_t gzip_size;
};

/// A table of embedded files, sorted by their path under the directory.
struct web_asset_list {
  const web_asset* const* items;
  size_t size;

  const web_asset* const* begin() const {
    return items;
  }
  const web_asset* const* end() const {
    return items + size;
  }
};

/// The files of web/ (generated; library `nod_web`).
web_asset_list embedded_web_assets();

/// Adds a GET route (HEAD too, through the router's fallback) for every
/// file of `embedded_web_assets()`; call after the API routes, which win
/// on a clash.
void add_web_app(server& srv);

/// Same, for another table (tests).
void add_web_app(server& srv, web_asset_list assets);

/// The answer to `req` for `asset`: 304 when `If-None-Match` matches, gzip
/// when `Accept-Encoding` allows it, the security headers always.
http_response serve_web_asset(const web_asset& asset, const http_request& req);

/// True if an `Accept-Encoding` value allows gzip: `gzip` or `x-gzip` with
/// a q-value above 0, or else `*` with one.
bool accepts_gzip(const std::string& accept_encoding);

/// True if an `If-None-Match` value is `*` or lists `etag` (weak
/// comparison: `W/` is ignored).
bool etag_matches(const std::string& if_none_match, const std::string& etag);

/// The Content-Security-Policy of every web app response.
extern const char* const web_content_security_policy;

} // namespace nod::net
