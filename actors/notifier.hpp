#pragma once

#include "actors/actors.hpp"

#include <caf/typed_response_promise.hpp>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace nod {

/// Settings of the notifier.
struct notifier_options {
  /// Change versions older than this many notifications are forgotten; a
  /// reader holds its version for milliseconds, between `version` and
  /// `watch`.
  uint64_t keep_versions = 100000;
};

/// State of the notifier: the version each key last changed at, and who
/// waits for which key.
struct notifier_state {
  static inline const char* name = "notifier";

  /// Bumped by every notification.
  uint64_t version = 0;
  /// Version of each key's last change; entries older than the longest
  /// wait are dropped (a reader's version is never that old).
  std::unordered_map<std::string, uint64_t> changed;
  struct waiter {
    std::string key;
    caf::typed_response_promise<bool> promise;
  };
  std::unordered_map<uint64_t, waiter> waiters;
  std::unordered_multimap<std::string, uint64_t> by_key;
  uint64_t next_waiter = 1;
  /// Versions at which `changed` was last pruned.
  uint64_t pruned_at = 0;
  notifier_options opts;
};

/// Behavior of the notifier actor.
notifier_actor::behavior_type
notifier(notifier_actor::stateful_pointer<notifier_state> self,
         notifier_options opts);

/// Key of an agent's pending events (inbox long polls).
std::string inbox_key(uint64_t agent);

/// Key of a decision (decision status long polls).
std::string decision_key(uint64_t decision);

} // namespace nod
