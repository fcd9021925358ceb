#include "config/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nod::config;
using nod::config_result;
using outcome = nod::config_result::outcome;
using strings = std::vector<std::string>;

/// A unique directory under /tmp, removed with its contents on destruction.
class temp_dir {
public:
  temp_dir() {
    char tmpl[] = "/tmp/nod-config-test-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr)
      path_ = tmpl;
  }

  ~temp_dir() {
    std::error_code ec;
    if (!path_.empty())
      fs::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// The directory; empty if mkdtemp failed.
  const std::string& path() const {
    return path_;
  }

  /// Writes `text` to `name` inside the directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    auto file = path_ + "/" + name;
    std::ofstream out(file, std::ios::binary);
    out << text;
    return file;
  }

private:
  std::string path_;
};

class config_test : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
  }

  /// Loads and expects success; returns the config.
  config must_load(const strings& args, const strings& env = {}) {
    auto r = nod::load_config(args, env);
    EXPECT_EQ(r.what, outcome::run) << r.message;
    EXPECT_EQ(r.message, "");
    return r.cfg;
  }

  /// Loads and expects an error; returns the message.
  std::string must_fail(const strings& args, const strings& env = {}) {
    auto r = nod::load_config(args, env);
    EXPECT_EQ(r.what, outcome::error);
    EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
    EXPECT_FALSE(r.message.empty());
    return r.message;
  }

  temp_dir dir_;
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// -- every setting, one good value -------------------------------------------

struct good_case {
  std::string flag;
  std::string env;
  std::string value;
  std::function<void(const config&)> check;
};

