#include "config/config.hpp"

#include "config/values.hpp"
#include "protocol/address_policy.hpp"
#include "protocol/text.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <map>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#ifndef NOD_VERSION
// Builds outside CMake (e.g. compiling this file by hand) still get a
// version; CMake passes the project version.
#  define NOD_VERSION "0.1.0"
#endif

namespace nod {

namespace {

using namespace config_values;

// -- the settings table ------------------------------------------------------

/// One setting: how it is named everywhere, documented and parsed.
struct setting {
  /// Flag and config file key, e.g. "listen" for `--listen=VALUE`.
  const char* flag;
  /// Environment variable, e.g. "NOD_LISTEN".
  const char* env;
  /// Placeholder for the value in `--help`.
  const char* metavar;
  /// One sentence for `--help`.
  const char* help;
  /// The current value as text; applied to a default config for `--help`.
  std::function<std::string(const config&)> show;
  /// Parses `value` into the config; returns why it is bad.
  std::function<reason(config&, const std::string&)> set;
};

// Factories for the common kinds; `help` names the range where it has one.

setting count(const char* flag, const char* env, const char* help,
              size_t config::*field, long long lo, long long hi) {
  return {flag,
          env,
          "N",
          help,
          [field](const config& c) {
            return std::to_string(c.*field);
          },
          [field, lo, hi](config& c, const std::string& v) {
            return parse_count(v, lo, hi, c.*field);
          }};
}

setting size(const char* flag, const char* env, const char* help,
             size_t config::*field) {
  return {flag,
          env,
          "SIZE",
          help,
          [field](const config& c) {
            return format_size(c.*field);
          },
          [field](config& c, const std::string& v) {
            return parse_size(v, c.*field);
          }};
}

// A setting held as milliseconds, shown and read by `format` and `parse`.
setting milliseconds_setting(const char* flag, const char* env,
                             const char* help,
                             std::chrono::milliseconds config::*field,
                             std::string (*format)(std::chrono::milliseconds),
                             reason (*parse)(const std::string&,
                                             std::chrono::milliseconds&)) {
  return {flag,
          env,
          "DURATION",
          help,
          [field, format](const config& c) {
            return format(c.*field);
          },
          [field, parse](config& c, const std::string& v) {
            return parse(v, c.*field);
          }};
}

setting duration(const char* flag, const char* env, const char* help,
                 std::chrono::milliseconds config::*field) {
  return milliseconds_setting(
    flag, env, help, field, format_duration,
    [](const std::string& v, std::chrono::milliseconds& out) {
      return parse_duration(v, out);
    });
}

// A retention period: a duration up to a century, or off.
setting retention(const char* flag, const char* env, const char* help,
                  std::chrono::milliseconds config::*field) {
  return milliseconds_setting(flag, env, help, field, format_retention,
                              parse_retention);
}

setting boolean(const char* flag, const char* env, const char* help,
                bool config::*field) {
  return {flag,
          env,
          "BOOL",
          help,
          [field](const config& c) -> std::string {
            return c.*field ? "true" : "false";
          },
          [field](config& c, const std::string& v) {
            return parse_bool(v, c.*field);
          }};
}

const std::vector<setting> settings = {
  {"listen", "NOD_LISTEN", "HOST:PORT",
   "Address to listen on; port 0 picks a free port.",
   [](const config& c) {
     return format_listen(c);
   },
   [](config& c, const std::string& v) {
     return parse_listen(v, c);
   }},
  {"data-dir", "NOD_DATA_DIR", "DIR",
   "Directory of the embedded store; created if missing.",
   [](const config& c) {
     return c.data_dir;
   },
   [](config& c, const std::string& v) -> reason {
     if (v.empty())
       return std::string("must not be empty");
     c.data_dir = v;
     return std::nullopt;
   }},
  {"backup-dir", "NOD_BACKUP_DIR", "DIR",
   "Where POST /api/admin/backups and `nod-server backup` put backups.",
   [](const config& c) -> std::string {
     return c.backup_dir.empty() ? "(DATA-DIR/backups)" : c.backup_dir;
   },
   [](config& c, const std::string& v) -> reason {
     c.backup_dir = v;
     return std::nullopt;
   }},
  retention("activity-retention", "NOD_ACTIVITY_RETENTION",
            "How long activity entries (status, alerts) are kept, e.g. 30d; "
            "off keeps them.",
            &config::activity_retention),
  retention("delivered-event-retention", "NOD_DELIVERED_EVENT_RETENTION",
            "How long events to agents are kept once delivered, with their "
            "delivery records; off keeps them.",
            &config::delivered_event_retention),
  retention("run-retention", "NOD_RUN_RETENTION",
            "How long ended task runs are kept; off keeps them.",
            &config::run_retention),
  retention("message-retention", "NOD_MESSAGE_RETENTION",
            "How long messages and resolved decisions are kept; off (the "
            "default) keeps them.",
            &config::message_retention),
  duration("retention-interval", "NOD_RETENTION_INTERVAL",
           "Time between two retention sweeps.", &config::retention_interval),
  {"log-level", "NOD_LOG_LEVEL", "LEVEL",
   "One of trace, debug, info, warn, error, critical, off.",
   [](const config& c) {
     return c.log_level;
   },
   [](config& c, const std::string& v) {
     return parse_log_level(v, c.log_level);
   }},
  {"log-format", "NOD_LOG_FORMAT", "FORMAT",
   "text (readable lines) or json (one JSON object per line).",
   [](const config& c) {
     return c.log_format;
   },
   [](config& c, const std::string& v) -> reason {
     std::string s = v;
     for (auto& ch : s)
       ch = text::ascii_lower(ch);
     if (s != "text" && s != "json")
       return quote(v) + " is not one of text, json";
     c.log_format = s;
     return std::nullopt;
   }},
  boolean("access-log", "NOD_ACCESS_LOG",
          "Log one info line per HTTP request answered (costs CPU under "
          "load).",
          &config::access_log),
  {"admin-password", "NOD_ADMIN_PASSWORD", "PASSWORD",
   "Password of the admin user on a fresh data directory.",
   // Never print a secret; only say whether one is set.
   [](const config& c) -> std::string {
     return c.admin_password.empty() ? "(random on first start)" : "(set)";
   },
   [](config& c, const std::string& v) -> reason {
     c.admin_password = v;
     return std::nullopt;
   }},
  {"tls-cert", "NOD_TLS_CERT", "PATH",
   "PEM certificate chain: the listen port speaks HTTPS and WSS (with "
   "tls-key; the files are read again on SIGHUP).",
   [](const config& c) -> std::string {
     return c.tls_cert.empty() ? "(none: plain HTTP)" : c.tls_cert;
   },
   [](config& c, const std::string& v) -> reason {
     c.tls_cert = v;
     return std::nullopt;
   }},
  {"tls-key", "NOD_TLS_KEY", "PATH", "PEM private key of tls-cert.",
   [](const config& c) -> std::string {
     return c.tls_key.empty() ? "(none)" : c.tls_key;
   },
   [](config& c, const std::string& v) -> reason {
     c.tls_key = v;
     return std::nullopt;
   }},
  {"metrics-token", "NOD_METRICS_TOKEN", "TOKEN",
   "Bearer token GET /metrics asks for (Authorization: Bearer TOKEN); "
   "unset, /metrics is open.",
   // Never print a secret; only say whether one is set.
   [](const config& c) -> std::string {
     return c.metrics_token.empty() ? "(none: open)" : "(set)";
   },
   [](config& c, const std::string& v) -> reason {
     for (char ch : v)
       if (static_cast<unsigned char>(ch) <= 0x20
           || static_cast<unsigned char>(ch) >= 0x7f)
         return "must be printable ASCII without spaces";
     c.metrics_token = v;
     return std::nullopt;
   }},
  {"public-url", "NOD_PUBLIC_URL", "URL",
   "Base http(s) URL for trigger URLs and media links.",
   [](const config& c) -> std::string {
     return c.public_url.empty() ? "(derived from listen)" : c.public_url;
   },
   [](config& c, const std::string& v) {
     return parse_public_url(v, c.public_url);
   }},
  count("io-threads", "NOD_IO_THREADS",
        "Threads serving HTTP and WebSocket sessions (1-64).",
        &config::io_threads, 1, 64),
  count("worker-threads", "NOD_WORKER_THREADS",
        "Actor worker threads (0-256); 0 means one per core.",
        &config::worker_threads, 0, 256),
  boolean("journal-sync", "NOD_JOURNAL_SYNC",
          "fsync every journal batch before acknowledging it.",
          &config::journal_sync),
  count("journal-max-batch", "NOD_JOURNAL_MAX_BATCH",
        "Most appends per journal write batch (1-1000000).",
        &config::journal_max_batch, 1, 1000000),
  count("agent-rate", "NOD_AGENT_RATE",
        "Events per second one agent may send, sustained (1-1000000).",
        &config::agent_rate, 1, 1000000),
  count("agent-burst", "NOD_AGENT_BURST",
        "Events one agent may send at once above its rate (1-1000000).",
        &config::agent_burst, 1, 1000000),
  count("trigger-rate", "NOD_TRIGGER_RATE",
        "Calls per second one task trigger URL takes, sustained (1-1000000).",
        &config::trigger_rate, 1, 1000000),
  count("trigger-burst", "NOD_TRIGGER_BURST",
        "Calls one task trigger URL takes at once above its rate "
        "(1-1000000).",
        &config::trigger_burst, 1, 1000000),
  size("max-body-bytes", "NOD_MAX_BODY_BYTES",
       "Largest HTTP request body, e.g. 6MiB (1KiB-1GiB).",
       &config::max_body_bytes),
  size("max-body-memory", "NOD_MAX_BODY_MEMORY",
       "Request-body bytes all connections may hold at once, e.g. 128MiB "
       "(1KiB-1GiB; at least max-body-bytes); more get 503.",
       &config::max_body_memory),
  size("max-frame-bytes", "NOD_MAX_FRAME_BYTES",
       "Largest WebSocket frame, e.g. 6MiB (1KiB-1GiB).",
       &config::max_frame_bytes),
  duration("http-timeout", "NOD_HTTP_TIMEOUT",
           "Time a client has to send a complete request (e.g. 500ms, 30s, "
           "2m).",
           &config::http_timeout),
  duration("idle-timeout", "NOD_IDLE_TIMEOUT",
           "Time an idle keep-alive connection stays open.",
           &config::idle_timeout),
  count("max-connections", "NOD_MAX_CONNECTIONS",
        "Open connections at most, HTTP and WebSocket (1-10000000); more "
        "get 503.",
        &config::max_connections, 1, 10000000),
  count("max-connections-per-ip", "NOD_MAX_CONNECTIONS_PER_IP",
        "Open connections from one client address at most (0-10000000); 0 "
        "for no bound (behind a reverse proxy every client has its address).",
        &config::max_connections_per_ip, 0, 10000000),
  count("max-sockets-per-agent", "NOD_MAX_SOCKETS_PER_AGENT",
        "Authenticated WebSockets of one agent at most (1-1000); a newer one "
        "closes the oldest.",
        &config::max_sockets_per_agent, 1, 1000),
  duration("shutdown-grace", "NOD_SHUTDOWN_GRACE",
           "Time shutdown waits for in-flight requests before closing them.",
           &config::shutdown_grace),
  count("webhook-attempts", "NOD_WEBHOOK_ATTEMPTS",
        "Webhook attempts in all per event (1-20).", &config::webhook_attempts,
        1, 20),
  duration("webhook-backoff", "NOD_WEBHOOK_BACKOFF",
           "Delay before the first webhook retry (later ones grow by the "
           "factor).",
           &config::webhook_backoff),
  count("webhook-backoff-factor", "NOD_WEBHOOK_BACKOFF_FACTOR",
        "Each webhook retry waits this many times the one before (1-100).",
        &config::webhook_backoff_factor, 1, 100),
  duration("webhook-retry-after-max", "NOD_WEBHOOK_RETRY_AFTER_MAX",
           "Longest wait a webhook receiver's Retry-After may ask for.",
           &config::webhook_retry_after_max),
  duration("webhook-timeout", "NOD_WEBHOOK_TIMEOUT",
           "Time one webhook attempt may take in all.",
           &config::webhook_timeout),
  count("webhook-max-per-host", "NOD_WEBHOOK_MAX_PER_HOST",
        "Webhook requests in flight to one host at most (1-1000).",
        &config::webhook_max_per_host, 1, 1000),
  count("ack-window", "NOD_ACK_WINDOW",
        "Events pushed to one agent socket and not yet acknowledged (or, "
        "without acks, written) at most (1-100000).",
        &config::ack_window, 1, 100000),
  boolean("webhook-tls-verify", "NOD_WEBHOOK_TLS_VERIFY",
          "Verify webhook receivers' TLS certificates.",
          &config::webhook_tls_verify),
  {"webhook-ca-file", "NOD_WEBHOOK_CA_FILE", "PATH",
   "Extra PEM CA file trusted for webhook receivers.",
   [](const config& c) -> std::string {
     return c.webhook_ca_file.empty() ? "(none)" : c.webhook_ca_file;
   },
   [](config& c, const std::string& v) -> reason {
     c.webhook_ca_file = v;
     return std::nullopt;
   }},
  {"webhook-allowed-hosts", "NOD_WEBHOOK_ALLOWED_HOSTS", "LIST",
   "Where webhooks may connect: external, private, loopback, *, host names, "
   "globs (*.example.com), CIDRs (10.0.0.0/8), comma-separated.",
   [](const config& c) {
     return c.webhook_allowed_hosts;
   },
   [](config& c, const std::string& v) {
     return parse_allowed_hosts(v, c.webhook_allowed_hosts);
   }},
  {"cors-origins", "NOD_CORS_ORIGINS", "LIST",
   "Browser origins that may call the agent API and trigger URLs (CORS): "
   "https://app.example.com, comma-separated, or *.",
   [](const config& c) -> std::string {
     return c.cors_origins.empty() ? "(none)" : c.cors_origins;
   },
   [](config& c, const std::string& v) {
     return parse_cors_origins(v, c.cors_origins);
   }},
  {"push-contact", "NOD_PUSH_CONTACT", "URI",
   "Contact push services may use about this server's pushes (VAPID sub): "
   "mailto:ops@example.com or an https URL; default: the public URL if "
   "https.",
   [](const config& c) -> std::string {
     return c.push_contact.empty() ? "(public URL)" : c.push_contact;
   },
   [](config& c, const std::string& v) -> reason {
     // It goes into a JWT claim as is: no quotes, spaces or controls.
     bool plain = std::all_of(v.begin(), v.end(), [](char ch) {
       return ch > ' ' && ch < 0x7f && ch != '"' && ch != '\\';
     });
     if (v.empty() || !plain
         || (v.rfind("mailto:", 0) != 0 && v.rfind("https://", 0) != 0))
       return "must be mailto:ADDRESS or an https:// URL";
     c.push_contact = v;
     return std::nullopt;
   }},
  {"smtp-host", "NOD_SMTP_HOST", "HOST",
   "SMTP server for notification emails; empty: no email channel.",
   [](const config& c) -> std::string {
     return c.smtp_host.empty() ? "(none)" : c.smtp_host;
   },
   [](config& c, const std::string& v) -> reason {
     c.smtp_host = v;
     return std::nullopt;
   }},
  count("smtp-port", "NOD_SMTP_PORT",
        "SMTP port (587 for STARTTLS, 465 for TLS).", &config::smtp_port, 1,
        65535),
  {"smtp-tls", "NOD_SMTP_TLS", "MODE",
   "starttls (required), tls (implicit, port 465) or none.",
   [](const config& c) {
     return c.smtp_tls;
   },
   [](config& c, const std::string& v) -> reason {
     if (v != "starttls" && v != "tls" && v != "none")
       return "must be starttls, tls or none";
     c.smtp_tls = v;
     return std::nullopt;
   }},
  boolean("smtp-tls-verify", "NOD_SMTP_TLS_VERIFY",
          "Verify the SMTP server's TLS certificate.",
          &config::smtp_tls_verify),
  {"smtp-user", "NOD_SMTP_USER", "NAME", "SMTP AUTH user; empty: no AUTH.",
   [](const config& c) -> std::string {
     return c.smtp_user.empty() ? "(none)" : c.smtp_user;
   },
   [](config& c, const std::string& v) -> reason {
     c.smtp_user = v;
     return std::nullopt;
   }},
  {"smtp-password", "NOD_SMTP_PASSWORD", "SECRET", "SMTP AUTH password.",
   [](const config& c) -> std::string {
     return c.smtp_password.empty() ? "(none)" : "(set)";
   },
   [](config& c, const std::string& v) -> reason {
     c.smtp_password = v;
     return std::nullopt;
   }},
  {"smtp-from", "NOD_SMTP_FROM", "ADDRESS",
   "From address of notification emails.",
   [](const config& c) {
     return c.smtp_from;
   },
   [](config& c, const std::string& v) -> reason {
     // A bare address or "Name <address>"; it goes into a header.
     if (v.find_first_of("\r\n") != std::string::npos
         || v.find('@') == std::string::npos)
       return "must be an email address";
     c.smtp_from = v;
     return std::nullopt;
   }},
  {"trusted-proxies", "NOD_TRUSTED_PROXIES", "CIDRS",
   "Reverse proxies whose X-Forwarded-For names the client, as CIDRs "
   "(127.0.0.1/32, 10.0.0.0/8), comma-separated.",
   [](const config& c) -> std::string {
     return c.trusted_proxies.empty() ? "(none)" : c.trusted_proxies;
   },
   [](config& c, const std::string& v) {
     return parse_trusted_proxies(v, c.trusted_proxies);
   }},
  {"cluster-nats", "NOD_CLUSTER_NATS", "URLS",
   "NATS servers of cluster mode (nats://host:4222, comma-separated); "
   "empty: a single server (docs/cluster.md).",
   [](const config& c) -> std::string {
     return c.cluster_nats.empty() ? "(none: a single server)" : c.cluster_nats;
   },
   [](config& c, const std::string& v) {
     return parse_nats_urls(v, c.cluster_nats);
   }},
  {"node-name", "NOD_NODE_NAME", "NAME",
   "This node's name in the cluster (letters, digits, . _ -); default: the "
   "host name.",
   [](const config& c) -> std::string {
     return c.node_name.empty() ? "(host name)" : c.node_name;
   },
   [](config& c, const std::string& v) {
     return parse_node_name(v, c.node_name);
   }},
  {"node-url", "NOD_NODE_URL", "URL",
   "Where the other nodes relay requests while this node leads "
   "(http://HOST:PORT); default: the listen address, or the host name when "
   "listening on every address.",
   [](const config& c) -> std::string {
     return c.node_url.empty() ? "(from listen)" : c.node_url;
   },
   [](config& c, const std::string& v) {
     return parse_node_url(v, c.node_url);
   }},
  count("cluster-replicas", "NOD_CLUSTER_REPLICAS",
        "Copies NATS JetStream keeps of the journal (1-5), set when the "
        "cluster's stream is made.",
        &config::cluster_replicas, 1, 5),
  duration("cluster-lease", "NOD_CLUSTER_LEASE",
           "How long the leader's lease lasts unrenewed: the longest a dead "
           "leader holds the cluster up (set when the cluster is made).",
           &config::cluster_lease),
  retention("cluster-journal-max-age", "NOD_CLUSTER_JOURNAL_MAX_AGE",
            "How long the cluster's journal stream keeps an entry, e.g. 7d; "
            "a node down longer starts from a backup of another; off keeps "
            "them.",
            &config::cluster_journal_max_age),
};

const setting* find_setting(const std::string& flag) {
  for (auto& s : settings)
    if (flag == s.flag)
      return &s;
  return nullptr;
}

// -- sources -----------------------------------------------------------------

/// A value for a setting and where it came from, e.g. "--listen".
struct assignment {
  const setting* what;
  std::string value;
  std::string source;
};

reason apply(config& cfg, const assignment& a) {
  if (auto why = a.what->set(cfg, a.value))
    return "invalid value for " + std::string(a.what->flag) + " (" + a.source
           + "): " + *why;
  return std::nullopt;
}

/// What the command line asked for, before any value is applied.
struct parsed_args {
  bool help = false;
  bool version = false;
  std::optional<std::string> config_path;
  std::vector<assignment> values;
  /// First syntax error; reported unless `--help` was also given.
  std::optional<std::string> error;
};

parsed_args parse_args(const std::vector<std::string>& args) {
  parsed_args out;
  auto fail = [&](std::string msg) {
    if (!out.error)
      out.error = std::move(msg);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (arg == "--version") {
      out.version = true;
      continue;
    }
    if (!starts_with(arg, "--") || arg == "--") {
      if (starts_with(arg, "-") && arg.size() > 1 && arg != "--")
        fail("unknown flag " + arg + " (see --help)");
      else
        fail("unexpected argument " + quote(arg));
      continue;
    }
    auto eq = arg.find('=');
    auto name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    if (name == "help" || name == "version") {
      fail("flag --" + name + " takes no value");
      continue;
    }
    const setting* s = find_setting(name);
    if (s == nullptr && name != "config") {
      fail("unknown flag --" + name + " (see --help)");
      continue;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size() && !starts_with(args[i + 1], "--")) {
      // A following "--flag" is more likely a forgotten value than a value;
      // `--name=--x` still passes such a value.
      value = args[++i];
    } else {
      fail("missing value for --" + name + " (use --" + name + "=VALUE)");
      continue;
    }
    if (s == nullptr)
      out.config_path = value;
    else
      out.values.push_back({s, value, "--" + name});
  }
  return out;
}

/// Turns `NAME=value` strings into a map; the last one of a name wins.
std::map<std::string, std::string>
parse_env(const std::vector<std::string>& env) {
  std::map<std::string, std::string> out;
  for (const auto& entry : env) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || !starts_with(entry, "NOD_"))
      continue;
    out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

reason read_file(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return std::string(std::strerror(errno));
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  // fopen succeeds on a directory; the read then fails with EISDIR.
  int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0)
    return std::string(std::strerror(err));
  return std::nullopt;
}

/// Parses a double-quoted value starting at `text[0] == '"'`.
reason unquote(const std::string& text, std::string& out) {
  out.clear();
  size_t i = 1;
  for (; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) {
      out += text[++i];
      continue;
    }
    return std::string("unknown escape in quoted value (only \\\" and \\\\)");
  }
  if (i >= text.size())
    return std::string("missing closing quote");
  auto rest = trim(text.substr(i + 1));
  if (!rest.empty() && rest[0] != '#')
    return "unexpected text after closing quote: " + quote(rest);
  return std::nullopt;
}

