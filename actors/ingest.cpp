#include "actors/ingest.hpp"

#include "actors/error.hpp"
#include "actors/reader.hpp"
#include "metrics/metrics.hpp"
#include "protocol/credentials.hpp"
#include "protocol/events.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace nod {

namespace {

using self_ptr = ingest_actor::stateful_pointer<ingest_state>;
using storage::table;
/// Where the answer to one event goes.
using ingest_reply = caf::typed_response_promise<std::string>;

/// How long an idempotency key answers with its first reply.

// -- the objects the app API returns ----------------------------------------

void opt_field(json::writer& w, const char* key,
               const std::optional<std::string>& value) {
  w.key(key);
  w.string_or_null(value);
}

std::string decision_json(uint64_t id, uint64_t agent, const agent_event& e,
                          int64_t at) {
  json::writer w;
  w.start_object();
  auto id_text = format_id64("dec_", id);
  w.field("id", id_text);
  w.field("decision_id", id_text);
  w.field("agent_id", agent_id_text(agent));
  auto proposal = e.type == event_type::task_proposal;
  w.field("kind", proposal ? std::string{"task_proposal"} : *e.kind);
  w.field("title", *e.title);
  opt_field(w, "description", e.description);
  w.key("options");
  w.start_array();
  for (auto& o : e.options)
    w.string(o);
  w.end_array();
  opt_field(w, "conversation_id", e.conversation_id);
  opt_field(w, "task_run_id", e.task_run_id);
  w.field("allows_always", e.allows_always.value_or(false));
  opt_field(w, "always_allow_label", e.always_allow_label);
  w.key("always_allow_options");
  w.start_array();
  for (auto& o : e.always_allow_options) {
    w.start_object();
    w.field("pattern", o.pattern);
    w.field("label", o.label);
    w.end_object();
  }
  w.end_array();
  if (proposal) {
    w.field("task_name", *e.task_name);
    w.field("task_prompt", *e.task_prompt);
    w.field("task_schedule", *e.task_schedule);
  }
  w.field("status", "pending");
  w.key("note");
  w.null();
  w.key("expires_at");
  if (e.expires_in)
    w.string(iso8601(at + *e.expires_in * 1000));
  else
    w.null();
  w.field("created_at", iso8601(at));
  w.key("resolved_at");
  w.null();
  w.end_object();
  return w.str();
}

std::string
ok_reply(std::initializer_list<std::pair<const char*, std::string>> fields) {
  json::writer w;
  w.start_object();
  w.field("status", "ok");
  for (auto& [k, v] : fields)
    w.field(k, v);
  w.end_object();
  return w.str();
}

// -- one event --------------------------------------------------------------

/// What storing one event writes, answers and tells the app.
struct outcome {
  journal_write write;
  std::string reply;
  std::vector<std::string> frames;
  /// A decision that expires (id, Unix ms), for the clock once durable.
  std::optional<std::pair<uint64_t, int64_t>> expiry;
  /// What to tell the person outside the app, once durable.
  std::optional<person_alert> alert;
};

person_alert alert_for(alert_kind kind, const agent_record& agent,
                       std::string title, std::string text) {
  person_alert a;
  a.kind = kind;
  a.user = agent.owner;
  a.agent = agent.id;
  a.agent_name = agent.name;
  a.title = std::move(title);
  a.text = std::move(text);
  return a;
}

/// Links what an agent sent for a task run (`task_run_id`) to the run.
void link_run(outcome& out, const std::optional<std::string>& run_id,
              std::string_view type, const std::string& item_id) {
  if (!run_id)
    return;
  auto run = parse_id64("run_", *run_id);
  if (!run)
    return; // not one of ours: kept on the item only
  json::writer w;
  w.start_object();
  w.field("type", type);
  w.field("id", item_id);
  w.end_object();
  out.write.puts.emplace_back(
    storage::pair_key(table::run_items, *run, next_time_id()), w.str());
}

void add_activity(outcome& out, const agent_record& agent, const char* kind,
                  const std::string& title,
                  const std::optional<std::string>& text,
                  const std::optional<std::string>& ref_id,
                  const std::optional<std::string>& details, int64_t at,
                  uint64_t* id_out = nullptr) {
  auto id = next_time_id();
  auto obj
    = activity_json(id, agent.id, kind, title, text, ref_id, details, at);
  out.write.puts.emplace_back(
    storage::pair_key(table::user_activity, agent.owner, id), obj);
  out.frames.push_back(app_frame("activity", "activity", obj));
  if (id_out)
    *id_out = id;
}

std::string preview(const std::optional<std::string>& text) {
  if (!text)
    return "(image)";
  // Cut at a UTF-8 boundary.
  size_t n = std::min<size_t>(text->size(), 140);
  while (n < text->size() && (static_cast<uint8_t>((*text)[n]) & 0xC0) == 0x80)
    --n;
  return text->substr(0, n);
}

outcome message(self_ptr self, const agent_record& agent, agent_event& e,
                uint64_t conv, int64_t conv_created, bool conv_stored,
                int64_t at) {
  outcome out;
  auto msg = next_time_id();
  auto msg_text = format_id64("msg_", msg);
  auto conv_text = format_id64("conv_", conv);
  std::optional<std::string> image_url;
  if (e.image) {
    auto media = next_time_id();
    out.write.puts.emplace_back(
      storage::id_key(table::media, media),
      encode_media(e.image->content_type, agent.id, e.image->bytes));
    image_url
      = self->state.opts.public_url + "/media/" + format_id64("med_", media);
  }
  json::writer w;
  w.start_object();
  w.field("id", msg_text);
  w.field("message_id", msg_text);
  w.field("conversation_id", conv_text);
  w.field("agent_id", agent_id_text(agent.id));
  w.field("role", "agent");
  opt_field(w, "text", e.text);
  opt_field(w, "image_url", image_url);
  opt_field(w, "report_title", e.report_title);
  opt_field(w, "report_description", e.report_description);
  opt_field(w, "task_run_id", e.task_run_id);
  w.field("created_at", iso8601(at));
  w.end_object();
  auto obj = w.str();
  out.write.puts.emplace_back(storage::pair_key(table::messages, conv, msg),
                              obj);
  // The conversation object is written with its first message only: it
  // does not change per message, and rewriting it would double the work
  // of every message.
  if (!conv_stored) {
    auto conv_obj
      = conversation_json(conv, agent.id, conv_created, conv_created);
    out.write.puts.emplace_back(storage::id_key(table::conversations, conv),
                                conv_obj);
    out.write.puts.emplace_back(
      storage::pair_key(table::agent_conversations, agent.id, conv), conv_obj);
  }
  out.frames.push_back(app_frame("message", "message", obj));
  add_activity(out, agent, "agent_message", "Message", preview(e.text),
               msg_text, std::nullopt, at);
  link_run(out, e.task_run_id, "message", msg_text);
  out.alert
    = alert_for(alert_kind::message, agent, e.report_title.value_or("Message"),
                e.text.value_or(""));
  out.alert->conversation_id = conv_text;
  out.reply = ok_reply(
    {{"message_id", std::move(msg_text)}, {"conversation_id", conv_text}});
  return out;
}

outcome decision(const agent_record& agent, const agent_event& e, int64_t at) {
  outcome out;
  auto dec = next_time_id();
  auto dec_text = format_id64("dec_", dec);
  auto obj = decision_json(dec, agent.id, e, at);
  out.write.puts.emplace_back(storage::id_key(table::decisions, dec), obj);
  out.write.puts.emplace_back(
    storage::pair_key(table::user_decisions, agent.owner, dec), obj);
  out.write.puts.emplace_back(
    storage::pair_key(table::pending_decisions, agent.id, dec), "");
  out.frames.push_back(app_frame("decision_created", "decision", obj));
  add_activity(out, agent, "decision_created", *e.title, e.description,
               dec_text, std::nullopt, at);
  if (e.expires_in) {
    auto expires = at + *e.expires_in * 1000;
    out.write.puts.emplace_back(
      storage::id_key(table::expiries, dec),
      storage::u64_bytes(static_cast<uint64_t>(expires)));
    out.expiry.emplace(dec, expires);
  }
  link_run(out, e.task_run_id, "decision", dec_text);
  out.alert = alert_for(alert_kind::decision, agent, *e.title,
                        e.description.value_or(""));
  out.alert->decision_id = dec_text;
  out.alert->decision_kind = e.type == event_type::task_proposal
                               ? std::string{"task_proposal"}
                               : e.kind.value_or("");
  out.alert->conversation_id = e.conversation_id.value_or("");
  if (out.expiry)
    out.alert->expires_ms = out.expiry->second;
  out.reply = ok_reply({{"decision_id", std::move(dec_text)}});
  return out;
}

outcome activity_only(const agent_record& agent, const agent_event& e,
                      int64_t at) {
  outcome out;
  uint64_t id = 0;
  if (e.type == event_type::alert) {
    add_activity(out, agent, "agent_action", *e.title, e.text, e.task_run_id,
                 std::nullopt, at, &id);
    link_run(out, e.task_run_id, "alert", format_id64("act_", id));
  } else {
    add_activity(out, agent, "system", *e.action, std::nullopt, std::nullopt,
                 e.details_json, at, &id);
  }
  out.reply = ok_reply({{"activity_id", format_id64("act_", id)}});
  return out;
}

std::string idempotency_key(uint64_t agent, const std::string& key) {
  std::string k = storage::id_key(table::idempotency, agent);
  k += sha256_hex(key);
  return k;
}

/// A key's record: when it was first used, what the request was (the
/// SHA-256 of its event as compact JSON) and the first reply, one per line.
/// Records written before the request hash was kept have two lines.
std::string idempotency_value(int64_t at, const std::string& request_hash,
                              const std::string& reply) {
  return std::to_string(at) + "\n" + request_hash + "\n" + reply;
}

/// A stored idempotency record, read back.
struct idempotency_record {
  int64_t at = 0;
  /// Empty for records without it.
  std::string request_hash;
  std::string reply;