std::vector<good_case> good_cases() {
  using ms = std::chrono::milliseconds;
  return {
    {"listen", "NOD_LISTEN", "0.0.0.0:9000",
     [](const config& c) {
       EXPECT_EQ(c.listen_host, "0.0.0.0");
       EXPECT_EQ(c.listen_port, 9000);
     }},
    {"data-dir", "NOD_DATA_DIR", "/var/lib/nod",
     [](const config& c) {
       EXPECT_EQ(c.data_dir, "/var/lib/nod");
     }},
    {"backup-dir", "NOD_BACKUP_DIR", "/srv/nod-backups",
     [](const config& c) {
       EXPECT_EQ(c.backup_dir, "/srv/nod-backups");
     }},
    {"activity-retention", "NOD_ACTIVITY_RETENTION", "7d",
     [](const config& c) {
       EXPECT_EQ(c.activity_retention.count(), 7LL * 86400000);
     }},
    {"delivered-event-retention", "NOD_DELIVERED_EVENT_RETENTION", "12h",
     [](const config& c) {
       EXPECT_EQ(c.delivered_event_retention.count(), 12LL * 3600000);
     }},
    {"run-retention", "NOD_RUN_RETENTION", "off",
     [](const config& c) {
       EXPECT_EQ(c.run_retention.count(), 0);
     }},
    {"message-retention", "NOD_MESSAGE_RETENTION", "2s",
     [](const config& c) {
       EXPECT_EQ(c.message_retention.count(), 2000);
     }},
    {"retention-interval", "NOD_RETENTION_INTERVAL", "1s",
     [](const config& c) {
       EXPECT_EQ(c.retention_interval.count(), 1000);
     }},
    {"log-level", "NOD_LOG_LEVEL", "debug",
     [](const config& c) {
       EXPECT_EQ(c.log_level, "debug");
     }},
    {"log-format", "NOD_LOG_FORMAT", "JSON",
     [](const config& c) {
       EXPECT_EQ(c.log_format, "json");
     }},
    {"access-log", "NOD_ACCESS_LOG", "on",
     [](const config& c) {
       EXPECT_TRUE(c.access_log);
     }},
    {"admin-password", "NOD_ADMIN_PASSWORD", "s3cret pass",
     [](const config& c) {
       EXPECT_EQ(c.admin_password, "s3cret pass");
     }},
    {"metrics-token", "NOD_METRICS_TOKEN", "scrape-Me_0",
     [](const config& c) {
       EXPECT_EQ(c.metrics_token, "scrape-Me_0");
     }},
    {"public-url", "NOD_PUBLIC_URL", "https://nod.example.com/",
     [](const config& c) {
       EXPECT_EQ(c.public_url, "https://nod.example.com");
     }},
    {"io-threads", "NOD_IO_THREADS", "8",
     [](const config& c) {
       EXPECT_EQ(c.io_threads, 8u);
     }},
    {"worker-threads", "NOD_WORKER_THREADS", "16",
     [](const config& c) {
       EXPECT_EQ(c.worker_threads, 16u);
     }},
    {"journal-sync", "NOD_JOURNAL_SYNC", "off",
     [](const config& c) {
       EXPECT_FALSE(c.journal_sync);
     }},
    {"journal-max-batch", "NOD_JOURNAL_MAX_BATCH", "100",
     [](const config& c) {
       EXPECT_EQ(c.journal_max_batch, 100u);
     }},
    {"agent-rate", "NOD_AGENT_RATE", "50",
     [](const config& c) {
       EXPECT_EQ(c.agent_rate, 50u);
     }},
    {"agent-burst", "NOD_AGENT_BURST", "70",
     [](const config& c) {
       EXPECT_EQ(c.agent_burst, 70u);
     }},
    {"trigger-rate", "NOD_TRIGGER_RATE", "3",
     [](const config& c) {
       EXPECT_EQ(c.trigger_rate, 3u);
     }},
    {"trigger-burst", "NOD_TRIGGER_BURST", "4",
     [](const config& c) {
       EXPECT_EQ(c.trigger_burst, 4u);
     }},
    {"max-body-bytes", "NOD_MAX_BODY_BYTES", "1MiB",
     [](const config& c) {
       EXPECT_EQ(c.max_body_bytes, 1024u * 1024u);
     }},
    {"max-body-memory", "NOD_MAX_BODY_MEMORY", "64MiB",
     [](const config& c) {
       EXPECT_EQ(c.max_body_memory, 64u * 1024u * 1024u);
     }},
    {"max-frame-bytes", "NOD_MAX_FRAME_BYTES", "2048",
     [](const config& c) {
       EXPECT_EQ(c.max_frame_bytes, 2048u);
     }},
    {"http-timeout", "NOD_HTTP_TIMEOUT", "500ms",
     [](const config& c) {
       EXPECT_EQ(c.http_timeout, ms{500});
     }},
    {"idle-timeout", "NOD_IDLE_TIMEOUT", "2m",
     [](const config& c) {
       EXPECT_EQ(c.idle_timeout, ms{120000});
     }},
    {"max-connections", "NOD_MAX_CONNECTIONS", "500",
     [](const config& c) {
       EXPECT_EQ(c.max_connections, 500u);
     }},
    {"max-connections-per-ip", "NOD_MAX_CONNECTIONS_PER_IP", "0",
     [](const config& c) {
       EXPECT_EQ(c.max_connections_per_ip, 0u);
     }},
    {"max-sockets-per-agent", "NOD_MAX_SOCKETS_PER_AGENT", "2",
     [](const config& c) {
       EXPECT_EQ(c.max_sockets_per_agent, 2u);
     }},
    {"shutdown-grace", "NOD_SHUTDOWN_GRACE", "45",
     [](const config& c) {
       EXPECT_EQ(c.shutdown_grace, ms{45000});
     }},
    {"webhook-attempts", "NOD_WEBHOOK_ATTEMPTS", "5",
     [](const config& c) {
       EXPECT_EQ(c.webhook_attempts, 5u);
     }},
    {"webhook-backoff", "NOD_WEBHOOK_BACKOFF", "250ms",
     [](const config& c) {
       EXPECT_EQ(c.webhook_backoff, ms{250});
     }},
    {"webhook-backoff-factor", "NOD_WEBHOOK_BACKOFF_FACTOR", "2",
     [](const config& c) {
       EXPECT_EQ(c.webhook_backoff_factor, 2u);
     }},
    {"webhook-retry-after-max", "NOD_WEBHOOK_RETRY_AFTER_MAX", "1m",
     [](const config& c) {
       EXPECT_EQ(c.webhook_retry_after_max, ms{60000});
     }},
    {"webhook-timeout", "NOD_WEBHOOK_TIMEOUT", "2s",
     [](const config& c) {
       EXPECT_EQ(c.webhook_timeout, ms{2000});
     }},
    {"webhook-max-per-host", "NOD_WEBHOOK_MAX_PER_HOST", "8",
     [](const config& c) {
       EXPECT_EQ(c.webhook_max_per_host, 8u);
     }},
    {"ack-window", "NOD_ACK_WINDOW", "16",
     [](const config& c) {
       EXPECT_EQ(c.ack_window, 16u);
     }},
    {"webhook-tls-verify", "NOD_WEBHOOK_TLS_VERIFY", "false",
     [](const config& c) {
       EXPECT_FALSE(c.webhook_tls_verify);
     }},
    {"webhook-ca-file", "NOD_WEBHOOK_CA_FILE", "/etc/nod/ca.pem",
     [](const config& c) {
       EXPECT_EQ(c.webhook_ca_file, "/etc/nod/ca.pem");
     }},
    {"webhook-allowed-hosts", "NOD_WEBHOOK_ALLOWED_HOSTS",
     "Loopback,10.1.0.0/16, *.Example.com",
     [](const config& c) {
       EXPECT_EQ(c.webhook_allowed_hosts,
                 "loopback, 10.1.0.0/16, *.example.com");
     }},
    {"tls-cert", "NOD_TLS_CERT", "/etc/nod/cert.pem",
     [](const config& c) {
       EXPECT_EQ(c.tls_cert, "/etc/nod/cert.pem");
     }},
    {"tls-key", "NOD_TLS_KEY", "/etc/nod/key.pem",
     [](const config& c) {
       EXPECT_EQ(c.tls_key, "/etc/nod/key.pem");
     }},
    {"trusted-proxies", "NOD_TRUSTED_PROXIES", "127.0.0.1, FD00::/8",
     [](const config& c) {
       EXPECT_EQ(c.trusted_proxies, "127.0.0.1/32, fd00::/8");
     }},
    {"cors-origins", "NOD_CORS_ORIGINS",
     "https://App.example.com, http://localhost:5173,https://app.example.com",
     [](const config& c) {
       EXPECT_EQ(c.cors_origins,
                 "https://app.example.com, http://localhost:5173");
     }},
    {"push-contact", "NOD_PUSH_CONTACT", "mailto:ops@example.com",
     [](const config& c) {
       EXPECT_EQ(c.push_contact, "mailto:ops@example.com");
     }},
    {"smtp-host", "NOD_SMTP_HOST", "mail.example.com",
     [](const config& c) {
       EXPECT_EQ(c.smtp_host, "mail.example.com");
     }},
    {"smtp-port", "NOD_SMTP_PORT", "465",
     [](const config& c) {
       EXPECT_EQ(c.smtp_port, 465u);
     }},
    {"smtp-tls", "NOD_SMTP_TLS", "tls",
     [](const config& c) {
       EXPECT_EQ(c.smtp_tls, "tls");
     }},
    {"smtp-tls-verify", "NOD_SMTP_TLS_VERIFY", "false",
     [](const config& c) {
       EXPECT_FALSE(c.smtp_tls_verify);
     }},
    {"smtp-user", "NOD_SMTP_USER", "nod",
     [](const config& c) {
       EXPECT_EQ(c.smtp_user, "nod");
     }},
    {"smtp-password", "NOD_SMTP_PASSWORD", "s3cret",
     [](const config& c) {
       EXPECT_EQ(c.smtp_password, "s3cret");
     }},
    {"smtp-from", "NOD_SMTP_FROM", "Nod <nod@example.com>",
     [](const config& c) {
       EXPECT_EQ(c.smtp_from, "Nod <nod@example.com>");
     }},
    {"cluster-nats", "NOD_CLUSTER_NATS",
     " nats://10.0.0.1:4222,, tls://nats.example.com:4222 ",
     [](const config& c) {
       EXPECT_EQ(c.cluster_nats,
                 "nats://10.0.0.1:4222,tls://nats.example.com:4222");
       EXPECT_EQ(cluster_servers(c),
                 (std::vector<std::string>{"nats://10.0.0.1:4222",
                                           "tls://nats.example.com:4222"}));
     }},
    {"node-name", "NOD_NODE_NAME", "nod-2.eu_west",
     [](const config& c) {
       EXPECT_EQ(c.node_name, "nod-2.eu_west");
     }},
    {"node-url", "NOD_NODE_URL", "http://10.0.0.2:8000",
     [](const config& c) {
       EXPECT_EQ(c.node_url, "http://10.0.0.2:8000");
     }},
    {"cluster-replicas", "NOD_CLUSTER_REPLICAS", "5",
     [](const config& c) {
       EXPECT_EQ(c.cluster_replicas, 5u);
     }},
    {"cluster-lease", "NOD_CLUSTER_LEASE", "4s",
     [](const config& c) {
       EXPECT_EQ(c.cluster_lease, ms(4000));
     }},
    {"cluster-journal-max-age", "NOD_CLUSTER_JOURNAL_MAX_AGE", "30d",
     [](const config& c) {
       EXPECT_EQ(c.cluster_journal_max_age, ms(30LL * 86400000));
     }},
  };
}

