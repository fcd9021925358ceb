#include "app/json_formatter.hpp"

#include <array>
#include <chrono>
#include <ctime>

namespace nod::logging {

namespace {

using buffer = spdlog::memory_buf_t;

void append(buffer& out, std::string_view s) {
  out.append(s.data(), s.data() + s.size());
}

std::string_view view(spdlog::string_view_t s) {
  return {s.data(), s.size()};
}

/// An id the server prints as `prefix` + 16 lowercase hex digits
/// (protocol/ids.hpp `format_id64`), and the field it goes into.
struct id_kind {
  std::string_view prefix;
  std::string_view field;
};

constexpr std::array<id_kind, 12> id_kinds = {{
  {"agt_", "agent_id"},
  {"usr_", "user_id"},
  {"dec_", "decision_id"},
  {"msg_", "message_id"},
  {"conv_", "conversation_id"},
  {"tsk_", "task_id"},
  {"run_", "run_id"},
  {"evt_", "event_id"},
  {"med_", "media_id"},
  {"act_", "activity_id"},
  {"psub_", "subscription_id"},
  {"req_", "request_id"},
}};

constexpr size_t request_kind = id_kinds.size() - 1;
constexpr size_t id_digits = 16;

/// Names a request id of any shape (one the client sent in X-Request-Id).
constexpr std::string_view request_id_key = "request_id=";

/// The first id of each kind a message names, by index into `id_kinds`.
using found_ids = std::array<std::string_view, id_kinds.size()>;

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '_';
}

bool lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// Length of the id of `kind` at the start of `s` (a word start), or 0.
size_t id_at(std::string_view s, const id_kind& kind) {
  auto end = kind.prefix.size() + id_digits;
  if (s.size() < end || !starts_with(s, kind.prefix))
    return 0;
  for (size_t i = kind.prefix.size(); i < end; ++i)
    if (!lower_hex(s[i]))
      return 0;
  return end < s.size() && word_char(s[end]) ? 0 : end;
}

/// Records in `found` the ids `text` names that it has none of yet.
void scan_ids(std::string_view text, found_ids& found) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < 'a' || text[i] > 'z' || (i > 0 && word_char(text[i - 1]))) {
      ++i;
      continue;
    }
    auto rest = text.substr(i);
    if (starts_with(rest, request_id_key)) {
      // A client's request id may look like anything: taken whole, never
      // searched for other ids.
      auto value = rest.substr(request_id_key.size());
      value = value.substr(0, value.find(' '));
      if (found[request_kind].empty())
        found[request_kind] = value;
      i += request_id_key.size() + value.size();
      continue;
    }
    size_t length = 0;
    for (size_t k = 0; k < id_kinds.size() && length == 0; ++k) {
      length = id_at(rest, id_kinds[k]);
      if (length > 0 && found[k].empty())
        found[k] = rest.substr(0, length);
    }
    i += length > 0 ? length : 1;
  }
}

