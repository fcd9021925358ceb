#include "net/http.hpp"

#include <cstdio>

namespace nod::net {

namespace {

const std::string empty_string;

// Value of a hex digit, or -1.
int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Decodes `%XX` and `+` (form encoding). A malformed escape is kept as is.
std::string url_decode(const std::string& in, size_t first, size_t last) {
  std::string out;
  out.reserve(last - first);
  for (size_t i = first; i < last; ++i) {
    char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < last) {
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        out += c;
      }
    } else {
      out += c;
    }
  }
  return out;
}

// Appends `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

} // namespace

const std::string& http_request::header(const std::string& name) const {
  for (const auto& [key, value] : headers)
    if (key == name)
      return value;
  return empty_string;
}

const std::string& http_request::param(const std::string& name) const {
  for (const auto& [key, value] : params)
    if (key == name)
      return value;
  return empty_string;
}

bool http_request::query_param(const std::string& name,
                               std::string& out) const {
  size_t pos = 0;
  while (pos <= query.size()) {
    auto end = query.find('&', pos);
    if (end == std::string::npos)
      end = query.size();
    if (end > pos) {
      auto eq = query.find('=', pos);
      auto key_end = eq != std::string::npos && eq < end ? eq : end;
      if (url_decode(query, pos, key_end) == name) {
        out
          = key_end < end ? url_decode(query, key_end + 1, end) : std::string{};
        return true;
      }
    }
    pos = end + 1;
  }
  return false;
}

http_response error_response(unsigned status, const std::string& detail) {
  http_response res;
  res.status = status;
  res.body.reserve(detail.size() + 14);
  res.body += "{\"detail\":";
  append_json_string(res.body, detail);
  res.body += '}';
  return res;
}

http_response json_response(unsigned status, std::string body) {
  http_response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

} // namespace nod::net
