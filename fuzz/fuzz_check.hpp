#pragma once

// What a fuzz target asserts: a property that must hold for every input.
// A failure prints the property and aborts, which libFuzzer reports as a
// crash and saves the input for.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                     \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

namespace nod::fuzz {

/// Splits `data` at each `sep`.
inline std::vector<std::string> split_list(std::string_view data, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= data.size(); ++i)
    if (i == data.size() || data[i] == sep) {
      out.emplace_back(data.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

/// Splits `data` at NUL bytes: how the targets that take several strings
/// (arguments, a header and a value) read one input.
inline std::vector<std::string> split_nul(std::string_view data) {
  return split_list(data, '\0');
}

} // namespace nod::fuzz
