#pragma once

// Every typed actor interface of the server and the messages they exchange.
// CAF 0.17 syntax: `replies_to<...>::with<...>` and `reacts_to<...>`.

#include "protocol/delivery.hpp"
#include "protocol/outbound.hpp"
#include "protocol/records.hpp"
#include "protocol/validate.hpp"
#include "protocol/webhook.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nod {

// -- atoms ------------------------------------------------------------------

/// Write a `journal_write` durably.
using append_atom = caf::atom_constant<caf::atom("append")>;
/// Read a range of an agent's outbound stream.
using read_atom = caf::atom_constant<caf::atom("read")>;
/// The last seq of an agent's outbound stream.
using last_seq_atom = caf::atom_constant<caf::atom("lastseq")>;
/// Read a single key.
using get_atom = caf::atom_constant<caf::atom("get")>;
/// Read or move an agent's delivery cursor.
using cursor_atom = caf::atom_constant<caf::atom("cursor")>;
/// Move an agent's delivery cursor forward.
using ack_atom = caf::atom_constant<caf::atom("ack")>;
/// Ask for counters.
using stats_atom = caf::atom_constant<caf::atom("stats")>;
/// Internal: write the batch collected so far.
using flush_atom = caf::atom_constant<caf::atom("flush")>;
/// Read a key range.
using scan_atom = caf::atom_constant<caf::atom("scan")>;
/// Read an agent's pending events.
using inbox_atom = caf::atom_constant<caf::atom("inbox")>;

// -- journal messages -------------------------------------------------------

/// One event appended to an agent's outbound stream; the journal assigns
/// its `seq`.
struct stream_append {
  uint64_t agent = 0;
  std::string payload;
  /// Written with the event: each value under its table + agent + the
  /// seq the event gets (its delivery record, its in-flight mark).
  std::vector<std::pair<uint8_t, std::string>> indexes;
};

/// A condition on a key that must hold for a `journal_write` to apply:
/// the key's current value equals `value` (or the key is absent when
/// `must_exist` is false).
struct key_expectation {
  std::string key;
  bool must_exist = false;
  std::string value;
};

/// Everything one acknowledged state change writes: stream appends, key
/// puts and deletes. All of it becomes durable together or not at all; if
/// an expectation fails, nothing is written and the reply is `conflict`.
struct journal_write {
  std::vector<stream_append> appends;
  std::vector<std::pair<std::string, std::string>> puts;
  std::vector<std::string> deletes;
  std::vector<key_expectation> expects;
  /// False for a change whose loss only repeats work (a delivery's
  /// outcome: the event is delivered again): it is written to the log at
  /// once, so it survives the process being killed, and becomes durable
  /// against an OS crash with the next synced write, without an fsync of
  /// its own.
  bool sync = true;
};

/// Reply to a `journal_write`: the `seq` of each append, in order.
struct journal_written {
  std::vector<uint64_t> seqs;
};

/// One event of an agent's outbound stream.
struct stream_event {
  uint64_t seq = 0;
  std::string payload;
};

/// Counters of the journal, for tests and benchmarks.
struct journal_stats {
  /// Durable batches written (one fsync each when sync is on).
  uint64_t batches = 0;
  /// `journal_write`s and cursor moves acknowledged.
  uint64_t writes = 0;
  /// Stream events appended.
  uint64_t appends = 0;
  /// Largest number of writes in one batch so far.
  uint64_t max_batch = 0;
};

/// One key and its value, from a scan.
struct kv_entry {
  std::string key;
  std::string value;
};

/// A range read: keys in [begin, end) (empty `end`: to the end of the
/// key space), at most `limit`, newest (highest key) first with `reverse`.
struct scan_request {
  std::string begin;
  std::string end;
  uint32_t limit = 0;
  bool reverse = false;
  /// Stop after the entry that brings the values read to this many bytes
  /// (0: no bound); at least one entry is read.
  uint64_t max_bytes = 0;
};

