#pragma once

#include "protocol/credentials.hpp"
#include "protocol/records.hpp"
#include "protocol/time.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace nod::net {

/// People's sessions that accounts confirmed, for every app request: a hit
/// spares the round trip to accounts (twice for a request with a body:
/// at its headers and at its handler). An entry is good until its session
/// expires and only while the accounts actor's session epoch has not moved
/// (a logout or a new password moves it before it is acknowledged), so an
/// ended session stops working at once, as through accounts.
class session_cache {
public:
  explicit session_cache(std::shared_ptr<const std::atomic<uint64_t>> epoch)
    : epoch_(std::move(epoch)) {}

  /// The epoch now; read before asking accounts, stored with the answer.
  uint64_t epoch() const {
    return epoch_ ? epoch_->load(std::memory_order_acquire) : 0;
  }

  /// The user of `token` if a current entry has it.
  std::optional<user_record> find(const std::string& token) {
    if (!epoch_)
      return std::nullopt;
    auto now = epoch();
    auto hash = sha256_hex(token); // outside the lock
    auto at = now_ms();
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = entries_.find(hash);
    if (i == entries_.end() || i->second.epoch != now
        || i->second.expires_ms <= at)
      return std::nullopt;
    return i->second.user;
  }

  /// Remembers the user of `token`, confirmed by accounts at `epoch`.
  void put(const std::string& token, const user_record& user,
           int64_t expires_ms, uint64_t epoch) {
    if (!epoch_)
      return;
    auto hash = sha256_hex(token);
    std::lock_guard<std::mutex> guard{mtx_};
    // Bounded: a flood of distinct sessions cannot grow it without limit.
    if (entries_.size() >= max_entries)
      entries_.clear();
    entries_[std::move(hash)] = {user, expires_ms, epoch};
  }

private:
  static constexpr size_t max_entries = 100000;
  struct entry {
    user_record user;
    int64_t expires_ms = 0;
    uint64_t epoch = 0;
  };
  std::shared_ptr<const std::atomic<uint64_t>> epoch_;
  std::mutex mtx_;
  std::unordered_map<std::string, entry> entries_;
};

} // namespace nod::net
