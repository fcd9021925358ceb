#pragma once

#include <string>
#include <string_view>

// ASCII helpers shared by the parsers (cron, URLs, HTTP header values,
// paths and query strings):
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

/// Value of a hex digit (either case), or -1.
int hex_value(char c);

/// Whether `+` means a space: in query strings (form encoding), not in
/// paths.
enum class plus : bool { literal, space };

/// `in` with each `%XX` decoded (and `+` as a space with `plus::space`). A
/// malformed escape is kept as it is.
std::string percent_decode(std::string_view in, plus p);

} // namespace nod::text
