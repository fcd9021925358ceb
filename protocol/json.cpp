#include "protocol/json.hpp"

#include <cmath>
#include <rapidjson/error/en.h>
#include <utility>

namespace nod::json {

namespace {

// Iterative parsing keeps deeply nested bodies ("[[[[...") from exhausting
// the call stack; encoding validation rejects invalid UTF-8 in strings.
// Not kParseFullPrecisionFlag: in RapidJSON 1.1 it reads a zero with many
// decimals (`0.0000000000000000000000000`) as garbage such as
// -1.37e-194 (found by fuzz/json_fuzz.cpp). The default path may be off by
// one unit in the last place (1e-25 writes back as 9.999999999999999e-26).
constexpr unsigned parse_flags
  = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

// The validating parser checks raw bytes only: a `\uDC00` escape without
// its pair still decodes to the bytes of a surrogate (ED B0 80), which is
// not UTF-8. Those are the only invalid sequences that can get through.
bool has_surrogate(const char* s, size_t n) {
  for (size_t i = 0; i + 1 < n; ++i) {
    auto c0 = static_cast<unsigned char>(s[i]);
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c0 == 0xED && c1 >= 0xA0)
      return true;
  }
  return false;
}

bool has_surrogate(const value& v) {
  return has_surrogate(v.GetString(), v.GetStringLength());
}

/// What the walk over a parsed document found wrong, if anything.
enum class walk_result { ok, surrogate, too_deep, infinite };

// Walks every value with an explicit stack (see parse_flags): strings and
// keys must be valid UTF-8, arrays and objects may nest at most `max_depth`
// deep, so that serializing the document later (RapidJSON's writer
// recurses) cannot exhaust the stack, and numbers must be finite:
// RapidJSON refuses `1e309` but reads a long mantissa with a large exponent
// (`99999999999999999999e300`) as infinity, which its writer cannot write.
walk_result check_values(const value& root) {
  std::vector<std::pair<const value*, size_t>> todo{{&root, 1}};
  while (!todo.empty()) {
    auto [v, depth] = todo.back();
    todo.pop_back();
    if (v->IsString()) {
      if (has_surrogate(*v))
        return walk_result::surrogate;
    } else if (v->IsDouble()) {
      if (!std::isfinite(v->GetDouble()))
        return walk_result::infinite;
    } else if (v->IsObject() || v->IsArray()) {
      if (depth > max_depth)
        return walk_result::too_deep;
      if (v->IsObject()) {
        for (auto& m : v->GetObject()) {
          if (has_surrogate(m.name))
            return walk_result::surrogate;
          todo.emplace_back(&m.value, depth + 1);
        }
      } else {
        for (auto& x : v->GetArray())
          todo.emplace_back(&x, depth + 1);
      }
    }
  }
  return walk_result::ok;
}

void set_error(field_error& err, const char* name, std::string what) {
  err.field = name;
  err.message = name;
  err.message += ": ";
  err.message += what;
}

// The member `name` of `obj`, or null when absent or `obj` is no object.
const value* find(const value& obj, const char* name) {
  if (!obj.IsObject())
    return nullptr;
  auto i = obj.FindMember(name);
  return i == obj.MemberEnd() ? nullptr : &i->value;
}

} // namespace

bool parse_object(std::string_view body, document& doc, field_error& err) {
  if (!parse_value(body, doc, err))
    return false;
  if (!doc.IsObject()) {
    err.field.clear();
    err.message = "body: must be a JSON object";
    return false;
  }
  return true;
}

bool parse_value(std::string_view body, document& doc, field_error& err) {
  // RapidJSON reads a NUL byte as the end of input, so "{}\0junk" would
  // pass; JSON never contains a raw NUL (strings must escape it).
  if (auto nul = body.find('\0'); nul != std::string_view::npos) {
    err.field.clear();
    err.message
      = "body: invalid JSON at offset " + std::to_string(nul) + " (NUL byte)";
    return false;
  }
  // RapidJSON skips a byte order mark one byte at a time, so it would
  // also skip a stray 0xEF, 0xBB or 0xBF (not UTF-8) before the value. A
  // whole mark is fine (RFC 8259 lets a parser ignore it); part of one is
  // not.
  auto unsigned_at = [&](size_t i) {
    return i < body.size() ? static_cast<unsigned char>(body[i]) : 0u;
  };
  bool bom = unsigned_at(0) == 0xEF && unsigned_at(1) == 0xBB
             && unsigned_at(2) == 0xBF;
  if (!bom
      && (unsigned_at(0) == 0xEF || unsigned_at(0) == 0xBB
          || unsigned_at(0) == 0xBF)) {
    err.field.clear();
    err.message = "body: invalid JSON at offset 0 (not UTF-8)";
    return false;
  }
  doc.Parse<parse_flags>(body.data(), body.size());
  if (doc.HasParseError()) {
    err.field.clear();
    err.message = "body: invalid JSON at offset "
                  + std::to_string(doc.GetErrorOffset()) + " ("
                  + rapidjson::GetParseError_En(doc.GetParseError()) + ")";
    return false;
  }
  switch (check_values(doc)) {
    case walk_result::ok: break;
    case walk_result::surrogate:
      err.field.clear();
      err.message = "body: invalid JSON (unpaired UTF-16 surrogate escape)";
      return false;
    case walk_result::infinite:
      err.field.clear();
      err.message = "body: invalid JSON (number too big)";
      return false;
    case walk_result::too_deep:
      err.field.clear();
      err.message
        = "body: nested deeper than " + std::to_string(max_depth) + " levels";
      return false;
  }
  return true;
}

