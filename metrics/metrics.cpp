#include "metrics/metrics.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace nod::metrics {

namespace {

// The shortest text that reads back as `x`, so bounds print as "0.005"
// rather than "0.0050000000000000001".
void append_number(std::string& out, double x) {
  char buf[32];
  int n = 0;
  for (int precision = 1; precision <= 17; ++precision) {
    n = std::snprintf(buf, sizeof(buf), "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x)
      break;
  }
  out.append(buf, static_cast<size_t>(n));
}

void append_series(std::string& out, const std::string& name,
                   const std::string& labels) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
}

void append_header(std::string& out, const std::string& name,
                   const std::string& help, const char* type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

std::string with_le(const std::string& labels, const std::string& le) {
  std::string result = labels;
  if (!result.empty())
    result += ',';
  result += "le=\"";
  result += le;
  result += '"';
  return result;
}

} // namespace

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)),
    counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i)
    counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double x) noexcept {
  size_t i = 0;
  while (i < bounds_.size() && x > bounds_[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  auto old = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(old, old + x, std::memory_order_relaxed))
    ; // retry with the fresh value
}

uint64_t histogram::count() const noexcept {
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i)
    total += bucket(i);
  return total;
}

double histogram::sum() const noexcept {
  return sum_.load(std::memory_order_relaxed);
}

std::vector<double> latency_bounds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

std::vector<double> size_bounds() {
  return {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536};
}

registry::family& registry::get_family(const std::string& name, kind type,
                                       const std::string& help) {
  auto [i, added] = families_.try_emplace(name);
  if (added) {
    i->second.type = type;
    i->second.help = help;
  }
  return i->second;
}

counter& registry::get_counter(const std::string& name, const std::string& help,
                               const std::string& labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = get_family(name, kind::counter, help);
  auto& slot = fam.counters[labels];
  if (!slot)
    slot = std::make_unique<counter>();
  return *slot;
}

gauge& registry::get_gauge(const std::string& name, const std::string& help,
                           const std::string& labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = get_family(name, kind::gauge, help);
  auto& slot = fam.gauges[labels];
  if (!slot)
    slot = std::make_unique<gauge>();
  return *slot;
}

histogram& registry::get_histogram(const std::string& name,
                                   const std::string& help,
                                   const std::vector<double>& bounds,
                                   const std::string& labels) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& fam = get_family(name, kind::histogram, help);
  if (fam.bounds.empty())
    fam.bounds = bounds;
  auto& slot = fam.histograms[labels];
  if (!slot)
    slot = std::make_unique<histogram>(fam.bounds);
  return *slot;
}

void registry::add_collector(std::function<void(std::string&)> collector) {
  std::lock_guard<std::mutex> guard{mtx_};
  collectors_.push_back(std::move(collector));
}

std::string registry::render() const {
  std::string out;
  out.reserve(4096);
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [name, fam] : families_) {
    switch (fam.type) {
      case kind::counter:
        append_header(out, name, fam.help, "counter");
        for (auto& [labels, c] : fam.counters) {
          append_series(out, name, labels);
          out += std::to_string(c->value());
          out += '\n';
        }
        break;
      case kind::gauge:
        append_header(out, name, fam.help, "gauge");
        for (auto& [labels, g] : fam.gauges) {
          append_series(out, name, labels);
          out += std::to_string(g->value());
          out += '\n';
        }
        break;
      case kind::histogram:
        append_header(out, name, fam.help, "histogram");
        for (auto& [labels, h] : fam.histograms) {
          uint64_t cumulative = 0;
          auto& bounds = h->bounds();
          for (size_t i = 0; i <= bounds.size(); ++i) {
            cumulative += h->bucket(i);
            std::string le;
            if (i < bounds.size())
              append_number(le, bounds[i]);
            else
              le = "+Inf";
            append_series(out, name + "_bucket", with_le(labels, le));
            out += std::to_string(cumulative);
            out += '\n';
          }
          append_series(out, name + "_sum", labels);
          append_number(out, h->sum());
          out += '\n';
          append_series(out, name + "_count", labels);
          out += std::to_string(cumulative);
          out += '\n';
        }
        break;
    }
  }
  for (auto& collect : collectors_)
    collect(out);
  return out;
}

void append_process_metrics(std::string& out) {
  // Fields of /proc/self/stat after the command name: see proc(5).
  std::ifstream stat_file{"/proc/self/stat"};
  std::string stat{std::istreambuf_iterator<char>{stat_file},
                   std::istreambuf_iterator<char>{}};
  auto close_paren = stat.rfind(')');
  if (close_paren != std::string::npos) {
    std::istringstream fields{stat.substr(close_paren + 2)};
    std::vector<std::string> f;
    for (std::string x; fields >> x;)
      f.push_back(x);
    // f[0] is field 3 (state); utime=14, stime=15, threads=20,
    // starttime=22, rss=24 (1-based field numbers).
    auto field = [&](size_t n) -> double {
      return n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0;
    };
    double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    append_header(out, "process_cpu_seconds_total",
                  "Total user and system CPU time spent in seconds.",
                  "counter");
    out += "process_cpu_seconds_total ";
    append_number(out, (field(14) + field(15)) / ticks);
    out += '\n';
    append_header(out, "process_resident_memory_bytes",
                  "Resident memory size in bytes.", "gauge");
    out += "process_resident_memory_bytes ";
    append_number(out, field(24) * page);
    out += '\n';
    append_header(out, "process_threads", "Number of OS threads.", "gauge");
    out += "process_threads ";
    append_number(out, field(20));
    out += '\n';
    // Start time is in ticks since boot; add the boot time from /proc/stat.
    std::ifstream boot_file{"/proc/stat"};
    double boot_time = 0;
    for (std::string line; std::getline(boot_file, line);)
      if (line.rfind("btime ", 0) == 0)
        boot_time = std::strtod(line.c_str() + 6, nullptr);
    append_header(out, "process_start_time_seconds",
                  "Start time of the process since unix epoch in seconds.",
                  "gauge");
    out += "process_start_time_seconds ";
    append_number(out, boot_time + field(22) / ticks);
    out += '\n';
  }
  size_t fds = 0;
  if (auto* dir = opendir("/proc/self/fd")) {
    while (auto* entry = readdir(dir))
      if (entry->d_name[0] != '.')
        ++fds;
    closedir(dir);
    --fds; // the descriptor of opendir itself
  }
  append_header(out, "process_open_fds", "Number of open file descriptors.",
                "gauge");
  out += "process_open_fds " + std::to_string(fds) + '\n';
}

std::string escape_label(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

} // namespace nod::metrics
