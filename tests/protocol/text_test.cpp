#include "protocol/text.hpp"

#include <gtest/gtest.h>

namespace nod {
namespace {

TEST(text, iequals_ignores_ascii_case_only) {
  EXPECT_TRUE(text::iequals("GZip", "gzip"));
  EXPECT_TRUE(text::iequals("", ""));
  EXPECT_FALSE(text::iequals("gzip", "gzi"));
  EXPECT_FALSE(text::iequals("x-gzip", "x_gzip"));
  // Bytes outside ASCII are compared as they are.
  EXPECT_FALSE(text::iequals("\xc3\x84", "\xc3\xa4"));
}

TEST(text, trim_removes_ascii_white_space_at_both_ends) {
  EXPECT_EQ(text::trim(" \t q=0.5 \r\n"), "q=0.5");
  EXPECT_EQ(text::trim("a b"), "a b");
  EXPECT_EQ(text::trim(" \t "), "");
  EXPECT_EQ(text::trim(""), "");
}

TEST(text, percent_decode_decodes_escapes_in_either_case) {
  EXPECT_EQ(text::percent_decode("a%20b%2fc%2Fd", text::plus::literal),
            "a b/c/d");
  EXPECT_EQ(text::percent_decode("%e2%9c%93", text::plus::literal), "\u2713");
}

TEST(text, percent_decode_keeps_malformed_escapes) {
  EXPECT_EQ(text::percent_decode("100%", text::plus::literal), "100%");
  EXPECT_EQ(text::percent_decode("%4", text::plus::literal), "%4");
  EXPECT_EQ(text::percent_decode("%zz%41", text::plus::literal), "%zzA");
}

TEST(text, plus_is_a_space_only_in_form_encoding) {
  EXPECT_EQ(text::percent_decode("a+b%2B", text::plus::space), "a b+");
  EXPECT_EQ(text::percent_decode("a+b", text::plus::literal), "a+b");
}

TEST(text, valid_utf8) {
  for (std::string_view ok :
       {"", "plain", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
        "\xF4\x8F\xBF\xBF", "\xEF\xBB\xBF"})
    EXPECT_TRUE(text::valid_utf8(ok)) << ok;
  for (std::string_view bad :
       {"\xC3", "h\xC3", "\xE2\x82", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\x80", "\xFF", "\xC3\x28"})
    EXPECT_FALSE(text::valid_utf8(bad)) << bad;
}

TEST(text, one_line_escapes_control_characters) {
  EXPECT_EQ(text::one_line("a\nb\r\tc\x01\x7f\xC3\xA9"),
            "a\\nb\\r\\tc\\x01\\x7f\xC3\xA9");
}

} // namespace
} // namespace nod
