#include "cluster/node.hpp"

#include "metrics/metrics.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nats/nats.h>
#include <random>
#include <spdlog/spdlog.h>
#include <thread>

namespace nod::cluster {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The journal stream: one subject; each entry is the cluster's next batch.
constexpr const char* stream_name = "NOD_JOURNAL";
constexpr const char* subject = "nod.journal";
// The lease: one key in a bucket whose age limit is the lease.
constexpr const char* lease_bucket = "nod_leader";
constexpr const char* lease_key = "leader";
// Room left in a NATS message for headers.
constexpr size_t header_room = 4096;
// How often a follower reads who leads, between its tries to lead.
constexpr auto leader_read_interval = std::chrono::milliseconds{250};

int64_t to_nanos(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

std::string status_text(natsStatus s,
                        jsErrCode jerr = static_cast<jsErrCode>(0)) {
  // The library's last error on this thread says more than the status.
  const char* last = nats_GetLastError(nullptr);
  std::string text = last != nullptr && *last != '\0' && s != NATS_OK
                       ? std::string{last}
                       : std::string{natsStatus_GetText(s)};
  if (jerr != 0)
    text += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  return text;
}

// Publish outcomes worth retrying with the same message id: the request
// did not get an answer, or JetStream is electing a leader.
bool transient(natsStatus s, jsErrCode jerr) {
  // The stream may be missing for a moment while the first nodes make it.
  if (jerr == JSClusterNotAvailErr || jerr == JSClusterNotLeaderErr
      || jerr == JSStreamNotFoundErr)
    return true;
  // No answer at all (the library may still set a code): try again.
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS
         || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED
         || s == NATS_NOT_YET_CONNECTED || s == NATS_IO_ERROR
         || s == NATS_STALE_CONNECTION || s == NATS_SLOW_CONSUMER;
}

std::string random_hex() {
  std::random_device rd;
  uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

void noop_connected(natsConnection*, void*) {}

} // namespace

const char* to_string(role r) {
  switch (r) {
    case role::following: return "following";
    case role::leading: return "leading";
    case role::deposed: return "deposed";
    case role::failed: return "failed";
  }
  return "?";
}

struct node::impl {
  options opts;
  std::shared_ptr<storage::store> db;

  natsOptions* nats_opts = nullptr;
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  // The follower's ordered consumer of the stream (node thread only).
  natsSubscription* sub = nullptr;

  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<role> current{role::following};
  // True while this node holds the lease and may publish entries.
  std::atomic<bool> may_write{false};
  // Set once the stream, the bucket and the store's identity are checked.
  bool set_up = false;
  std::atomic<uint64_t> applied{0};
  std::atomic<size_t> max_batch_bytes{0};
  std::chrono::milliseconds lease{0};

  // The lease (node thread), and its deadline (read by the journal's thread
  // too).
  uint64_t lease_rev = 0;
  std::atomic<int64_t> lease_deadline{0};
  clock_type::time_point next_lease_step{};
  clock_type::time_point next_leader_read{};
  // Ids of this term's entries: node, term, counter (the journal's thread
  // only).
  std::string term;
  uint64_t written = 0;

  mutable std::mutex mutex;
  std::string leader_name;
  std::string leader_url;
  std::string failure;

  metrics::gauge* connected_gauge = nullptr;
  metrics::gauge* leading_gauge = nullptr;
  metrics::gauge* applied_gauge = nullptr;
  metrics::gauge* lag_gauge = nullptr;
  metrics::counter* publish_retries = nullptr;

  ~impl() {
    if (sub != nullptr)
      natsSubscription_Destroy(sub);
    if (kv != nullptr)
      kvStore_Destroy(kv);
    if (js != nullptr)
      jsCtx_Destroy(js);
    if (conn != nullptr)
      natsConnection_Destroy(conn);
    if (nats_opts != nullptr)
      natsOptions_Destroy(nats_opts);
  }

  bool is_connected() const {
    return conn != nullptr
           && natsConnection_Status(conn) == NATS_CONN_STATUS_CONNECTED;
  }

  // The lease's value: the holder's name, a newline, its URL.
  std::string lease_value() const {
    return opts.node_name + "\n" + opts.url;
  }

  void set_leader(const std::string& value) {
    auto newline = value.find('\n');
    std::lock_guard<std::mutex> guard{mutex};
    leader_name = value.substr(0, newline);
    leader_url = newline == std::string::npos ? std::string{}
                                              : value.substr(newline + 1);
  }

  void fail(std::string why) {
    {
      std::lock_guard<std::mutex> guard{mutex};
      failure = std::move(why);
    }
    spdlog::critical("cluster: {}", failure);
    current = role::failed;
  }

  void depose(const std::string& why) {
    may_write = false;
    role expected = role::leading;
    if (current.compare_exchange_strong(expected, role::deposed)) {
      spdlog::warn("cluster: this node no longer leads: {}", why);
      if (leading_gauge)
        leading_gauge->set(0);
    }
  }

  clock_type::time_point deadline() const {
    return clock_type::time_point{clock_type::duration{lease_deadline.load()}};
  }

  void set_deadline(clock_type::time_point t) {
    lease_deadline = t.time_since_epoch().count();
  }

  // --- setting up -------------------------------------------------------

  // Retried publishes carry the same id: deduplicated this long (JetStream
  // wants it no longer than the age limit).
  int64_t duplicates_window() const {
    auto window = to_nanos(std::chrono::minutes{2});
    auto max_age = to_nanos(opts.journal_max_age);
    return max_age > 0 ? std::min(window, max_age) : window;
  }

  // The stream (made by the first node), the store's identity and the
  // lease bucket. False to try again later.
  bool set_up_cluster() {
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    auto s = js_GetStreamInfo(&info, js, stream_name, nullptr, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
      jsStreamConfig cfg;
      jsStreamConfig_Init(&cfg);
      cfg.Name = stream_name;
      const char* subjects[] = {subject};
      cfg.Subjects = subjects;
      cfg.SubjectsLen = 1;
      cfg.Storage = js_FileStorage;
      cfg.Replicas = opts.replicas;
      cfg.MaxAge = to_nanos(opts.journal_max_age);
      cfg.Duplicates = duplicates_window();
      s = js_AddStream(&info, js, &cfg, nullptr, &jerr);
      if (s != NATS_OK && jerr == JSStreamNameExistErr)
        s = js_GetStreamInfo(&info, js, stream_name, nullptr, &jerr);
      if (s == NATS_OK)
        spdlog::info("cluster: made the journal stream {} ({} replicas)",
                     stream_name, opts.replicas);
    }
    if (s != NATS_OK) {
      spdlog::warn("cluster: cannot read the journal stream {}: {}",
                   stream_name, status_text(s, jerr));
      return false;
    }
    // The age limit follows the setting of whichever node set up last.
    if (info->Config != nullptr
        && info->Config->MaxAge != to_nanos(opts.journal_max_age)) {
      info->Config->MaxAge = to_nanos(opts.journal_max_age);
      info->Config->Duplicates = duplicates_window();
      jsStreamInfo* updated = nullptr;
      auto changed
        = js_UpdateStream(&updated, js, info->Config, nullptr, &jerr);
      if (changed == NATS_OK) {
        spdlog::info("cluster: the journal stream keeps entries for {} ms now",
                     opts.journal_max_age.count());
        jsStreamInfo_Destroy(updated);
      } else {
        spdlog::warn("cluster: cannot set the journal stream's age limit: {}",
                     status_text(changed, jerr));
      }
    }
    auto identity = std::to_string(info->Created);
    auto last = info->State.LastSeq;
    auto first = info->State.FirstSeq;
    jsStreamInfo_Destroy(info);
    if (!check_identity(identity, first, last))
      return false;

    s = js_KeyValue(&kv, js, lease_bucket);
    if (s == NATS_NOT_FOUND) {
      kvConfig cfg;
      kvConfig_Init(&cfg);
      cfg.Bucket = lease_bucket;
      cfg.History = 1;
      cfg.TTL = to_nanos(opts.lease);
      cfg.Replicas = opts.replicas;
      s = js_CreateKeyValue(&kv, js, &cfg);
      if (s != NATS_OK)
        s = js_KeyValue(&kv, js, lease_bucket);
    }
    if (s != NATS_OK) {
      spdlog::warn("cluster: cannot open the lease bucket {}: {}", lease_bucket,
                   status_text(s));
      kv = nullptr;
      return false;
    }
    // The bucket's age limit is the lease, whatever this node was told.
    kvStatus* st = nullptr;
    if (kvStore_Status(&st, kv) == NATS_OK) {
      auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::nanoseconds{kvStatus_TTL(st)});
      kvStatus_Destroy(st);
      if (ttl.count() > 0 && ttl != opts.lease)
        spdlog::warn("cluster: the lease lasts {} ms as the bucket was made, "
                     "not the {} ms of cluster-lease",
                     ttl.count(), opts.lease.count());
      lease = ttl.count() > 0 ? ttl : opts.lease;
    } else {
      lease = opts.lease;
    }
    auto payload = natsConnection_GetMaxPayload(conn);
    max_batch_bytes = payload > static_cast<int64_t>(2 * header_room)
                        ? static_cast<size_t>(payload) - header_room
                        : static_cast<size_t>(payload) / 2;
    spdlog::info("cluster: following {} (entries {}-{}, this node has {}); "
                 "lease {} ms; batches up to {} bytes",
                 stream_name, first, last, applied.load(), lease.count(),
                 max_batch_bytes.load());
    set_up = true;
    return true;
  }

  // A store follows one stream from its start: a store that followed
  // another stream, or that holds data the stream does not, is refused.
  bool check_identity(const std::string& identity, uint64_t first,
                      uint64_t last) {
    std::string known;
    auto got = db->get(storage::cluster_stream_key(), known);
    if (got.ok()) {
      if (known != identity) {
        fail("the data directory " + db->dir()
             + " followed another journal stream (made at " + known
             + " ns, this one at " + identity
             + "); start this node on an empty data directory");
        return false;
      }
    } else if (got.is_not_found()) {
      bool has_data = false;
      std::string first_key(1, '\x02');
      auto scanned
        = db->scan(first_key, {}, 1, [&](std::string_view, std::string_view) {
            has_data = true;
            return false;
          });
      if (!scanned.ok()) {
        fail("cannot read the data directory: " + scanned.message());
        return false;
      }
      if (has_data) {
        fail("the data directory " + db->dir()
             + " holds data of a single server; cluster mode starts on an "
               "empty data directory (docs/cluster.md)");
        return false;
      }
      storage::write_batch batch;
      batch.put(storage::cluster_stream_key(), identity);
      auto written = db->write(batch);
      if (!written.ok()) {
        fail("cannot write the data directory: " + written.message());
        return false;
      }
    } else {
      fail("cannot read the data directory: " + got.message());
      return false;
    }
    if (first > applied + 1 && applied < last) {
      fail("the journal stream starts at entry " + std::to_string(first)
           + " but this node has applied only up to " + std::to_string(applied)
           + ": start it on a copy of another node's data directory");
      return false;
    }
    return true;
  }

  // --- following --------------------------------------------------------

  bool subscribe() {
    jsSubOptions sub_opts;
    jsSubOptions_Init(&sub_opts);
    sub_opts.Stream = stream_name;
    sub_opts.Ordered = true;
    sub_opts.Config.DeliverPolicy = js_DeliverByStartSequence;
    sub_opts.Config.OptStartSeq = applied + 1;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    auto s = js_SubscribeSync(&sub, js, subject, nullptr, &sub_opts, &jerr);
    if (s != NATS_OK) {
      spdlog::warn("cluster: cannot follow the journal stream: {}",
                   status_text(s, jerr));
      sub = nullptr;
      return false;
    }
    return true;
  }

  void unsubscribe() {
    if (sub == nullptr)
      return;
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    sub = nullptr;
  }

  // Applies the next entry if one comes within `wait`; false on an error
  // that ends following (the node has failed).
  bool apply_next(std::chrono::milliseconds wait) {
    if (sub == nullptr && !subscribe()) {
      std::this_thread::sleep_for(wait);
      return true;
    }
    natsMsg* msg = nullptr;
    auto s = natsSubscription_NextMsg(&msg, sub, wait.count());
    if (s == NATS_TIMEOUT)
      return true;
    if (s != NATS_OK) {
      spdlog::warn("cluster: following the journal stream: {}; following "
                   "again",
                   status_text(s));
      unsubscribe();
      return true;
    }
    std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> owned{
      msg, &natsMsg_Destroy};
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK)
      return true; // not an entry (flow control, heartbeat)
    auto seq = meta->Sequence.Stream;
    if (lag_gauge)
      lag_gauge->set(static_cast<int64_t>(meta->NumPending));
    jsMsgMetaData_Destroy(meta);
    if (seq <= applied)
      return true;
    if (seq != applied + 1) {
      fail("the journal stream went from entry " + std::to_string(applied)
           + " to " + std::to_string(seq)
           + ": entries this node has not applied are gone");
      return false;
    }
    storage::write_batch batch;
    auto read = storage::write_batch::from_data(
      std::string{natsMsg_GetData(msg),
                  static_cast<size_t>(natsMsg_GetDataLength(msg))},
      batch);
    if (!read.ok()) {
      fail("journal entry " + std::to_string(seq) + ": " + read.message());
      return false;
    }
    // Not fsynced: after a crash the entry is applied again from the
    // stream, which is the durable copy.
    auto written = db->write_with(batch, storage::cluster_applied_key(),
                                  storage::u64_bytes(seq), false);
    if (!written.ok()) {
      fail("cannot apply journal entry " + std::to_string(seq) + ": "
           + written.message());
      return false;
    }
    applied = seq;
    if (applied_gauge)
      applied_gauge->set(static_cast<int64_t>(seq));
    return true;
  }

