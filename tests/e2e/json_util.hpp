#pragma once

// Reading JSON replies in end-to-end tests.

#include <rapidjson/document.h>
#include <string>

namespace nod::test {

/// Parses `body` (a parse error leaves a non-object document).
inline rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  return doc;
}

/// String member `name` of `v`, or empty.
inline std::string str(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject())
    return {};
  auto i = v.FindMember(name);
  return i != v.MemberEnd() && i->value.IsString() ? i->value.GetString()
                                                   : std::string{};
}

} // namespace nod::test
