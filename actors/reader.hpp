#pragma once

#include "actors/actors.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace nod {

/// Most pending decisions counted per agent; the agent list shows "1000"
/// for more.
constexpr uint32_t max_pending_counted = 1000;

/// State of the reader: the actors it reads through.
struct reader_state {
  static inline const char* name = "reader";

  journal_actor journal;
  accounts_actor accounts;
};

/// Behavior of the reader (`reader_actor`).
reader_actor::behavior_type
reader(reader_actor::stateful_pointer<reader_state> self, journal_actor journal,
       accounts_actor accounts);

/// A stored image as the journal keeps it: its type, the agent it belongs
/// to and its bytes (written by ingest, read by the reader).
std::string encode_media(std::string_view content_type, uint64_t agent,
                         std::string_view bytes);

/// Splits a stored image; false if `stored` is not one.
bool decode_media(std::string_view stored, media_item& out, uint64_t& agent);

} // namespace nod
