#include "actors/hasher.hpp"

#include "actors/error.hpp"
#include "protocol/ids.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace nod {

hasher_actor::behavior_type
hasher(hasher_actor::stateful_pointer<hasher_state> self, password_cost cost) {
  self->state.cost = cost;
  return {
    [self](hash_atom, const std::string& password) -> caf::result<std::string> {
      auto hash = hash_password(password, self->state.cost);
      if (!hash)
        return make_error(ec::storage_error, "password hashing failed");
      return std::move(*hash);
    },
    [self](verify_atom, const std::string& hash, const std::string& password) {
      if (hash.empty()) {
        auto& decoy = self->state.decoy;
        if (decoy.empty())
          decoy = hash_password(random_id("", 32), self->state.cost)
                    .value_or(std::string{});
        verify_password(decoy, password);
        return false;
      }
      return verify_password(hash, password);
    },
  };
}

} // namespace nod
