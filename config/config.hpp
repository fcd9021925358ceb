#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace nod {

/// Every setting of the server, with its default. Loaded by `load_config`
/// from (in rising strength) a config file, `NOD_*` environment variables
/// and command-line flags.
struct config {
  /// Path of the config file that was read, empty when none.
  std::string config_file;
  /// Address to listen on (`NOD_LISTEN`); port 0 binds a free port.
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8000;
  /// Directory of the embedded store (`NOD_DATA_DIR`).
  std::string data_dir = "./data";
  /// Where backups go; empty: `<data_dir>/backups`.
  std::string backup_dir;
  /// How long finished history is kept; 0 keeps it forever. Activity
  /// feed entries; outbound events once delivered (and their delivery
  /// records); ended task runs; messages and resolved decisions.
  std::chrono::milliseconds activity_retention{30LL * 86400000};
  std::chrono::milliseconds delivered_event_retention{30LL * 86400000};
  std::chrono::milliseconds run_retention{90LL * 86400000};
  std::chrono::milliseconds message_retention{0};
  /// Time between two retention sweeps.
  std::chrono::milliseconds retention_interval{600000};
  /// spdlog level: trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";
  /// Log line format: `text` (readable lines) or `json` (one object per
  /// line, for log collectors).
  std::string log_format = "text";
  /// One info line per HTTP request answered; off by default because it
  /// costs CPU under load.
  bool access_log = false;
  /// Password of `admin` on a fresh data directory; random when empty.
  std::string admin_password;
  /// Base URL for trigger URLs and media links; derived from listen if empty.
  std::string public_url;
  /// Threads running the io_context (HTTP and WebSocket sessions).
  size_t io_threads = 1;
  /// CAF worker threads; 0 means one per core.
  size_t worker_threads = 0;
  /// fsync every journal batch before acknowledging it.
  bool journal_sync = true;
  /// Upper bound on appends per journal write batch.
  size_t journal_max_batch = 4096;
  /// Events per second one agent may send (REST and each WebSocket),
  /// sustained, and the burst allowed above that.
  size_t agent_rate = 1000;
  size_t agent_burst = 2000;
  /// Calls per second one inbound trigger URL takes, sustained, and the
  /// burst allowed above that.
  size_t trigger_rate = 10;
  size_t trigger_burst = 20;
  /// Largest accepted HTTP request body, in bytes.
  size_t max_body_bytes = 6 * 1024 * 1024;
  /// Request-body bytes all connections together may hold (announced or
  /// being read, until answered); a request whose body does not fit gets
  /// 503. Never below `max_body_bytes`.
  size_t max_body_memory = 128 * 1024 * 1024;
  /// Largest accepted WebSocket frame, in bytes.
  size_t max_frame_bytes = 6 * 1024 * 1024;
  /// Time a client has to send a complete request (header and body).
  std::chrono::milliseconds http_timeout{30000};
  /// Time an idle keep-alive connection stays open.
  std::chrono::milliseconds idle_timeout{60000};
  /// PEM certificate chain and private key: with both, the listen port
  /// speaks HTTPS and WSS only (reloaded on SIGHUP). Empty: plain HTTP.
  std::string tls_cert;
  std::string tls_key;
  /// Bearer token `GET /metrics` asks for; empty: open to anyone who can
  /// reach the port.
  std::string metrics_token;
  /// Open connections at most (HTTP and WebSocket), and from one client
  /// address (0: no bound per address); more are answered 503. Lowered at
  /// start-up to what the file-descriptor limit allows.
  size_t max_connections = 10000;
  size_t max_connections_per_ip = 1000;
  /// Authenticated sockets of one agent at most; a newer one closes the
  /// oldest (code 4009).
  size_t max_sockets_per_agent = 8;
  /// Time SIGTERM waits for in-flight requests before closing them.
  std::chrono::milliseconds shutdown_grace{10000};
  /// Webhook attempts in all per event (API.md A7: 3).
  size_t webhook_attempts = 3;
  /// Delay before the first webhook retry; each later one is
  /// `webhook_backoff_factor` times longer (1 s, then 5 s), ±20% jitter.
  std::chrono::milliseconds webhook_backoff{1000};
  size_t webhook_backoff_factor = 5;
  /// Longest wait a receiver's `Retry-After` may ask for.
  std::chrono::milliseconds webhook_retry_after_max{300000};
  /// Time one webhook attempt may take in all.
  std::chrono::milliseconds webhook_timeout{30000};
  /// Webhook requests in flight to one host at most.
  size_t webhook_max_per_host = 4;
  /// Events pushed to one agent socket and not yet confirmed at most
  /// (acked, or without acks written); more wait as `queued`.
  size_t ack_window = 1000;
  /// Verify webhook receivers' TLS certificates (off only for tests).
  bool webhook_tls_verify = true;
  /// Extra PEM CA file trusted for webhook receivers; empty for none.
  std::string webhook_ca_file;
  /// Where webhooks may connect (`protocol/address_policy.hpp`): a comma
  /// list of `external`, `private`, `loopback`, `*`, host names, globs and
  /// CIDRs, in normal form once loaded.
  std::string webhook_allowed_hosts = "external";
  /// Reverse proxies whose `X-Forwarded-For` names the client (a comma
  /// list of CIDRs, normal form once loaded; empty: none). Throttling and
  /// logs see the client's address instead of the proxy's, and connections
  /// from these addresses are not bounded per address.
  std::string trusted_proxies;
  /// Browser origins that may call the agent API and the trigger URLs
  /// (CORS): a comma list of `scheme://host[:port]`, or `*`; empty: none.
  std::string cors_origins;
  /// Who push services may contact about this server's pushes (the VAPID
  /// `sub` claim): `mailto:…` or `https://…`; empty: the public URL when it
  /// is https, else `mailto:nod-server@localhost`.
  std::string push_contact;
  /// SMTP server for the email channel; empty host: no email.
  std::string smtp_host;
  size_t smtp_port = 587;
  /// `starttls` (required), `tls` (implicit, port 465) or `none`.
  std::string smtp_tls = "starttls";
  /// Verify the SMTP server's certificate (off only for tests).
  bool smtp_tls_verify = true;
  /// AUTH PLAIN credentials; empty user: no AUTH.
  std::string smtp_user;
  std::string smtp_password;
  /// The From address of notification emails.
  std::string smtp_from = "nod@localhost";
  /// NATS servers of cluster mode (`nats://host:port`, normal form: a
  /// comma list); empty: a single server with its embedded store.
  std::string cluster_nats;
  /// This node's name in the cluster; empty: the host name.
  std::string node_name;
  /// Where the other nodes relay requests while this node leads; empty:
  /// `http://` and the listen address (the host name when listening on
  /// every address).
  std::string node_url;
  /// Copies NATS JetStream keeps of the journal (1-5).
  size_t cluster_replicas = 3;
  /// How long a leader holds the cluster without renewing its lease: the
  /// longest a dead leader's work waits for another node.
  std::chrono::milliseconds cluster_lease{10000};
  /// How long the cluster's journal stream keeps an entry; 0 for ever.
  std::chrono::milliseconds cluster_journal_max_age{7LL * 86400000};
};

