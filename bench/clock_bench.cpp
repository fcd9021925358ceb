// nod-clock-bench: how many idle scheduled tasks the task clock holds, and
// what they cost: the start-up load (the tasks actor reading every task
// from the store and handing its next fire time to the clock), memory per
// task, and the process's CPU time while they all wait. Not a test: prints
// figures.
//
//   nod-clock-bench [--tasks=N] [--idle-seconds=S] [--dir=PATH]
//
// The tasks are written straight into a fresh store (the format the tasks
// actor writes), each due once a year at a random time more than an hour
// away, so none fires during the measurement. The real journal, tasks
// actor and clock then load them as `nod-server` does at start-up. Compare
// the idle CPU with a `--tasks=0` run: the actor system's idle workers cost
// a few ms per second with or without tasks.

#include "actors/journal.hpp"
#include "actors/system.hpp"
#include "actors/task_clock.hpp"
#include "actors/tasks.hpp"
#include "protocol/time.hpp"
#include "storage/store.hpp"

#include <caf/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace nod;
using clock_type = std::chrono::steady_clock;

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

/// Resident memory of this process, MiB.
double rss_mib() {
  std::ifstream in{"/proc/self/statm"};
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return static_cast<double>(resident) * 4096 / (1024.0 * 1024.0);
}

/// CPU time this process uses per second of wall time over `seconds`.
double idle_cpu_ms_per_s(double seconds) {
  auto cpu0 = cpu_seconds();
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  return (cpu_seconds() - cpu0) * 1000 / wall;
}

void seed(const std::string& dir, uint64_t n) {
  std::string error;
  storage::store_options opts;
  opts.sync = false;
  auto db = storage::store::open(dir, opts, error);
  if (!db) {
    std::fprintf(stderr, "nod-clock-bench: %s\n", error.c_str());
    std::exit(1);
  }
  std::mt19937_64 rng{42};
  auto now = now_ms();
  std::uniform_int_distribution<int64_t> offset{3600'000,
                                                365LL * 24 * 3600'000};
  storage::write_batch batch;
  for (uint64_t i = 0; i < n; ++i) {
    task_record t;
    t.id = (static_cast<uint64_t>(now) << 16) + i;
    t.agent = 1 + i % 1000;
    t.name = "task " + std::to_string(i);
    t.prompt = "Summarize what happened since the last run.";
    t.schedule = "0 0 1 1 *";
    t.created_ms = now;
    t.updated_ms = now;
    t.next_run_ms = now + offset(rng);
    journal_write w;
    put_task(w, t);
    for (auto& [k, v] : w.puts)
      batch.put(k, v);
    if (batch.size() >= 20000 || i + 1 == n) {
      if (auto st = db->write(batch); !st.ok()) {
        std::fprintf(stderr, "nod-clock-bench: %s\n", st.message().c_str());
        std::exit(1);
      }
      batch = storage::write_batch{};
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  uint64_t n = 1'000'000;
  double idle_s = 10;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--tasks=", 0) == 0)
      n = std::strtoull(arg.c_str() + 8, nullptr, 10);
    else if (arg.rfind("--idle-seconds=", 0) == 0)
      idle_s = std::atof(arg.c_str() + 15);
    else if (arg.rfind("--dir=", 0) == 0)
      dir = arg.substr(6);
    else {
      std::fprintf(stderr, "usage: nod-clock-bench [--tasks=N] "
                           "[--idle-seconds=S] [--dir=PATH]\n");
      return 2;
    }
  }
  bool own_dir = dir.empty();
  if (own_dir)
    dir = (std::filesystem::temp_directory_path()
           / ("nod-clock-bench-" + std::to_string(getpid())))
            .string();
  std::filesystem::remove_all(dir);

  auto t0 = clock_type::now();
  seed(dir, n);
  auto seed_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("seeded %llu tasks in %.1f s\n",
              static_cast<unsigned long long>(n), seed_s);

  {
    std::string error;
    auto db = storage::store::open(dir, {}, error);
    if (!db) {
      std::fprintf(stderr, "nod-clock-bench: %s\n", error.c_str());
      return 1;
    }
    caf::actor_system_config cfg;
    configure_actor_system(cfg, 0);
    caf::actor_system sys{cfg};
    auto journal
      = spawn_journal(sys, std::shared_ptr<storage::store>{std::move(db)}, {});
    auto clock = sys.spawn(task_clock, task_clock_options{});
    auto tasks_actor
      = sys.spawn(tasks, journal, accounts_actor{}, outbox_actor{},
                  directory_actor{}, clock, tasks_options{});
    auto rss0 = rss_mib();
    caf::scoped_actor self{sys};
    auto t1 = clock_type::now();
    uint64_t loaded = 0;
    self->request(tasks_actor, caf::infinite, recover_atom::value)
      .receive(
        [&](uint64_t x) {
          loaded = x;
        },
        [&](caf::error& err) {
          std::fprintf(stderr, "recover failed: %s\n",
                       caf::to_string(err).c_str());
        });
    uint64_t held = 0;
    while (held < loaded) {
      self->request(clock, caf::infinite, entry_count_atom::value)
        .receive(
          [&](uint64_t x) {
            held = x;
          },
          [&](caf::error&) {});
      if (held < loaded)
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    auto load_s = std::chrono::duration<double>(clock_type::now() - t1).count();
    auto rss1 = rss_mib();
    std::printf("clock holds %llu tasks, loaded in %.2f s (%.0f tasks/s)\n",
                static_cast<unsigned long long>(held), load_s,
                held / std::max(load_s, 1e-9));
    std::printf("memory: +%.1f MiB resident (%.0f bytes per task, incl. "
                "the store's caches)\n",
                rss1 - rss0,
                (rss1 - rss0) * 1024 * 1024 / std::max<uint64_t>(held, 1));
    std::printf("idle CPU: %.2f ms per s over %.0f s\n",
                idle_cpu_ms_per_s(idle_s), idle_s);
    self->send_exit(tasks_actor, caf::exit_reason::user_shutdown);
    self->send_exit(clock, caf::exit_reason::user_shutdown);
    self->send_exit(journal, caf::exit_reason::user_shutdown);
  }
  if (own_dir)
    std::filesystem::remove_all(dir);
  return 0;
}