  void read_leader_name() {
    kvEntry* entry = nullptr;
    if (kvStore_Get(&entry, kv, lease_key) == NATS_OK) {
      set_leader(kvEntry_ValueString(entry));
      kvEntry_Destroy(entry);
    } else {
      set_leader({});
    }
  }

  // Takes the lease when it is free, then catches up with the stream and
  // opens a term with an empty entry: from then on only this node's
  // entries fit after the stream's end.
  void try_to_lead() {
    auto asked = clock_type::now();
    uint64_t rev = 0;
    auto value = lease_value();
    auto s = kvStore_Create(&rev, kv, lease_key, value.data(),
                            static_cast<int>(value.size()));
    if (s != NATS_OK) {
      read_leader_name();
      return;
    }
    lease_rev = rev;
    set_deadline(asked + lease);
    set_leader(value);
    spdlog::info("cluster: took the lease; catching up with the journal");
    jsStreamInfo* info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_GetStreamInfo(&info, js, stream_name, nullptr, &jerr);
    if (s != NATS_OK) {
      spdlog::warn("cluster: cannot read the journal stream: {}",
                   status_text(s, jerr));
      return; // the lease lapses; try again later
    }
    auto last = info->State.LastSeq;
    jsStreamInfo_Destroy(info);
    while (applied < last) {
      if (stopping || current == role::failed)
        return;
      if (clock_type::now() >= next_lease_step)
        renew_lease();
      if (clock_type::now() >= deadline()) {
        spdlog::warn("cluster: the lease ran out while catching up");
        return;
      }
      if (!apply_next(200ms))
        return;
    }
    unsubscribe();
    term = opts.node_name + "." + random_hex();
    written = 0;
    may_write = true;
    storage::write_batch opening;
    if (auto err = publish(opening)) {
      may_write = false;
      spdlog::warn("cluster: cannot open a term: {}", *err);
      return;
    }
    current = role::leading;
    if (leading_gauge)
      leading_gauge->set(1);
    if (lag_gauge)
      lag_gauge->set(0);
    spdlog::info("cluster: this node leads (journal at entry {})",
                 applied.load());
  }

