// nod-server: wires the layers together and runs until SIGTERM/SIGINT.

#include "actors/accounts.hpp"
#include "actors/actions.hpp"
#include "actors/agent_session.hpp"
#include "actors/alerts.hpp"
#include "actors/directory.hpp"
#include "actors/error.hpp"
#include "actors/hasher.hpp"
#include "actors/ingest.hpp"
#include "actors/journal.hpp"
#include "actors/maintenance.hpp"
#include "actors/notifier.hpp"
#include "actors/outbox.hpp"
#include "actors/reader.hpp"
#include "actors/system.hpp"
#include "actors/task_clock.hpp"
#include "actors/tasks.hpp"
#include "actors/webhook_scheduler.hpp"
#include "app/cluster_mode.hpp"
#include "app/commands.hpp"
#include "app/logging.hpp"
#include "cluster/node.hpp"
#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/agent_api.hpp"
#include "net/app_api.hpp"
#include "net/http.hpp"
#include "net/server.hpp"
#include "net/smtp_client.hpp"
#include "net/web.hpp"
#include "net/webhook_client.hpp"
#include "nod_version.hpp"
#include "protocol/address_policy.hpp"
#include "protocol/cron.hpp"
#include "protocol/webhook.hpp"
#include "storage/keys.hpp"
#include "storage/store.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

extern char** environ;

namespace {

using nod::app::exit_bad_setting;
using nod::app::exit_failure;
using nod::app::url_host;
using nod::app::wait_signal;

/// Raises the open-file limit to its hard limit and lowers max-connections
/// to what that allows, so `accept` never runs out of descriptors: a
/// reserve stays for the store's files, webhook connections and the
/// connections answered only with a refusal.
void fit_connections_to_fd_limit(nod::config& cfg) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    spdlog::warn("cannot read the open-file limit: {}", std::strerror(errno));
    return;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    auto raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      lim = raised;
  }
  constexpr size_t refusals = 64;
  auto limit = lim.rlim_cur == RLIM_INFINITY
                 ? SIZE_MAX
                 : static_cast<size_t>(lim.rlim_cur);
  auto reserve = refusals + std::max<size_t>(192, limit / 10);
  auto fit = limit > reserve + 1 ? limit - reserve : 1;
  if (cfg.max_connections > fit) {
    spdlog::warn("max-connections lowered from {} to {}: the open-file limit "
                 "is {} (raise it, e.g. LimitNOFILE= in the unit)",
                 cfg.max_connections, fit, limit);
    cfg.max_connections = fit;
  }
  spdlog::info("connections: at most {}, {} per client address (open-file "
               "limit {})",
               cfg.max_connections,
               cfg.max_connections_per_ip == 0
                 ? std::string{"no bound"}
                 : std::to_string(cfg.max_connections_per_ip),
               limit);
}

std::vector<std::string> environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    env.emplace_back(*e);
  return env;
}

// Adds `port` on every address of this machine's interfaces (of `family`,
// or both when it is AF_UNSPEC) to the policy's own endpoints.
void add_interface_addresses(nod::address_policy& policy, int family,
                             uint16_t port) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    spdlog::warn("cannot list the network interfaces ({}): webhooks are "
                 "kept from this server's port only on its loopback "
                 "addresses",
                 std::strerror(errno));
    return;
  }
  for (auto* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr)
      continue;
    auto f = i->ifa_addr->sa_family;
    if (f == AF_INET && family != AF_INET6) {
      std::array<uint8_t, 4> b{};
      auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      std::memcpy(b.data(), &in->sin_addr, b.size());
      policy.add_own_address(nod::ip_address::v4(b), port);
    } else if (f == AF_INET6 && family != AF_INET) {
      std::array<uint8_t, 16> b{};
      auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      std::memcpy(b.data(), &in6->sin6_addr, b.size());
      policy.add_own_address(nod::ip_address::v6(b), port);
    }
  }
  freeifaddrs(list);
}

