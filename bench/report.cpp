#include "bench/report.hpp"

#include "bench/common.hpp"

#include <cstdio>

namespace nod::bench {

namespace {

void print_table(const std::vector<phase_result>& rows) {
  std::printf("\n%-10s %6s %10s %8s %8s %8s %8s %9s %9s %10s\n", "phase",
              "conns", "ops/s", "p50 ms", "p99 ms", "max ms", "errors",
              "srv cpu%", "bench cpu%", "srv us/op");
  for (auto& r : rows) {
    char srv_cpu[32] = "-";
    char srv_per_op[32] = "-";
    if (r.server_cpu_pct >= 0) {
      std::snprintf(srv_cpu, sizeof(srv_cpu), "%.0f", r.server_cpu_pct);
      // Server CPU per operation: steadier than ops/s on a VM whose speed
      // drifts, so the column to compare two builds by.
      if (r.ops_per_s > 0)
        std::snprintf(srv_per_op, sizeof(srv_per_op), "%.1f",
                      r.server_cpu_pct / 100 / r.ops_per_s * 1e6);
    }
    std::printf("%-10s %6zu %10.0f %8.2f %8.2f %8.2f %8llu %9s %9.0f %10s\n",
                r.name.c_str(), r.connections, r.ops_per_s, r.p50_ms, r.p99_ms,
                r.max_ms, static_cast<unsigned long long>(r.errors), srv_cpu,
                r.bench_cpu_pct, srv_per_op);
  }
}

void print_open_loop(const std::vector<open_loop_row>& rows, double rate,
                     size_t agents) {
  std::printf("\nopen loop: %.0f messages/s over %zu agents, latency from "
              "each message's scheduled send time\n",
              rate, agents);
  std::printf("%-11s %8s %8s %8s %8s %8s %8s %8s %7s %9s %10s\n", "path",
              "sent", "arrived", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
              "max ms", "errors", "srv cpu%", "srv us/msg");
  for (auto& r : rows) {
    auto& l = r.latencies_us;
    char cpu[32] = "-";
    char per[32] = "-";
    if (r.server_cpu_pct >= 0) {
      std::snprintf(cpu, sizeof(cpu), "%.0f", r.server_cpu_pct);
      if (r.seconds > 0 && r.scheduled > 0)
        std::snprintf(per, sizeof(per), "%.1f",
                      r.server_cpu_pct / 100 * r.seconds
                        / static_cast<double>(r.scheduled) * 1e6);
    }
    std::printf("%-11s %8llu %8llu %8.2f %8.2f %8.2f %8.2f %8.2f %7llu %9s "
                "%10s\n",
                r.name.c_str(), static_cast<unsigned long long>(r.scheduled),
                static_cast<unsigned long long>(r.arrived),
                percentile(l, 0.50) / 1000, percentile(l, 0.90) / 1000,
                percentile(l, 0.99) / 1000, percentile(l, 0.999) / 1000,
                l.empty() ? 0.0 : l.back() / 1000,
                static_cast<unsigned long long>(r.errors), cpu, per);
  }
  for (auto& r : rows)
    if (!r.first_error.empty())
      std::printf("%s: first error: %s\n", r.name.c_str(),
                  r.first_error.c_str());
}

} // namespace

void print_report(const std::vector<phase_result>& rows,
                  const std::vector<open_loop_row>& open_rows, double rate,
                  size_t agents, const std::vector<std::string>& notes) {
  if (!rows.empty())
    print_table(rows);
  if (!open_rows.empty())
    print_open_loop(open_rows, rate, agents);
  const phase_result* healthz = nullptr;
  const phase_result* rest = nullptr;
  for (auto& r : rows) {
    if (r.name == "healthz")
      healthz = &r;
    if (r.name == "rest")
      rest = &r;
  }
  if (healthz && rest && healthz->ops_per_s > 0)
    std::printf("rest/healthz ratio: %.3f\n",
                rest->ops_per_s / healthz->ops_per_s);
  std::printf("(ops/s and latencies over the measured time after 0.5 s "
              "warm-up; errors include warm-up; cpu%% = cpu time / wall "
              "time, 100 = one core; srv us/op = server cpu time per "
              "operation)\n");
  for (auto& n : notes)
    std::printf("%s\n", n.c_str());
  if (interrupted)
    std::printf("interrupted\n");
}

} // namespace nod::bench
