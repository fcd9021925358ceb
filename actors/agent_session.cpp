#include "actors/agent_session.hpp"

#include "actors/error.hpp"
#include "actors/session_frames.hpp"
#include "protocol/ids.hpp"
#include "protocol/json.hpp"

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace nod {

namespace {

using self_ptr = agent_session_actor::stateful_pointer<agent_session_state>;

bool take_token(self_ptr self) {
  return self->state.limit.take(self->clock().now()) == 0;
}

void send_auth_ok(self_ptr self, uint64_t pending) {
  auto& st = self->state;
  json::writer w;
  w.start_object();
  w.field("type", "auth_ok");
  w.field("session_id", st.session_id);
  w.field("agent_name", st.agent.name);
  w.field("agent_id", agent_id_text(st.agent.id));
  w.field("pending", static_cast<int64_t>(pending));
  w.end_object();
  send_frame(self, w.str());
  // Pushes follow `auth_ok`: the lane sends none before it hears this.
  self->send(st.lane, attach_atom::value, st.link, st.acks);
}

// `{"type":"ack","seq":N}`: everything up to N arrived (cumulative).
void on_ack(self_ptr self, const json::document& doc,
            const std::optional<std::string>& request_id) {
  auto& st = self->state;
  json::field_error err;
  std::optional<int64_t> seq;
  if (!json::get_int(doc, "seq", 0, INT64_MAX, seq, err) || !seq) {
    send_frame(self,
               error_frame(request_id, seq ? err.message : "seq: is required"));
    return;
  }
  if (st.lane)
    self->send(st.lane, ack_atom::value, static_cast<uint64_t>(*seq));
}

void on_auth_frame(self_ptr self, const std::string& text) {
  auto& st = self->state;
  json::document doc;
  json::field_error err;
  std::optional<std::string> type;
  if (!json::parse_object(text, doc, err)
      || !json::get_string(doc, "type", 64, type, err) || type != "auth") {
    close_and_quit(self, ws_close::auth_required, "first frame must be auth");
    return;
  }
  std::string secret;
  std::optional<std::string> agent_field;
  std::optional<bool> acks;
  std::optional<int64_t> resume_from;
  if (!json::require_string(doc, "secret", 256, secret, err)
      || !json::get_string(doc, "agent_id", 64, agent_field, err)
      || !json::get_bool(doc, "acks", acks, err)
      || !json::get_int(doc, "resume_from", 0, INT64_MAX, resume_from, err)) {
    close_and_quit(self, ws_close::auth_required, err.message);
    return;
  }
  st.acks = acks.value_or(false);
  if (agent_field && *agent_field != st.path_agent) {
    close_and_quit(self, ws_close::auth_failed,
                   "agent_id does not match the path");
    return;
  }
  auto id = parse_id64("agt_", st.path_agent);
  if (!id) {
    close_and_quit(self, ws_close::unknown_agent, "unknown agent");
    return;
  }
  st.auth_pending = true;
  self
    ->request(st.accounts, caf::infinite, agent_auth_atom::value, *id, secret,
              st.link.client)
    .then(
      [self, resume = static_cast<uint64_t>(resume_from.value_or(0))](
        agent_record& agent) {
        auto& st = self->state;
        st.auth_pending = false;
        st.authenticated = true;
        st.agent = std::move(agent);
        st.session_id = random_id("sess_", 16);
        st.limit
          = token_bucket{st.opts.rate, st.opts.burst, self->clock().now()};
        auto me = caf::actor_cast<agent_session_actor>(self);
        self->send(st.dir, agent_up_atom::value, st.agent.id, st.agent.owner,
                   me);
        // The lane queues the pending events for this socket and pushes
        // them, then live ones, once `auth_ok` is out.
        self
          ->request(st.outbox, caf::infinite, replay_atom::value, st.agent.id,
                    st.agent.owner, resume, me)
          .then(
            [self](replay_result& r) {
              self->state.lane = std::move(r.lane);
              send_auth_ok(self, r.pending);
            },
            [self](caf::error&) {
              close_and_quit(self, ws_close::internal_error,
                             "delivery unavailable");
            });
      },
      [self](caf::error& err) {
        switch (code_of(err)) {
          case ec::not_found:
            close_and_quit(self, ws_close::unknown_agent, "unknown agent");
            break;
          case ec::unauthenticated:
            close_and_quit(self, ws_close::auth_failed, "wrong secret");
            break;
          case ec::rate_limited:
            close_and_quit(self, ws_close::try_again_later,
                           "too many wrong secrets; try again in "
                             + detail_of(err) + " s");
            break;
          default:
            close_and_quit(self, ws_close::internal_error,
                           "authentication unavailable");
        }
      });
}

void on_frame(self_ptr self, const std::string& text) {
  auto& st = self->state;
  json::document doc;
  json::field_error err;
  if (!json::parse_object(text, doc, err)) {
    send_frame(self, error_frame(std::nullopt, err.message));
    return;
  }
  auto request_id = request_id_of(doc);
  std::optional<std::string> type;
  if (!json::get_string(doc, "type", 64, type, err) || !type) {
    send_frame(
      self, error_frame(request_id, type ? err.message : "type: is required"));
    return;
  }
  if (*type == "ping") {
    send_frame(self, R"({"type":"pong"})");
    return;
  }
  if (*type == "ack") {
    on_ack(self, doc, request_id);
    return;
  }
  if (!take_token(self)) {
    send_frame(self, error_frame(request_id, "rate limit exceeded"));
    close_and_quit(self, ws_close::policy_violation, "rate limit exceeded");
    return;
  }
  self
    ->request(st.ingest, caf::infinite, ingest_atom::value, st.agent, text,
              std::string{})
    .then(
      [self, request_id](std::string& reply) {
        send_frame(self, result_frame(request_id, reply));
      },
      [self, request_id](caf::error& err) {
        send_frame(self, error_frame(request_id, detail_of(err)));
      });
}

} // namespace

agent_session_actor::behavior_type
agent_session(self_ptr self, client_link link, std::string path_agent,
              accounts_actor accounts, directory_actor dir, ingest_actor ingest,
              outbox_actor outbox, agent_session_options opts) {
  auto& st = self->state;
  st.link = std::move(link);
  st.path_agent = std::move(path_agent);
  st.accounts = std::move(accounts);
  st.dir = std::move(dir);
  st.ingest = std::move(ingest);
  st.outbox = std::move(outbox);
  st.opts = opts;
  self->delayed_send(self, opts.auth_timeout, timeout_atom::value);
  return session_behavior(self, on_auth_frame, on_frame);
}

} // namespace nod