TEST_F(config_test, defaults) {
  auto c = must_load({}, {"HOME=/root", "PATH=/bin"});
  const config d;
  EXPECT_EQ(c.config_file, "");
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8000);
  EXPECT_EQ(c.data_dir, d.data_dir);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_FALSE(c.access_log);
  EXPECT_EQ(c.admin_password, "");
  EXPECT_EQ(c.public_url, "");
  EXPECT_EQ(c.io_threads, d.io_threads);
  EXPECT_EQ(c.worker_threads, 0u);
  EXPECT_TRUE(c.journal_sync);
  EXPECT_EQ(c.journal_max_batch, d.journal_max_batch);
  EXPECT_EQ(c.agent_rate, 1000u);
  EXPECT_EQ(c.agent_burst, 2000u);
  EXPECT_EQ(c.max_body_bytes, 6u * 1024 * 1024);
  EXPECT_EQ(c.max_frame_bytes, 6u * 1024 * 1024);
  EXPECT_EQ(c.max_body_memory, 128u * 1024 * 1024);
  EXPECT_EQ(c.http_timeout, d.http_timeout);
  EXPECT_EQ(c.idle_timeout, d.idle_timeout);
  EXPECT_EQ(c.shutdown_grace, d.shutdown_grace);
  EXPECT_EQ(c.webhook_allowed_hosts, "external");
  EXPECT_EQ(c.trusted_proxies, "");
}

TEST_F(config_test, every_setting_by_flag_with_equals) {
  for (auto& g : good_cases()) {
    SCOPED_TRACE(g.flag);
    g.check(must_load({"--" + g.flag + "=" + g.value}));
  }
}

TEST_F(config_test, every_setting_by_flag_with_separate_value) {
  for (auto& g : good_cases()) {
    SCOPED_TRACE(g.flag);
    g.check(must_load({"--" + g.flag, g.value}));
  }
}

TEST_F(config_test, every_setting_by_env) {
  for (auto& g : good_cases()) {
    SCOPED_TRACE(g.env);
    g.check(must_load({}, {g.env + "=" + g.value}));
  }
}

TEST_F(config_test, every_setting_by_file_bare_and_quoted) {
  for (auto& g : good_cases()) {
    SCOPED_TRACE(g.flag);
    auto bare = dir_.write("bare.conf", g.flag + " =  " + g.value + "  \n");
    auto c = must_load({"--config", bare});
    g.check(c);
    EXPECT_EQ(c.config_file, bare);
    auto quoted
      = dir_.write("quoted.conf", g.flag + "=\"" + g.value + "\" # note\n");
    g.check(must_load({"--config=" + quoted}));
  }
}

TEST_F(config_test, test_table_covers_every_setting_in_help) {
  // Keeps good_cases complete when a setting is added to the table.
  std::set<std::string> in_help;
  std::istringstream lines(nod::config_help());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  --", 0) != 0)
      continue;
    auto name = line.substr(4, line.find_first_of("= ", 4) - 4);
    if (name != "config" && name != "version")
      in_help.insert(name);
  }
  std::set<std::string> tested;
  for (auto& g : good_cases())
    tested.insert(g.flag);
  EXPECT_EQ(in_help, tested);
}

// -- precedence
// ----------------------------------------------------------------