/// The URLs of `cluster-nats`, one per element.
std::vector<std::string> cluster_servers(const config& cfg);

/// What `load_config` decided.
struct config_result {
  enum class outcome {
    /// Start the server with `cfg`.
    run,
    /// `--help` or `--version` was asked for; `message` holds the text to
    /// print on stdout (without the final newline), exit status 0.
    print_and_exit,
    /// A setting was bad; `message` is one line naming it, exit status 2.
    error,
  };
  outcome what = outcome::run;
  config cfg;
  std::string message;
};

/// Loads the configuration from `path` (if given by `--config` or
/// `NOD_CONFIG`), the environment (`env`, as `NAME=value` strings, usually
/// `environ`) and `args` (argv without the program name). Never throws.
config_result load_config(const std::vector<std::string>& args,
                          const std::vector<std::string>& env);

/// The `--help` text: every setting, its flag, env name and default.
std::string config_help();

/// The flags of the settings SIGHUP applies to a running server; `--help`
/// marks them, and a reload names any other changed setting as needing a
/// restart. (SIGHUP also reads tls-cert and tls-key again, at the paths the
/// server started with.)
const std::vector<std::string>& reloaded_on_sighup();

/// The flags of the settings whose values differ between `a` and `b`, in
/// the order of `--help` (what a reload reports). Secrets are compared by
/// value, though `--help` never shows them.
std::vector<std::string> changed_settings(const config& a, const config& b);

/// Checks values that need the file system (data dir writable). Returns an
/// error line naming the setting, or nothing when all is well.
std::optional<std::string> validate_environment(const config& cfg);

} // namespace nod
