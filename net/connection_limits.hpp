#pragma once

// The server's bounds on open connections: in all, per client address, and
// a small separate budget for connections it only answers with a refusal.
// No Beast here: the listener asks, sessions hold the slots.

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace nod::net {

class connection_limits;

/// One connection's place in the count, given back when destroyed. Moves
/// with the socket (from the HTTP session to the WebSocket session).
class connection_slot {
public:
  connection_slot() = default;
  connection_slot(connection_slot&& other) noexcept;
  connection_slot& operator=(connection_slot&& other) noexcept;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot();

  /// False for an empty slot (moved from, or refused).
  explicit operator bool() const {
    return owner_ != nullptr;
  }

  /// A slot of the refusal budget: the connection is only told 503.
  bool refusal() const {
    return refusal_;
  }

private:
  friend class connection_limits;
  connection_slot(connection_limits* owner, std::string address, bool refusal)
    : owner_(owner), address_(std::move(address)), refusal_(refusal) {}
  void release();

  connection_limits* owner_ = nullptr;
  std::string address_;
  bool refusal_ = false;
};

/// Counts open connections against `max_total` and, per client address,
/// `max_per_address` (0: no bound per address). Thread-safe; outlives its
/// slots.
class connection_limits {
public:
  connection_limits(size_t max_total, size_t max_per_address,
                    size_t max_refusals);

  /// A slot for a connection from `address`; when a bound is reached, a
  /// refusal slot while the refusal budget lasts; else an empty slot (close
  /// the connection at once). With `bounded_per_address` false only the
  /// total bounds it (a trusted proxy).
  connection_slot acquire(const std::string& address,
                          bool bounded_per_address = true);

  /// Open connections (refusals not counted).
  size_t open() const;

  size_t max_total() const {
    return max_total_;
  }

private:
  friend class connection_slot;
  void release(const std::string& address, bool refusal);

  const size_t max_total_;
  const size_t max_per_address_;
  const size_t max_refusals_;
  mutable std::mutex mtx_;
  size_t open_ = 0;
  size_t refusing_ = 0;
  std::unordered_map<std::string, size_t> per_address_;
};

} // namespace nod::net
