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

} // namespace
} // namespace nod
