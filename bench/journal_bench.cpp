// nod-journal-bench: durable appends per second through the journal actor
// for 1, 8 and 64 concurrent appenders (each with one append in flight), as
// the server's request paths use it. Not a test: prints figures.
//
//   nod-journal-bench [--seconds=N] [--dir=PATH] [--no-sync] [--payload=BYTES]

#include "actors/journal.hpp"
#include "actors/system.hpp"
#include "storage/store.hpp"

#include <algorithm>
#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace nod;
using clock_type = std::chrono::steady_clock;

struct results {
  std::mutex mtx;
  std::vector<double> latencies_us;
  std::atomic<uint64_t> done{0};
};

using next_atom = caf::atom_constant<caf::atom("next")>;

// One appender: append, wait for the durable acknowledgement, repeat until
// `stop` is set. Each round is a message to itself, so no closure has to
// refer to itself (which would leak the actor and the journal handle).
caf::behavior appender(caf::event_based_actor* self, journal_actor j,
                       uint64_t agent, std::string payload,
                       std::atomic<bool>* stop, results* out) {
  auto latencies = std::make_shared<std::vector<double>>();
  self->send(self, next_atom::value);
  return {
    [=](next_atom) {
      if (stop->load()) {
        std::lock_guard<std::mutex> guard{out->mtx};
        out->latencies_us.insert(out->latencies_us.end(), latencies->begin(),
                                 latencies->end());
        self->quit();
        return;
      }
      journal_write w;
      w.appends.push_back({agent, payload, {}});
      auto started = clock_type::now();
      self->request(j, caf::infinite, append_atom::value, std::move(w))
        .then(
          [=](journal_written&) {
            latencies->push_back(std::chrono::duration<double, std::micro>(
                                   clock_type::now() - started)
                                   .count());
            out->done.fetch_add(1, std::memory_order_relaxed);
            self->send(self, next_atom::value);
          },
          [=](caf::error& err) {
            std::fprintf(stderr, "append failed: %s\n",
                         caf::to_string(err).c_str());
            std::exit(1);
          });
    },
  };
}

double percentile(std::vector<double>& xs, double p) {
  if (xs.empty())
    return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<long>(k), xs.end());
  return xs[k];
}

} // namespace

int main(int argc, char** argv) {
  int seconds = 5;
  bool sync = true;
  size_t payload_bytes = 256;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--seconds=", 0) == 0)
      seconds = std::atoi(arg.c_str() + 10);
    else if (arg.rfind("--dir=", 0) == 0)
      dir = arg.substr(6);
    else if (arg == "--no-sync")
      sync = false;
    else if (arg.rfind("--payload=", 0) == 0)
      payload_bytes = std::strtoul(arg.c_str() + 10, nullptr, 10);
    else {
      std::fprintf(stderr,
                   "usage: %s [--seconds=N] [--dir=PATH] [--no-sync] "
                   "[--payload=BYTES]\n",
                   argv[0]);
      return 2;
    }
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char pattern[] = "/tmp/nod-journal-bench-XXXXXX";
    if (!mkdtemp(pattern))
      return 1;
    dir = pattern;
  }
  std::string error;
  storage::store_options opts;
  opts.sync = sync;
  auto db = storage::store::open(dir, opts, error);
  if (!db) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  caf::actor_system_config cfg;
  configure_actor_system(cfg, 0);
  caf::actor_system sys{cfg};
  auto j
    = spawn_journal(sys, std::shared_ptr<storage::store>{std::move(db)}, {});
  std::printf("journal benchmark: %zu-byte events, fsync %s, %d s per row, "
              "data in %s\n",
              payload_bytes, sync ? "on" : "off", seconds, dir.c_str());
  std::printf("%10s %14s %10s %10s %10s %12s\n", "appenders", "appends/s",
              "p50 us", "p99 us", "max us", "writes/batch");
  std::string payload(payload_bytes, 'x');
  uint64_t agent_base = 0;
  for (int n : {1, 8, 64}) {
    results out;
    std::atomic<bool> stop{false};
    caf::scoped_actor self{sys};
    journal_stats start_stats;
    self->request(j, caf::infinite, stats_atom::value)
      .receive(
        [&](journal_stats& s) {
          start_stats = s;
        },
        [](caf::error&) {});
    auto started = clock_type::now();
    for (int i = 0; i < n; ++i)
      sys.spawn(appender, j, agent_base + static_cast<uint64_t>(i % 16),
                payload, &stop, &out);
    std::this_thread::sleep_for(std::chrono::seconds{seconds});
    stop = true;
    auto elapsed
      = std::chrono::duration<double>(clock_type::now() - started).count();
    auto done = out.done.load();
    // Wait for every appender to report its latencies.
    for (;;) {
      {
        std::lock_guard<std::mutex> guard{out.mtx};
        if (out.latencies_us.size() >= done)
          break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
      done = out.done.load();
    }
    journal_stats end_stats;
    self->request(j, caf::infinite, stats_atom::value)
      .receive(
        [&](journal_stats& s) {
          end_stats = s;
        },
        [](caf::error&) {});
    auto batches = end_stats.batches - start_stats.batches;
    auto writes = end_stats.writes - start_stats.writes;
    auto& lat = out.latencies_us;
    auto max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
    std::printf("%10d %14.0f %10.0f %10.0f %10.0f %12.1f\n", n,
                static_cast<double>(done) / elapsed, percentile(lat, 0.5),
                percentile(lat, 0.99), max,
                batches
                  ? static_cast<double>(writes) / static_cast<double>(batches)
                  : 0.0);
    std::fflush(stdout);
    agent_base += 16;
  }
  caf::anon_send_exit(j, caf::exit_reason::user_shutdown);
  j = nullptr;
  sys.await_all_actors_done();
  if (own_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  return 0;
}
