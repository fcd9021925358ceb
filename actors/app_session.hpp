#pragma once

#include "actors/actors.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <chrono>
#include <string>

namespace nod {

/// Settings of app sessions.
struct app_session_options {
  /// Time the client has to authenticate (API.md B3: 10 s).
  caf::timespan auth_timeout = std::chrono::seconds{10};
};

/// State of one app session.
struct app_session_state {
  static inline const char* name = "app_session";

  client_link link;
  accounts_actor accounts;
  directory_actor dir;
  bool auth_pending = false;
  bool authenticated = false;
  uint64_t user = 0;
};

/// Behavior of an app session: waits for `{"type":"auth","token"}` (or
/// authenticates at once with `cookie_token` from the upgrade request),
/// then joins the directory and forwards the user's events to `link`.
/// Closes with 4001 when the first frame is not a valid auth frame or none
/// arrives in time, 4003 when the token is wrong.
app_session_actor::behavior_type
app_session(app_session_actor::stateful_pointer<app_session_state> self,
            client_link link, accounts_actor accounts, directory_actor dir,
            std::string cookie_token, app_session_options opts);

} // namespace nod