/// Length of the well-formed UTF-8 sequence (RFC 3629) of two or more
/// bytes at the start of `s`, or 0.
size_t utf8_sequence(std::string_view s) {
  auto byte = [&](size_t i) {
    return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u;
  };
  auto cont = [&](size_t i, unsigned lo = 0x80, unsigned hi = 0xbf) {
    return byte(i) >= lo && byte(i) <= hi;
  };
  auto b = byte(0);
  if (b >= 0xc2 && b <= 0xdf)
    return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    // No overlong forms (e0) and no surrogates (ed).
    auto lo = b == 0xe0 ? 0xa0u : 0x80u;
    auto hi = b == 0xed ? 0x9fu : 0xbfu;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    // Nothing overlong (f0) or above U+10FFFF (f4).
    auto lo = b == 0xf0 ? 0x90u : 0x80u;
    auto hi = b == 0xf4 ? 0x8fu : 0xbfu;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/// Appends `s` as a JSON string, quotes included.
void append_string(buffer& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      auto n = utf8_sequence(s.substr(i));
      if (n == 0) {
        append(out, "\xef\xbf\xbd"); // U+FFFD for each bad byte
        ++i;
      } else {
        append(out, s.substr(i, n));
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"': append(out, "\\\""); break;
      case '\\': append(out, "\\\\"); break;
      case '\n': append(out, "\\n"); break;
      case '\r': append(out, "\\r"); break;
      case '\t': append(out, "\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
          out.append(esc, esc + sizeof esc);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

/// True if `s` is a JSON number as the access log writes them: a whole
/// number, or one with a fraction.
bool plain_number(std::string_view s) {
  auto dot = s.find('.');
  auto whole = s.substr(0, dot);
  if (whole.empty() || (whole.size() > 1 && whole[0] == '0'))
    return false;
  for (char c : whole)
    if (c < '0' || c > '9')
      return false;
  if (dot == std::string_view::npos)
    return true;
  auto fraction = s.substr(dot + 1);
  if (fraction.empty())
    return false;
  for (char c : fraction)
    if (c < '0' || c > '9')
      return false;
  return true;
}

void append_key(buffer& out, std::string_view key) {
  out.push_back(',');
  append_string(out, key);
  out.push_back(':');
}

/// The `key=value` pairs of an access line ("access key=value ..."): as
/// fields, the numeric ones as numbers. Ids come from the path alone (the
/// rest is the client's to write) and the request id.
void append_access_fields(buffer& out, std::string_view payload,
                          found_ids& found) {
  auto pos = payload.find(' ');
  while (pos != std::string_view::npos && pos < payload.size()) {
    auto start = pos + 1;
    pos = payload.find(' ', start);
    auto token = payload.substr(start, pos == std::string_view::npos
                                         ? std::string_view::npos
                                         : pos - start);
    auto eq = token.find('=');
    if (eq == 0 || eq == std::string_view::npos)
      continue;
    auto key = token.substr(0, eq);
    auto value = token.substr(eq + 1);
    if (key == "request_id") {
      if (found[request_kind].empty())
        found[request_kind] = value;
      continue;
    }
    if (key == "path")
      scan_ids(value, found);
    append_key(out, key);
    bool number = key == "status" || key == "bytes" || key == "duration_ms";
    if (number && plain_number(value))
      append(out, value);
    else
      append_string(out, value);
  }
}

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

} // namespace

void json_formatter::format(const spdlog::details::log_msg& msg,
                            spdlog::memory_buf_t& dest) {
  // time
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
  auto second = ms / 1000;
  if (second != cached_second_) {
    auto t = static_cast<std::time_t>(second);
    std::tm utc{};
    gmtime_r(&t, &utc);
    std::strftime(cached_text_, sizeof cached_text_, "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second_ = second;
  }
  auto milli = static_cast<int>(ms % 1000);
  const char fraction[] = {'.',
                           static_cast<char>('0' + milli / 100),
                           static_cast<char>('0' + milli / 10 % 10),
                           static_cast<char>('0' + milli % 10),
                           'Z',
                           '"'};
  append(dest, R"({"time":")");
  append(dest, cached_text_);
  dest.append(fraction, fraction + sizeof fraction);
  // level and message
  append(dest, R"(,"level":")");
  append(dest, level_name(msg.level));
  append(dest, R"(","msg":)");
  auto payload = view(msg.payload);
  append_string(dest, payload);
  // fields
  found_ids found;
  if (view(msg.logger_name) == access_logger_name)
    append_access_fields(dest, payload, found);
  else
    scan_ids(payload, found);
  for (size_t k = 0; k < id_kinds.size(); ++k) {
    if (found[k].empty())
      continue;
    append_key(dest, id_kinds[k].field);
    append_string(dest, found[k]);
  }
  append(dest, "}\n");
}

std::unique_ptr<spdlog::formatter> json_formatter::clone() const {
  return std::make_unique<json_formatter>();
}

} // namespace nod::logging
