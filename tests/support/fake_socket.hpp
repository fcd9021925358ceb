#pragma once

// A client socket for session actors under test: records what a session
// sends and how it closes, and decides when tracked writes complete.

#include "actors/actors.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nod::test {

/// What a fake WebSocket saw.
struct fake_socket {
  std::vector<std::string> frames;
  uint16_t closed_with = 0;
  /// When false, `send` reports an overflowing queue (a slow reader).
  bool keeps_up = true;
  /// When true, tracked writes wait for `finish_writes`; else they
  /// complete at once.
  bool hold_writes = false;
  std::vector<std::function<void(bool)>> held;

  const std::string& last() const {
    static const std::string none;
    return frames.empty() ? none : frames.back();
  }

  bool contains(const std::string& part) const {
    for (auto& f : frames)
      if (f.find(part) != std::string::npos)
        return true;
    return false;
  }

  /// Completes the held tracked writes: written (true) or dropped.
  void finish_writes(bool written) {
    auto done = std::move(held);
    held.clear();
    for (auto& f : done)
      f(written);
  }
};

/// A `client_link` onto `sock`.
inline client_link link_to(std::shared_ptr<fake_socket> sock) {
  auto send = [sock](std::string frame) {
    if (!sock->keeps_up) {
      sock->closed_with = 4008;
      return false;
    }
    sock->frames.push_back(std::move(frame));
    return true;
  };
  return {send,
          [sock, send](std::string frame, std::function<void(bool)> done) {
            if (!send(std::move(frame)))
              return false;
            if (sock->hold_writes)
              sock->held.push_back(std::move(done));
            else
              done(true);
            return true;
          },
          [sock](uint16_t code, std::string) {
            sock->closed_with = code;
          },
          "192.0.2.1"};
}

} // namespace nod::test
