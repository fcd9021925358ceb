#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nod::metrics {

/// A monotonically increasing count, safe to bump from any thread.
class counter {
public:
  /// Adds `n` to the count.
  void inc(uint64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }

  /// Current count.
  uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down, safe to change from any thread.
class gauge {
public:
  /// Sets the value.
  void set(int64_t x) noexcept {
    value_.store(x, std::memory_order_relaxed);
  }

  /// Adds `x` (which may be negative).
  void add(int64_t x) noexcept {
    value_.fetch_add(x, std::memory_order_relaxed);
  }

  /// Current value.
  int64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<int64_t> value_{0};
};

/// A Prometheus histogram with fixed upper bounds, lock-free to observe.
class histogram {
public:
  /// Creates a histogram with the given ascending upper bounds (`+Inf` is
  /// implied).
  explicit histogram(std::vector<double> bounds);

  /// Records one observation.
  void observe(double x) noexcept;

  /// Upper bounds, without `+Inf`.
  const std::vector<double>& bounds() const noexcept {
    return bounds_;
  }

  /// Non-cumulative count of bucket `i` (`i == bounds().size()` is `+Inf`).
  uint64_t bucket(size_t i) const noexcept {
    return counts_[i].load(std::memory_order_relaxed);
  }

  /// Number of observations.
  uint64_t count() const noexcept;

  /// Sum of all observations.
  double sum() const noexcept;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

/// Bounds for latencies in seconds, 50 µs to 10 s.
std::vector<double> latency_bounds();

/// Bounds for sizes and counts, 1 to 65536 in powers of four.
std::vector<double> size_bounds();

/// Owns every metric of one server and renders them in the Prometheus text
/// format. Lookups take a lock; callers on hot paths keep the reference,
/// which stays valid for the registry's lifetime.
class registry {
public:
  /// Gets or creates the counter `name{labels}`. `labels` is the inside of
  /// the braces, e.g. `route="/healthz",status="200"`, or empty.
  counter& get_counter(const std::string& name, const std::string& help,
                       const std::string& labels = {});

  /// Gets or creates the gauge `name{labels}`.
  gauge& get_gauge(const std::string& name, const std::string& help,
                   const std::string& labels = {});

  /// Gets or creates the histogram `name{labels}`; `bounds` is used only
  /// when the family is new.
  histogram& get_histogram(const std::string& name, const std::string& help,
                           const std::vector<double>& bounds,
                           const std::string& labels = {});

  /// Adds a function that appends complete metric families (with `# HELP`
  /// and `# TYPE` lines) to the output at every render, for values read
  /// on demand such as process statistics.
  void add_collector(std::function<void(std::string&)> collector);

  /// All metrics in the Prometheus text exposition format 0.0.4.
  std::string render() const;

private:
  enum class kind { counter, gauge, histogram };

  struct family {
    kind type;
    std::string help;
    std::vector<double> bounds;
    std::map<std::string, std::unique_ptr<counter>> counters;
    std::map<std::string, std::unique_ptr<gauge>> gauges;
    std::map<std::string, std::unique_ptr<histogram>> histograms;
  };

  family& get_family(const std::string& name, kind type,
                     const std::string& help);

  mutable std::mutex mtx_;
  std::map<std::string, family> families_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

/// Appends process metrics read from /proc/self (CPU seconds, resident
/// memory, open file descriptors, threads, start time) to `out`.
void append_process_metrics(std::string& out);

/// Escapes a label value for the text format (backslash, quote, newline).
std::string escape_label(const std::string& value);

} // namespace nod::metrics