// Where webhooks may connect: `webhook-allowed-hosts` (checked when the
// config was loaded) plus this server's own endpoints, which they may not
// call unless a CIDR names them: the address and port it listens on (every
// local address when that is a wildcard) and the public URL's host and
// port.
nod::address_policy webhook_policy(const nod::config& cfg,
                                   const std::string& bound_address,
                                   uint16_t bound_port) {
  std::string error;
  auto policy = nod::address_policy::parse(cfg.webhook_allowed_hosts, error)
                  .value_or(nod::address_policy{});
  if (auto a = nod::parse_ip_host(bound_address)) {
    if (nod::classify(*a) == nod::address_kind::unspecified) {
      // A wildcard socket answers on every local address (an IPv6 one on
      // IPv4 addresses too), the whole of 127/8 included.
      policy.add_own_network({nod::ip_address::v4(0x7f000000), 8}, bound_port);
      add_interface_addresses(
        policy, a->family == nod::ip_family::v4 ? AF_INET : AF_UNSPEC,
        bound_port);
    } else {
      policy.add_own_address(*a, bound_port);
    }
  }
  if (auto url = nod::parse_http_url(cfg.public_url)) {
    uint16_t port = 0;
    std::from_chars(url->port.data(), url->port.data() + url->port.size(),
                    port);
    if (auto a = nod::parse_ip_host(url->host))
      policy.add_own_address(*a, port);
    else
      policy.add_own_host(url->host, port);
  }
  return policy;
}

// The actors of the people's side, spawned in dependency order.
struct people_actors {
  nod::hasher_actor hasher;
  nod::accounts_actor accounts;
  /// Move when any agent changes, when a session ends early (edge caches
  /// of credentials).
  std::shared_ptr<std::atomic<uint64_t>> agents_epoch;
  std::shared_ptr<std::atomic<uint64_t>> sessions_epoch;
  nod::directory_actor directory;
  /// Task fire times and decision expiries (ingest registers the latter).
  nod::task_clock_actor clock;
  nod::ingest_actor ingest;
  /// The read side of both APIs.
  nod::reader_actor reader;
};

people_actors spawn_people(caf::actor_system& sys,
                           const nod::journal_actor& journal,
                           const nod::config& cfg,
                           nod::metrics::registry* metrics = nullptr,
                           nod::alerts_actor alerts = {}) {
  const auto& public_url = cfg.public_url;
  people_actors p;
  // Argon2id blocks for tens of milliseconds: its own thread.
  p.hasher
    = sys.spawn<caf::detached>(nod::hasher, nod::password_cost::interactive);
  nod::accounts_options accounts_opts;
  accounts_opts.agents_epoch = std::make_shared<std::atomic<uint64_t>>(0);
  p.agents_epoch = accounts_opts.agents_epoch;
  accounts_opts.sessions_epoch = std::make_shared<std::atomic<uint64_t>>(0);
  p.sessions_epoch = accounts_opts.sessions_epoch;
  p.accounts = sys.spawn(nod::accounts, journal, p.hasher, accounts_opts);
  nod::directory_options directory_opts;
  directory_opts.max_sockets_per_agent = cfg.max_sockets_per_agent;
  p.directory = sys.spawn(nod::directory, directory_opts);
  p.clock = sys.spawn(nod::task_clock, nod::task_clock_options{});
  p.ingest = sys.spawn(
    nod::ingest, journal, p.directory,
    nod::ingest_options{public_url, metrics, p.clock, std::move(alerts)});
  p.reader = sys.spawn(nod::reader, journal, p.accounts);
  return p;
}