/// Reads the config file at `path` (named by `origin`, e.g. "--config").
reason parse_file(const std::string& path, const std::string& origin,
                  std::vector<assignment>& out) {
  std::string text;
  if (auto why = read_file(path, text))
    return "invalid value for config (" + origin + "): cannot read " + path
           + ": " + *why;
  if (starts_with(text, "\xEF\xBB\xBF"))
    text.erase(0, 3); // UTF-8 byte order mark from some editors
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    auto line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    auto where = "config file " + path + " line " + std::to_string(line_no);
    if (line.empty() || line[0] == '#')
      continue;
    if (line.front() == '[' && line.back() == ']')
      continue; // section headers like [server] only group lines
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return where + ": expected \"setting = value\", got " + quote(line);
    auto key = trim(line.substr(0, eq));
    auto raw = trim(line.substr(eq + 1));
    const setting* s = find_setting(key);
    if (s == nullptr)
      return where + ": unknown setting " + quote(key);
    std::string value = raw;
    if (!raw.empty() && raw[0] == '"') {
      if (auto why = unquote(raw, value))
        return "invalid value for " + key + " (" + where + "): " + *why;
    }
    out.push_back({s, value, where});
  }
  return std::nullopt;
}

config_result fail_with(std::string message) {
  config_result r;
  r.what = config_result::outcome::error;
  // Error messages are promised to be one line; values from flags and the
  // environment may contain control characters.
  r.message = text::one_line(message);
  return r;
}

