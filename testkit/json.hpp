#pragma once

// Reading and writing the JSON of nod-server's APIs in tests and nod-bench.

#include <cstdint>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <string>

namespace nod::testkit {

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
  return i != v.MemberEnd() && i->value.IsString()
           ? std::string{i->value.GetString(), i->value.GetStringLength()}
           : std::string{};
}

/// Unsigned integer member `name` of `v`, or 0.
inline uint64_t uint(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject())
    return 0;
  auto i = v.FindMember(name);
  return i != v.MemberEnd() && i->value.IsUint64() ? i->value.GetUint64() : 0;
}

/// `s` as a JSON string, quotes included.
inline std::string quote(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return {buf.GetString(), buf.GetSize()};
}

} // namespace nod::testkit