  // --- leading ----------------------------------------------------------

  void renew_lease() {
    next_lease_step = clock_type::now() + lease / 4;
    auto asked = clock_type::now();
    uint64_t rev = 0;
    auto value = lease_value();
    auto s = kvStore_Update(&rev, kv, lease_key, value.data(),
                            static_cast<int>(value.size()), lease_rev);
    if (s == NATS_OK) {
      lease_rev = rev;
      set_deadline(asked + lease);
      return;
    }
    // Refused or unanswered: refused only if another node holds it now.
    kvEntry* entry = nullptr;
    if (kvStore_Get(&entry, kv, lease_key) == NATS_OK) {
      std::string holder = kvEntry_ValueString(entry);
      auto holder_rev = kvEntry_Revision(entry);
      kvEntry_Destroy(entry);
      if (holder != value || holder_rev != lease_rev) {
        set_leader(holder);
        depose("the lease is held by " + holder.substr(0, holder.find('\n')));
        return;
      }
    }
    if (clock_type::now() >= deadline())
      depose("the lease could not be renewed for "
             + std::to_string(lease.count()) + " ms");
  }

  void lead_step() {
    if (clock_type::now() >= next_lease_step)
      renew_lease();
    if (current == role::leading && clock_type::now() >= deadline())
      depose("the lease ran out");
    std::this_thread::sleep_for(20ms);
  }

