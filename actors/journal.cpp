#include "actors/journal.hpp"

#include "actors/error.hpp"
#include "metrics/metrics.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

namespace nod {

namespace {

using self_ptr = journal_actor::stateful_pointer<journal_state>;

// Loads the stream view of `agent` on first use: the last seq with one
// reverse seek, the cursor with one get. Cost per agent, not per event.
caf::expected<agent_stream*> stream_of(self_ptr self, uint64_t agent) {
  auto& st = self->state;
  auto i = st.streams.find(agent);
  if (i != st.streams.end())
    return &i->second;
  agent_stream s;
  auto prefix = storage::stream_prefix(agent);
  auto scanned = st.db->scan(
    prefix, storage::prefix_end(prefix), 1,
    [&](std::string_view key, std::string_view) {
      if (auto decoded = storage::decode_stream_key(key))
        s.last_seq = decoded->second;
      return false;
    },
    true);
  if (!scanned.ok())
    return make_error(ec::storage_error, scanned.message());
  // Retention may have deleted the stream's oldest events, the last one
  // too: numbering goes on after the highest seq it deleted.
  std::string floor;
  auto floor_got = st.db->get(storage::stream_floor_key(agent), floor);
  if (floor_got.ok() && floor.size() == 8)
    s.last_seq = std::max(s.last_seq, storage::get_u64(floor));
  else if (!floor_got.ok() && !floor_got.is_not_found())
    return make_error(ec::storage_error, floor_got.message());
  std::string cursor;
  auto got = st.db->get(storage::cursor_key(agent), cursor);
  if (got.ok() && cursor.size() == 8)
    s.cursor = storage::get_u64(cursor);
  else if (!got.ok() && !got.is_not_found())
    return make_error(ec::storage_error, got.message());
  s.durable_seq = s.last_seq;
  s.durable_cursor = s.cursor;
  return &st.streams.emplace(agent, s).first->second;
}

// Current value of `key` as the staged writes would leave it: the open
// unit, else the store.
caf::expected<std::optional<std::string>>
current_value(self_ptr self, const std::string& key) {
  auto& st = self->state;
  std::optional<std::optional<std::string>> staged;
  auto found = st.open.batch->find(key, staged);
  if (!found.ok())
    return make_error(ec::storage_error, found.message());
  if (staged)
    return std::move(*staged);
  std::string value;
  auto got = st.db->get(key, value);
  if (got.is_not_found())
    return std::optional<std::string>{};
  if (!got.ok())
    return make_error(ec::storage_error, got.message());
  return std::optional<std::string>{std::move(value)};
}

// Writes the open unit (through the cluster's hook when there is one) and
// answers everyone waiting for it. Blocks this actor for the write: the
// messages arriving meanwhile queue up and form the next batch.
void write_open(self_ptr self) {
  auto& st = self->state;
  if (st.open.waiting.empty())
    return;
  auto unit = std::move(st.open);
  st.open = journal_unit{};
  auto started = std::chrono::steady_clock::now();
  std::optional<std::string> failure;
  if (st.opts.write) {
    failure = st.opts.write(*unit.batch, unit.sync);
  } else if (auto written = st.db->write(*unit.batch, unit.sync);
             !written.ok()) {
    failure = written.message();
  }
  if (failure) {
    spdlog::error("journal write of {} changes failed: {}", unit.waiting.size(),
                  *failure);
    if (st.errors_total)
      st.errors_total->inc();
    // The seqs and cursor moves of the unit are lost: numbering goes on
    // from what is durable, so a failed batch leaves no gap.
    for (auto agent : unit.touched) {
      auto& s = st.streams[agent];
      s.last_seq = s.durable_seq;
      s.cursor = s.durable_cursor;
    }
    auto err = make_error(ec::storage_error, *failure);
    for (auto& done : unit.waiting)
      done(err);
    return;
  }
  auto elapsed
    = std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
        .count();
  for (auto agent : unit.touched) {
    auto& s = st.streams[agent];
    s.durable_seq = s.last_seq;
    s.durable_cursor = s.cursor;
  }
  st.stats.batches += 1;
  st.stats.writes += unit.waiting.size();
  st.stats.max_batch
    = std::max<uint64_t>(st.stats.max_batch, unit.waiting.size());
  if (st.batch_size) {
    st.batch_size->observe(static_cast<double>(unit.waiting.size()));
    st.write_latency->observe(elapsed);
  }
  for (auto& done : unit.waiting)
    done(caf::error{});
}

// Adds one acknowledged change to the open unit and makes sure it is
// written: at once when full, else after every message already in the
// mailbox (they join it: group commit).
void enqueue(self_ptr self, std::function<void(const caf::error&)> done) {
  auto& st = self->state;
  st.open.waiting.push_back(std::move(done));
  if (st.open.waiting.size() >= st.opts.max_batch) {
    write_open(self);
  } else if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

// Roughly what `w` adds to a batch: its keys and values, with room for
// the batch's own framing.
size_t bytes_of(const journal_write& w) {
  constexpr size_t per_key = 32;
  size_t n = 0;
  for (auto& a : w.appends) {
    n += a.payload.size() + per_key;
    for (auto& index : a.indexes)
      n += index.second.size() + per_key;
  }
  for (auto& [key, value] : w.puts)
    n += key.size() + value.size() + 8;
  for (auto& key : w.deletes)
    n += key.size() + 8;
  return n;
}

void touch(self_ptr self, uint64_t agent) {
  self->state.open.touched.push_back(agent);
}

caf::result<journal_written> append(self_ptr self, journal_write& w) {
  auto& st = self->state;
  // 1. Expectations decide before anything is staged.
  for (auto& e : w.expects) {
    auto current = current_value(self, e.key);
    if (!current)
      return current.error();
    bool holds = e.must_exist ? (*current && **current == e.value)
                              : !current->has_value();
    if (!holds)
      return make_error(ec::conflict, "expectation failed");
  }
  // 2. Load every agent stream first, so a storage error stages nothing.
  for (auto& a : w.appends)
    if (auto s = stream_of(self, a.agent); !s)
      return s.error();
  // A write that would take the open batch past its byte bound starts
  // the next one (a single bigger write goes alone).
  if (st.opts.max_batch_bytes != 0 && !st.open.waiting.empty()
      && st.open.batch->data().size() + bytes_of(w) > st.opts.max_batch_bytes)
    write_open(self);
  // 3. Stage.
  journal_written result;
  result.seqs.reserve(w.appends.size());
  auto& unit = st.open;
  for (auto& a : w.appends) {
    auto& s = st.streams[a.agent];
    auto seq = ++s.last_seq;
    unit.batch->put(storage::stream_key(a.agent, seq), a.payload);
    for (auto& [t, value] : a.indexes) {
      auto key
        = storage::pair_key(static_cast<storage::table>(t), a.agent, seq);
      unit.batch->put(key, value);
    }
    touch(self, a.agent);
    result.seqs.push_back(seq);
  }
  for (auto& [key, value] : w.puts)
    unit.batch->put(key, value);
  for (auto& key : w.deletes)
    unit.batch->erase(key);
  unit.sync = unit.sync || w.sync;
  st.stats.appends += w.appends.size();
  if (st.appends_total)
    st.appends_total->inc(w.appends.size());
  auto promise = self->make_response_promise<journal_written>();
  enqueue(self,
          [promise, result = std::move(result)](const caf::error& err) mutable {
            if (err)
              promise.deliver(err);
            else
              promise.deliver(std::move(result));
          });
  return promise;
}

caf::result<uint64_t> ack(self_ptr self, uint64_t agent, uint64_t seq) {
  auto s = stream_of(self, agent);
  if (!s)
    return s.error();
  auto& stream = **s;
  if (seq > stream.durable_seq)
    return make_error(ec::invalid_argument,
                      "seq " + std::to_string(seq) + " is past the last event "
                        + std::to_string(stream.durable_seq));
  if (seq <= stream.cursor)
    return stream.cursor;
  stream.cursor = seq;
  self->state.open.batch->put(storage::cursor_key(agent),
                              storage::u64_bytes(seq));
  self->state.open.sync = true;
  touch(self, agent);
  auto promise = self->make_response_promise<uint64_t>();
  enqueue(self, [promise, seq](const caf::error& err) mutable {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(seq);
  });
  return promise;
}

} // namespace

journal_unit::journal_unit()
  : batch(std::make_unique<storage::write_batch>()) {}

journal_unit::journal_unit(journal_unit&&) noexcept = default;
journal_unit& journal_unit::operator=(journal_unit&&) noexcept = default;
journal_unit::~journal_unit() = default;

journal_actor::behavior_type journal(self_ptr self,
                                     std::shared_ptr<storage::store> db,
                                     journal_options opts) {
  auto& st = self->state;
  st.db = std::move(db);
  st.opts = opts;
  if (st.opts.max_batch == 0)
    st.opts.max_batch = 1;
  if (auto* reg = opts.metrics) {
    st.batch_size = &reg->get_histogram(
      "nod_journal_batch_writes", "Acknowledged writes per journal batch.",
      metrics::size_bounds());
    st.write_latency = &reg->get_histogram(
      "nod_journal_write_seconds",
      "Time to write one journal batch durably (fsync included).",
      metrics::latency_bounds());
    st.appends_total = &reg->get_counter("nod_journal_appends_total",
                                         "Events appended to agent streams.");
    st.errors_total = &reg->get_counter("nod_journal_write_errors_total",
                                        "Journal batches that failed.");
  }
  // An orderly stop writes what is staged before the actor goes away, so
  // every promise is answered with the real outcome.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    write_open(self);
    self->quit(msg.reason);
  });
  return {
    [self](append_atom, journal_write& w) {
      return append(self, w);
    },
    [self](read_atom, uint64_t agent, uint64_t after,
           uint32_t limit) -> caf::result<std::vector<stream_event>> {
      std::vector<stream_event> events;
      if (after == UINT64_MAX)
        return events;
      auto status = self->state.db->scan(
        storage::stream_key(agent, after + 1),
        storage::prefix_end(storage::stream_prefix(agent)), limit,
        [&](std::string_view key, std::string_view value) {
          if (auto decoded = storage::decode_stream_key(key))
            events.push_back({decoded->second, std::string{value}});
          return true;
        });
      if (!status.ok())
        return make_error(ec::storage_error, status.message());
      return events;
    },
    [self](get_atom, const std::string& key) -> caf::result<std::string> {
      std::string value;
      auto got = self->state.db->get(key, value);
      if (got.is_not_found())
        return make_error(ec::not_found);
      if (!got.ok())
        return make_error(ec::storage_error, got.message());
      return value;
    },
    [self](cursor_atom, uint64_t agent) -> caf::result<uint64_t> {
      auto s = stream_of(self, agent);
      if (!s)
        return s.error();
      return (*s)->durable_cursor;
    },
    [self](ack_atom, uint64_t agent, uint64_t seq) {
      return ack(self, agent, seq);
    },
    [self](last_seq_atom, uint64_t agent) -> caf::result<uint64_t> {
      auto s = stream_of(self, agent);
      if (!s)
        return s.error();
      return (*s)->durable_seq;
    },
    [self](stats_atom) {
      return self->state.stats;
    },
    [self](scan_atom,
           const scan_request& req) -> caf::result<std::vector<kv_entry>> {
      std::vector<kv_entry> entries;
      uint64_t bytes = 0;
      auto status = self->state.db->scan(
        req.begin, req.end, req.limit,
        [&](std::string_view key, std::string_view value) {
          entries.push_back({std::string{key}, std::string{value}});
          bytes += value.size();
          return req.max_bytes == 0 || bytes < req.max_bytes;
        },
        req.reverse);
      if (!status.ok())
        return make_error(ec::storage_error, status.message());
      return entries;
    },
    [self](inbox_atom, uint64_t agent, uint64_t after,
           uint32_t limit) -> caf::result<std::vector<stream_event>> {
      std::vector<stream_event> events;
      if (after == UINT64_MAX)
        return events;
      auto& db = *self->state.db;
      std::vector<uint64_t> seqs;
      auto status = db.scan(
        storage::pair_key(storage::table::pending, agent, after + 1),
        storage::prefix_end(storage::id_key(storage::table::pending, agent)),
        limit, [&](std::string_view key, std::string_view) {
          seqs.push_back(storage::pair_second(key));
          return true;
        });
      uint64_t bytes = 0;
      for (auto seq : seqs) {
        if (!status.ok() || bytes >= max_reply_bytes)
          break;
        std::string payload;
        status = db.get(storage::stream_key(agent, seq), payload);
        bytes += payload.size();
        if (status.ok())
          events.push_back({seq, std::move(payload)});
      }
      if (!status.ok())
        return make_error(ec::storage_error, status.message());
      return events;
    },
    [self](flush_atom) {
      self->state.flush_scheduled = false;
      write_open(self);
    },
  };
}

journal_actor spawn_journal(caf::actor_system& sys,
                            std::shared_ptr<storage::store> db,
                            journal_options opts, bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(journal, std::move(db), std::move(opts));
  return sys.spawn(journal, std::move(db), std::move(opts));
}

} // namespace nod