TEST_F(config_test, flag_beats_env_beats_file_beats_default) {
  auto file = dir_.write("p.conf", "listen = 1.1.1.1:1\nlog-level = warn\n");
  auto env = strings{"NOD_CONFIG=" + file, "NOD_LISTEN=2.2.2.2:2"};

  auto c = must_load({"--listen=3.3.3.3:3"}, env);
  EXPECT_EQ(c.listen_host, "3.3.3.3");
  EXPECT_EQ(c.listen_port, 3);
  EXPECT_EQ(c.log_level, "warn"); // only the file sets it
  EXPECT_EQ(c.data_dir, config{}.data_dir);

  c = must_load({}, env);
  EXPECT_EQ(c.listen_host, "2.2.2.2");

  c = must_load({}, {"NOD_CONFIG=" + file});
  EXPECT_EQ(c.listen_host, "1.1.1.1");
  EXPECT_EQ(c.listen_port, 1);
}

TEST_F(config_test, later_flag_and_later_file_line_win) {
  auto c = must_load({"--log-level=debug", "--log-level", "error"});
  EXPECT_EQ(c.log_level, "error");
  auto file = dir_.write("twice.conf", "io-threads = 2\nio-threads = 3\n");
  EXPECT_EQ(must_load({"--config", file}).io_threads, 3u);
}

TEST_F(config_test, config_flag_beats_nod_config) {
  auto file = dir_.write("good.conf", "io-threads = 4\n");
  auto c
    = must_load({"--config", file}, {"NOD_CONFIG=" + dir_.path() + "/missing"});
  EXPECT_EQ(c.io_threads, 4u);
  EXPECT_EQ(c.config_file, file);
}

TEST_F(config_test, empty_nod_config_means_no_file) {
  EXPECT_EQ(must_load({}, {"NOD_CONFIG="}).config_file, "");
}

TEST_F(config_test, unknown_and_foreign_env_vars_are_ignored) {
  auto c = must_load({}, {"NOD_FROBNICATE=1", "NOD_STORE_CACHE=x", "PATH=/bin",
                          "NOD_LISTEN", "LISTEN=1.2.3.4:5"});
  EXPECT_EQ(c.listen_host, "127.0.0.1");
}

// -- values
// --------------------------------------------------------------------

TEST_F(config_test, ipv6_listen) {
  auto c = must_load({"--listen=[::1]:8080"});
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 8080);
  c = must_load({"--listen", "[::]:0"});
  EXPECT_EQ(c.listen_host, "::");
  EXPECT_EQ(c.listen_port, 0);
}

TEST_F(config_test, value_forms) {
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(must_load({"--listen=localhost:65535"}).listen_port, 65535);
  EXPECT_EQ(must_load({"--log-level=WARN"}).log_level, "warn");
  for (auto t : {"true", "1", "yes", "on", "TRUE"})
    EXPECT_TRUE(must_load({"--journal-sync", t}).journal_sync) << t;
  for (auto f : {"false", "0", "no", "off", "Off"})
    EXPECT_FALSE(must_load({"--journal-sync", f}).journal_sync) << f;
  EXPECT_EQ(must_load({"--max-body-bytes=1024"}).max_body_bytes, 1024u);
  EXPECT_EQ(must_load({"--max-body-bytes=6MiB"}).max_body_bytes, 6u << 20);
  EXPECT_EQ(must_load({"--max-body-bytes=64KiB"}).max_body_bytes, 64u << 10);
  EXPECT_EQ(must_load({"--max-body-bytes=1GiB"}).max_body_bytes, 1u << 30);
  EXPECT_EQ(must_load({"--http-timeout=30s"}).http_timeout, ms{30000});
  EXPECT_EQ(must_load({"--http-timeout=1h"}).http_timeout, ms{3600000});
  EXPECT_EQ(must_load({"--http-timeout=3600"}).http_timeout, ms{3600000});
  EXPECT_EQ(must_load({"--public-url=http://x:8000//"}).public_url,
            "http://x:8000");
  EXPECT_EQ(must_load({"--public-url=https://x/base/"}).public_url,
            "https://x/base");
  EXPECT_EQ(must_load({"--public-url="}).public_url, "");
  EXPECT_EQ(must_load({"--admin-password=--dashes"}).admin_password,
            "--dashes");
}

struct bad_case {
  std::string flag;
  std::string env;
  std::string value;
  std::string reason;
};

