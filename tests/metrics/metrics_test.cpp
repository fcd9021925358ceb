#include "metrics/metrics.hpp"

#include <gtest/gtest.h>
#include <thread>

namespace nod::metrics {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(metrics, counters_and_gauges_render_with_help_and_type) {
  registry reg;
  reg.get_counter("nod_x_total", "Things.", "kind=\"a\"").inc(3);
  reg.get_counter("nod_x_total", "Things.", "kind=\"b\"").inc();
  reg.get_gauge("nod_y", "Level.").set(-2);
  auto text = reg.render();
  EXPECT_TRUE(contains(text, "# HELP nod_x_total Things.\n"));
  EXPECT_TRUE(contains(text, "# TYPE nod_x_total counter\n"));
  EXPECT_TRUE(contains(text, "nod_x_total{kind=\"a\"} 3\n"));
  EXPECT_TRUE(contains(text, "nod_x_total{kind=\"b\"} 1\n"));
  EXPECT_TRUE(contains(text, "# TYPE nod_y gauge\nnod_y -2\n"));
}

TEST(metrics, same_name_and_labels_is_the_same_metric) {
  registry reg;
  auto& a = reg.get_counter("c", "h", "l=\"1\"");
  auto& b = reg.get_counter("c", "h", "l=\"1\"");
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &reg.get_counter("c", "h", "l=\"2\""));
}

TEST(metrics, histogram_buckets_are_cumulative) {
  registry reg;
  auto& h = reg.get_histogram("lat", "Latency.", {0.25, 1});
  h.observe(0.125);
  h.observe(0.25); // on the bound: counts in that bucket (le)
  h.observe(0.5);
  h.observe(7);
  auto text = reg.render();
  EXPECT_TRUE(contains(text, "lat_bucket{le=\"0.25\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "lat_bucket{le=\"1\"} 3\n"));
  EXPECT_TRUE(contains(text, "lat_bucket{le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(contains(text, "lat_count 4\n"));
  EXPECT_DOUBLE_EQ(h.sum(), 7.875);
}

TEST(metrics, concurrent_updates_are_not_lost) {
  registry reg;
  auto& c = reg.get_counter("n", "h");
  auto& h = reg.get_histogram("d", "h", latency_bounds());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.001);
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_NEAR(h.sum(), 40.0, 1e-6);
}

TEST(metrics, process_metrics_are_read_from_proc) {
  registry reg;
  reg.add_collector(append_process_metrics);
  auto text = reg.render();
  for (auto name :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_open_fds ", "process_threads ", "process_start_time_seconds "})
    EXPECT_TRUE(contains(text, name)) << name;
  EXPECT_FALSE(contains(text, "process_resident_memory_bytes 0\n"));
}

TEST(metrics, label_values_are_escaped) {
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

} // namespace
} // namespace nod::metrics