/// What one reply may hold, in bytes, on top of its item count: a list
/// (newest first), a scan chunk, an agent's inbox read. A reply ends after
/// the item that reaches it, so it holds at least one item; the rest is on
/// the next page.
constexpr uint64_t max_reply_bytes = 4 * 1024 * 1024;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_entry& x) {
  return f(caf::meta::type_name("kv_entry"), x.key, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scan_request& x) {
  return f(caf::meta::type_name("scan_request"), x.begin, x.end, x.limit,
           x.reverse, x.max_bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_append& x) {
  return f(caf::meta::type_name("stream_append"), x.agent, x.payload,
           x.indexes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_expectation& x) {
  return f(caf::meta::type_name("key_expectation"), x.key, x.must_exist,
           x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_write& x) {
  return f(caf::meta::type_name("journal_write"), x.appends, x.puts, x.deletes,
           x.expects);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_written& x) {
  return f(caf::meta::type_name("journal_written"), x.seqs);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_event& x) {
  return f(caf::meta::type_name("stream_event"), x.seq, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_stats& x) {
  return f(caf::meta::type_name("journal_stats"), x.batches, x.writes,
           x.appends, x.max_batch);
}

// -- actor interfaces -------------------------------------------------------

/// The journal: sole owner of the store. Acknowledges a write only after it
/// is durable; appends waiting in its mailbox share one batch and one fsync.
using journal_actor = caf::typed_actor<
  // Writes durably; replies with the assigned seqs, or `conflict` when an
  // expectation fails, or `storage_error`.
  caf::replies_to<append_atom, journal_write>::with<journal_written>,
  // Events of `agent` with seq > `after`, at most `limit`, in seq order.
  caf::replies_to<read_atom, uint64_t, uint64_t,
                  uint32_t>::with<std::vector<stream_event>>,
  // The value of a key, or `not_found`.
  caf::replies_to<get_atom, std::string>::with<std::string>,
  // The seq `agent` has been delivered up to (0 when none).
  caf::replies_to<cursor_atom, uint64_t>::with<uint64_t>,
  // Durably moves the cursor of `agent` to `seq` if that is forward and
  // not past the stream's end; replies with the cursor afterwards.
  caf::replies_to<ack_atom, uint64_t, uint64_t>::with<uint64_t>,
  // The highest seq in the stream of `agent` (0 when empty).
  caf::replies_to<last_seq_atom, uint64_t>::with<uint64_t>,
  caf::replies_to<stats_atom>::with<journal_stats>,
  // Keys and values of a range.
  caf::replies_to<scan_atom, scan_request>::with<std::vector<kv_entry>>,
  // Pending events of `agent` (parked, A6) with seq > `after`, at most
  // `limit`, in seq order.
  caf::replies_to<inbox_atom, uint64_t, uint64_t,
                  uint32_t>::with<std::vector<stream_event>>,
  // Internal: group commit of what is waiting.
  caf::reacts_to<flush_atom>>;

// -- people's side: atoms ---------------------------------------------------

/// Log in with username and password.
using login_atom = caf::atom_constant<caf::atom("login")>;
/// Log out (revoke a token).
using logout_atom = caf::atom_constant<caf::atom("logout")>;
/// Resolve a bearer token or session cookie to its user.
using auth_atom = caf::atom_constant<caf::atom("auth")>;
/// Create a user.
using user_add_atom = caf::atom_constant<caf::atom("useradd")>;
/// Set a user's password.
using passwd_atom = caf::atom_constant<caf::atom("passwd")>;
/// Create the admin user on a fresh store.
using bootstrap_atom = caf::atom_constant<caf::atom("bootstrap")>;
/// Create, list, read, change, delete an agent.
using agent_new_atom = caf::atom_constant<caf::atom("agentnew")>;
using agent_list_atom = caf::atom_constant<caf::atom("agentlist")>;
using agent_get_atom = caf::atom_constant<caf::atom("agentget")>;
using agent_set_atom = caf::atom_constant<caf::atom("agentset")>;
using agent_del_atom = caf::atom_constant<caf::atom("agentdel")>;
/// Rotate an agent's secret / webhook signing secret.
using rotate_atom = caf::atom_constant<caf::atom("rotate")>;
using rotate_wh_atom = caf::atom_constant<caf::atom("rotatewh")>;
/// An agent by id, whoever owns it.
using agent_find_atom = caf::atom_constant<caf::atom("agentfind")>;
/// Check an agent's credentials.
using agent_auth_atom = caf::atom_constant<caf::atom("agentauth")>;
/// Password hashing.
using hash_atom = caf::atom_constant<caf::atom("hash")>;
using verify_atom = caf::atom_constant<caf::atom("verify")>;
/// An app session joins the directory.
using join_atom = caf::atom_constant<caf::atom("join")>;
/// Send a frame to every app session of a user.
using publish_atom = caf::atom_constant<caf::atom("publish")>;
/// A frame for the client of a session.
using push_atom = caf::atom_constant<caf::atom("push")>;
/// A text frame from the client of a session.
using frame_atom = caf::atom_constant<caf::atom("frame")>;
/// The client's socket closed.
using closed_atom = caf::atom_constant<caf::atom("closed")>;
/// A deadline passed.
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
/// Agents online / going online or offline.
using online_atom = caf::atom_constant<caf::atom("online")>;
using agent_up_atom = caf::atom_constant<caf::atom("agentup")>;
using agent_down_atom = caf::atom_constant<caf::atom("agentdown")>;
/// Close a session from the server's side (code, reason), or close every
/// socket of an agent.
using kick_atom = caf::atom_constant<caf::atom("kick")>;
/// How many app sessions a user has (tests, metrics).
using session_count_atom = caf::atom_constant<caf::atom("sesscount")>;
/// How many events each agent has not been delivered yet.
using undelivered_atom = caf::atom_constant<caf::atom("undeliv")>;
/// How many entries the task clock holds (tests, benchmarks).
using entry_count_atom = caf::atom_constant<caf::atom("entrycount")>;
/// An event from an agent to validate, store and publish.
using ingest_atom = caf::atom_constant<caf::atom("ingest")>;
/// An agent's processing indicator changes.
using processing_atom = caf::atom_constant<caf::atom("processing")>;
/// Internal: a processing indicator's time ran out.
using expire_atom = caf::atom_constant<caf::atom("expire")>;

// -- people's side: messages ------------------------------------------------

/// Reply to a login: the bearer token (shown only here) and its user.
struct login_result {
  std::string token;
  user_record user;
  int64_t expires_ms = 0;
};

/// Reply to checking a session token: its user, and when it expires.
struct session_user {
  user_record user;
  int64_t expires_ms = 0;
};

/// Reply to creating an agent or rotating its secret: the record and the
/// secret in clear, which is never stored or shown again.
struct agent_created {
  agent_record agent;
  std::string secret;
};

/// A processing indicator: an agent is busy (or no longer) in a
/// conversation.
struct processing_update {
  uint64_t agent = 0;
  uint64_t owner = 0;
  std::string conversation_id;
  bool on = false;
  std::string status_text;
};

/// The client end of a WebSocket session as actors see it: functions that
/// queue a frame or close the socket, callable from any thread, never
/// blocking. `send` returns false when the client fell too far behind
/// (the socket is then closed by the network layer).
struct client_link {
  std::function<bool(std::string)> send;
  /// As `send`; when it returns true, the callback later says (once, on
  /// an io thread) whether the frame was written to the socket.
  std::function<bool(std::string, std::function<void(bool)>)> send_tracked;
  std::function<void(uint16_t, std::string)> close;
  /// The client's address (`http_request::client`): wrong secrets are
  /// throttled by it.
  std::string client;
};

} // namespace nod

// Never serialized: these stay inside the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::user_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::agent_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::agent_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::login_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::session_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::agent_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::client_link)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::processing_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<nod::agent_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<nod::agent_live>)

namespace nod {

// -- people's side: actor interfaces ----------------------------------------

/// Hashes and checks passwords. Argon2id takes tens of milliseconds and
/// much memory on purpose, so it runs detached, off the worker threads.
using hasher_actor = caf::typed_actor<
  caf::replies_to<hash_atom, std::string>::with<std::string>,
  caf::replies_to<verify_atom, std::string, std::string>::with<bool>>;

/// Users, login sessions and agents: the in-memory view of their tables,
/// written through the journal. Errors: `invalid_argument`,
/// `unauthenticated`, `forbidden`, `not_found` (also for another user's
/// agent), `conflict`, `rate_limited`, `storage_error`.
using accounts_actor = caf::typed_actor<
  // username, password, client address → token.
  caf::replies_to<login_atom, std::string, std::string,
                  std::string>::with<login_result>,
  // token → revoked.
  caf::replies_to<logout_atom, std::string>::with<bool>,
  // token → its user and the session's expiry.
  caf::replies_to<auth_atom, std::string>::with<session_user>,
  // username, password, admin → the new user.
  caf::replies_to<user_add_atom, std::string, std::string,
                  bool>::with<user_record>,
  // username, new password → the user; their sessions end.
  caf::replies_to<passwd_atom, std::string, std::string>::with<user_record>,
  // admin password (empty: random) → the password if `admin` was created
  // now (no admin existed), empty otherwise.
  caf::replies_to<bootstrap_atom, std::string>::with<std::string>,
  // user, input → the agent and its secret.
  caf::replies_to<agent_new_atom, uint64_t, agent_input>::with<agent_created>,
  // user → their agents, newest first.
  caf::replies_to<agent_list_atom, uint64_t>::with<std::vector<agent_record>>,
  // user, agent → the agent.
  caf::replies_to<agent_get_atom, uint64_t, uint64_t>::with<agent_record>,
  // agent → the agent, whoever owns it (`not_found`).
  caf::replies_to<agent_find_atom, uint64_t>::with<agent_record>,
  // user, agent, patch → the agent.
  caf::replies_to<agent_set_atom, uint64_t, uint64_t,
                  agent_input>::with<agent_record>,
  // user, agent → deleted.
  caf::replies_to<agent_del_atom, uint64_t, uint64_t>::with<bool>,
  // user, agent → the agent and its new secret.
  caf::replies_to<rotate_atom, uint64_t, uint64_t>::with<agent_created>,
  // user, agent → the agent with its new webhook secret.
  caf::replies_to<rotate_wh_atom, uint64_t, uint64_t>::with<agent_record>,
  // agent, secret, client address → the agent (`not_found` unknown,
  // `unauthenticated` wrong secret, `rate_limited` with the seconds to wait
  // after too many wrong secrets from that address).
  caf::replies_to<agent_auth_atom, uint64_t, std::string,
                  std::string>::with<agent_record>>;

/// One app WebSocket: authenticates, then forwards the user's events.
using app_session_actor = caf::typed_actor<
  // A text frame from the client.
  caf::reacts_to<frame_atom, std::string>,
  // An event for the client.
  caf::reacts_to<push_atom, std::string>,
  // The socket closed.
  caf::reacts_to<closed_atom>,
  // Internal: the auth deadline.
  caf::reacts_to<timeout_atom>,
  // The server closes the socket with this code and reason.
  caf::reacts_to<kick_atom, uint16_t, std::string>>;

/// One agent WebSocket (API.md A3, A6): authenticates, turns frames into
/// events, forwards acks to its agent's delivery lane. Events reach its
/// socket from the lane directly (through the `client_link`), so it has an
/// app session's interface.
using agent_session_actor = app_session_actor;

/// Who is connected: app sessions by user, agent sessions by agent. Fans
/// events out to a user's app sessions; tracks which agents are online and
/// tells their owners when that changes.
using directory_actor = caf::typed_actor<
  // user, session: deliver the user's events to it until it ends.
  caf::reacts_to<join_atom, uint64_t, app_session_actor>,
  // user, frame: to every app session of the user.
  caf::reacts_to<publish_atom, uint64_t, std::string>,
  // agent, owner, session: an authenticated agent socket opened.
  caf::reacts_to<agent_up_atom, uint64_t, uint64_t, agent_session_actor>,
  // agent, session: it closed.
  caf::reacts_to<agent_down_atom, uint64_t, caf::actor_addr>,
  // agent, code, reason: close every socket of the agent (its secret
  // changed, or it was deleted).
  caf::reacts_to<kick_atom, uint64_t, uint16_t, std::string>,
  // agents → their live state (online, processing, status text), in the
  // order asked.
  caf::replies_to<online_atom,
                  std::vector<uint64_t>>::with<std::vector<agent_live>>,
  // user → number of app sessions (tests, metrics).
  caf::replies_to<session_count_atom, uint64_t>::with<uint64_t>,
  // An agent started or stopped working; clears itself after a while.
  caf::reacts_to<processing_atom, processing_update>,
  // Internal: agent, generation of the indicator that ran out.
  caf::reacts_to<expire_atom, uint64_t, uint64_t>>;

/// Validates, stores and publishes what agents send (API.md A2), the same
/// for REST and WebSocket: agent, event JSON, idempotency key (may be
/// empty) → the reply JSON (`{"status":"ok",…}`). Errors:
/// `invalid_argument` (400, detail names the field), `forbidden`
/// (approval-only agent chatting), `not_found` (another agent's
/// conversation), `storage_error`.
using ingest_actor
  = caf::typed_actor<caf::replies_to<ingest_atom, agent_record, std::string,
                                     std::string>::with<std::string>>;

// -- the read side (actors/reader) ------------------------------------------

/// Newest-first lists of a person's (or an agent's) objects.
using conversations_atom = caf::atom_constant<caf::atom("convlist")>;
using messages_atom = caf::atom_constant<caf::atom("msglist")>;
using decisions_atom = caf::atom_constant<caf::atom("declist")>;
using activity_atom = caf::atom_constant<caf::atom("actlist")>;
using deliveries_atom = caf::atom_constant<caf::atom("dlvlist")>;
/// One decision, as its person or its agent sees it.
using decision_atom = caf::atom_constant<caf::atom("decision")>;
using agent_decision_atom = caf::atom_constant<caf::atom("agentdec")>;
/// One stored image.
using media_atom = caf::atom_constant<caf::atom("media")>;
/// Pending decisions per agent.
using pending_count_atom = caf::atom_constant<caf::atom("pendcount")>;

/// Which page of a newest-first list: at most `limit` items, below
/// `before` (an id, or for deliveries a seq) when set.
struct page_query {
  uint32_t limit = 50;
  std::optional<uint64_t> before;
};

/// Whose objects a read may see: a person's (`agent` 0: those of all of
/// their agents), or one agent's own (`user` is its owner).
struct read_scope {
  uint64_t user = 0;
  uint64_t agent = 0;
};

/// Narrows a list: by `status` and by `agent_id` (the `agt_…` text), each
/// ignored when empty and where the list has no such field. A decision's
/// status also matches "resolved" (any answer).
struct list_filter {
  std::string status;
  std::string agent_id;
};

/// A stored image and its type.
struct media_item {
  std::string content_type;
  std::string bytes;
};

/// A decision as its agent reads it.
struct agent_decision {
  std::string json;
  bool pending = false;
};

} // namespace nod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::page_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::read_scope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::list_filter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::media_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::agent_decision)

namespace nod {

/// The read side of both APIs: lists, single objects and media, each
/// checked against its caller (404 for what is not theirs). Answers are
/// the API's JSON; errors `not_found` (with the API's detail) and
/// `storage_error`.
using reader_actor = caf::typed_actor<
  // scope, agent, page → the agent's conversations.
  caf::replies_to<conversations_atom, read_scope, uint64_t,
                  page_query>::with<std::string>,
  // scope, conversation, page → its messages.
  caf::replies_to<messages_atom, read_scope, uint64_t,
                  page_query>::with<std::string>,
  // scope, page, filter (status, agent_id) → the decisions in scope.
  caf::replies_to<decisions_atom, read_scope, page_query,
                  list_filter>::with<std::string>,
  // user, page, filter (agent_id) → the person's activity entries.
  caf::replies_to<activity_atom, uint64_t, page_query,
                  list_filter>::with<std::string>,
  // user, agent, page (before a seq), filter (status) → delivery records.
  caf::replies_to<deliveries_atom, uint64_t, uint64_t, page_query,
                  list_filter>::with<std::string>,
  // user, decision → the person's decision.
  caf::replies_to<decision_atom, uint64_t, uint64_t>::with<std::string>,
  // agent, decision → the agent's own decision.
  caf::replies_to<agent_decision_atom, uint64_t,
                  uint64_t>::with<agent_decision>,
  // scope, media → an image of an agent in scope.
  caf::replies_to<media_atom, read_scope, uint64_t>::with<media_item>,
  // agents → the number of pending decisions of each (at most
  // `max_pending_counted`), in the order asked.
  caf::replies_to<pending_count_atom,
                  std::vector<uint64_t>>::with<std::vector<int64_t>>>;

// -- delivery to agents (API.md A4, A6, A7) ---------------------------------

/// Journal a person's action with its event for the agent, then deliver.
using send_atom = caf::atom_constant<caf::atom("send")>;
/// An agent socket authenticated: replay what is pending.
using replay_atom = caf::atom_constant<caf::atom("replay")>;
/// A delivery lane reports its progress (and whether it is idle).
using done_atom = caf::atom_constant<caf::atom("done")>;
/// Events for a delivery lane; a socket ready for pushes; pending events
/// the agent polled and acknowledged.
using enqueue_atom = caf::atom_constant<caf::atom("enqueue")>;
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
/// Internal to a delivery lane: a socket write completed.
using written_atom = caf::atom_constant<caf::atom("written")>;
/// Resume deliveries that were in flight when the server stopped.
using recover_atom = caf::atom_constant<caf::atom("recover")>;
/// One webhook attempt's outcome, or a webhook job.
using attempt_atom = caf::atom_constant<caf::atom("attempt")>;
using webhook_atom = caf::atom_constant<caf::atom("webhook")>;
/// Internal to the webhook scheduler: an HTTP result, a retry timer.
using result_atom = caf::atom_constant<caf::atom("result")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// Change notifications for long polls.
using version_atom = caf::atom_constant<caf::atom("version")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using notify_atom = caf::atom_constant<caf::atom("notify")>;
/// Person actions: resolve a decision, send a chat message.
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
using user_message_atom = caf::atom_constant<caf::atom("usermsg")>;
/// The server expires a decision whose time passed (API.md A6).
using expire_decision_atom = caf::atom_constant<caf::atom("expiredec")>;

/// An event for an agent and the change that causes it, written together.
struct outbound {
  uint64_t agent = 0;
  uint64_t owner = 0;
  std::string event_id;
  /// The event's `type`.
  std::string type;
  /// The A4 event without `seq`.
  std::string event_json;
  /// The action's own writes and expectations (first resolution wins).
  journal_write write;
  /// Frames for the owner's app sessions once durable.
  std::vector<std::string> frames;
  /// Keys for the notifier once durable (long polls waiting on them).
  std::vector<std::string> notify;
  /// `delivery_record::hops`.
  unsigned hops = 0;
  /// The reply to `send_atom` once all of it is written: what the action
  /// answers its caller with, so that it can delegate the request.
  std::string reply;
};

/// One event to POST to an agent's webhook, with retries.
struct webhook_job {
  uint64_t agent = 0;
  std::string url;
  /// The decoded `whsec_` key.
  std::string key;
  std::string event_id;
  /// The A4 event JSON with `seq`: the exact bytes sent and signed.
  std::string body;
  /// `X-Nod-Hops`: 1, or one more than the trigger call behind the event
  /// carried.
  unsigned hops = 1;
};

/// What one webhook attempt came to.
struct webhook_attempt {
  unsigned retry_num = 0;
  std::string delivery_id;
  int64_t at_ms = 0;
  http_post_result result;
  /// No attempt follows (success, 410, or the last one failed).
  bool final = false;
  /// When another attempt follows: its time.
  int64_t next_attempt_ms = 0;
};

/// One event in an agent's delivery lane.
struct lane_item {
  uint64_t seq = 0;
  /// The A4 event without `seq`; empty: the lane reads it from the journal
  /// (deliveries resumed after a restart).
  std::string event_json;
  /// A parked event replayed to a socket that authenticated: only sockets
  /// are tried, and it stays pending otherwise.
  bool replay = false;
  /// The delivery record; empty: the lane reads it from the journal.
  std::optional<delivery_record> record;
  /// Internal to the lane: every webhook attempt failed, so a socket is
  /// its last try before pending.
  bool webhook_done = false;
};

/// What a delivery lane did since its last report, for the outbox's
/// counts and for stopping idle lanes.
struct lane_progress {
  /// `enqueue` and `replay` messages received so far (in all).
  uint64_t received = 0;
  /// New events parked (they leave the lane's count for the pending one;
  /// delivered ones leave it through the lane's shared counter, without a
  /// message).
  uint64_t parked = 0;
  /// Replayed (pending) events that reached the agent.
  uint64_t unparked = 0;
  /// Nothing queued, in flight or unsaved, and no socket attached.
  bool idle = false;
};

/// Issues one HTTP POST and calls the callback (any thread, once) with the
/// outcome; the network layer provides it.
using http_poster
  = std::function<void(http_post, std::function<void(http_post_result)>)>;

} // namespace nod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::outbound)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::lane_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<nod::lane_item>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::lane_progress)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::webhook_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::webhook_attempt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::http_post_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::resolution)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::user_message_input)

namespace nod {

/// Hears about webhook attempts from the scheduler.
using webhook_listener_actor
  = caf::typed_actor<caf::reacts_to<attempt_atom, webhook_attempt>>;

/// The delivery lane of one agent (API.md A4, A6): walks each event
/// WebSocket → webhook → pending, in seq order. Pushes up to a window of
/// events to the agent's newest socket without waiting; with acks they
/// count once acknowledged (cumulative), else once written.
using delivery_actor = webhook_listener_actor::extend<
  // New events, or deliveries resumed after a restart; in seq order.
  caf::reacts_to<enqueue_atom, std::vector<lane_item>>,
  // A socket authenticated: the seq the agent says it has up to (0:
  // none), the session → how many pending events the lane read for it
  // (read once the lane's own parked events are written, so none is
  // missed). The lane pushes to it once the session sends `attach`.
  caf::replies_to<replay_atom, uint64_t, agent_session_actor>::with<uint64_t>,
  // From a session after its `auth_ok`: its link, whether it acks.
  caf::reacts_to<attach_atom, client_link, bool>,
  // From a session: the agent acknowledged everything up to seq.
  caf::reacts_to<ack_atom, uint64_t>,
  // From the outbox: pending events up to seq were polled and acked.
  caf::reacts_to<forget_atom, uint64_t>,
  // Internal: socket attachment, seq, whether the frame was written.
  caf::reacts_to<written_atom, uint64_t, uint64_t, bool>>;

/// POSTs webhooks with retries (A7): backoff with jitter, `Retry-After`,
/// 410 stops, a bounded number of requests per destination host. Reports
/// every attempt to the delivery that asked.
using webhook_scheduler_actor = caf::typed_actor<
  caf::reacts_to<webhook_atom, webhook_job, webhook_listener_actor>,
  // Internal: job, outcome of its HTTP request.
  caf::reacts_to<result_atom, uint64_t, http_post_result>,
  // Internal: job whose backoff ended.
  caf::reacts_to<retry_atom, uint64_t>>;

/// Change counters for long polls, without races: read `version` before
/// reading state, then `watch` with it; a change in between answers at
/// once.
using notifier_actor = caf::typed_actor<
  caf::replies_to<version_atom>::with<uint64_t>,
  // key, version seen, longest wait → true when `key` changed after the
  // version seen, false when the wait ran out.
  caf::replies_to<watch_atom, std::string, uint64_t, caf::timespan>::with<bool>,
  caf::reacts_to<notify_atom, std::string>,
  // Internal: waiter whose time ran out.
  caf::reacts_to<timeout_atom, uint64_t>>;

/// Reply to `replay_atom`: how many pending events follow, and the lane
/// the session attaches to and sends acks to.
struct replay_result {
  uint64_t pending = 0;
  delivery_actor lane;
};

} // namespace nod

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nod::replay_result)

namespace nod {

/// Everything sent to agents: journals events with their cause, keeps one
/// delivery lane per agent with events to deliver or a socket, replays
/// pending events when an agent connects, takes poll acks.
using outbox_actor = caf::typed_actor<
  caf::replies_to<send_atom, outbound>::with<std::string>,
  // agent, owner, resume_from (0: none), the session that authenticated
  // → pending events it replays, and the agent's lane.
  caf::replies_to<replay_atom, uint64_t, uint64_t, uint64_t,
                  agent_session_actor>::with<replay_result>,
  // agent, owner, seq: everything pending up to seq is delivered (poll)
  // → how many events that marked.
  caf::replies_to<ack_atom, uint64_t, uint64_t, uint64_t>::with<uint64_t>,
  // From a lane: agent, what it did since its last report.
  caf::reacts_to<done_atom, uint64_t, lane_progress>,
  // Start-up: resume unfinished deliveries → how many.
  caf::replies_to<recover_atom>::with<uint64_t>,
  // agents → events not yet delivered to each (pending, queued or in
  // flight), in the order asked.
  caf::replies_to<undelivered_atom,
                  std::vector<uint64_t>>::with<std::vector<uint64_t>>>;

/// What people do that agents hear about (API.md B2): resolve a decision,
/// send a message. Errors: `invalid_argument`, `not_found`, `conflict`
/// (already resolved), `storage_error`.
using actions_actor = caf::typed_actor<
  // user, decision, resolution → the decision object.
  caf::replies_to<resolve_atom, user_record, uint64_t,
                  resolution>::with<std::string>,
  // user, agent, message → the message object with its `event_id`.
  caf::replies_to<user_message_atom, user_record, uint64_t,
                  user_message_input>::with<std::string>,
  // decision whose expiry passed → true if this expired it (false: it
  // was resolved already, or is gone).
  caf::replies_to<expire_decision_atom, uint64_t>::with<bool>>;

} // namespace nod