const std::vector<bad_case>& bad_cases() {
  static const std::vector<bad_case> cases = {
    {"listen", "NOD_LISTEN", "127.0.0.1:70000",
     "port 70000 is out of range 0-65535"},
    {"listen", "NOD_LISTEN", "127.0.0.1:-1", "port -1 is out of range 0-65535"},
    {"listen", "NOD_LISTEN", "abc:", "missing port"},
    {"listen", "NOD_LISTEN", "localhost", "missing port"},
    {"listen", "NOD_LISTEN", "[::1]", "missing port"},
    {"listen", "NOD_LISTEN", ":8000", "host is empty"},
    {"listen", "NOD_LISTEN", "::1:8000", "needs brackets"},
    {"listen", "NOD_LISTEN", "h:x", "port \"x\" is not a number"},
    {"data-dir", "NOD_DATA_DIR", "", "must not be empty"},
    {"log-level", "NOD_LOG_LEVEL", "loud",
     "\"loud\" is not one of trace, debug, info, warn, error, critical, off"},
    {"log-format", "NOD_LOG_FORMAT", "xml", "\"xml\" is not one of text, json"},
    {"access-log", "NOD_ACCESS_LOG", "sometimes",
     "\"sometimes\" is not a boolean"},
    {"metrics-token", "NOD_METRICS_TOKEN", "two words",
     "must be printable ASCII without spaces"},
    {"public-url", "NOD_PUBLIC_URL", "ftp://x",
     "\"ftp://x\" is not an absolute http:// or https:// URL"},
    {"public-url", "NOD_PUBLIC_URL", "http://", "not an absolute"},
    {"public-url", "NOD_PUBLIC_URL", "example.com", "not an absolute"},
    {"io-threads", "NOD_IO_THREADS", "0", "0 is out of range 1-64"},
    {"agent-rate", "NOD_AGENT_RATE", "0", "0 is out of range 1-1000000"},
    {"agent-burst", "NOD_AGENT_BURST", "x", "agent-burst"},
    {"trigger-rate", "NOD_TRIGGER_RATE", "0", "0 is out of range 1-1000000"},
    {"io-threads", "NOD_IO_THREADS", "65", "65 is out of range 1-64"},
    {"io-threads", "NOD_IO_THREADS", "two", "\"two\" is not a whole number"},
    {"worker-threads", "NOD_WORKER_THREADS", "257", "out of range 0-256"},
    {"worker-threads", "NOD_WORKER_THREADS", "-1", "-1 is out of range 0-256"},
    {"journal-sync", "NOD_JOURNAL_SYNC", "maybe", "\"maybe\" is not a boolean"},
    {"journal-max-batch", "NOD_JOURNAL_MAX_BATCH", "0",
     "out of range 1-1000000"},
    {"journal-max-batch", "NOD_JOURNAL_MAX_BATCH", "1000001",
     "out of range 1-1000000"},
    {"max-body-bytes", "NOD_MAX_BODY_BYTES", "6MB", "\"6MB\" is not a size"},
    {"max-body-bytes", "NOD_MAX_BODY_BYTES", "1023",
     "\"1023\" is out of range 1KiB-1GiB"},
    {"max-body-memory", "NOD_MAX_BODY_MEMORY", "2GiB", "out of range"},
    {"max-frame-bytes", "NOD_MAX_FRAME_BYTES", "2GiB", "out of range"},
    {"max-frame-bytes", "NOD_MAX_FRAME_BYTES", "99999999999999999999999",
     "out of range"},
    {"max-frame-bytes", "NOD_MAX_FRAME_BYTES", "-5", "is not a size"},
    {"http-timeout", "NOD_HTTP_TIMEOUT", "soon", "\"soon\" is not a duration"},
    {"http-timeout", "NOD_HTTP_TIMEOUT", "10d", "longer than the maximum 1h"},
    {"activity-retention", "NOD_ACTIVITY_RETENTION", "a month",
     "is not a duration"},
    {"run-retention", "NOD_RUN_RETENTION", "36501d", "longer than the maximum"},
    {"retention-interval", "NOD_RETENTION_INTERVAL", "off",
     "is not a duration"},
    {"http-timeout", "NOD_HTTP_TIMEOUT", "0", "\"0\" is not greater than 0"},
    {"idle-timeout", "NOD_IDLE_TIMEOUT", "0ms", "is not greater than 0"},
    {"shutdown-grace", "NOD_SHUTDOWN_GRACE", "2h",
     "\"2h\" is longer than the maximum 1h"},
    {"shutdown-grace", "NOD_SHUTDOWN_GRACE", "3601", "longer than"},
    {"shutdown-grace", "NOD_SHUTDOWN_GRACE", "-5s", "is not a duration"},
    {"webhook-allowed-hosts", "NOD_WEBHOOK_ALLOWED_HOSTS", "",
     "the list is empty"},
    {"webhook-allowed-hosts", "NOD_WEBHOOK_ALLOWED_HOSTS", "external,,private",
     "empty entry"},
    {"webhook-allowed-hosts", "NOD_WEBHOOK_ALLOWED_HOSTS", "loopback, nope!",
     "entry \"nope!\": expected external, private, loopback, *, a host "
     "name"},
    {"webhook-allowed-hosts", "NOD_WEBHOOK_ALLOWED_HOSTS", "10.1.2.3/16",
     "entry \"10.1.2.3/16\": host bits are set (did you mean 10.1.0.0/16?)"},
    {"webhook-allowed-hosts", "NOD_WEBHOOK_ALLOWED_HOSTS", "0x7f.0.0.1",
     "write IPv4 addresses as four decimal numbers"},
    {"webhook-allowed-hosts", "NOD_WEBHOOK_ALLOWED_HOSTS", "192.168.*.*",
     "use a CIDR such as 10.0.0.0/8"},
    {"trusted-proxies", "NOD_TRUSTED_PROXIES", "proxy.local",
     "entry \"proxy.local\": \"proxy.local\" is not an IP address"},
    {"cors-origins", "NOD_CORS_ORIGINS", "https://app.example.com/path",
     "not an origin: \"https://app.example.com/path\""},
    {"push-contact", "NOD_PUSH_CONTACT", "ops@example.com",
     "must be mailto:ADDRESS or an https:// URL"},
    {"smtp-tls", "NOD_SMTP_TLS", "ssl", "must be starttls, tls or none"},
    {"smtp-port", "NOD_SMTP_PORT", "0", "out of range 1-65535"},
    {"smtp-from", "NOD_SMTP_FROM", "nobody", "must be an email address"},
    {"cluster-nats", "NOD_CLUSTER_NATS", "nats://a:4222,http://b:4222",
     "\"http://b:4222\" is not a nats://HOST:PORT or tls://HOST:PORT URL"},
    {"node-name", "NOD_NODE_NAME", "node one",
     "must be up to 64 letters, digits, '.', '_' or '-'"},
    {"cluster-replicas", "NOD_CLUSTER_REPLICAS", "7", "out of range 1-5"},
    {"node-url", "NOD_NODE_URL", "https://10.0.0.2:8000",
     "must be an http://HOST[:PORT] URL without a path"},
    {"node-url", "NOD_NODE_URL", "http://10.0.0.2:8000/nod",
     "must be an http://HOST[:PORT] URL without a path"},
    {"node-url", "NOD_NODE_URL", "http://10.0.0.2:99999",
     "must be an http://HOST[:PORT] URL without a path"},
  };
  return cases;
}

