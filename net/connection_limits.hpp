#pragma once

// The server's bounds on open connections: in all, per client address, and
// a small separate budget for connections it only answers with a refusal.
// No Beast here: the listener asks, sessions hold the slots.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
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

class body_budget;

/// Bytes of one request body counted against the budget, given back when
/// destroyed.
class body_hold {
public:
  body_hold() = default;
  body_hold(body_hold&& other) noexcept;
  body_hold& operator=(body_hold&& other) noexcept;
  body_hold(const body_hold&) = delete;
  body_hold& operator=(const body_hold&) = delete;
  ~body_hold();

private:
  friend class body_budget;
  body_hold(body_budget* owner, uint64_t bytes)
    : owner_(owner), bytes_(bytes) {}
  void release();

  body_budget* owner_ = nullptr;
  uint64_t bytes_ = 0;
};

/// The request-body bytes all connections may hold at once
/// (`max-body-memory`): a body is counted from its headers (its
/// `Content-Length`, or `max-body-bytes` when chunked) until its response
/// is written. Thread-safe; outlives its holds.
class body_budget {
public:
  explicit body_budget(uint64_t max_bytes) : max_(max_bytes) {}

  /// A hold of `bytes`, or nothing when they do not fit.
  std::optional<body_hold> take(uint64_t bytes);

  /// Bytes held now.
  uint64_t used() const {
    return used_.load(std::memory_order_relaxed);
  }

private:
  friend class body_hold;
  const uint64_t max_;
  std::atomic<uint64_t> used_{0};
};

} // namespace nod::net
