#include "actors/actions.hpp"

#include "actors/error.hpp"
#include "actors/ingest.hpp"
#include "actors/notifier.hpp"
#include "actors/reader.hpp"
#include "actors/tasks.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace nod {

namespace {

using self_ptr = actions_actor::stateful_pointer<actions_state>;
using storage::table;

std::string new_event_id() {
  return format_id64("evt_", next_time_id());
}

/// A string member of a stored object, if there.
std::optional<std::string> member(const std::string& obj, const char* name) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(obj, doc, err))
    return std::nullopt;
  return json::string_member(doc, name);
}

/// Adds an activity entry for `owner` to `o`.
void add_activity(outbound& o, std::string_view kind, const std::string& title,
                  const std::optional<std::string>& text,
                  const std::optional<std::string>& ref_id, int64_t at) {
  auto id = next_time_id();
  auto obj
    = activity_json(id, o.agent, kind, title, text, ref_id, std::nullopt, at);
  o.write.puts.emplace_back(
    storage::pair_key(table::user_activity, o.owner, id), obj);
  o.frames.push_back(app_frame("activity", "activity", obj));
}

/// Applies resolution `r` to the decision stored under `index_key` (a
/// person's resolution, or the server's `expired` with `by_server`), and
/// sends `decision_resolved`. First resolution wins: the write applies only
/// if the decision is still what was read. An approved task proposal
/// creates its task in the same batch. `done` gets the decision object.
template <class F>
void resolve_stored(self_ptr self, uint64_t owner, uint64_t decision,
                    const std::string& index_key, const std::string& stored,
                    const resolution& r, bool by_server, F done) {
  auto at = now_ms();
  resolved_decision out;
  std::string detail;
  auto event_id = new_event_id();
  switch (resolve_decision(stored, r, event_id, at, by_server, out, detail)) {
    case resolve_refusal::none: break;
    case resolve_refusal::invalid:
      done(
        caf::expected<std::string>{make_error(ec::invalid_argument, detail)});
      return;
    case resolve_refusal::already_resolved:
      done(caf::expected<std::string>{make_error(ec::conflict, detail)});
      return;
    case resolve_refusal::corrupt:
      done(caf::expected<std::string>{
        make_error(ec::storage_error, "decision unreadable")});
      return;
  }
  outbound o;
  std::optional<task_record> task;
  if (r.status == "approved"
      && member(out.decision_json, "kind") == std::string{"task_proposal"})
    task
      = proposed_task(out.decision_json, self->state.public_url, at, o.write);
  if (task)
    add_created_task(out, format_id64("tsk_", task->id));
  o.agent = out.agent;
  o.owner = owner;
  o.event_id = event_id;
  o.type = "decision_resolved";
  o.event_json = out.event_json;
  o.write.expects.push_back({index_key, true, stored});
  o.write.puts.emplace_back(storage::id_key(table::decisions, decision),
                            out.decision_json);
  o.write.puts.emplace_back(index_key, out.decision_json);
  o.write.deletes.push_back(storage::id_key(table::expiries, decision));
  o.write.deletes.push_back(
    storage::pair_key(table::pending_decisions, out.agent, decision));
  o.frames.push_back(
    app_frame("decision_resolved", "decision", out.decision_json));
  add_activity(o, "decision_resolved",
               member(out.decision_json, "title").value_or("Decision"), r.note,
               format_id64("dec_", decision), at);
  o.notify.push_back(decision_key(decision));
  self
    ->request(self->state.outbox, caf::infinite, send_atom::value, std::move(o))
    .then(
      [self, done, task,
       decision_json = out.decision_json](std::string&) mutable {
        if (task)
          self->send(self->state.clock, schedule_atom::value, task->id,
                     task->next_run_ms);
        done(caf::expected<std::string>{std::move(decision_json)});
      },
      [done](caf::error& err) mutable {
        if (code_of(err) == ec::conflict)
          done(caf::expected<std::string>{
            make_error(ec::conflict, "decision already resolved")});
        else
          done(caf::expected<std::string>{std::move(err)});
      });
}

caf::result<std::string> resolve(self_ptr self, const user_record& user,
                                 uint64_t decision, resolution& r) {
  auto rp = self->make_response_promise<std::string>();
  auto index_key = storage::pair_key(table::user_decisions, user.id, decision);
  self->request(self->state.journal, caf::infinite, get_atom::value, index_key)
    .then(
      [self, rp, user, decision, r, index_key](std::string& stored) mutable {
        resolve_stored(self, user.id, decision, index_key, stored, r, false,
                       [rp](caf::expected<std::string> x) mutable {
                         if (x)
                           rp.deliver(std::move(*x));
                         else
                           rp.deliver(std::move(x.error()));
                       });
      },
      [rp](caf::error& err) mutable {
        if (code_of(err) == ec::not_found)
          rp.deliver(make_error(ec::not_found, "decision not found"));
        else
          rp.deliver(std::move(err));
      });
  return rp;
}

