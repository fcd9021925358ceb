#pragma once

// Small, strict helpers over RapidJSON for request bodies and responses.
// Every failure names the field, as API.md's 400s must.

#include <cstdint>
#include <optional>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <string>
#include <string_view>
#include <vector>

namespace nod::json {

/// What was wrong with a request body: the field (empty for the body as a
/// whole) and a readable message that names it, e.g.
/// "name: must be a string".
struct field_error {
  std::string field;
  std::string message;
};

/// A parsed JSON object body.
using document = rapidjson::Document;
using value = rapidjson::Value;

/// Deepest nesting of arrays and objects `parse_object` accepts (the body
/// object itself is level 1). Parsing is iterative, but serializing is
/// not: the limit keeps every parsed value safe to write back out.
constexpr size_t max_depth = 64;

/// Parses `body`; it must be a JSON object nested at most `max_depth`
/// deep ("body: nested deeper than 64 levels"). On failure `err.message` is
/// e.g. "body: invalid JSON at offset 12" or "body: must be a JSON object".
bool parse_object(std::string_view body, document& doc, field_error& err);

/// As `parse_object`, but any JSON value (an inbound trigger's payload).
bool parse_value(std::string_view body, document& doc, field_error& err);

/// Reads optional string `name` from `obj`. Absent or `null` → nothing and
/// true. Wrong type → false with "NAME: must be a string". Longer than
/// `max_len` bytes → "NAME: at most MAX characters". Invalid UTF-8 is
/// rejected by the parser already.
bool get_string(const value& obj, const char* name, size_t max_len,
                std::optional<std::string>& out, field_error& err);

/// As `get_string`, but absent, null or empty → "NAME: is required".
bool require_string(const value& obj, const char* name, size_t max_len,
                    std::string& out, field_error& err);

/// Optional boolean; wrong type → "NAME: must be true or false".
bool get_bool(const value& obj, const char* name, std::optional<bool>& out,
              field_error& err);

/// Optional integer in [min, max]; wrong type → "NAME: must be an integer",
/// out of range → "NAME: must be between MIN and MAX".
bool get_int(const value& obj, const char* name, int64_t min, int64_t max,
             std::optional<int64_t>& out, field_error& err);

/// True if `obj` has member `name` whose value is explicitly `null`.
bool is_null(const value& obj, const char* name);

/// The string member `name` of `obj`, if it is there and a string (for
/// reading stored objects; request bodies use `get_string`, which says
/// what is wrong).
std::optional<std::string> string_member(const value& obj, const char* name);

/// A compact JSON writer into a string.
class writer {
public:
  writer();

  /// The underlying RapidJSON writer, for nested values.
  rapidjson::Writer<rapidjson::StringBuffer>& raw() {
    return w_;
  }

  void start_object() {
    w_.StartObject();
  }
  void end_object() {
    w_.EndObject();
  }
  void start_array() {
    w_.StartArray();
  }
  void end_array() {
    w_.EndArray();
  }
  /// Writes a key inside an object.
  void key(std::string_view k) {
    w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
  }
  void string(std::string_view s) {
    w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  }
  void boolean(bool b) {
    w_.Bool(b);
  }
  void integer(int64_t i) {
    w_.Int64(i);
  }
  void null() {
    w_.Null();
  }
  /// Writes `s` if present, else `null`.
  void string_or_null(const std::optional<std::string>& s);
  /// Writes already-serialized JSON as a value (trusted input only).
  void raw_json(std::string_view json);

  /// Key + value shorthands.
  void field(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  void field(std::string_view k, const char* v) {
    key(k);
    string(v);
  }
  /// Without this, a `std::string` value is ambiguous between the
  /// `string_view` and `optional<string>` overloads.
  void field(std::string_view k, const std::string& v) {
    key(k);
    string(v);
  }
  void field(std::string_view k, bool v) {
    key(k);
    boolean(v);
  }
  void field(std::string_view k, int64_t v) {
    key(k);
    integer(v);
  }
  /// Without this, an `int` value is ambiguous between `bool` and
  /// `int64_t`.
  void field(std::string_view k, int v) {
    key(k);
    integer(v);
  }
  void field(std::string_view k, const std::optional<std::string>& v) {
    key(k);
    string_or_null(v);
  }

  /// The JSON written so far.
  std::string str() const;

private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_;
};

/// `{"detail": detail}`.
std::string detail_body(std::string_view detail);

/// Already-serialized JSON values (trusted) as one JSON array.
std::string array_of(const std::vector<std::string>& items);

/// Serializes any RapidJSON value compactly.
std::string to_string(const value& v);

} // namespace nod::json