// Who reaches people outside the app (Web Push, ntfy, Slack, email),
// through the webhook client's outbound path and address policy.
nod::alerts_actor spawn_alerts(caf::actor_system& sys, const nod::config& cfg,
                               const nod::journal_actor& journal,
                               nod::net::webhook_client& client,
                               nod::net::smtp_client* smtp) {
  nod::alerts_options opts;
  if (smtp)
    opts.mail
      = [smtp](nod::mail_message m, std::function<void(std::string)> done) {
          smtp->send(std::move(m), std::move(done));
        };
  opts.post = [&client](nod::http_post req,
                        std::function<void(nod::http_post_result)> done) {
    client.post(std::move(req), std::move(done));
  };
  opts.public_url = cfg.public_url;
  if (!cfg.push_contact.empty())
    opts.vapid_subject = cfg.push_contact;
  else if (cfg.public_url.rfind("https://", 0) == 0)
    opts.vapid_subject = cfg.public_url;
  opts.policy.attempts = static_cast<unsigned>(cfg.webhook_attempts);
  opts.policy.first_delay_ms = cfg.webhook_backoff.count();
  opts.policy.factor = static_cast<double>(cfg.webhook_backoff_factor);
  opts.policy.retry_after_max_ms = cfg.webhook_retry_after_max.count();
  opts.timeout_ms = cfg.webhook_timeout.count();
  return sys.spawn(nod::alerts, journal, opts);
}

// The actors that deliver to agents (API.md A4, A6, A7).
struct delivery_actors {
  nod::notifier_actor notifier;
  nod::webhook_scheduler_actor webhooks;
  nod::outbox_actor outbox;
  nod::actions_actor actions;
  nod::tasks_actor tasks;
};

delivery_actors spawn_delivery(caf::actor_system& sys, const nod::config& cfg,
                               const nod::journal_actor& journal,
                               const people_actors& people,
                               nod::net::webhook_client& client,
                               const nod::alerts_actor& alerts,
                               nod::metrics::registry* metrics) {
  delivery_actors d;
  d.notifier = sys.spawn(nod::notifier, nod::notifier_options{});
  nod::webhook_options wh;
  wh.policy.attempts = static_cast<unsigned>(cfg.webhook_attempts);
  wh.policy.first_delay_ms = cfg.webhook_backoff.count();
  wh.policy.factor = static_cast<double>(cfg.webhook_backoff_factor);
  wh.policy.retry_after_max_ms = cfg.webhook_retry_after_max.count();
  wh.timeout_ms = cfg.webhook_timeout.count();
  wh.max_per_host = cfg.webhook_max_per_host;
  wh.metrics = metrics;
  d.webhooks = sys.spawn(
    nod::webhook_scheduler,
    [&client](nod::http_post req,
              std::function<void(nod::http_post_result)> done) {
      client.post(std::move(req), std::move(done));
    },
    wh);
  nod::delivery_deps deps;
  deps.journal = journal;
  deps.directory = people.directory;
  deps.accounts = people.accounts;
  deps.webhooks = d.webhooks;
  deps.notifier = d.notifier;
  deps.alerts = alerts;
  deps.metrics = metrics;
  deps.agents_epoch = people.agents_epoch;
  nod::outbox_options box_opts;
  box_opts.lane.ack_window = static_cast<uint32_t>(cfg.ack_window);
  d.outbox = sys.spawn(nod::outbox, deps, box_opts);
  d.actions = sys.spawn(nod::actions, journal, people.accounts, d.outbox,
                        people.clock, cfg.public_url, people.agents_epoch);
  nod::tasks_options tasks_opts;
  tasks_opts.public_url = cfg.public_url;
  d.tasks = sys.spawn(nod::tasks, journal, people.accounts, d.outbox,
                      people.directory, people.clock, tasks_opts);
  caf::anon_send(people.clock, nod::join_atom::value, d.tasks, d.actions);
  return d;
}

// The retention settings as the sweeper takes them.
nod::retention_periods retention_periods_of(const nod::config& cfg) {
  return {cfg.activity_retention.count(), cfg.delivered_event_retention.count(),
          cfg.run_retention.count(), cfg.message_retention.count(),
          cfg.retention_interval.count()};
}

