#include "storage/keys.hpp"

namespace nod::storage {

void put_u64(std::string& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((x >> shift) & 0xFF);
}

std::string u64_bytes(uint64_t x) {
  std::string out;
  put_u64(out, x);
  return out;
}

uint64_t get_u64(std::string_view in) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<uint8_t>(in[i]);
  return x;
}

std::string id_key(table t, uint64_t id) {
  std::string key;
  key.reserve(9);
  key += static_cast<char>(t);
  put_u64(key, id);
  return key;
}

std::string pair_key(table t, uint64_t a, uint64_t b) {
  auto key = id_key(t, a);
  put_u64(key, b);
  return key;
}

std::string text_key(table t, std::string_view suffix) {
  std::string key;
  key.reserve(1 + suffix.size());
  key += static_cast<char>(t);
  key += suffix;
  return key;
}

uint64_t pair_second(std::string_view key) {
  return key.size() >= 17 ? get_u64(key.substr(9)) : 0;
}

std::string stream_key(uint64_t agent, uint64_t seq) {
  auto key = id_key(table::stream, agent);
  put_u64(key, seq);
  return key;
}

std::string stream_prefix(uint64_t agent) {
  return id_key(table::stream, agent);
}

std::optional<std::pair<uint64_t, uint64_t>>
decode_stream_key(std::string_view key) {
  if (key.size() != 17
      || static_cast<uint8_t>(key[0]) != static_cast<uint8_t>(table::stream))
    return std::nullopt;
  return std::make_pair(get_u64(key.substr(1)), get_u64(key.substr(9)));
}

std::string cursor_key(uint64_t agent) {
  return id_key(table::cursor, agent);
}

std::string prefix_end(std::string_view prefix) {
  std::string end{prefix};
  while (!end.empty()) {
    auto last = static_cast<uint8_t>(end.back());
    if (last != 0xFF) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

std::string cluster_applied_key() {
  std::string key;
  key += static_cast<char>(table::meta);
  key += "cluster_applied";
  return key;
}

std::string cluster_stream_key() {
  std::string key;
  key += static_cast<char>(table::meta);
  key += "cluster_stream";
  return key;
}

std::string schema_version_key() {
  std::string key;
  key += static_cast<char>(table::meta);
  key += "schema_version";
  return key;
}

std::string stream_floor_key(uint64_t agent) {
  return id_key(table::stream_floor, agent);
}

} // namespace nod::storage