  void run() {
    while (!stopping) {
      auto now_role = current.load();
      if (connected_gauge)
        connected_gauge->set(is_connected() ? 1 : 0);
      if (now_role == role::leading) {
        lead_step();
        continue;
      }
      if (now_role != role::following || !is_connected()) {
        std::this_thread::sleep_for(100ms);
        continue;
      }
      if (!set_up) {
        if (!set_up_cluster() && current != role::failed)
          std::this_thread::sleep_for(500ms);
        continue;
      }
      if (!apply_next(100ms))
        continue;
      auto now = clock_type::now();
      if (now >= next_lease_step) {
        next_lease_step = now + lease / 4;
        next_leader_read = now + leader_read_interval;
        try_to_lead();
      } else if (now >= next_leader_read) {
        // Relays follow a new leader within this.
        next_leader_read = now + leader_read_interval;
        read_leader_name();
      }
    }
  }

  std::optional<std::string> write(const storage::write_batch& batch) {
    if (current != role::leading)
      return std::string{"this node does not lead the cluster"};
    return publish(batch);
  }

  // Publishes `batch` as the entry after `applied` and applies it here.
  std::optional<std::string> publish(const storage::write_batch& batch) {
    auto data = batch.data();
    if (data.size() > max_batch_bytes)
      return "a batch of " + std::to_string(data.size())
             + " bytes does not fit in a NATS message (max_payload)";
    auto id = term + "." + std::to_string(++written);
    natsMsg* raw = nullptr;
    auto s = natsMsg_Create(&raw, subject, nullptr, data.data(),
                            static_cast<int>(data.size()));
    if (s != NATS_OK)
      return "cannot make a NATS message: " + status_text(s);
    std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> msg{raw,
                                                             &natsMsg_Destroy};
    natsMsgHeader_Set(raw, "Nod-Node", opts.node_name.c_str());
    auto expect = applied.load();
    uint64_t seq = 0;
    bool retried = false;
    // An entry whose fate stays unknown this long (no answer, nothing to
    // read back) ends the term: following again settles it from the stream.
    auto give_up = clock_type::now() + lease;
    while (seq == 0) {
      if (!may_write)
        return std::string{"this node no longer leads the cluster"};
      if (clock_type::now() >= deadline()) {
        depose("the lease ran out while writing");
        return std::string{"this node no longer leads the cluster"};
      }
      if (clock_type::now() >= give_up) {
        depose("journal entry " + std::to_string(expect + 1)
               + " could not be confirmed within the lease");
        return std::string{"this node no longer leads the cluster"};
      }
      if (retried) {
        if (publish_retries)
          publish_retries->inc();
        std::this_thread::sleep_for(100ms);
      }
      retried = true;
      jsPubOptions pub;
      jsPubOptions_Init(&pub);
      pub.MsgId = id.c_str();
      pub.MaxWait = opts.request_timeout.count();
      // The stream's last sequence outlives its entries' age limit (the
      // subject's does not); a node leads with nothing applied only on a
      // stream that never had an entry.
      if (expect == 0)
        pub.ExpectNoMessage = true;
      else
        pub.ExpectLastSeq = expect;
      jsPubAck* ack = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      s = js_PublishMsg(&ack, js, raw, &pub, &jerr);
      if (s == NATS_OK) {
        seq = ack->Sequence;
        jsPubAck_Destroy(ack);
        break;
      }
      if (jerr == JSStreamWrongLastSequenceErr) {
        // Either an earlier try of this entry got in (its answer was
        // lost), or another node wrote: the entry after `expect` says.
        natsMsg* next = nullptr;
        jsErrCode get_err = static_cast<jsErrCode>(0);
        auto got
          = js_GetMsg(&next, js, stream_name, expect + 1, nullptr, &get_err);
        if (got != NATS_OK)
          continue;
        const char* next_id = nullptr;
        bool ours = natsMsgHeader_Get(next, "Nats-Msg-Id", &next_id) == NATS_OK
                    && next_id != nullptr && id == next_id;
        natsMsg_Destroy(next);
        if (ours) {
          seq = expect + 1;
          break;
        }
        depose("another node wrote to the journal stream");
        return std::string{"this node no longer leads the cluster"};
      }
      if (!transient(s, jerr))
        return "the journal stream refused a batch: " + status_text(s, jerr);
      spdlog::debug("cluster: publish of entry after {} not answered ({}); "
                    "trying again",
                    expect, status_text(s, jerr));
    }
    auto written_locally = db->write_with(batch, storage::cluster_applied_key(),
                                          storage::u64_bytes(seq), false);
    if (!written_locally.ok()) {
      fail("journal entry " + std::to_string(seq)
           + " is in the stream but cannot be applied here: "
           + written_locally.message());
      return "cannot apply the batch: " + written_locally.message();
    }
    applied = seq;
    if (applied_gauge)
      applied_gauge->set(static_cast<int64_t>(seq));
    return std::nullopt;
  }
};

