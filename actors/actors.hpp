#pragma once

// Every typed actor interface of the server and the messages they exchange.
// CAF 0.17 syntax: `replies_to<...>::with<...>` and `reacts_to<...>`.

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nod {

// -- atoms --------------------------------------------------------------------

/// Write a `journal_write` durably.
using append_atom = caf::atom_constant<caf::atom("append")>;
/// Read a range of an agent's outbound stream.
using read_atom = caf::atom_constant<caf::atom("read")>;
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

// -- journal messages ---------------------------------------------------------

/// One event appended to an agent's outbound stream; the journal assigns
/// its `seq`.
struct stream_append {
  uint64_t agent = 0;
  std::string payload;
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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_append& x) {
  return f(caf::meta::type_name("stream_append"), x.agent, x.payload);
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

// -- actor interfaces ---------------------------------------------------------

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
  caf::replies_to<read_atom, uint64_t>::with<uint64_t>,
  caf::replies_to<stats_atom>::with<journal_stats>,
  // Internal: group commit of what is waiting.
  caf::reacts_to<flush_atom>>;

} // namespace nod