/// The clock says decision `decision` expired: resolve it as `expired`
/// unless someone resolved it first. Its expiry entry goes either way.
caf::result<bool> expire_decision(self_ptr self, uint64_t decision) {
  auto rp = self->make_response_promise<bool>();
  auto forget = [self, rp, decision](bool expired) mutable {
    journal_write w;
    w.deletes.push_back(storage::id_key(table::expiries, decision));
    self
      ->request(self->state.journal, caf::infinite, append_atom::value,
                std::move(w))
      .then(
        [rp, expired](journal_written&) mutable {
          rp.deliver(expired);
        },
        [rp](caf::error& err) mutable {
          rp.deliver(std::move(err));
        });
  };
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::id_key(table::decisions, decision))
    .then(
      [self, rp, decision, forget](std::string& obj) mutable {
        auto agent = member(obj, "agent_id");
        auto id = agent ? parse_id64("agt_", *agent) : std::nullopt;
        if (!id) {
          forget(false);
          return;
        }
        self
          ->request(self->state.accounts, caf::infinite, agent_find_atom::value,
                    *id)
          .then(
            [self, rp, decision, forget](agent_record& a) mutable {
              auto index_key
                = storage::pair_key(table::user_decisions, a.owner, decision);
              self
                ->request(self->state.journal, caf::infinite, get_atom::value,
                          index_key)
                .then(
                  [self, rp, decision, forget, index_key,
                   owner = a.owner](std::string& stored) mutable {
                    resolution r;
                    r.status = "expired";
                    resolve_stored(
                      self, owner, decision, index_key, stored, r, true,
                      [rp, forget](caf::expected<std::string> x) mutable {
                        if (x)
                          rp.deliver(true);
                        else if (code_of(x.error()) == ec::conflict)
                          forget(false);
                        else
                          rp.deliver(std::move(x.error()));
                      });
                  },
                  [forget](caf::error&) mutable {
                    forget(false);
                  });
            },
            [forget](caf::error&) mutable {
              forget(false);
            });
      },
      [rp, forget](caf::error& err) mutable {
        if (code_of(err) == ec::not_found)
          forget(false);
        else
          rp.deliver(std::move(err));
      });
  return rp;
}

/// Notes that conversation `conv` is `agent`'s.
void remember_conversation(self_ptr self, uint64_t conv, uint64_t agent) {
  auto& known = self->state.conversation_agents;
  // Bounded: forgotten in bulk, read again when needed.
  if (known.size() >= 100000)
    known.clear();
  known[conv] = agent;
}

