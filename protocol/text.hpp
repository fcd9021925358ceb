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

/// True if `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF, no sequence cut short).
bool valid_utf8(std::string_view s);

/// `s` with control characters escaped (`\n`, `\r`, `\t`, `\x1b`), so a
/// message that quotes user input stays on one line.
std::string one_line(std::string_view s);

} // namespace nod::text