TEST_F(config_test, bad_values_name_setting_and_flag) {
  for (auto& b : bad_cases()) {
    SCOPED_TRACE(b.flag + " " + b.value);
    auto msg = must_fail({"--" + b.flag + "=" + b.value});
    EXPECT_EQ(
      msg.rfind("invalid value for " + b.flag + " (--" + b.flag + "): ", 0), 0u)
      << msg;
    EXPECT_TRUE(contains(msg, b.reason)) << msg;
  }
}

TEST_F(config_test, bad_values_name_setting_and_env) {
  for (auto& b : bad_cases()) {
    SCOPED_TRACE(b.env + " " + b.value);
    auto msg = must_fail({}, {b.env + "=" + b.value});
    EXPECT_EQ(
      msg.rfind("invalid value for " + b.flag + " (" + b.env + "): ", 0), 0u)
      << msg;
    EXPECT_TRUE(contains(msg, b.reason)) << msg;
  }
}

TEST_F(config_test, bad_values_name_setting_file_and_line) {
  for (auto& b : bad_cases()) {
    SCOPED_TRACE(b.flag + " " + b.value);
    auto file = dir_.write("bad.conf", "# first line\n" + b.flag + " = \""
                                         + b.value + "\"\n");
    auto msg = must_fail({"--config", file});
    EXPECT_EQ(msg.rfind("invalid value for " + b.flag + " (config file " + file
                          + " line 2): ",
                        0),
              0u)
      << msg;
    EXPECT_TRUE(contains(msg, b.reason)) << msg;
  }
}

TEST_F(config_test, exact_messages) {
  EXPECT_EQ(must_fail({}, {"NOD_LISTEN=0.0.0.0:70000"}),
            "invalid value for listen (NOD_LISTEN): port 70000 is out of "
            "range 0-65535");
  EXPECT_EQ(must_fail({"--log-level=loud"}),
            "invalid value for log-level (--log-level): \"loud\" is not one "
            "of trace, debug, info, warn, error, critical, off");
  EXPECT_EQ(must_fail({}, {"NOD_WEBHOOK_ALLOWED_HOSTS=external,10.0.0.0/33"}),
            "invalid value for webhook-allowed-hosts "
            "(NOD_WEBHOOK_ALLOWED_HOSTS): entry \"10.0.0.0/33\": prefix "
            "length 33 is out of range 0-32");
}

TEST_F(config_test, error_is_one_line_even_with_newline_in_value) {
  auto msg = must_fail({"--log-level=lo\nud"});
  EXPECT_TRUE(contains(msg, "lo\\nud")) << msg;
}

TEST_F(config_test, bad_file_value_fails_even_if_a_flag_overrides_it) {
  auto file = dir_.write("bad.conf", "io-threads = 0\n");
  auto msg = must_fail({"--config", file, "--io-threads=2"});
  EXPECT_TRUE(contains(msg, "io-threads (config file")) << msg;
}

// -- command-line syntax
// -------------------------------------------------------

TEST_F(config_test, unknown_flag) {
  EXPECT_EQ(must_fail({"--frobnicate"}),
            "unknown flag --frobnicate (see --help)");
  EXPECT_EQ(must_fail({"--frobnicate=1"}),
            "unknown flag --frobnicate (see --help)");
  EXPECT_EQ(must_fail({"-x"}), "unknown flag -x (see --help)");
}

TEST_F(config_test, missing_flag_value) {
  auto msg = must_fail({"--listen"});
  EXPECT_TRUE(contains(msg, "missing value for --listen")) << msg;
  msg = must_fail({"--data-dir", "--log-level=info"});
  EXPECT_TRUE(contains(msg, "missing value for --data-dir")) << msg;
  msg = must_fail({"--config"});
  EXPECT_TRUE(contains(msg, "missing value for --config")) << msg;
}

TEST_F(config_test, positional_argument) {
  EXPECT_EQ(must_fail({"x"}), "unexpected argument \"x\"");
  EXPECT_EQ(must_fail({"--log-level", "info", "serve"}),
            "unexpected argument \"serve\"");
}

TEST_F(config_test, help_and_version_take_no_value) {
  EXPECT_TRUE(contains(must_fail({"--help=yes"}), "--help takes no value"));
  EXPECT_TRUE(contains(must_fail({"--version=1"}), "--version takes no value"));
}

// -- config file -------------------------------------------------------------

TEST_F(config_test, file_syntax) {
  auto file
    = dir_.write("full.conf", "\xEF\xBB\xBF# nod-server\r\n"
                              "\n"
                              "   # indented comment\n"
                              "[server]\r\n"
                              "data-dir = \"/var/lib/\\\"nod\\\" \\\\x\"\n"
                              "admin-password=\"  # not a comment \"\n"
                              "\tlog-level\t=\tdebug\t\r\n"
                              "[limits]\n"
                              "public-url = https://a.example/#x");
  auto c = must_load({"--config", file});
  EXPECT_EQ(c.data_dir, "/var/lib/\"nod\" \\x");
  EXPECT_EQ(c.admin_password, "  # not a comment ");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.public_url, "https://a.example/#x");
}

