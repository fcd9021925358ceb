#include "net/beast_request.hpp"

#include "protocol/text.hpp"

namespace nod::net {

http_request to_http_request(
  const boost::beast::http::request<boost::beast::http::string_body>& msg) {
  http_request req;
  req.method = std::string{msg.method_string()};
  auto target = msg.target();
  auto q = target.find('?');
  req.path = std::string{target.substr(0, q)};
  if (q != boost::beast::string_view::npos)
    req.query = std::string{target.substr(q + 1)};
  for (const auto& field : msg) {
    std::string name{field.name_string()};
    for (auto& c : name)
      c = text::ascii_lower(c);
    req.headers.emplace_back(std::move(name), std::string{field.value()});
  }
  return req;
}

std::string forwarded_for(
  const boost::beast::http::request<boost::beast::http::string_body>& msg) {
  std::string out;
  for (const auto& field : msg)
    if (text::iequals({field.name_string().data(), field.name_string().size()},
                      "x-forwarded-for")) {
      if (!out.empty())
        out += ',';
      out.append(field.value().data(), field.value().size());
    }
  return out;
}

std::string forwarded_for(const http_request& req) {
  std::string out;
  for (auto& [name, value] : req.headers)
    if (name == "x-forwarded-for")
      out += (out.empty() ? "" : ",") + value;
  return out;
}

} // namespace nod::net