// SIGHUP: the configuration is read again from the same sources (file,
// environment, flags). The settings of `reloaded_on_sighup` apply at once;
// any other setting that differs from `started` waits for a restart, and
// says so. A configuration that does not load changes nothing.
void reload_config(const std::vector<std::string>& args,
                   const nod::config& started, nod::net::server& server,
                   const nod::retention_actor& retention) {
  auto loaded = nod::load_config(args, environment());
  if (loaded.what != nod::config_result::outcome::run) {
    spdlog::error("received SIGHUP: {}; the configuration in use stays",
                  loaded.message);
    return;
  }
  const auto& cfg = loaded.cfg;
  // The access log first: a request answered after the line below is
  // logged as it says.
  server.set_access_log(cfg.access_log);
  // Said before a stricter log-level could hide it.
  spdlog::info("received SIGHUP: configuration reloaded: log-level {}, "
               "log-format {}, access-log {}",
               cfg.log_level, cfg.log_format, cfg.access_log ? "on" : "off");
  nod::logging::reconfigure(cfg.log_format, cfg.log_level);
  caf::anon_send(retention, retention_periods_of(cfg));
  const auto& applied = nod::reloaded_on_sighup();
  for (auto& name : nod::changed_settings(started, cfg))
    if (std::find(applied.begin(), applied.end(), name) == applied.end())
      spdlog::warn("{} changed; takes effect after a restart", name);
}

void stop_all(std::initializer_list<caf::actor_addr> actors) {
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// `nod-server user add NAME [--admin]` and `nod-server user passwd NAME`:
// manage people while the server is stopped (the store allows one
// process). The password comes from NOD_USER_PASSWORD or the first line of
// standard input.
int user_command(const std::vector<std::string>& args) {
  static const char* const usage
    = "usage: nod-server user add NAME [--admin] [--data-dir=DIR]\n"
      "       nod-server user passwd NAME [--data-dir=DIR]\n"
      "The password is read from NOD_USER_PASSWORD or the first line of "
      "standard input.\n";
  if (nod::app::help_asked(args, usage))
    return 0;
  if (args.size() < 2 || (args[0] != "add" && args[0] != "passwd")) {
    std::fputs(usage, stderr);
    return exit_bad_setting;
  }
  auto action = args[0];
  auto name = args[1];
  bool admin = false;
  std::vector<std::string> rest;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--admin")
      admin = true;
    else
      rest.push_back(args[i]);
  }
  auto loaded = nod::load_config(rest, environment());
  if (loaded.what != nod::config_result::outcome::run) {
    std::fprintf(stderr, "nod-server: %s\n", loaded.message.c_str());
    return exit_bad_setting;
  }
  auto& cfg = loaded.cfg;
  if (auto err = nod::validate_environment(cfg)) {
    std::fprintf(stderr, "nod-server: %s\n", err->c_str());
    return exit_bad_setting;
  }
  auto password = nod::app::password_input();
  std::string error;
  auto db = nod::storage::store::open(cfg.data_dir, {}, error);
  if (!db) {
    std::fprintf(stderr, "nod-server: %s\n", error.c_str());
    return exit_failure;
  }
  // A cluster node's store is a copy of the cluster's journal: a change
  // made here alone would part it from the others.
  std::string cluster_stream;
  if (db->get(nod::storage::cluster_stream_key(), cluster_stream).ok()) {
    std::fprintf(stderr,
                 "nod-server: %s belongs to a cluster node; add users and "
                 "set passwords in the app or the API of the cluster\n",
                 cfg.data_dir.c_str());
    return exit_bad_setting;
  }
  caf::actor_system_config sys_cfg;
  nod::configure_actor_system(sys_cfg, cfg.worker_threads);
  caf::actor_system sys{sys_cfg};
  auto journal = nod::spawn_journal(
    sys, std::shared_ptr<nod::storage::store>{std::move(db)}, {});
  auto people = spawn_people(sys, journal, cfg);
  int status = 0;
  {
    caf::scoped_actor self{sys, true};
    auto on_error = [&](caf::error& err) {
      std::fprintf(stderr, "nod-server: %s\n", nod::detail_of(err).c_str());
      status = nod::code_of(err) == nod::ec::invalid_argument
                   || nod::code_of(err) == nod::ec::conflict
                   || nod::code_of(err) == nod::ec::not_found
                 ? exit_bad_setting
                 : exit_failure;
    };
    auto on_user = [&](nod::user_record& u) {
      std::printf("%s %s\n",
                  action == "add" ? "added user" : "new password for",
                  u.username.c_str());
    };
    if (action == "add")
      self
        ->request(people.accounts, caf::infinite, nod::user_add_atom::value,
                  name, password, admin)
        .receive(on_user, on_error);
    else
      self
        ->request(people.accounts, caf::infinite, nod::passwd_atom::value, name,
                  password)
        .receive(on_user, on_error);
  }
  stop_all({people.clock.address(), people.ingest.address(),
            people.reader.address(), people.accounts.address(),
            people.directory.address(), people.hasher.address(),
            journal.address()});
  return status;
}

} // namespace

