#include "protocol/mail.hpp"

#include "protocol/credentials.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace nod::mail {

namespace {

bool plain_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

/// RFC 5322 date of `now_ms`, in UTC.
std::string rfc5322_date(int64_t now_ms) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

/// A header value that is safe on one line: line breaks become spaces.
std::string one_line(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    if (c == '\r' || c == '\n')
      c = ' ';
  return out;
}

} // namespace

std::string bare_address(std::string_view from) {
  auto open = from.rfind('<');
  auto close = from.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos
      && close > open)
    return std::string{from.substr(open + 1, close - open - 1)};
  return std::string{from};
}

std::string format_message(std::string_view from, std::string_view to,
                           std::string_view subject, std::string_view body,
                           int64_t now_ms, std::string_view message_id) {
  auto clean_subject = one_line(subject);
  std::string subject_header
    = plain_ascii(clean_subject)
        ? clean_subject
        : "=?UTF-8?B?" + base64_encode(clean_subject) + "?=";
  std::string out;
  out += "From: " + one_line(from) + "\r\n";
  out += "To: " + one_line(to) + "\r\n";
  out += "Subject: " + subject_header + "\r\n";
  out += "Date: " + rfc5322_date(now_ms) + "\r\n";
  out += "Message-ID: <" + one_line(message_id) + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: base64\r\n";
  out += "\r\n";
  auto encoded = base64_encode(body);
  for (size_t i = 0; i < encoded.size(); i += 76)
    out += encoded.substr(i, 76) + "\r\n";
  return out;
}

std::optional<reply> parse_reply(std::string_view buffer) {
  reply r;
  size_t pos = 0;
  for (;;) {
    auto end = buffer.find("\r\n", pos);
    if (end == std::string_view::npos)
      return std::nullopt;
    auto line = buffer.substr(pos, end - pos);
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0]))
        || !std::isdigit(static_cast<unsigned char>(line[1]))
        || !std::isdigit(static_cast<unsigned char>(line[2])))
      return reply{-1, std::string{line}, end + 2};
    r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!r.text.empty())
      r.text += '\n';
    r.text += std::string{line.size() > 4 ? line.substr(4) : ""};
    pos = end + 2;
    if (line.size() == 3 || line[3] != '-') {
      r.size = pos;
      return r;
    }
  }
}

bool offers(const reply& ehlo, std::string_view extension) {
  auto lower = [](std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  auto text = lower(ehlo.text);
  auto ext = lower(std::string{extension});
  size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end == std::string::npos ? std::string::npos
                                                          : end - pos);
    if (line.rfind(ext, 0) == 0
        && (line.size() == ext.size() || line[ext.size()] == ' '))
      return true;
    // "AUTH LOGIN PLAIN": any of the mechanisms.
    auto sp = ext.find(' ');
    if (sp != std::string::npos && line.rfind(ext.substr(0, sp + 1), 0) == 0
        && (" " + line + " ").find(" " + ext.substr(sp + 1) + " ")
             != std::string::npos)
      return true;
    if (end == std::string::npos)
      break;
    pos = end + 1;
  }
  return false;
}

std::string auth_plain(std::string_view user, std::string_view password) {
  std::string creds;
  creds.push_back('\0');
  creds.append(user);
  creds.push_back('\0');
  creds.append(password);
  return "AUTH PLAIN " + base64_encode(creds);
}

} // namespace nod::mail