  bool fresh() const {
    return now_ms() - at <= idempotency_ttl_ms;
  }
};

idempotency_record read_idempotency(const std::string& value) {
  idempotency_record r;
  auto nl = value.find('\n');
  if (nl == std::string::npos)
    return r;
  for (size_t i = 0; i < nl; ++i)
    r.at = r.at * 10 + (value[i] - '0');
  auto rest = std::string_view{value}.substr(nl + 1);
  // A reply is a JSON object; a request hash is 64 hex digits.
  if (rest.size() > 65 && rest[64] == '\n' && rest.front() != '{') {
    r.request_hash = std::string{rest.substr(0, 64)};
    rest.remove_prefix(65);
  }
  r.reply = std::string{rest};
  return r;
}

/// The request's `Idempotency-Key` (empty: none), the hash of its event,
/// and, when the key was used more than 24 h ago, the expired record it
/// replaces.
struct idempotency {
  std::string key;
  std::string request_hash;
  std::optional<std::string> expired;
};

/// The answer to a repeated key: the first reply, or 422 when the key came
/// with another request (a client bug that would otherwise lose the new
/// event silently).
void answer_repeat(ingest_reply& rp, const idempotency_record& first,
                   const std::string& request_hash) {
  if (!first.request_hash.empty() && first.request_hash != request_hash) {
    rp.deliver(make_error(ec::unprocessable,
                          "Idempotency-Key was already used with a different "
                          "request body; use a new key for a new request"));
    return;
  }
  rp.deliver(first.reply);
}

/// Writes `out`, then answers and tells the app. With an idempotency key
/// the first reply is stored in the same batch, by compare-and-set against
/// what the key held (nothing, or the expired record); a concurrent repeat
/// loses and answers with the winner's reply.
void commit(self_ptr self, const agent_record& agent, outcome out,
            const idempotency& idem, ingest_reply rp,
            uint64_t new_conversation = 0) {
  if (!idem.key.empty()) {
    auto key = idempotency_key(agent.id, idem.key);
    out.write.puts.emplace_back(
      key, idempotency_value(now_ms(), idem.request_hash, out.reply));
    out.write.expects.push_back(
      {key, idem.expired.has_value(), idem.expired.value_or("")});
  }
  auto owner = agent.owner;
  self
    ->request(self->state.journal, caf::infinite, append_atom::value,
              std::move(out.write))
    .then(
      [self, rp, owner, new_conversation, reply = std::move(out.reply),
       frames = std::move(out.frames), expiry = out.expiry,
       alert = std::move(out.alert)](journal_written&) mutable {
        if (new_conversation != 0)
          self->state.conversations[new_conversation].stored = true;
        if (expiry && self->state.opts.clock)
          self->send(self->state.opts.clock, expire_atom::value, expiry->first,
                     expiry->second);
        rp.deliver(reply);
        for (auto& f : frames)
          self->send(self->state.dir, publish_atom::value, owner, f);
        if (alert && self->state.opts.alerts)
          self->send(self->state.opts.alerts, alert_atom::value,
                     std::move(*alert));
      },
      [self, rp, agent_id = agent.id, idem](caf::error& err) mutable {
        if (code_of(err) != ec::conflict || idem.key.empty()) {
          rp.deliver(err);
          return;
        }
        self
          ->request(self->state.journal, caf::infinite, get_atom::value,
                    idempotency_key(agent_id, idem.key))
          .then(
            [rp, hash = idem.request_hash](std::string& value) mutable {
              answer_repeat(rp, read_idempotency(value), hash);
            },
            [rp](caf::error& e) mutable {
              rp.deliver(e);
            });
      });
}

/// Runs `next(created_ms, stored)` once conversation `conv` is known to be
/// `agent`'s (or new); answers `not_found` if it belongs to another agent.
template <class F>
void with_conversation(self_ptr self, uint64_t agent, uint64_t conv,
                       ingest_reply rp, F next) {
  auto& cache = self->state.conversations;
  if (auto i = cache.find(conv); i != cache.end()) {
    if (i->second.agent != agent)
      rp.deliver(make_error(ec::not_found, "conversation_id: unknown "
                                           "conversation"));
    else
      next(i->second.created_ms, i->second.stored);
    return;
  }
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::id_key(table::conversations, conv))
    .then(
      [self, agent, conv, rp, next](std::string& obj) mutable {
        json::document doc;
        json::field_error err;
        std::optional<uint64_t> owner;
        std::optional<int64_t> created;
        if (json::parse_object(obj, doc, err) && doc.HasMember("agent_id")
            && doc["agent_id"].IsString()) {
          owner = parse_id64("agt_", doc["agent_id"].GetString());
          if (doc.HasMember("created_at") && doc["created_at"].IsString())
            created = parse_iso8601(doc["created_at"].GetString());
        }
        if (!owner || *owner != agent) {
          rp.deliver(make_error(ec::not_found, "conversation_id: unknown "
                                               "conversation"));
          return;
        }
        auto at = created.value_or(now_ms());
        self->state.conversations[conv] = {agent, at, true};
        next(at, true);
      },
      [self, agent, conv, rp, next](caf::error& err) mutable {
        if (code_of(err) != ec::not_found) {
          rp.deliver(err);
          return;
        }
        // A new conversation: it starts with this message.
        auto at = now_ms();
        self->state.conversations[conv] = {agent, at, false};
        next(at, false);
      });
}

