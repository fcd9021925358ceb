#include "net/http.hpp"

#include "protocol/text.hpp"

#include <cstdio>

namespace nod::net {

namespace {

const std::string empty_string;

// Decodes `%XX` and `+` (form encoding) in `in[first, last)`.
std::string url_decode(const std::string& in, size_t first, size_t last) {
  return text::percent_decode(std::string_view{in}.substr(first, last - first),
                              text::plus::space);
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
