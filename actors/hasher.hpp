#pragma once

#include "actors/actors.hpp"
#include "protocol/credentials.hpp"

#include <string>

namespace nod {

/// State of the password hasher.
struct hasher_state {
  static inline const char* name = "hasher";

  password_cost cost = password_cost::interactive;
  /// A hash of a random password, checked against when the user does not
  /// exist, so that a login for an unknown name costs the same time.
  std::string decoy;
};

/// Behavior of the hasher: `hash` → an Argon2id string; `verify` with an
/// empty hash checks the decoy and answers false.
hasher_actor::behavior_type
hasher(hasher_actor::stateful_pointer<hasher_state> self, password_cost cost);

} // namespace nod
