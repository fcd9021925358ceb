#include "bench/common.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace nod::bench {

std::atomic<bool> interrupted{false};

bool sleep_unless_interrupted(clock_type::duration d) {
  auto until = clock_type::now() + d;
  while (!interrupted) {
    auto now = clock_type::now();
    if (now >= until)
      return true;
    std::this_thread::sleep_for(std::min<clock_type::duration>(
      until - now, std::chrono::milliseconds{20}));
  }
  return false;
}

std::string clip(std::string s, size_t n) {
  if (s.size() > n) {
    s.resize(n);
    s += "...";
  }
  return s;
}

std::string random_hex(size_t bytes) {
  std::random_device rd;
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = rd() & 0xff;
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

std::string describe(unsigned status, const std::string& body) {
  return "HTTP " + std::to_string(status) + " " + clip(body);
}

std::optional<double> process_cpu_seconds(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  if (!std::getline(in, line))
    return std::nullopt;
  // The command name (field 2) may contain spaces; fields after it are
  // plain numbers. utime and stime are fields 14 and 15.
  auto paren = line.rfind(')');
  if (paren == std::string::npos)
    return std::nullopt;
  std::istringstream fields{line.substr(paren + 1)};
  std::string f;
  double utime = 0;
  double stime = 0;
  for (int field = 3; field <= 15 && fields >> f; ++field) {
    if (field == 14)
      utime = std::strtod(f.c_str(), nullptr);
    if (field == 15)
      stime = std::strtod(f.c_str(), nullptr);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

} // namespace nod::bench