// What one run of the serving server takes from `main`.
struct serving {
  const std::vector<std::string>& args;
  nod::config& cfg;
  const nod::config& started_cfg;
  std::shared_ptr<spdlog::logger> access_logger;
  nod::metrics::registry& metrics;
  std::shared_ptr<nod::storage::store> db;
  std::string data_dir;
  std::string backup_dir;
  sigset_t& signals;
  /// The link to the cluster; null for a single server.
  nod::cluster::node* node;
};

// Runs the actors and the network on the store until a signal stops them
// (or, in a cluster, until this node loses the lease: `deposed`). Returns
// the exit code.
int serve(serving& run, bool& deposed) {
  auto& cfg = run.cfg;
  auto& metrics = run.metrics;
  // The journal holds the store from here on (and the caller, for the
  // next run of a cluster node).
  auto shared_db = run.db;
  const auto& data_dir = run.data_dir;
  const auto& backup_dir = run.backup_dir;
  const auto& args = run.args;
  const auto& started_cfg = run.started_cfg;
  auto& access_logger = run.access_logger;
  auto& handled_signals = run.signals;
  std::atomic<bool> ready{false};
  // 2. Actors.
  caf::actor_system_config sys_cfg;
  nod::configure_actor_system(sys_cfg, cfg.worker_threads);
  caf::actor_system sys{sys_cfg};
  // The listening socket comes first: its address and port (the kernel's
  // choice for port 0) are this server's own endpoint, which webhooks may
  // not call. Connections wait in the backlog until the server starts.
  // Ready while serving; in a cluster, while linked to NATS too.
  nod::net::server server{cfg, metrics, [&ready, node = run.node] {
                            return ready.load()
                                   && (node == nullptr || node->connected());
                          }};
  server.set_access_logger(access_logger);
  if (auto err = server.listen()) {
    spdlog::critical("{}", *err);
    return exit_failure;
  }
  nod::journal_options journal_opts;
  journal_opts.max_batch = cfg.journal_max_batch;
  journal_opts.metrics = &metrics;
  if (run.node != nullptr) {
    // Each batch goes to the cluster's journal stream before the store.
    journal_opts.write
      = [node = run.node](nod::storage::write_batch& batch, bool) {
          return node->write(batch);
        };
    journal_opts.max_batch_bytes = run.node->max_batch_bytes();
  }
  auto journal = nod::spawn_journal(sys, shared_db, journal_opts);
  // Backups and compaction block: their own thread.
  auto maintenance
    = sys.spawn<caf::detached>(nod::maintenance, shared_db,
                               nod::maintenance_options{backup_dir, &metrics});
  nod::retention_options retention_opts;
  retention_opts.metrics = &metrics;
  auto retention
    = sys.spawn(nod::retention, journal, maintenance, retention_opts);
  caf::anon_send(retention, retention_periods_of(cfg));
  shared_db.reset();
  // Links the server hands out (media) need its public address; without
  // NOD_PUBLIC_URL it is the listen address (a port of 0 is not known
  // yet, so then links are relative).
  bool public_url_set = !cfg.public_url.empty();
  const char* scheme = cfg.tls_cert.empty() ? "http://" : "https://";
  if (cfg.public_url.empty() && cfg.listen_port != 0)
    cfg.public_url = scheme + url_host(cfg.listen_host) + ":"
                     + std::to_string(cfg.listen_port);
  auto webhook_hosts = webhook_policy(cfg, server.address(), server.port());
  spdlog::info("webhooks may connect to: {} (webhook-allowed-hosts)",
               webhook_hosts.to_string());
  if (auto err = nod::cron::load_zones())
    spdlog::warn("time zones unavailable ({}): only UTC schedules are accepted",
                 *err);
  nod::net::webhook_client_options client_opts;
  client_opts.verify_tls = cfg.webhook_tls_verify;
  client_opts.ca_file = cfg.webhook_ca_file;
  client_opts.max_idle_per_host = cfg.webhook_max_per_host;
  client_opts.allowed_hosts
    = std::make_shared<const nod::address_policy>(webhook_hosts);
  nod::net::webhook_client webhook_client{client_opts};
  // Email only when the operator set an SMTP server.
  std::unique_ptr<nod::net::smtp_client> smtp;
  if (!cfg.smtp_host.empty()) {
    nod::net::smtp_options smtp_opts;
    smtp_opts.host = cfg.smtp_host;
    smtp_opts.port = static_cast<uint16_t>(cfg.smtp_port);
    smtp_opts.tls = cfg.smtp_tls;
    smtp_opts.verify_tls = cfg.smtp_tls_verify;
    smtp_opts.user = cfg.smtp_user;
    smtp_opts.password = cfg.smtp_password;
    smtp_opts.from = cfg.smtp_from;
    smtp = std::make_unique<nod::net::smtp_client>(smtp_opts);
    spdlog::info("email through {}:{} ({})", cfg.smtp_host, cfg.smtp_port,
                 cfg.smtp_tls);
  }
  auto alerts = spawn_alerts(sys, cfg, journal, webhook_client, smtp.get());
  auto people = spawn_people(sys, journal, cfg, &metrics, alerts);
  auto delivery = spawn_delivery(sys, cfg, journal, people, webhook_client,
                                 alerts, &metrics);
  auto stop_actors = [&] {
    // A backup or compaction in progress ends before the journal
    // closes the store.
    stop_all({retention.address(), maintenance.address()});
    {
      caf::scoped_actor self{sys, true};
      self->wait_for(maintenance);
    }
    stop_all({alerts.address(), people.clock.address(),
              delivery.tasks.address(), delivery.actions.address(),
              delivery.outbox.address(), delivery.webhooks.address(),
              delivery.notifier.address(), people.ingest.address(),
              people.reader.address(), people.accounts.address(),
              people.directory.address(), people.hasher.address(),
              journal.address()});
    // Requests in flight end now (their results go nowhere); the
    // deliveries they belong to resume at the next start.
    webhook_client.stop();
    if (smtp)
      smtp->stop();
  };

  // A fresh data directory gets its admin, whose password is shown once.
  {
    caf::scoped_actor self{sys, true};
    bool ok = true;
    self
      ->request(people.accounts, caf::infinite, nod::bootstrap_atom::value,
                cfg.admin_password)
      .receive(
        [&](std::string& password) {
          if (password.empty())
            return;
          if (cfg.admin_password.empty())
            spdlog::warn("created user admin with password {} (shown only "
                         "now; change it with `nod-server user passwd "
                         "admin`)",
                         password);
          else
            spdlog::info("created user admin with NOD_ADMIN_PASSWORD");
        },
        [&](caf::error& err) {
          spdlog::critical("cannot create the admin user: {}",
                           nod::detail_of(err));
          ok = false;
        });
    if (!ok) {
      stop_actors();
      return exit_failure;
    }
    // Deliveries the last run did not finish go on (A4: nothing is
    // dropped). Agents are all offline now, so they go to webhooks or
    // wait as pending for the next poll or socket.
    self->request(delivery.outbox, caf::infinite, nod::recover_atom::value)
      .receive(
        [&](uint64_t n) {
          if (n > 0)
            spdlog::info("resuming {} unfinished deliveries", n);
        },
        [&](caf::error& err) {
          spdlog::error("cannot resume deliveries: {}", nod::detail_of(err));
        });
    // The VAPID key (made on a fresh data directory), push
    // subscriptions and notification settings.
    self->request(alerts, caf::infinite, nod::recover_atom::value)
      .receive([&](uint64_t) {},
               [&](caf::error& err) {
                 spdlog::error("cannot load push subscriptions: {}",
                               nod::detail_of(err));
               });
    // Every task's next fire time and every decision's expiry go to the
    // clock; times missed while the server was down are due now and
    // fire once.
    self->request(delivery.tasks, caf::infinite, nod::recover_atom::value)
      .receive(
        [&](uint64_t n) {
          if (n > 0)
            spdlog::info("{} task schedules and decision expiries timed", n);
        },
        [&](caf::error& err) {
          spdlog::error("cannot load task schedules: {}", nod::detail_of(err));
        });
  }

  // 3. The network.
  nod::net::app_api_context api;
  api.sys = &sys;
  api.accounts = people.accounts;
  api.sessions_epoch = people.sessions_epoch;
  api.directory = people.directory;
  api.reader = people.reader;
  api.actions = delivery.actions;
  api.outbox = delivery.outbox;
  api.tasks = delivery.tasks;
  api.alerts = alerts;
  api.maintenance = maintenance;
  api.public_url = cfg.public_url;
  api.public_url_set = public_url_set;
  api.webhook_hosts = webhook_hosts;
  nod::net::agent_api_context agent_api;
  agent_api.sys = &sys;
  agent_api.accounts = people.accounts;
  agent_api.directory = people.directory;
  agent_api.ingest = people.ingest;
  agent_api.journal = journal;
  agent_api.reader = people.reader;
  agent_api.outbox = delivery.outbox;
  agent_api.notifier = delivery.notifier;
  agent_api.tasks = delivery.tasks;
  agent_api.agents_epoch = people.agents_epoch;
  agent_api.sessions.rate = static_cast<double>(cfg.agent_rate);
  agent_api.sessions.burst = static_cast<double>(cfg.agent_burst);
  agent_api.trigger_rate = static_cast<double>(cfg.trigger_rate);
  agent_api.trigger_burst = static_cast<double>(cfg.trigger_burst);
  agent_api.trigger_loops = &metrics.get_counter(
    "nod_trigger_loops_total",
    "Trigger calls refused with 508: X-Nod-Hops said they had passed "
    "through too many webhooks.");
  nod::net::add_app_api(server, std::move(api));
  nod::net::add_agent_api(server, std::move(agent_api));
  nod::net::add_web_app(server);
  if (auto err = server.start()) {
    spdlog::critical("{}", *err);
    stop_actors();
    return exit_failure;
  }
  ready = true;
  spdlog::info("nod-server {} listening on {}{}:{} (data in {}, {} "
               "io thread(s), {} worker thread(s))",
               NOD_VERSION_STRING, scheme, url_host(cfg.listen_host),
               server.port(), data_dir, cfg.io_threads,
               nod::effective_worker_threads(cfg.worker_threads));

  int received = 0;
  for (;;) {
    received = wait_signal(handled_signals, run.node != nullptr);
    if (received == 0) {
      if (run.node->current() == nod::cluster::role::leading)
        continue;
      deposed = true;
      break;
    }
    if (received != SIGHUP)
      break;
    reload_config(args, started_cfg, server, retention);
    if (!server.tls())
      continue;
    if (auto err = server.reload_tls())
      spdlog::error("received SIGHUP: {}; the certificate in use stays", *err);
    else
      spdlog::info("received SIGHUP: reloaded {} and {}", cfg.tls_cert,
                   cfg.tls_key);
  }
  if (deposed)
    spdlog::warn("stepping down: this node stops serving and follows the "
                 "cluster again");
  else
    spdlog::info("received {}, shutting down", strsignal(received));

  // 4. Orderly stop: no new work, finish what is in flight, then the
  // journal writes what waits and closes the store.
  ready = false;
  server.stop();
  spdlog::info("connections closed");
  stop_actors();
  return 0;
}

