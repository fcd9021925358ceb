// nod-server: wires the layers together and runs until SIGTERM/SIGINT.

#include "actors/journal.hpp"
#include "actors/system.hpp"
#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/server.hpp"
#include "nod_version.hpp"
#include "storage/store.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

extern char** environ;

namespace {

// Exit statuses: 2 for a bad setting (as `--help` explains), 1 for a
// failure at run time (port taken, data directory locked or damaged).
constexpr int exit_bad_setting = 2;
constexpr int exit_failure = 1;

std::vector<std::string> environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    env.emplace_back(*e);
  return env;
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stdout_color_mt("nod");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v",
                      spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  // Lines reach the terminal or log collector at once, not at exit.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so every thread
  // inherits the mask and only `sigwait` below ever sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto loaded = nod::load_config({argv + 1, argv + argc}, environment());
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
  setup_logging(cfg.log_level);

  // 1. The store, before anything can accept a write.
  std::error_code ignored;
  auto data_dir = std::filesystem::absolute(cfg.data_dir, ignored)
                    .lexically_normal()
                    .string();
  nod::storage::store_options store_opts;
  store_opts.sync = cfg.journal_sync;
  std::string error;
  auto db = nod::storage::store::open(data_dir, store_opts, error);
  if (!db) {
    spdlog::critical("{}", error);
    return exit_failure;
  }

  nod::metrics::registry metrics;
  metrics.add_collector(nod::metrics::append_process_metrics);
  std::atomic<bool> ready{false};
  {
    // 2. Actors.
    caf::actor_system_config sys_cfg;
    nod::configure_actor_system(sys_cfg, cfg.worker_threads);
    caf::actor_system sys{sys_cfg};
    nod::journal_options journal_opts;
    journal_opts.max_batch = cfg.journal_max_batch;
    journal_opts.metrics = &metrics;
    auto journal = nod::spawn_journal(
      sys, std::shared_ptr<nod::storage::store>{std::move(db)}, journal_opts);

    // 3. The network.
    nod::net::server server{cfg, metrics, [&ready] {
                              return ready.load();
                            }};
    if (auto err = server.start()) {
      spdlog::critical("{}", *err);
      caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
      return exit_failure;
    }
    ready = true;
    spdlog::info("nod-server {} listening on http://{}:{} (data in {}, {} "
                 "io thread(s), {} worker thread(s))",
                 NOD_VERSION_STRING, url_host(cfg.listen_host), server.port(),
                 data_dir, cfg.io_threads,
                 nod::effective_worker_threads(cfg.worker_threads));

    int received = 0;
    sigwait(&stop_signals, &received);
    spdlog::info("received {}, shutting down", strsignal(received));

    // 4. Orderly stop: no new work, finish what is in flight, then the
    // journal writes what waits and closes the store.
    ready = false;
    server.stop();
    spdlog::info("connections closed");
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    journal = nullptr;
  } // the actor system waits here for every actor, the journal included
  spdlog::info("journal closed, bye");
  return 0;
}