void handle(self_ptr self, const agent_record& agent, agent_event e,
            const idempotency& idem, ingest_reply rp) {
  auto at = now_ms();
  switch (e.type) {
    case event_type::message: {
      uint64_t conv = default_conversation(agent.id);
      if (e.conversation_id)
        conv = *parse_id64("conv_", *e.conversation_id);
      with_conversation(self, agent.id, conv, rp,
                        [self, agent, e = std::move(e), idem, rp, conv,
                         at](int64_t created, bool stored) mutable {
                          commit(
                            self, agent,
                            message(self, agent, e, conv, created, stored, at),
                            idem, rp, stored ? 0 : conv);
                        });
      return;
    }
    case event_type::decision:
    case event_type::task_proposal:
      commit(self, agent, decision(agent, e, at), idem, rp);
      return;
    case event_type::alert:
    case event_type::status:
      commit(self, agent, activity_only(agent, e, at), idem, rp);
      return;
    case event_type::processing_start:
    case event_type::agent_heartbeat:
    case event_type::processing_stop:
    case event_type::agent_idle: {
      // Indicators are live state, not history: nothing is journaled.
      processing_update p;
      p.agent = agent.id;
      p.owner = agent.owner;
      p.conversation_id = e.conversation_id.value_or("");
      p.on = e.type == event_type::processing_start
             || e.type == event_type::agent_heartbeat;
      p.status_text = e.status_text.value_or("Thinking");
      self->send(self->state.dir, processing_atom::value, std::move(p));
      rp.deliver(std::string{R"({"status":"ok"})"});
      return;
    }
  }
}

