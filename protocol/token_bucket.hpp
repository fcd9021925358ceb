#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace nod {

/// A token bucket: holds up to `burst` tokens, refilled at `rate` per
/// second, full at the start. The caller says what time it is (an actor's
/// clock, the steady clock, a test), so it runs on virtual time too.
class token_bucket {
public:
  using time_point = std::chrono::steady_clock::time_point;

  token_bucket() = default;

  token_bucket(double rate, double burst, time_point now)
    : rate_(rate), burst_(burst), tokens_(burst), refilled_(now) {}

  /// Takes a token at `now`: 0 when there was one, else the whole seconds
  /// until the next one (at least 1).
  int64_t take(time_point now) {
    auto elapsed = std::chrono::duration<double>(now - refilled_).count();
    refilled_ = now;
    if (elapsed > 0)
      tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return 0;
    }
    if (rate_ <= 0)
      return max_wait_s;
    return std::min<int64_t>(
      max_wait_s, static_cast<int64_t>(std::ceil((1 - tokens_) / rate_)));
  }

private:
  /// The longest wait reported (a rate near 0 would overflow).
  static constexpr int64_t max_wait_s = 86400;

  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  time_point refilled_{};
};

} // namespace nod