TEST_F(config_test, unknown_file_key_names_file_and_line) {
  auto file = dir_.write("x.conf", "# comment\nlisten = 1.2.3.4:5\nfoo = 1\n");
  EXPECT_EQ(must_fail({"--config", file}),
            "config file " + file + " line 3: unknown setting \"foo\"");
  file = dir_.write("y.conf", "config = other.conf\n");
  EXPECT_TRUE(contains(must_fail({"--config", file}), "line 1: unknown"));
}

TEST_F(config_test, malformed_file_lines) {
  struct {
    std::string text;
    std::string reason;
  } cases[] = {
    {"\n\nlisten 1.2.3.4:5\n", "line 3: expected \"setting = value\""},
    {"data-dir = \"/x\n", "line 1): missing closing quote"},
    {"data-dir = \"/x\\n\"\n", "line 1): unknown escape"},
    {"data-dir = \"/x\" /y\n", "line 1): unexpected text after closing quote"},
  };
  for (auto& m : cases) {
    SCOPED_TRACE(m.text);
    auto file = dir_.write("m.conf", m.text);
    auto msg = must_fail({"--config", file});
    EXPECT_TRUE(contains(msg, file)) << msg;
    EXPECT_TRUE(contains(msg, m.reason)) << msg;
  }
}

TEST_F(config_test, unreadable_config_file) {
  auto missing = dir_.path() + "/missing.conf";
  auto msg = must_fail({"--config", missing});
  EXPECT_EQ(msg, "invalid value for config (--config): cannot read " + missing
                   + ": No such file or directory");
  msg = must_fail({}, {"NOD_CONFIG=" + missing});
  EXPECT_TRUE(contains(msg, "(NOD_CONFIG)")) << msg;
  EXPECT_TRUE(contains(msg, missing)) << msg;
  msg = must_fail({"--config=" + dir_.path()});
  EXPECT_TRUE(contains(msg, "Is a directory")) << msg;
  msg = must_fail({"--config="});
  EXPECT_TRUE(contains(msg, "(--config)")) << msg;
}

// -- help and version
// ----------------------------------------------------------

TEST_F(config_test, help_lists_every_flag_env_and_default) {
  for (auto args :
       {strings{"--help"}, strings{"-h"}, strings{"--frobnicate", "--help"},
        strings{"--version", "-h"}}) {
    auto r = nod::load_config(args, {"NOD_CONFIG=/does/not/exist"});
    EXPECT_EQ(r.what, outcome::print_and_exit);
    EXPECT_EQ(r.message, nod::config_help());
  }
  auto help = nod::config_help();
  EXPECT_EQ(help.rfind("Usage: nod-server [--config FILE] [--SETTING=VALUE "
                       "...]\n",
                       0),
            0u);
  EXPECT_NE(help.back(), '\n');
  for (auto& g : good_cases()) {
    EXPECT_TRUE(contains(help, "  --" + g.flag + "=")) << g.flag;
    EXPECT_TRUE(contains(help, " " + g.env + " ")) << g.env;
  }
  EXPECT_TRUE(contains(help, "NOD_CONFIG"));
  EXPECT_TRUE(contains(help, "--version"));
  EXPECT_TRUE(contains(help, "Precedence"));
  EXPECT_TRUE(contains(help, "(random on first start)"));
  EXPECT_TRUE(contains(help, "(default: 127.0.0.1:8000)"));
  // Every setting line shows its default.
  std::istringstream lines(help);
  size_t with_default = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("  --", 0) == 0 && contains(line, "(default: "))
      ++with_default;
  EXPECT_EQ(with_default, good_cases().size() + 1); // + --config
}

// -- changed settings (SIGHUP) ----------------------------------------------

TEST_F(config_test, changed_settings_names_each_setting_that_differs) {
  const config d;
  EXPECT_TRUE(nod::changed_settings(d, d).empty());
  for (auto& g : good_cases()) {
    SCOPED_TRACE(g.flag);
    auto c = must_load({"--" + g.flag + "=" + g.value});
    EXPECT_EQ(nod::changed_settings(d, c), strings{g.flag});
    EXPECT_EQ(nod::changed_settings(c, d), strings{g.flag});
  }
  auto c = must_load(
    {"--max-connections=5", "--log-level=debug", "--access-log=on"});
  EXPECT_EQ(nod::changed_settings(d, c),
            (strings{"log-level", "access-log", "max-connections"}));
}

TEST_F(config_test, help_marks_the_settings_sighup_reloads) {
  // An operator reads `--help` to know whether `systemctl reload` is
  // enough; the reload applies exactly these.
  std::set<std::string> marked;
  std::istringstream lines(nod::config_help());
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("  --", 0) == 0
        && line.find("Reloaded on SIGHUP.") != std::string::npos)
      marked.insert(line.substr(4, line.find('=') - 4));
  const auto& reloaded = nod::reloaded_on_sighup();
  EXPECT_EQ(marked, std::set<std::string>(reloaded.begin(), reloaded.end()));
  for (auto flag : {"log-level", "log-format", "access-log",
                    "activity-retention", "retention-interval"})
    EXPECT_TRUE(marked.count(flag)) << flag;
  EXPECT_FALSE(marked.count("listen"));
}