config_result load(const std::vector<std::string>& args,
                   const std::vector<std::string>& env) {
  auto cli = parse_args(args);
  config_result r;
  if (cli.help) {
    r.what = config_result::outcome::print_and_exit;
    r.message = config_help();
    return r;
  }
  if (cli.error)
    return fail_with(*cli.error);
  if (cli.version) {
    r.what = config_result::outcome::print_and_exit;
    r.message = std::string("nod-server ") + NOD_VERSION;
    return r;
  }
  auto vars = parse_env(env);
  // Weakest first: the file, then the environment, then flags.
  std::vector<assignment> values;
  std::string path;
  std::string origin;
  if (cli.config_path) {
    path = *cli.config_path;
    origin = "--config";
  } else if (auto it = vars.find("NOD_CONFIG"); it != vars.end()) {
    path = it->second;
    origin = "NOD_CONFIG";
  }
  if (!path.empty()) {
    if (auto err = parse_file(path, origin, values))
      return fail_with(*err);
    r.cfg.config_file = path;
  } else if (cli.config_path) {
    return fail_with("invalid value for config (--config): path is empty");
  }
  for (auto& s : settings)
    if (auto it = vars.find(s.env); it != vars.end())
      values.push_back({&s, it->second, s.env});
  for (auto& v : cli.values)
    values.push_back(std::move(v));
  for (const auto& v : values)
    if (auto err = apply(r.cfg, v))
      return fail_with(*err);
  return r;
}