node::node() : impl_(std::make_unique<impl>()) {}

std::unique_ptr<node> node::start(options opts,
                                  std::shared_ptr<storage::store> db,
                                  std::string& error) {
  if (opts.servers.empty()) {
    error = "cluster-nats lists no NATS server";
    return nullptr;
  }
  std::unique_ptr<node> self{new node};
  auto& d = *self->impl_;
  d.opts = std::move(opts);
  d.db = std::move(db);
  d.lease = d.opts.lease;
  std::string applied;
  auto got = d.db->get(storage::cluster_applied_key(), applied);
  if (got.ok() && applied.size() == 8)
    d.applied = storage::get_u64(applied);
  else if (!got.ok() && !got.is_not_found()) {
    error = "cannot read the data directory: " + got.message();
    return nullptr;
  }
  if (auto* reg = d.opts.metrics) {
    d.connected_gauge = &reg->get_gauge("nod_cluster_connected",
                                        "1 while connected to a NATS server.");
    d.leading_gauge = &reg->get_gauge(
      "nod_cluster_leading", "1 while this node holds the leader lease.");
    d.applied_gauge = &reg->get_gauge(
      "nod_cluster_applied_entry",
      "Last entry of the journal stream in this node's store.");
    d.lag_gauge = &reg->get_gauge(
      "nod_cluster_lag_entries",
      "Entries of the journal stream this node has yet to apply (0 on the "
      "leader).");
    d.publish_retries = &reg->get_counter(
      "nod_cluster_publish_retries_total",
      "Journal entries published again after no answer (elections).");
    d.applied_gauge->set(static_cast<int64_t>(d.applied.load()));
  }
  std::vector<const char*> urls;
  for (auto& url : d.opts.servers)
    urls.push_back(url.c_str());
  auto name = "nod-server " + d.opts.node_name;
  natsStatus s = natsOptions_Create(&d.nats_opts);
  if (s == NATS_OK)
    s = natsOptions_SetServers(d.nats_opts, urls.data(),
                               static_cast<int>(urls.size()));
  if (s == NATS_OK)
    s = natsOptions_SetName(d.nats_opts, name.c_str());
  // Only the servers cluster-nats lists, in its order (the first is this
  // node's own): a node cut off from them is cut off.
  if (s == NATS_OK)
    s = natsOptions_SetIgnoreDiscoveredServers(d.nats_opts, true);
  if (s == NATS_OK)
    s = natsOptions_SetNoRandomize(d.nats_opts, true);
  // Reconnect for ever, quickly; notice a dead server within seconds.
  if (s == NATS_OK)
    s = natsOptions_SetMaxReconnect(d.nats_opts, -1);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectWait(d.nats_opts, 100);
  if (s == NATS_OK)
    s = natsOptions_SetPingInterval(d.nats_opts, 1000);
  if (s == NATS_OK)
    s = natsOptions_SetMaxPingsOut(d.nats_opts, 2);
  if (s == NATS_OK)
    s = natsOptions_SetTimeout(d.nats_opts, 2000);
  if (s == NATS_OK)
    s = natsOptions_SetRetryOnFailedConnect(d.nats_opts, true, noop_connected,
                                            nullptr);
  if (s == NATS_OK) {
    s = natsConnection_Connect(&d.conn, d.nats_opts);
    if (s == NATS_NOT_YET_CONNECTED)
      s = NATS_OK;
  }
  jsOptions js_opts;
  if (s == NATS_OK)
    s = jsOptions_Init(&js_opts);
  if (s == NATS_OK) {
    js_opts.Wait = d.opts.request_timeout.count();
    s = natsConnection_JetStream(&d.js, d.conn, &js_opts);
  }
  if (s != NATS_OK) {
    error = "cannot set up the NATS client: " + status_text(s);
    return nullptr;
  }
  d.thread = std::thread{[&d] {
    d.run();
  }};
  return self;
}

