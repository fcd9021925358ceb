#pragma once

// Email as the SMTP client sends it (RFC 5321, RFC 5322): the message text
// and the pieces of the dialogue that are plain data. Pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nod::mail {

/// The address inside "Name <address>", or the text itself.
std::string bare_address(std::string_view from);

/// The message: From, To, Subject (an RFC 2047 encoded word when not plain
/// ASCII), Date, Message-ID, MIME headers, and the UTF-8 body in base64
/// (76-character lines), all with CRLF line ends and ready for DATA (dot
/// stuffing is not needed: no line of it starts with a dot).
std::string format_message(std::string_view from, std::string_view to,
                           std::string_view subject, std::string_view body,
                           int64_t now_ms, std::string_view message_id);

/// One SMTP reply, read from the start of `buffer`: complete when its last
/// line ("NNN text", as opposed to "NNN-text") and CRLF are there.
struct reply {
  int code = 0;
  /// Every line's text after the code, joined by '\n'.
  std::string text;
  /// Bytes of `buffer` the reply took.
  size_t size = 0;
};
std::optional<reply> parse_reply(std::string_view buffer);

/// True when an EHLO reply's text offers `extension` (e.g. "STARTTLS",
/// "AUTH PLAIN"), case-insensitively, as a word at the start of a line.
bool offers(const reply& ehlo, std::string_view extension);

/// "AUTH PLAIN <base64 of \0user\0password>".
std::string auth_plain(std::string_view user, std::string_view password);

} // namespace nod::mail
