#include "net/connection_limits.hpp"

#include <utility>

namespace nod::net {

connection_slot::connection_slot(connection_slot&& other) noexcept
  : owner_(std::exchange(other.owner_, nullptr)),
    address_(std::move(other.address_)), refusal_(other.refusal_) {}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    address_ = std::move(other.address_);
    refusal_ = other.refusal_;
  }
  return *this;
}

connection_slot::~connection_slot() {
  release();
}

void connection_slot::release() {
  if (auto* owner = std::exchange(owner_, nullptr))
    owner->release(address_, refusal_);
}

connection_limits::connection_limits(size_t max_total, size_t max_per_address,
                                     size_t max_refusals)
  : max_total_(max_total), max_per_address_(max_per_address),
    max_refusals_(max_refusals) {}

connection_slot connection_limits::acquire(const std::string& address,
                                           bool bounded_per_address) {
  std::lock_guard<std::mutex> lock{mtx_};
  auto& mine = per_address_[address];
  if (open_ < max_total_
      && (max_per_address_ == 0 || !bounded_per_address
          || mine < max_per_address_)) {
    ++open_;
    ++mine;
    return connection_slot{this, address, false};
  }
  if (mine == 0)
    per_address_.erase(address);
  if (refusing_ < max_refusals_) {
    ++refusing_;
    return connection_slot{this, address, true};
  }
  return {};
}

size_t connection_limits::open() const {
  std::lock_guard<std::mutex> lock{mtx_};
  return open_;
}

void connection_limits::release(const std::string& address, bool refusal) {
  std::lock_guard<std::mutex> lock{mtx_};
  if (refusal) {
    --refusing_;
    return;
  }
  --open_;
  auto i = per_address_.find(address);
  if (i != per_address_.end() && --i->second == 0)
    per_address_.erase(i);
}

// -- body_budget -------------------------------------------------------------

body_hold::body_hold(body_hold&& other) noexcept
  : owner_(other.owner_), bytes_(other.bytes_) {
  other.owner_ = nullptr;
}

body_hold& body_hold::operator=(body_hold&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    bytes_ = other.bytes_;
    other.owner_ = nullptr;
  }
  return *this;
}

body_hold::~body_hold() {
  release();
}

void body_hold::release() {
  if (owner_)
    owner_->used_.fetch_sub(bytes_, std::memory_order_relaxed);
  owner_ = nullptr;
}

std::optional<body_hold> body_budget::take(uint64_t bytes) {
  auto used = used_.load(std::memory_order_relaxed);
  do {
    if (bytes > max_ || used > max_ - bytes)
      return std::nullopt;
  } while (!used_.compare_exchange_weak(used, used + bytes,
                                        std::memory_order_relaxed));
  return body_hold{this, bytes};
}

} // namespace nod::net