std::string data_dir_error(const std::string& what) {
  return text::one_line("invalid value for data-dir: " + what);
}

// Creates and removes a file in `dir` to prove it is writable.
reason probe_writable(const std::filesystem::path& dir) {
  auto probe = dir / (".nod-write-probe-" + std::to_string(::getpid()));
  int fd
    = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return "cannot write to " + dir.string() + ": " + std::strerror(errno);
  ::close(fd);
  if (::unlink(probe.c_str()) != 0)
    return "cannot remove " + probe.string() + ": " + std::strerror(errno);
  return std::nullopt;
}

} // namespace

config_result load_config(const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  try {
    return load(args, env);
  } catch (const std::exception& e) {
    // Only allocation can throw here; report it instead of terminating.
    return fail_with(std::string("cannot load configuration: ") + e.what());
  }
}

std::string config_help() {
  struct row {
    std::string flag;
    std::string env;
    std::string text;
  };
  const config defaults;
  std::vector<row> rows = {
    {"-h, --help", "", "Print this help and exit."},
    {"--version", "", "Print the version and exit."},
    {"--config=FILE", "NOD_CONFIG",
     "Read settings from FILE (\"setting = value\" lines). (default: none)"},
  };
  const auto& reloaded = reloaded_on_sighup();
  for (auto& s : settings) {
    std::string text = s.help;
    if (std::find(reloaded.begin(), reloaded.end(), s.flag) != reloaded.end())
      text += " Reloaded on SIGHUP.";
    rows.push_back({std::string("--") + s.flag + "=" + s.metavar, s.env,
                    text + " (default: " + s.show(defaults) + ")"});
  }
  size_t flag_width = 0;
  size_t env_width = 0;
  for (auto& r : rows) {
    flag_width = std::max(flag_width, r.flag.size());
    env_width = std::max(env_width, r.env.size());
  }
  std::string out = "Usage: nod-server [--config FILE] [--SETTING=VALUE ...]\n"
                    "       nod-server user add NAME [--admin] "
                    "[--data-dir=DIR]\n"
                    "       nod-server user passwd NAME [--data-dir=DIR]\n"
                    "         (people, while the server is stopped; the "
                    "password from\n"
                    "         NOD_USER_PASSWORD or the first line of standard "
                    "input)\n"
                    "\n"
                    "Precedence: defaults < config file (--config FILE or "
                    "NOD_CONFIG) < NOD_* "
                    "environment < flags.\n"
                    "Config file: one \"SETTING = VALUE\" per line, e.g. "
                    "\"data-dir = /var/lib/nod\"; # starts a comment.\n"
                    "\n";
  for (auto& r : rows) {
    auto line = "  " + r.flag + std::string(flag_width - r.flag.size() + 2, ' ')
                + r.env + std::string(env_width - r.env.size() + 2, ' ')
                + r.text;
    out += line + "\n";
  }
  out.pop_back(); // callers add the final newline, as for other messages
  return out;
}

