#include "bench/phase.hpp"

#include "bench/server.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <cmath>
#include <cstdio>
#include <thread>

namespace nod::bench {

double percentile(const std::vector<float>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<size_t>(std::ceil(p * sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

phase_result
run_phase(const std::string& name, const options& opt,
          const std::vector<server_node>& nodes, server_process* srv,
          const connection_maker& make,
          const std::function<void(net::io_context&, phase_state&)>& prepare) {
  auto n = static_cast<size_t>(opt.agents);
  std::fprintf(stderr, "%s: %zu connections, 0.5 s warm-up + %.1f s...\n",
               name.c_str(), n, opt.seconds);
  // Declared before the io_context: connections still queued when it is
  // destroyed refer to them.
  std::vector<conn_stats> stats(n);
  phase_result r;
  phase_state st;
  st.nodes = nodes;
  st.active = static_cast<int>(n);
  st.use_strands = opt.io_threads > 1;
  net::io_context io{opt.io_threads};
  auto guard = net::make_work_guard(io);
  if (prepare)
    prepare(io, st);
  for (size_t i = 0; i < n; ++i)
    make(io, st, stats[i], i);
  std::vector<std::thread> threads;
  for (int t = 0; t < opt.io_threads; ++t)
    threads.emplace_back([&io] {
      io.run();
    });

  // Timing happens on this thread so no handler ever blocks.
  sleep_unless_interrupted(warmup_time);
  st.current = static_cast<int>(stage::measure);
  auto t0 = clock_type::now();
  auto srv0 = srv ? process_cpu_seconds(srv->pid()) : std::nullopt;
  auto self0 = self_cpu_seconds();
  sleep_unless_interrupted(std::chrono::duration_cast<clock_type::duration>(
    std::chrono::duration<double>(opt.seconds)));
  st.current = static_cast<int>(stage::done);
  auto t1 = clock_type::now();
  auto srv1 = srv ? process_cpu_seconds(srv->pid()) : std::nullopt;
  auto self1 = self_cpu_seconds();

  guard.reset();
  auto deadline = clock_type::now() + drain_time;
  while (st.active.load() > 0 && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  io.stop();
  for (auto& t : threads)
    t.join();
  r.stuck = st.active.load();

  r.name = name;
  r.connections = n;
  std::vector<float> all;
  clock_type::time_point first_at = clock_type::time_point::max();
  for (auto& s : stats) {
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    r.errors += s.errors;
    if (!s.first_error.empty() && s.first_error_at < first_at) {
      first_at = s.first_error_at;
      r.first_error = s.first_error;
    }
  }
  std::sort(all.begin(), all.end());
  double secs = std::chrono::duration<double>(t1 - t0).count();
  r.seconds = secs;
  r.ops_per_s = static_cast<double>(all.size()) / secs;
  r.p50_ms = percentile(all, 0.50) / 1000;
  r.p99_ms = percentile(all, 0.99) / 1000;
  r.max_ms = all.empty() ? 0 : all.back() / 1000;
  if (srv0 && srv1)
    r.server_cpu_pct = (*srv1 - *srv0) / secs * 100;
  r.bench_cpu_pct = (self1 - self0) / secs * 100;
  return r;
}

} // namespace nod::bench