void on_event(self_ptr self, const agent_record& agent, const std::string& body,
              const std::string& idem, ingest_reply rp) {
  json::document doc;
  json::field_error err;
  agent_event e;
  auto valid
    = json::parse_object(body, doc, err) && parse_agent_event(doc, e, err);
  // Counted by type as received (Part C: events in by type); rejected
  // events are counted once more, so both rates can be watched.
  if (auto* reg = self->state.opts.metrics) {
    auto slot = valid ? static_cast<size_t>(e.type) : invalid_event_slot;
    auto& counter = self->state.event_counters[slot];
    if (!counter) {
      std::string type = valid ? to_string(e.type) : "invalid";
      counter = &reg->get_counter("nod_agent_events_total",
                                  "Events received from agents, by type.",
                                  "type=\"" + type + "\"");
    }
    counter->inc();
  }
  if (!valid) {
    rp.deliver(make_error(ec::invalid_argument, err.message));
    return;
  }
  if (agent.type == "approval_only"
      && (e.type == event_type::message
          || e.type == event_type::task_proposal)) {
    rp.deliver(make_error(ec::forbidden, "approval-only agents cannot send "
                                           + std::string{to_string(e.type)}
                                           + " events"));
    return;
  }
  if (idem.empty()) {
    handle(self, agent, std::move(e), {}, rp);
    return;
  }
  // A repeated key within 24 h gets the first reply and creates nothing.
  auto hash = sha256_hex(json::to_string(doc));
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              idempotency_key(agent.id, idem))
    .then(
      [self, agent, e, idem, hash, rp](std::string& value) mutable {
        auto first = read_idempotency(value);
        if (first.fresh())
          answer_repeat(rp, first, hash);
        else // expired: the key is new again, and replaces the old record
          handle(self, agent, std::move(e), {idem, hash, std::move(value)}, rp);
      },
      [self, agent, e, idem, hash, rp](caf::error& err) mutable {
        if (code_of(err) == ec::not_found)
          handle(self, agent, std::move(e), {idem, hash, std::nullopt}, rp);
        else
          rp.deliver(err);
      });
}

} // namespace

uint64_t default_conversation(uint64_t agent) {
  return agent;
}

ingest_actor::behavior_type ingest(self_ptr self, journal_actor journal,
                                   directory_actor dir, ingest_options opts) {
  self->state.journal = std::move(journal);
  self->state.dir = std::move(dir);
  self->state.opts = std::move(opts);
  return {
    [self](ingest_atom, const agent_record& agent, const std::string& body,
           const std::string& idem) {
      auto rp = self->make_response_promise<std::string>();
      on_event(self, agent, body, idem, rp);
      return rp;
    },
  };
}

} // namespace nod
