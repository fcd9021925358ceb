#include "protocol/json.hpp"

#include <gtest/gtest.h>

namespace nod::json {
namespace {

document parse_ok(std::string_view text) {
  document doc;
  field_error err;
  EXPECT_TRUE(parse_object(text, doc, err)) << text << ": " << err.message;
  return doc;
}

TEST(json_parse, accepts_objects) {
  for (auto text : {"{}", " { } ", "{\"a\":1,\"b\":[true,null,\"x\"]}",
                    "{\"a\":{\"b\":{}}}", "{\"n\":\"\\u00e9\\ud83d\\ude00\"}",
                    "{\"n\":\"\xc3\xa9\xf0\x9f\x98\x80\"}"}) {
    document doc;
    field_error err;
    EXPECT_TRUE(parse_object(text, doc, err)) << text << ": " << err.message;
    EXPECT_TRUE(doc.IsObject());
  }
}

TEST(json_parse, rejects_invalid_json_with_offset) {
  struct row {
    std::string text;
    std::string message_prefix;
  };
  std::vector<row> rows{
    {"", "body: invalid JSON at offset 0"},
    {"{", "body: invalid JSON at offset 1"},
    {"{\"a\":}", "body: invalid JSON at offset 5"},
    {"{\"a\":1,}", "body: invalid JSON at offset 7"},
    {"{} x", "body: invalid JSON at offset 3"},
    {"{'a':1}", "body: invalid JSON at offset 1"},
    {"{\"a\":01}", "body: invalid JSON"},
    {"{\"a\":NaN}", "body: invalid JSON"},
    {"{\"a\":1} // c", "body: invalid JSON"},
    {std::string("{\"a\":\"x\0y\"}", 11), "body: invalid JSON"},
    {std::string("{}\0", 3), "body: invalid JSON at offset 2"},
    {std::string("{}\0{\"a\":1}", 10), "body: invalid JSON at offset 2"},
    {std::string("{\"a\":1}\0", 8), "body: invalid JSON at offset 7"},
    {"{\"a\":\"\\x\"}", "body: invalid JSON"},
  };
  for (auto& r : rows) {
    document doc;
    field_error err;
    EXPECT_FALSE(parse_object(r.text, doc, err)) << r.text;
    EXPECT_EQ(err.message.rfind(r.message_prefix, 0), 0u)
      << r.text << " -> " << err.message;
    EXPECT_EQ(err.field, "");
  }
}

// Found by fuzz/json_fuzz.cpp: RapidJSON reads these as infinity (it only
// refuses a plain 1e309), and its writer cannot write infinity back, so a
// request id echoed in a reply frame came out as `"request_id":,`.
TEST(json_parse, rejects_numbers_too_big_for_a_double) {
  for (auto text : {"{\"a\":92233720368576931348623157e308}",
                    "{\"a\":[-1234567890123456789012345e300]}",
                    "{\"request_id\":99999999999999999999e299}"}) {
    document doc;
    field_error err;
    EXPECT_FALSE(parse_object(text, doc, err)) << text;
    EXPECT_EQ(err.message, "body: invalid JSON (number too big)") << text;
  }
  document doc;
  field_error err;
  EXPECT_TRUE(
    parse_object("{\"a\":1.7976931348623157e308,\"b\":-1e-400}", doc, err))
    << err.message;
}

// Found by fuzz/json_fuzz.cpp: RapidJSON's full-precision mode reads these
// zeros as garbage (-1.37e-194); the parser must not use it.
TEST(json_parse, long_zeros_are_zero) {
  for (auto text :
       {"[0.0000000000000000000000000]", "[-0.00000000000000000000000000e-5]",
        "[0.00000000000000000000000000000000000000000000000000e10]"}) {
    document doc;
    field_error err;
    ASSERT_TRUE(parse_value(text, doc, err)) << text << ": " << err.message;
    EXPECT_EQ(doc[0].GetDouble(), 0.0) << text;
  }
}

// Found by fuzz/json_fuzz.cpp: RapidJSON skips each byte of a byte order
// mark on its own, so "\xEF\xBB{}" passed as {} though it is not UTF-8.
TEST(json_parse, a_whole_byte_order_mark_only) {
  for (auto text : {"\xEF{}", "\xBB{}", "\xBF{}", "\xEF\xBB{}", "\xEF\xBF{}",
                    "\xBB\xBF{}", "\xEF\xBB\xBF\xBF{}"}) {
    document doc;
    field_error err;
    EXPECT_FALSE(parse_object(text, doc, err)) << text;
    EXPECT_EQ(err.message.rfind("body: invalid JSON at offset", 0), 0u)
      << err.message;
  }
  document doc;
  field_error err;
  EXPECT_TRUE(parse_object("\xEF\xBB\xBF{\"a\":1}", doc, err)) << err.message;
}

TEST(json_parse, rejects_non_objects) {
  for (auto text : {"[]", "[1,2]", "\"s\"", "42", "-1.5", "true", "null"}) {
    document doc;
    field_error err;
    EXPECT_FALSE(parse_object(text, doc, err)) << text;
    EXPECT_EQ(err.message, "body: must be a JSON object") << text;
  }
}

TEST(json_parse, rejects_invalid_utf8) {
  for (auto text : {
         "{\"a\":\"\xff\"}",             // never valid in UTF-8
         "{\"a\":\"\xc3\"}",             // truncated sequence
         "{\"a\":\"\xc0\xaf\"}",         // overlong '/'
         "{\"a\":\"\xed\xa0\x80\"}",     // encoded surrogate
         "{\"a\":\"\xf4\x90\x80\x80\"}", // above U+10FFFF
         "{\"\xff\":1}",                 // in a key
         "{\"a\":\"\\ud800\"}",          // high surrogate escape alone
         "{\"a\":\"\\udc00\"}",          // low surrogate escape alone
         "{\"a\":[\"\\udfff\"]}",        // nested
         "{\"\\udc00\":1}",              // in a key
       }) {
    document doc;
    field_error err;
    EXPECT_FALSE(parse_object(text, doc, err)) << text;
    EXPECT_EQ(err.message.rfind("body: invalid JSON", 0), 0u) << err.message;
  }
}

TEST(json_parse, refuses_deep_nesting_without_exhausting_the_stack) {
  auto nested = [](size_t depth) {
    return "{\"a\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']')
           + "}";
  };
  parse_ok(nested(max_depth));
  document doc;
  field_error err;
  for (size_t depth : {max_depth + 1, size_t{200000}}) {
    EXPECT_FALSE(parse_object(nested(depth), doc, err)) << depth;
    EXPECT_EQ(err.message, "body: nested deeper than 64 levels");
  }
  std::string unclosed = "{\"a\":" + std::string(200000, '[');
  EXPECT_FALSE(parse_object(unclosed, doc, err));
}

// A body with member "f" set to `raw` (a JSON value), or "{}" for absent.
document body_with(const char* raw) {
  if (raw == nullptr)
    return parse_ok("{}");
  return parse_ok(std::string("{\"f\":") + raw + "}");
}

TEST(json_get_string, table) {
  struct row {
    const char* raw; // nullptr: absent
    bool ok;
    std::optional<std::string> value;
    std::string message;
  };
  std::vector<row> rows{
    {nullptr, true, std::nullopt, ""},
    {"null", true, std::nullopt, ""},
    {"\"\"", true, "", ""},
    {"\"abc\"", true, "abc", ""},
    {"\"\\u00e9\\u00e9\"", true, "\xc3\xa9\xc3\xa9", ""}, // 4 bytes
    {"\"\\u00e9\\u00e9x\"", false, std::nullopt, "f: at most 4 characters"},
    {"\"abcde\"", false, std::nullopt, "f: at most 4 characters"},
    {"\"abcdef\"", false, std::nullopt, "f: at most 4 characters"},
    {"\"abcd\"", true, "abcd", ""},
    {"\"a\\u0000b\"", true, std::string("a\0b", 3), ""},
    {"1", false, std::nullopt, "f: must be a string"},
    {"1.5", false, std::nullopt, "f: must be a string"},
    {"true", false, std::nullopt, "f: must be a string"},
    {"false", false, std::nullopt, "f: must be a string"},
    {"[]", false, std::nullopt, "f: must be a string"},
    {"[\"a\"]", false, std::nullopt, "f: must be a string"},
    {"{}", false, std::nullopt, "f: must be a string"},
  };
  for (auto& r : rows) {
    auto doc = body_with(r.raw);
    std::optional<std::string> out = "stale";
    field_error err;
    EXPECT_EQ(get_string(doc, "f", 4, out, err), r.ok)
      << (r.raw ? r.raw : "absent");
    if (r.ok) {
      EXPECT_EQ(out, r.value) << (r.raw ? r.raw : "absent");
    } else {
      EXPECT_EQ(err.field, "f");
      EXPECT_EQ(err.message, r.message);
    }
  }
}

TEST(json_require_string, table) {
  struct row {
    const char* raw;
    bool ok;
    std::string message;
  };
  std::vector<row> rows{
    {nullptr, false, "f: is required"},
    {"null", false, "f: is required"},
    {"\"\"", false, "f: is required"},
    {"\" \"", true, ""},
    {"\"abc\"", true, ""},
    {"\"abcd\"", true, ""},
    {"\"abcde\"", false, "f: at most 4 characters"},
    {"7", false, "f: must be a string"},
    {"false", false, "f: must be a string"},
    {"[]", false, "f: must be a string"},
    {"{}", false, "f: must be a string"},
  };
  for (auto& r : rows) {
    auto doc = body_with(r.raw);
    std::string out;
    field_error err;
    EXPECT_EQ(require_string(doc, "f", 4, out, err), r.ok)
      << (r.raw ? r.raw : "absent");
    if (!r.ok) {
      EXPECT_EQ(err.field, "f");
      EXPECT_EQ(err.message, r.message);
    }
  }
}

TEST(json_get_bool, table) {
  struct row {
    const char* raw;
    bool ok;
    std::optional<bool> value;
  };
  std::vector<row> rows{
    {nullptr, true, std::nullopt},
    {"null", true, std::nullopt},
    {"true", true, true},
    {"false", true, false},
    {"0", false, std::nullopt},
    {"1", false, std::nullopt},
    {"\"true\"", false, {}},
    {"[]", false, {}},
    {"{}", false, {}},
  };
  for (auto& r : rows) {
    auto doc = body_with(r.raw);
    std::optional<bool> out;
    field_error err;
    EXPECT_EQ(get_bool(doc, "f", out, err), r.ok) << (r.raw ? r.raw : "absent");
    if (r.ok) {
      EXPECT_EQ(out, r.value);
    } else {
      EXPECT_EQ(err.field, "f");
      EXPECT_EQ(err.message, "f: must be true or false");
    }
  }
}

TEST(json_get_int, table) {
  struct row {
    const char* raw;
    bool ok;
    std::optional<int64_t> value;
    std::string message;
  };
  const std::string range = "f: must be between -5 and 200";
  const std::string type = "f: must be an integer";
  std::vector<row> rows{
    {nullptr, true, std::nullopt, ""},
    {"null", true, std::nullopt, ""},
    {"0", true, 0, ""},
    {"-5", true, -5, ""},
    {"200", true, 200, ""},
    {"-6", false, {}, range},
    {"201", false, {}, range},
    {"9223372036854775807", false, {}, range},
    {"18446744073709551615", false, {}, range},
    {"-9223372036854775808", false, {}, range},
    {"1.5", false, {}, type},
    {"1.0", false, {}, type},
    {"1e2", false, {}, type},
    {"\"5\"", false, {}, type},
    {"true", false, {}, type},
    {"[1]", false, {}, type},
    {"{}", false, {}, type},
  };
  for (auto& r : rows) {
    auto doc = body_with(r.raw);
    std::optional<int64_t> out;
    field_error err;
    EXPECT_EQ(get_int(doc, "f", -5, 200, out, err), r.ok)
      << (r.raw ? r.raw : "absent");
    if (r.ok) {
      EXPECT_EQ(out, r.value);
    } else {
      EXPECT_EQ(err.field, "f");
      EXPECT_EQ(err.message, r.message) << r.raw;
    }
  }
}

TEST(json_get, non_object_values_count_as_absent) {
  value v(5);
  std::optional<std::string> s;
  field_error err;
  EXPECT_TRUE(get_string(v, "f", 10, s, err));
  EXPECT_FALSE(s);
  EXPECT_FALSE(is_null(v, "f"));
}

TEST(json_is_null, only_explicit_null) {
  EXPECT_TRUE(is_null(body_with("null"), "f"));
  EXPECT_FALSE(is_null(body_with(nullptr), "f"));
  EXPECT_FALSE(is_null(body_with("0"), "f"));
  EXPECT_FALSE(is_null(body_with("\"\""), "f"));
  EXPECT_FALSE(is_null(body_with("null"), "g"));
}

TEST(json_writer, writes_compact_json) {
  writer w;
  w.start_object();
  w.field("s", std::string_view{"a\"b\\c\n"});
  w.field("c", "lit");
  w.field("str", std::string{"x"});
  w.field("t", true);
  w.field("i", int64_t{-42});
  w.field("n", 7);
  w.field("some", std::optional<std::string>{"v"});
  w.field("none", std::optional<std::string>{});
  w.key("arr");
  w.start_array();
  w.integer(1);
  w.null();
  w.boolean(false);
  w.string(std::string_view{});
  w.end_array();
  w.end_object();
  EXPECT_EQ(w.str(), "{\"s\":\"a\\\"b\\\\c\\n\",\"c\":\"lit\",\"str\":\"x\","
                     "\"t\":true,\"i\":-42,\"n\":7,\"some\":\"v\","
                     "\"none\":null,\"arr\":[1,null,false,\"\"]}");
}

TEST(json_writer, escapes_control_characters_and_keeps_utf8) {
  writer w;
  w.start_object();
  w.field("k", std::string_view{"\x01\xc3\xa9\0", 4});
  w.end_object();
  EXPECT_EQ(w.str(), "{\"k\":\"\\u0001\xc3\xa9\\u0000\"}");
  parse_ok(w.str());
}

TEST(json_writer, raw_json_gets_commas_and_colons) {
  writer w;
  w.start_object();
  w.key("a");
  w.raw_json("{\"x\":[1,2]}");
  w.key("b");
  w.raw_json("[]");
  w.key("c");
  w.raw_json("12.5");
  w.key("d");
  w.raw_json("\"s\"");
  w.key("e");
  w.raw_json("true");
  w.key("f");
  w.raw_json("null");
  w.key("g");
  w.raw_json("  ");
  w.key("h");
  w.start_array();
  w.raw_json("{}");
  w.raw_json("{}");
  w.integer(3);
  w.raw_json("false");
  w.end_array();
  w.end_object();
  EXPECT_EQ(w.str(), "{\"a\":{\"x\":[1,2]},\"b\":[],\"c\":12.5,\"d\":\"s\","
                     "\"e\":true,\"f\":null,\"g\":null,"
                     "\"h\":[{},{},3,false]}");
  parse_ok(w.str());
}

TEST(json_writer, raw_json_at_root) {
  writer w;
  w.raw_json("{\"a\":1}");
  EXPECT_EQ(w.str(), "{\"a\":1}");
}

TEST(json_detail_body, escapes) {
  EXPECT_EQ(detail_body("name: is required"),
            "{\"detail\":\"name: is required\"}");
  EXPECT_EQ(detail_body("type: must be \"x\""),
            "{\"detail\":\"type: must be \\\"x\\\"\"}");
  EXPECT_EQ(detail_body(""), "{\"detail\":\"\"}");
}

TEST(json_to_string, round_trips) {
  for (auto text : {"{}", "{\"a\":[1,-2,3.5,true,null,\"x\"],\"b\":{}}",
                    "{\"u\":18446744073709551615}"}) {
    auto doc = parse_ok(text);
    EXPECT_EQ(to_string(doc), text);
  }
  value v("plain");
  EXPECT_EQ(to_string(v), "\"plain\"");
}

} // namespace
} // namespace nod::json
