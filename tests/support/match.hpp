#pragma once

#include <string_view>

namespace nod::test {

/// True if `text` is `prefix` followed by exactly `count` characters from
/// `chars` and then `suffix`, i.e. ^PREFIX[CHARS]{COUNT}SUFFIX$. (std::regex
/// trips GCC 12's -Wmaybe-uninitialized in the sanitizer build.)
inline bool matches(std::string_view text, std::string_view prefix,
                    std::string_view chars, size_t count,
                    std::string_view suffix = {}) {
  if (text.size() != prefix.size() + count + suffix.size()
      || text.substr(0, prefix.size()) != prefix
      || text.substr(text.size() - suffix.size()) != suffix)
    return false;
  for (auto c : text.substr(prefix.size(), count))
    if (chars.find(c) == std::string_view::npos)
      return false;
  return true;
}

/// Lowercase hex digits.
constexpr std::string_view hex = "0123456789abcdef";

/// The standard base64 alphabet.
constexpr std::string_view base64
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

} // namespace nod::test