bool get_string(const value& obj, const char* name, size_t max_len,
                std::optional<std::string>& out, field_error& err) {
  auto v = find(obj, name);
  if (v == nullptr || v->IsNull()) {
    out.reset();
    return true;
  }
  if (!v->IsString()) {
    set_error(err, name, "must be a string");
    return false;
  }
  if (v->GetStringLength() > max_len) {
    set_error(err, name, "at most " + std::to_string(max_len) + " characters");
    return false;
  }
  out.emplace(v->GetString(), v->GetStringLength());
  return true;
}

bool require_string(const value& obj, const char* name, size_t max_len,
                    std::string& out, field_error& err) {
  std::optional<std::string> s;
  if (!get_string(obj, name, max_len, s, err))
    return false;
  if (!s || s->empty()) {
    set_error(err, name, "is required");
    return false;
  }
  out = std::move(*s);
  return true;
}

bool get_bool(const value& obj, const char* name, std::optional<bool>& out,
              field_error& err) {
  auto v = find(obj, name);
  if (v == nullptr || v->IsNull()) {
    out.reset();
    return true;
  }
  if (!v->IsBool()) {
    set_error(err, name, "must be true or false");
    return false;
  }
  out = v->GetBool();
  return true;
}

bool get_int(const value& obj, const char* name, int64_t min, int64_t max,
             std::optional<int64_t>& out, field_error& err) {
  auto v = find(obj, name);
  if (v == nullptr || v->IsNull()) {
    out.reset();
    return true;
  }
  auto range_error = [&] {
    set_error(err, name,
              "must be between " + std::to_string(min) + " and "
                + std::to_string(max));
    return false;
  };
  if (v->IsInt64()) {
    auto i = v->GetInt64();
    if (i < min || i > max)
      return range_error();
    out = i;
    return true;
  }
  // An integer literal above INT64_MAX is still an integer, just too big.
  if (v->IsUint64())
    return range_error();
  set_error(err, name, "must be an integer");
  return false;
}

bool is_null(const value& obj, const char* name) {
  auto v = find(obj, name);
  return v != nullptr && v->IsNull();
}

std::optional<std::string> string_member(const value& obj, const char* name) {
  auto v = find(obj, name);
  if (v == nullptr || !v->IsString())
    return std::nullopt;
  return std::string{v->GetString(), v->GetStringLength()};
}

writer::writer() : w_(buf_) {
  // nop
}

void writer::string_or_null(const std::optional<std::string>& s) {
  if (s)
    string(*s);
  else
    null();
}

void writer::raw_json(std::string_view json) {
  // The writer only uses the type to check that keys are strings; the
  // first non-blank character tells which it is.
  auto pos = json.find_first_not_of(" \t\r\n");
  if (pos == std::string_view::npos) {
    null(); // nothing to insert: keep the output valid JSON
    return;
  }
  rapidjson::Type type;
  switch (json[pos]) {
    case '{': type = rapidjson::kObjectType; break;
    case '[': type = rapidjson::kArrayType; break;
    case '"': type = rapidjson::kStringType; break;
    case 't': type = rapidjson::kTrueType; break;
    case 'f': type = rapidjson::kFalseType; break;
    case 'n': type = rapidjson::kNullType; break;
    default: type = rapidjson::kNumberType;
  }
  w_.RawValue(json.data(), json.size(), type);
}

std::string writer::str() const {
  return std::string(buf_.GetString(), buf_.GetSize());
}

std::string detail_body(std::string_view detail) {
  writer w;
  w.start_object();
  w.field("detail", detail);
  w.end_object();
  return w.str();
}

std::string to_string(const value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string array_of(const std::vector<std::string>& items) {
  writer w;
  w.start_array();
  for (auto& item : items)
    w.raw_json(item);
  w.end_array();
  return w.str();
}

} // namespace nod::json