/// Step 3 of `user_message`: the message is written with its event.
void send_message(self_ptr self, caf::typed_response_promise<std::string> rp,
                  const user_record& user, uint64_t agent, uint64_t conv,
                  const user_message_input& in,
                  std::optional<std::string> reply_to_text,
                  std::optional<std::string> new_conversation) {
  auto at = now_ms();
  auto msg = next_time_id();
  auto event_id = new_event_id();
  // An image is stored with the message, as an agent's is: the agent
  // fetches it with its credentials, the person with their session.
  std::optional<std::string> image_url;
  std::optional<std::pair<std::string, std::string>> media;
  if (in.image) {
    auto id = next_time_id();
    image_url = self->state.public_url + "/media/" + format_id64("med_", id);
    media.emplace(storage::id_key(table::media, id),
                  encode_media(in.image->content_type, agent, in.image->bytes));
  }
  auto rendered = render_user_message(msg, conv, agent, in, user.username,
                                      reply_to_text, image_url, event_id, at);
  outbound o;
  o.agent = agent;
  o.owner = user.id;
  o.event_id = event_id;
  o.type = "user_message";
  o.event_json = std::move(rendered.event_json);
  o.write.puts.emplace_back(storage::pair_key(table::messages, conv, msg),
                            rendered.message_json);
  if (media)
    o.write.puts.push_back(std::move(*media));
  if (new_conversation) {
    o.write.puts.emplace_back(storage::id_key(table::conversations, conv),
                              *new_conversation);
    o.write.puts.emplace_back(
      storage::pair_key(table::agent_conversations, agent, conv),
      *new_conversation);
  }
  o.frames.push_back(app_frame("message", "message", rendered.message_json));
  o.reply = std::move(rendered.message_json);
  if (!new_conversation) {
    // The outbox answers the person itself: one hop fewer.
    rp.delegate(self->state.outbox, send_atom::value, std::move(o));
    return;
  }
  // A new conversation is known once written.
  self
    ->request(self->state.outbox, caf::infinite, send_atom::value, std::move(o))
    .then(
      [self, rp, conv, agent](std::string& message) mutable {
        remember_conversation(self, conv, agent);
        rp.deliver(std::move(message));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
}

/// Step 2 of `user_message`: the text of the message replied to.
void with_reply_to(self_ptr self, caf::typed_response_promise<std::string> rp,
                   const user_record& user, uint64_t agent, uint64_t conv,
                   const user_message_input& in,
                   std::optional<std::string> new_conversation) {
  if (!in.reply_to_id) {
    send_message(self, rp, user, agent, conv, in, std::nullopt,
                 std::move(new_conversation));
    return;
  }
  auto replied = *parse_id64("msg_", *in.reply_to_id);
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::pair_key(table::messages, conv, replied))
    .then(
      [self, rp, user, agent, conv, in,
       new_conversation](std::string& obj) mutable {
        send_message(self, rp, user, agent, conv, in, member(obj, "text"),
                     std::move(new_conversation));
      },
      [rp](caf::error& err) mutable {
        if (code_of(err) == ec::not_found)
          rp.deliver(make_error(ec::invalid_argument,
                                "reply_to_id: no such message in the "
                                "conversation"));
        else
          rp.deliver(std::move(err));
      });
}

/// Step 1 of `user_message`: the conversation must be the agent's; its
/// default one starts with the first message either side sends.
void in_conversation(self_ptr self, caf::typed_response_promise<std::string> rp,
                     const user_record& user, const agent_record& agent,
                     const user_message_input& in) {
  if (agent.type == "approval_only") {
    rp.deliver(make_error(ec::forbidden, "approval-only agents do not "
                                         "take chat messages"));
    return;
  }
  auto conv = in.conversation_id ? *parse_id64("conv_", *in.conversation_id)
                                 : default_conversation(agent.id);
  auto& known = self->state.conversation_agents;
  if (auto i = known.find(conv); i != known.end()) {
    if (i->second != agent.id)
      rp.deliver(make_error(ec::not_found, "conversation not found"));
    else
      with_reply_to(self, rp, user, agent.id, conv, in, std::nullopt);
    return;
  }
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::id_key(table::conversations, conv))
    .then(
      [self, rp, user, agent_id = agent.id, conv,
       in](std::string& obj) mutable {
        auto owner = member(obj, "agent_id");
        auto owner_id = owner ? parse_id64("agt_", *owner) : std::nullopt;
        if (owner_id)
          remember_conversation(self, conv, *owner_id);
        if (owner_id != agent_id) {
          rp.deliver(make_error(ec::not_found, "conversation not found"));
          return;
        }
        with_reply_to(self, rp, user, agent_id, conv, in, std::nullopt);
      },
      [self, rp, user, agent_id = agent.id, conv, in](caf::error& err) mutable {
        if (code_of(err) != ec::not_found) {
          rp.deliver(std::move(err));
          return;
        }
        if (conv != default_conversation(agent_id)) {
          rp.deliver(make_error(ec::not_found, "conversation not found"));
          return;
        }
        auto at = now_ms();
        with_reply_to(self, rp, user, agent_id, conv, in,
                      conversation_json(conv, agent_id, at, at));
      });
}

caf::result<std::string> user_message(self_ptr self, const user_record& user,
                                      uint64_t agent_id,
                                      user_message_input& in) {
  auto rp = self->make_response_promise<std::string>();
  auto& agents = self->state.agents;
  if (auto* agent = agents.find(agent_id)) {
    if (agent->owner != user.id)
      rp.deliver(make_error(ec::not_found, "agent not found"));
    else
      in_conversation(self, rp, user, *agent, in);
    return rp;
  }
  auto epoch = agents.epoch();
  self
    ->request(self->state.accounts, caf::infinite, agent_get_atom::value,
              user.id, agent_id)
    .then(
      [self, rp, user, in, epoch](agent_record& agent) mutable {
        self->state.agents.put(agent, epoch);
        in_conversation(self, rp, user, agent, in);
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
  return rp;
}

} // namespace

actions_actor::behavior_type
actions(self_ptr self, journal_actor journal, accounts_actor accounts,
        outbox_actor outbox, task_clock_actor clock, std::string public_url,
        std::shared_ptr<const std::atomic<uint64_t>> agents_epoch) {
  self->state.agents = agent_cache{std::move(agents_epoch)};
  self->state.journal = std::move(journal);
  self->state.accounts = std::move(accounts);
  self->state.outbox = std::move(outbox);
  self->state.clock = std::move(clock);
  self->state.public_url = std::move(public_url);
  return {
    [self](resolve_atom, const user_record& user, uint64_t decision,
           resolution& r) {
      return resolve(self, user, decision, r);
    },
    [self](user_message_atom, const user_record& user, uint64_t agent,
           user_message_input& in) {
      return user_message(self, user, agent, in);
    },
    [self](expire_decision_atom, uint64_t decision) {
      return expire_decision(self, decision);
    },
  };
}

} // namespace nod
