#include "actors/app_session.hpp"

#include "actors/error.hpp"
#include "actors/session_frames.hpp"
#include "protocol/json.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace nod {

namespace {

using self_ptr = app_session_actor::stateful_pointer<app_session_state>;

void authenticate(self_ptr self, std::string token) {
  self->state.auth_pending = true;
  self
    ->request(self->state.accounts, caf::infinite, auth_atom::value,
              std::move(token))
    .then(
      [self](session_user& session) {
        auto& user = session.user;
        auto& st = self->state;
        st.auth_pending = false;
        st.authenticated = true;
        st.user = user.id;
        self->send(st.dir, join_atom::value, user.id,
                   caf::actor_cast<app_session_actor>(self));
        json::writer w;
        w.start_object();
        w.field("type", "auth_ok");
        w.key("user");
        write_user(w, user);
        w.end_object();
        send_frame(self, w.str());
      },
      [self](caf::error& err) {
        if (code_of(err) == ec::unauthenticated)
          close_and_quit(self, ws_close::auth_failed, "invalid token");
        else
          close_and_quit(self, ws_close::internal_error,
                         "authentication unavailable");
      });
}

void on_first_frame(self_ptr self, const std::string& text) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(text, doc, err) || !doc.HasMember("type")
      || !doc["type"].IsString()
      || std::string_view{doc["type"].GetString()} != "auth") {
    close_and_quit(self, ws_close::auth_required, "first frame must be auth");
    return;
  }
  std::string token;
  if (!json::require_string(doc, "token", 1024, token, err)) {
    close_and_quit(self, ws_close::auth_required, "auth frame needs a token");
    return;
  }
  authenticate(self, std::move(token));
}

void on_frame(self_ptr self, const std::string& text) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(text, doc, err)) {
    send_frame(self, error_frame(std::nullopt, err.message));
    return;
  }
  std::optional<std::string> type;
  if (!json::get_string(doc, "type", 64, type, err) || !type) {
    send_frame(self, error_frame(std::nullopt, "type: is required"));
    return;
  }
  if (*type == "ping")
    send_frame(self, R"({"type":"pong"})");
  else
    send_frame(
      self, error_frame(std::nullopt, "unknown frame type \"" + *type + "\""));
}

} // namespace

app_session_actor::behavior_type app_session(self_ptr self, client_link link,
                                             accounts_actor accounts,
                                             directory_actor dir,
                                             std::string cookie_token,
                                             app_session_options opts) {
  auto& st = self->state;
  st.link = std::move(link);
  st.accounts = std::move(accounts);
  st.dir = std::move(dir);
  if (!cookie_token.empty())
    authenticate(self, std::move(cookie_token));
  else
    self->delayed_send(self, opts.auth_timeout, timeout_atom::value);
  return session_behavior(self, on_first_frame, on_frame);
}

} // namespace nod