const std::vector<std::string>& reloaded_on_sighup() {
  static const std::vector<std::string> flags{"log-level",
                                              "log-format",
                                              "access-log",
                                              "activity-retention",
                                              "delivered-event-retention",
                                              "run-retention",
                                              "message-retention",
                                              "retention-interval"};
  return flags;
}

std::vector<std::string> changed_settings(const config& a, const config& b) {
  // `show` prints only whether a secret is set.
  auto same_secret = [&](const std::string& flag) {
    if (flag == "admin-password")
      return a.admin_password == b.admin_password;
    if (flag == "metrics-token")
      return a.metrics_token == b.metrics_token;
    if (flag == "smtp-password")
      return a.smtp_password == b.smtp_password;
    return true;
  };
  std::vector<std::string> out;
  for (auto& s : settings)
    if (s.show(a) != s.show(b) || !same_secret(s.flag))
      out.emplace_back(s.flag);
  return out;
}

std::optional<std::string> validate_environment(const config& cfg) {
  try {
    namespace fs = std::filesystem;
    if (cfg.data_dir.empty())
      return data_dir_error("must not be empty");
    fs::path dir(cfg.data_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return data_dir_error("cannot create " + cfg.data_dir + ": "
                            + ec.message());
    if (!fs::is_directory(dir, ec))
      return data_dir_error(cfg.data_dir + " is not a directory");
    if (auto why = probe_writable(dir))
      return data_dir_error(*why);
    return std::nullopt;
  } catch (const std::exception& e) {
    return data_dir_error(std::string("cannot check ") + cfg.data_dir + ": "
                          + e.what());
  }
}

std::vector<std::string> cluster_servers(const config& cfg) {
  return config_values::split_list(cfg.cluster_nats);
}

} // namespace nod
