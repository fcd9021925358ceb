#pragma once

#include "protocol/records.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace nod {

/// Agents as the accounts actor last gave them, for an actor that needs an
/// agent for every event (actions, a delivery lane): a hit spares the
/// round trip to accounts. Entries are good while accounts' agents epoch
/// stands (it moves before any agent change is acknowledged); without an
/// epoch nothing is kept. Not thread-safe: one actor's, or behind a lock
/// (the REST edge's credential cache).
class agent_cache {
public:
  explicit agent_cache(std::shared_ptr<const std::atomic<uint64_t>> epoch
                       = nullptr)
    : epoch_(std::move(epoch)) {}

  /// The epoch now; read before asking accounts, stored with the answer.
  uint64_t epoch() const {
    return epoch_ ? epoch_->load(std::memory_order_acquire) : 0;
  }

  /// Agent `id` if a current entry has it, else null.
  const agent_record* find(uint64_t id) const {
    if (!epoch_)
      return nullptr;
    auto i = entries_.find(id);
    if (i == entries_.end() || i->second.epoch != epoch())
      return nullptr;
    return &i->second.agent;
  }

  /// Remembers `agent`, as accounts gave it at `epoch`.
  void put(const agent_record& agent, uint64_t epoch) {
    if (!epoch_)
      return;
    // Bounded: an entry per agent at most, and stale ones go in bulk.
    if (entries_.size() >= max_entries)
      entries_.clear();
    entries_[agent.id] = {agent, epoch};
  }

private:
  static constexpr size_t max_entries = 100000;
  struct entry {
    agent_record agent;
    uint64_t epoch = 0;
  };
  std::shared_ptr<const std::atomic<uint64_t>> epoch_;
  std::unordered_map<uint64_t, entry> entries_;
};

} // namespace nod
