// JSON bodies and frames (protocol/json.hpp): any bytes either parse into a
// value that is valid UTF-8, nested at most `max_depth` deep, with finite
// numbers, and written back out as JSON that parses again, or fail with a
// message.

#include "fuzz/fuzz_check.hpp"
#include "protocol/json.hpp"
#include "protocol/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace {

// Equal values; a double may move by a unit in the last place on a trip
// through text (RapidJSON's fast number path). Depth is at most 64.
bool same(const nod::json::value& a, const nod::json::value& b) {
  if (a.IsDouble() || b.IsDouble()) {
    if (!a.IsNumber() || !b.IsNumber())
      return false;
    double x = a.GetDouble(), y = b.GetDouble();
    return x == y
           || std::fabs(x - y) <= 1e-15 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.IsArray() && b.IsArray()) {
    if (a.Size() != b.Size())
      return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i)
      if (!same(a[i], b[i]))
        return false;
    return true;
  }
  if (a.IsObject() && b.IsObject()) {
    if (a.MemberCount() != b.MemberCount())
      return false;
    for (auto i = a.MemberBegin(), j = b.MemberBegin(); i != a.MemberEnd();
         ++i, ++j)
      if (i->name != j->name || !same(i->value, j->value))
        return false;
    return true;
  }
  return a == b;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  nod::json::document doc;
  nod::json::field_error err;
  bool ok = nod::json::parse_value(body, doc, err);
  nod::json::document obj;
  nod::json::field_error obj_err;
  bool is_object = nod::json::parse_object(body, obj, obj_err);
  FUZZ_CHECK(is_object == (ok && doc.IsObject()));
  if (!ok) {
    FUZZ_CHECK(!err.message.empty());
    return 0;
  }
  // Accepted input is valid UTF-8 (JSON allows nothing else), and so is
  // what the server writes back.
  FUZZ_CHECK(nod::text::valid_utf8(body));
  auto text = nod::json::to_string(doc);
  FUZZ_CHECK(nod::text::valid_utf8(text));
  nod::json::document again;
  FUZZ_CHECK(nod::json::parse_value(text, again, err));
  FUZZ_CHECK(same(doc, again));
  return 0;
}