TEST_F(config_test, changed_settings_compares_secrets_by_value) {
  auto a = must_load(
    {"--metrics-token=one", "--smtp-password=x", "--admin-password=p"});
  auto b = must_load(
    {"--metrics-token=two", "--smtp-password=y", "--admin-password=q"});
  EXPECT_EQ(nod::changed_settings(a, b),
            (strings{"admin-password", "metrics-token", "smtp-password"}));
  EXPECT_TRUE(nod::changed_settings(a, a).empty());
}

TEST_F(config_test, version) {
  auto r = nod::load_config({"--version"}, {});
  EXPECT_EQ(r.what, outcome::print_and_exit);
  ASSERT_EQ(r.message.rfind("nod-server ", 0), 0u) << r.message;
  EXPECT_GT(r.message.size(), std::string("nod-server ").size());
  EXPECT_EQ(r.message.find('\n'), std::string::npos);
  // A bad flag next to --version is still reported.
  EXPECT_EQ(nod::load_config({"--version", "--nope"}, {}).what, outcome::error);
}

// -- example config file
// -------------------------------------------------------

TEST_F(config_test, example_config_file_matches_defaults) {
  // Uncomment every "# key = value" line of config/nod-server.conf: the
  // result must load and equal the defaults.
  const fs::path example = NOD_EXAMPLE_CONFIG;
  std::ifstream in(example);
  ASSERT_TRUE(in) << "cannot read " << example;
  std::string text;
  std::set<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find(" = ");
    if (line.rfind("# ", 0) == 0 && eq != std::string::npos
        && line.find(' ', 2) == eq) {
      keys.insert(line.substr(2, eq - 2));
      line = line.substr(2);
    }
    text += line + "\n";
  }
  std::set<std::string> all;
  for (auto& g : good_cases())
    all.insert(g.flag);
  EXPECT_EQ(keys, all);
  auto c = must_load({"--config", dir_.write("example.conf", text)});
  const config d;
  EXPECT_EQ(c.listen_host, d.listen_host);
  EXPECT_EQ(c.listen_port, d.listen_port);
  EXPECT_EQ(c.data_dir, d.data_dir);
  EXPECT_EQ(c.backup_dir, d.backup_dir);
  EXPECT_EQ(c.activity_retention, d.activity_retention);
  EXPECT_EQ(c.delivered_event_retention, d.delivered_event_retention);
  EXPECT_EQ(c.run_retention, d.run_retention);
  EXPECT_EQ(c.message_retention, d.message_retention);
  EXPECT_EQ(c.retention_interval, d.retention_interval);
  EXPECT_EQ(c.log_level, d.log_level);
  EXPECT_EQ(c.log_format, d.log_format);
  EXPECT_EQ(c.access_log, d.access_log);
  EXPECT_EQ(c.admin_password, d.admin_password);
  EXPECT_EQ(c.public_url, d.public_url);
  EXPECT_EQ(c.io_threads, d.io_threads);
  EXPECT_EQ(c.worker_threads, d.worker_threads);
  EXPECT_EQ(c.journal_sync, d.journal_sync);
  EXPECT_EQ(c.journal_max_batch, d.journal_max_batch);
  EXPECT_EQ(c.max_body_bytes, d.max_body_bytes);
  EXPECT_EQ(c.max_frame_bytes, d.max_frame_bytes);
  EXPECT_EQ(c.http_timeout, d.http_timeout);
  EXPECT_EQ(c.idle_timeout, d.idle_timeout);
  EXPECT_EQ(c.shutdown_grace, d.shutdown_grace);
  EXPECT_EQ(c.webhook_allowed_hosts, d.webhook_allowed_hosts);
  EXPECT_EQ(c.metrics_token, d.metrics_token);
  EXPECT_EQ(c.max_connections, d.max_connections);
  EXPECT_EQ(c.max_connections_per_ip, d.max_connections_per_ip);
  EXPECT_EQ(c.max_sockets_per_agent, d.max_sockets_per_agent);
}

// -- validate_environment
// ------------------------------------------------------

TEST_F(config_test, validate_creates_missing_data_dir) {
  config c;
  c.data_dir = dir_.path() + "/a/b/data";
  EXPECT_EQ(nod::validate_environment(c), std::nullopt);
  EXPECT_TRUE(fs::is_directory(c.data_dir));
  // The write probe is gone again.
  EXPECT_TRUE(fs::is_empty(c.data_dir));
  // An existing directory is fine too.
  EXPECT_EQ(nod::validate_environment(c), std::nullopt);
}

TEST_F(config_test, validate_fails_under_regular_file) {
  auto file = dir_.write("plain", "x");
  config c;
  c.data_dir = file + "/data";
  auto err = nod::validate_environment(c);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(
    err->rfind("invalid value for data-dir: cannot create " + file + "/data: ",
               0),
    0u)
    << *err;
  EXPECT_TRUE(contains(*err, "Not a directory")) << *err;

  c.data_dir = file;
  err = nod::validate_environment(c);
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(contains(*err, "data-dir")) << *err;
  EXPECT_TRUE(contains(*err, file)) << *err;

  c.data_dir = "";
  err = nod::validate_environment(c);
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(contains(*err, "data-dir")) << *err;
}

TEST_F(config_test, validate_fails_on_read_only_dir) {
  if (::geteuid() == 0)
    GTEST_SKIP() << "root can write to read-only directories";
  auto ro = dir_.path() + "/ro";
  ASSERT_EQ(::mkdir(ro.c_str(), 0555), 0);
  config c;
  c.data_dir = ro;
  auto err = nod::validate_environment(c);
  ::chmod(ro.c_str(), 0755); // let temp_dir clean up
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(contains(*err, "invalid value for data-dir: ")) << *err;
  EXPECT_TRUE(contains(*err, "Permission denied")) << *err;
}

} // namespace
