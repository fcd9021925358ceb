#pragma once

#include <string_view>

// ASCII helpers shared by the parsers (cron, URLs, HTTP header values):
// protocol words are ASCII, whatever the locale.

namespace nod::text {

/// `c` in lower case if it is an ASCII letter, else `c`.
char ascii_lower(char c);

/// True if `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

/// True for ASCII white space: space, \t, \n, \v, \f, \r.
bool is_space(char c);

/// `s` without leading and trailing ASCII white space.
std::string_view trim(std::string_view s);

} // namespace nod::text