node::~node() {
  auto& d = *impl_;
  d.stopping = true;
  if (d.thread.joinable())
    d.thread.join();
  // Hand over at once instead of after the lease.
  if (d.current == role::leading && d.kv != nullptr) {
    kvStore_Delete(d.kv, lease_key);
    spdlog::info("cluster: gave the lease up");
  }
}

role node::current() const noexcept {
  return impl_->current;
}

std::string node::failure() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->failure;
}

bool node::connected() const noexcept {
  return impl_->is_connected();
}

std::string node::leader() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->leader_name;
}

std::string node::leader_url() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->leader_url;
}

std::string node::relay_url() const {
  if (impl_->current != role::following || !impl_->is_connected())
    return {};
  std::lock_guard<std::mutex> guard{impl_->mutex};
  // Never to itself: a lease this node lost may still name it.
  if (impl_->leader_name == impl_->opts.node_name)
    return {};
  return impl_->leader_url;
}

uint64_t node::applied() const noexcept {
  return impl_->applied;
}

size_t node::max_batch_bytes() const noexcept {
  return impl_->max_batch_bytes;
}

std::optional<std::string> node::write(const storage::write_batch& batch) {
  return impl_->write(batch);
}

void node::rejoin() {
  role expected = role::deposed;
  impl_->current.compare_exchange_strong(expected, role::following);
}

} // namespace nod::cluster