int main(int argc, char** argv) {
  // Block the signals the server handles before any thread starts, so
  // every thread inherits the mask and only `sigwait` below ever sees them:
  // SIGTERM and SIGINT stop, SIGHUP reloads the configuration and the TLS
  // certificate.
  sigset_t handled_signals;
  sigemptyset(&handled_signals);
  sigaddset(&handled_signals, SIGTERM);
  sigaddset(&handled_signals, SIGINT);
  sigaddset(&handled_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &handled_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (argc > 1 && std::string_view{argv[1]} == "user")
    return user_command({argv + 2, argv + argc});
  if (argc > 1 && std::string_view{argv[1]} == "backup")
    return nod::app::backup_command({argv + 2, argv + argc});
  if (argc > 1 && std::string_view{argv[1]} == "restore")
    return nod::app::restore_command({argv + 2, argv + argc});
  const std::vector<std::string> args{argv + 1, argv + argc};
  auto loaded = nod::load_config(args, environment());
  switch (loaded.what) {
    case nod::config_result::outcome::print_and_exit:
      std::printf("%s\n", loaded.message.c_str());
      return 0;
    case nod::config_result::outcome::error:
      std::fprintf(stderr, "nod-server: %s\n", loaded.message.c_str());
      return exit_bad_setting;
    case nod::config_result::outcome::run: break;
  }
  auto& cfg = loaded.cfg;
  if (auto err = nod::validate_environment(cfg)) {
    std::fprintf(stderr, "nod-server: %s\n", err->c_str());
    return exit_bad_setting;
  }
  // What SIGHUP compares with: `cfg` gets derived values below.
  const nod::config started_cfg = cfg;
  auto access_logger = nod::logging::setup(cfg.log_format, cfg.log_level);

  // 1. The store, before anything can accept a write.
  std::error_code ignored;
  auto data_dir = std::filesystem::absolute(cfg.data_dir, ignored)
                    .lexically_normal()
                    .string();
  auto backup_dir = cfg.backup_dir.empty()
                      ? (std::filesystem::path{data_dir} / "backups").string()
                      : std::filesystem::absolute(cfg.backup_dir, ignored)
                          .lexically_normal()
                          .string();
  nod::storage::store_options store_opts;
  store_opts.sync = cfg.journal_sync;
  store_opts.backup_dir = backup_dir;
  std::string error;
  nod::storage::open_report opened;
  auto db = nod::storage::store::open(data_dir, store_opts, error, &opened);
  if (!db) {
    spdlog::critical("{}", error);
    return exit_failure;
  }
  if (!opened.migration_backup.empty())
    spdlog::warn("migrated data directory {} from data format {} to {}; the "
                 "directory as it was is backed up in {}",
                 data_dir, opened.found_format,
                 nod::storage::current_data_format(), opened.migration_backup);
  std::shared_ptr<nod::storage::store> shared_db{std::move(db)};

  fit_connections_to_fd_limit(cfg);
  nod::metrics::registry metrics;
  metrics.add_collector(nod::metrics::append_process_metrics);
  int code = 0;
  std::unique_ptr<nod::cluster::node> node;
  if (!cfg.cluster_nats.empty()) {
    node = nod::app::start_cluster_node(cfg, metrics, shared_db, code);
    if (!node)
      return code;
  }
  serving run{args,      cfg,      started_cfg, access_logger,   metrics,
              shared_db, data_dir, backup_dir,  handled_signals, node.get()};
  shared_db.reset();
  for (;;) {
    if (node
        && !nod::app::stand_by(cfg, metrics, access_logger, *node,
                               handled_signals, code))
      break;
    bool deposed = false;
    code = serve(run, deposed);
    if (!deposed)
      break;
    node->rejoin();
  }
  run.db.reset();
  node.reset();
  if (code == 0)
    spdlog::info("journal closed, bye");
  return code;
}
