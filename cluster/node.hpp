#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Cluster mode (docs/cluster.md): the journal's batches are the entries of
// one replicated NATS JetStream stream. One node at a time holds the
// leader lease and runs the actors; it publishes each batch (fenced by the
// stream's last sequence) and applies it to its own store once a quorum
// has it. The other nodes apply the stream to their stores in order, so
// that any of them can take over from where the stream ends.

namespace nod::storage {
class store;
class write_batch;
} // namespace nod::storage

namespace nod::metrics {
class registry;
} // namespace nod::metrics

namespace nod::cluster {

/// Settings of a node's link to the cluster.
struct options {
  /// NATS servers (`nats://host:port`); any of them will do.
  std::vector<std::string> servers;
  /// This node's name, unique in the cluster.
  std::string node_name;
  /// Where the other nodes relay requests while this node leads
  /// (`http://host:port`).
  std::string url;
  /// Copies JetStream keeps of the journal and the lease (1-5).
  int replicas = 3;
  /// How long the leader's lease lasts without renewal: the longest a dead
  /// leader holds the cluster up. Fixed when the lease bucket is made.
  std::chrono::milliseconds lease{10000};
  /// How long the journal stream keeps an entry (0: for ever): a node
  /// down for longer must start from a copy of another node's data
  /// directory.
  std::chrono::milliseconds journal_max_age{7LL * 24 * 3600 * 1000};
  /// Time one JetStream request may take before it is retried.
  std::chrono::milliseconds request_timeout{2000};
  /// Where to report the link's state; may be null.
  metrics::registry* metrics = nullptr;
};

/// What a node is doing.
enum class role {
  /// Applying the stream to its store and waiting for the lease.
  following,
  /// Holding the lease: the actors run here and write through `write`.
  leading,
  /// Was leading and lost the lease: the actors must stop, then `rejoin`.
  deposed,
  /// Cannot go on (see `failure`); the process should exit.
  failed,
};

/// Name of `r`, for logs: following, leading, deposed, failed.
const char* to_string(role r);

/// One node's link to the cluster. Its own thread connects, follows the
/// stream and competes for the lease; the calls below are thread-safe.
class node {
public:
  /// Starts following the cluster with `db` as the local store. Does not
  /// wait for NATS: the link comes up in the background. Returns null and
  /// sets `error` when the settings are unusable.
  static std::unique_ptr<node>
  start(options opts, std::shared_ptr<storage::store> db, std::string& error);

  /// Stops the thread; a leader gives its lease up so that another node
  /// takes over without waiting for it to expire.
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  role current() const noexcept;

  /// Why the node cannot go on (role `failed`).
  std::string failure() const;

  /// True while connected to a NATS server.
  bool connected() const noexcept;

  /// The leader's name as last seen; empty when none is known.
  std::string leader() const;

  /// The leader's URL as last seen; empty when no leader is known.
  std::string leader_url() const;

  /// Where to relay requests: the leader's URL when another node leads,
  /// else empty.
  std::string relay_url() const;

  /// Sequence number of the last stream entry in the local store.
  uint64_t applied() const noexcept;

  /// Largest batch `write` takes, in bytes (what NATS takes in one
  /// message, less room for headers).
  size_t max_batch_bytes() const noexcept;

  /// Leader only, from one thread (the journal's): publishes
  /// `batch` as the next stream entry, waits until a quorum has it
  /// (retrying through elections while the lease lasts), then applies it
  /// to the local store. Returns an error line when the batch is not in
  /// the stream: too big, or this node is no longer the leader (then it
  /// is `deposed`).
  std::optional<std::string> write(const storage::write_batch& batch);

  /// After `deposed`, once nothing writes any more: follow the stream
  /// again from the local store's position.
  void rejoin();

private:
  node();
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace nod::cluster
