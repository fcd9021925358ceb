// nod-bench: load generator for nod-server's HTTP and WebSocket paths. Not a
// test: prints figures. See usage() below.
//
// Every phase opens N connections from asynchronous Beast clients on one
// io_context (--io-threads threads), each with one operation in flight,
// runs 0.5 s of warm-up that is not counted, then measures for --seconds.
// Latency is taken per operation with steady_clock and merged at the end.
// The return-path phases (reply, webhook) time a person's message from the
// REST call until it reaches the agent: its WebSocket, or a webhook
// receiver that nod-bench runs on the same io_context.

#include "bench/open_loop.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <rapidjson/document.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto warmup_time = 500ms;
constexpr auto connect_timeout = 5s;
constexpr auto op_timeout = 10s;
constexpr auto reconnect_delay = 50ms;
// How long connections get to finish their last operation after a phase.
constexpr auto drain_time = 3s;

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) {
  interrupted = true;
}

// Sleeps up to `d`; returns false early if the user pressed Ctrl-C.
bool sleep_unless_interrupted(clock_type::duration d) {
  auto until = clock_type::now() + d;
  while (!interrupted) {
    auto now = clock_type::now();
    if (now >= until)
      return true;
    std::this_thread::sleep_for(
      std::min<clock_type::duration>(until - now, 20ms));
  }
  return false;
}

void usage(FILE* out) {
  std::fputs(
    "usage: nod-bench [--server=PATH | --url=http://HOST:PORT "
    "[--admin-password=PW]]\n"
    "                 [--agents=N] [--seconds=S] [--phases=LIST] "
    "[--io-threads=T]\n"
    "                 [--webhook-max-per-host=N] [--rate=R]\n"
    "\n"
    "  --server=PATH        start PATH (a nod-server) on a fresh temp data\n"
    "                       directory and a free port, stop it at the end;\n"
    "                       it inherits the environment (e.g.\n"
    "                       NOD_JOURNAL_SYNC), except NOD_LISTEN,\n"
    "                       NOD_DATA_DIR, NOD_ADMIN_PASSWORD, NOD_LOG_LEVEL\n"
    "                       and NOD_WEBHOOK_MAX_PER_HOST (see below)\n"
    "  --url=URL            use a running server instead (default\n"
    "                       http://127.0.0.1:8000); every phase but healthz\n"
    "                       needs --admin-password (or NOD_ADMIN_PASSWORD)\n"
    "  --agents=N           agents per phase, one connection each (reply:\n"
    "                       two, the agent's and the person's) (default 64)\n"
    "  --seconds=S          measured time per phase, after 0.5 s warm-up\n"
    "                       (default 5)\n"
    "  --phases=LIST        any of healthz,rest,ws,reply,reply-acks,webhook\n"
    "                       in the order to run (default all but\n"
    "                       reply-acks, in that order; none with --rate)\n"
    "  --rate=R             after the phases, open-loop latency: R messages\n"
    "                       a second over --agents agents, each timed from\n"
    "                       its scheduled send time, in four directions:\n"
    "                       rest>app (agent REST message until the app\n"
    "                       socket has it), ws>app (the same as a WebSocket\n"
    "                       frame), post>agent (a person's POST until the\n"
    "                       agent's socket has the user_message), post>acks\n"
    "                       (the same, the agent acking each event)\n"
    "  --io-threads=T       client io threads (default 1)\n"
    "  --webhook-max-per-host=N\n"
    "                       with --server: start it with\n"
    "                       NOD_WEBHOOK_MAX_PER_HOST=N (default 64; 0 leaves\n"
    "                       the server's own setting, 4 unless configured)\n"
    "\n"
    "phases: healthz  GET /healthz\n"
    "        rest     POST /api/agent/events (agent message, REST)\n"
    "        ws       the same as agent WebSocket frames, waiting for result\n"
    "        reply    a person's POST /api/agents/{id}/messages until the\n"
    "                 agent's WebSocket receives the user_message\n"
    "        reply-acks  the same, the agent authenticated with acks and\n"
    "                 acking each event before the next message\n"
    "        webhook  the same to offline agents whose webhook_url is a\n"
    "                 receiver in nod-bench (127.0.0.1, so the server must\n"
    "                 run on this machine), until the receiver has it\n",
    out);
}

// ---------------------------------------------------------------- options

struct options {
  std::string server;
  std::string host = "127.0.0.1";
  std::string port = "8000";
  std::string admin_password;
  int agents = 64;
  double seconds = 5;
  std::vector<std::string> phases{"healthz", "rest", "ws", "reply", "webhook"};
  bool phases_given = false;
  /// Open-loop messages per second; 0: no open-loop run.
  double rate = 0;
  int io_threads = 1;
  int webhook_max_per_host = 64; // 0: the server's own setting
};

[[noreturn]] void bad_usage(const std::string& what) {
  std::fprintf(stderr, "nod-bench: %s\n", what.c_str());
  usage(stderr);
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in{s};
  while (std::getline(in, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

// Accepts http://HOST[:PORT][/]; https is not supported (the server speaks
// plain HTTP behind an optional proxy).
void parse_url(const std::string& url, options& opt) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    bad_usage("--url must start with http://");
  auto rest = url.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos)
    bad_usage("--url must be http://HOST:PORT");
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') {
    opt.host = rest;
    opt.port = "80";
  } else {
    opt.host = rest.substr(0, colon);
    opt.port = rest.substr(colon + 1);
  }
  if (opt.host.size() > 2 && opt.host.front() == '[')
    opt.host = opt.host.substr(1, opt.host.size() - 2);
}

int parse_int(const std::string& name, const std::string& v, int lo, int hi) {
  try {
    size_t used = 0;
    auto n = std::stol(v, &used);
    if (used == v.size() && n >= lo && n <= hi)
      return static_cast<int>(n);
  } catch (const std::exception&) {
  }
  bad_usage(name + " must be an integer from " + std::to_string(lo) + " to "
            + std::to_string(hi));
}

options parse_options(int argc, char** argv) {
  options opt;
  bool have_url = false;
  if (auto pw = std::getenv("NOD_ADMIN_PASSWORD"))
    opt.admin_password = pw;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    }
    auto eq = arg.find('=');
    if (arg.compare(0, 2, "--") != 0 || eq == std::string::npos)
      bad_usage("unexpected argument: " + arg);
    auto key = arg.substr(0, eq);
    auto val = arg.substr(eq + 1);
    if (key == "--server") {
      opt.server = val;
    } else if (key == "--url") {
      parse_url(val, opt);
      have_url = true;
    } else if (key == "--admin-password") {
      opt.admin_password = val;
    } else if (key == "--agents") {
      opt.agents = parse_int(key, val, 1, 100000);
    } else if (key == "--io-threads") {
      opt.io_threads = parse_int(key, val, 1, 256);
    } else if (key == "--webhook-max-per-host") {
      opt.webhook_max_per_host = parse_int(key, val, 0, 1000);
    } else if (key == "--seconds") {
      char* end = nullptr;
      opt.seconds = std::strtod(val.c_str(), &end);
      if (val.empty() || *end != '\0' || !(opt.seconds > 0)
          || opt.seconds > 86400)
        bad_usage("--seconds must be a positive number");
    } else if (key == "--phases") {
      opt.phases = split(val, ',');
      opt.phases_given = true;
      if (opt.phases.empty())
        bad_usage("--phases is empty");
      for (auto& p : opt.phases)
        if (p != "healthz" && p != "rest" && p != "ws" && p != "reply"
            && p != "reply-acks" && p != "webhook")
          bad_usage("unknown phase: " + p);
    } else if (key == "--rate") {
      char* end = nullptr;
      opt.rate = std::strtod(val.c_str(), &end);
      if (val.empty() || *end != '\0' || !(opt.rate > 0) || opt.rate > 1e6)
        bad_usage("--rate must be a positive number of messages a second");
    } else {
      bad_usage("unknown option: " + key);
    }
  }
  if (have_url && !opt.server.empty())
    bad_usage("--server and --url exclude each other");
  if (opt.rate > 0 && !opt.phases_given)
    opt.phases.clear();
  return opt;
}

// ---------------------------------------------------------------- helpers

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// Member `name` of a JSON object as a string, or empty.
std::string json_string(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject())
    return {};
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString())
    return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

// Member `name` of a JSON object as an unsigned integer, or 0.
uint64_t json_uint(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject())
    return 0;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsUint64())
    return 0;
  return it->value.GetUint64();
}

std::string clip(std::string s, size_t n = 300) {
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

// User + system CPU seconds of a process, from /proc/PID/stat.
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

// Many connections need many descriptors: lift the soft limit to the hard.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// ---------------------------------------------------------- server process

// A nod-server child on a temp data dir. Its output is drained by a thread
// for the whole run: a full pipe would stall the server's logging.
class server_process {
public:
  ~server_process() {
    stop();
  }

  const std::string& password() const {
    return password_;
  }

  pid_t pid() const {
    return pid_;
  }

  // Starts `binary` with `env` added to its environment and waits for its
  // port; throws with the log on failure.
  uint16_t start(const std::string& binary,
                 const std::vector<std::pair<std::string, std::string>>& env
                 = {}) {
    char tmpl[] = "/tmp/nod-bench-XXXXXX";
    if (!mkdtemp(tmpl))
      throw std::runtime_error(std::string{"mkdtemp: "} + std::strerror(errno));
    dir_ = tmpl;
    password_ = random_hex(16);
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string{"pipe: "} + std::strerror(errno));
    auto parent = getpid();
    pid_ = fork();
    if (pid_ < 0)
      throw std::runtime_error(std::string{"fork: "} + std::strerror(errno));
    if (pid_ == 0) {
      // Own process group, so Ctrl-C reaches only nod-bench, which then
      // stops the server in order; a killed nod-bench takes it down too.
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent)
        _exit(127);
      dup2(out[1], STDOUT_FILENO);
      dup2(out[1], STDERR_FILENO);
      setenv("NOD_LISTEN", "127.0.0.1:0", 1);
      setenv("NOD_DATA_DIR", dir_.c_str(), 1);
      setenv("NOD_ADMIN_PASSWORD", password_.c_str(), 1);
      // The port is logged at info.
      setenv("NOD_LOG_LEVEL", "info", 1);
      for (auto& [k, v] : env)
        setenv(k.c_str(), v.c_str(), 1);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execl(binary.c_str(), binary.c_str(), static_cast<char*>(nullptr));
      std::fprintf(stderr, "cannot run %s: %s\n", binary.c_str(),
                   std::strerror(errno));
      _exit(127);
    }
    close(out[1]);
    reader_ = std::thread{[this, fd = out[0]] {
      read_loop(fd);
    }};
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, 30s, [this] {
      return port_ != 0 || eof_ || interrupted;
    });
    if (port_ == 0)
      throw std::runtime_error("the server did not report its port; its "
                               "output:\n"
                               + tail_locked());
    return port_;
  }

  // Sends SIGTERM, waits for the exit, removes the data dir. Returns a
  // line describing how the server ended (empty if it was not running).
  std::string stop() {
    std::string result;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      auto deadline = clock_type::now() + 20s;
      int raw = 0;
      pid_t r = 0;
      while ((r = waitpid(pid_, &raw, WNOHANG)) == 0
             && clock_type::now() < deadline)
        std::this_thread::sleep_for(10ms);
      if (r == 0) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &raw, 0);
        result = "server did not stop within 20 s of SIGTERM; killed";
      } else if (r == pid_ && WIFEXITED(raw)) {
        result
          = "server exited with status " + std::to_string(WEXITSTATUS(raw));
      } else if (r == pid_) {
        result = "server died of signal " + std::to_string(WTERMSIG(raw));
      }
      pid_ = -1;
    }
    if (reader_.joinable())
      reader_.join();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
    return result;
  }

  // Warning and error lines the server logged, and the first few of them.
  std::pair<size_t, std::vector<std::string>> problems() {
    std::lock_guard<std::mutex> guard{mtx_};
    return {problem_count_, first_problems_};
  }

private:
  void read_loop(int fd) {
    char buf[4096];
    std::string partial;
    for (;;) {
      auto n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      partial.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        on_line(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
    }
    if (!partial.empty())
      on_line(partial);
    close(fd);
    std::lock_guard<std::mutex> guard{mtx_};
    eof_ = true;
    cv_.notify_all();
  }

  void on_line(const std::string& line) {
    std::lock_guard<std::mutex> guard{mtx_};
    tail_.push_back(line);
    if (tail_.size() > 100)
      tail_.pop_front();
    // Lines look like "2026-01-01T00:00:00.000Z warn  text".
    auto sp = line.find(' ');
    if (sp != std::string::npos) {
      auto level = line.substr(sp + 1, 5);
      if (level == "warn " || level == "error" || level == "criti") {
        if (first_problems_.size() < 5)
          first_problems_.push_back(line);
        ++problem_count_;
      }
    }
    static const std::string needle = "listening on http://";
    auto at = line.find(needle);
    if (port_ == 0 && at != std::string::npos) {
      // "listening on http://HOST:PORT ..." with HOST possibly [v6].
      auto end = line.find(' ', at + needle.size());
      auto hostport = line.substr(
        at + needle.size(),
        end == std::string::npos ? end : end - at - needle.size());
      auto colon = hostport.rfind(':');
      if (colon != std::string::npos)
        port_ = static_cast<uint16_t>(
          std::strtoul(hostport.c_str() + colon + 1, nullptr, 10));
      cv_.notify_all();
    }
  }

  std::string tail_locked() const {
    std::string out;
    for (auto& l : tail_)
      out += "  | " + l + "\n";
    return out;
  }

  std::string dir_;
  std::string password_;
  pid_t pid_ = -1;
  std::thread reader_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::string> tail_;
  std::vector<std::string> first_problems_;
  size_t problem_count_ = 0;
  uint16_t port_ = 0;
  bool eof_ = false;
};

// ------------------------------------------------- blocking setup client

using header_list = std::vector<std::pair<std::string, std::string>>;
using response = http::response<http::string_body>;

// A blocking keep-alive client for setup and probes (never inside a
// handler). Throws on network errors.
class sync_client {
public:
  sync_client(tcp::endpoint ep, std::string host)
    : ep_(ep), host_(std::move(host)) {}

  response call(http::verb verb, const std::string& target,
                const std::string& body = {}, const header_list& headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "nod-bench");
    if (!token_.empty())
      req.set(http::field::authorization, "Bearer " + token_);
    for (auto& [k, v] : headers)
      req.set(k, v);
    if (!body.empty() || verb == http::verb::post) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    // A reused connection may have been closed by the server meanwhile:
    // retry once on a fresh one.
    for (int attempt = 0;; ++attempt) {
      try {
        if (!connected_) {
          stream_.expires_after(connect_timeout);
          stream_.connect(ep_);
          connected_ = true;
          buffer_.clear();
        }
        stream_.expires_after(60s); // login hashes a password slowly
        http::write(stream_, req);
        response res;
        http::read(stream_, buffer_, res);
        if (!res.keep_alive())
          disconnect();
        return res;
      } catch (const std::exception&) {
        disconnect();
        if (attempt > 0)
          throw;
      }
    }
  }

  void set_token(std::string token) {
    token_ = std::move(token);
  }

private:
  void disconnect() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    connected_ = false;
  }

  net::io_context io_;
  beast::tcp_stream stream_{io_};
  beast::flat_buffer buffer_;
  tcp::endpoint ep_;
  std::string host_;
  std::string token_;
  bool connected_ = false;
};

struct agent_creds {
  std::string id;
  std::string secret;
};

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return doc;
}

std::string describe(const response& res) {
  return "HTTP " + std::to_string(res.result_int()) + " " + clip(res.body());
}

// --------------------------------------------------------- phase plumbing

// What one connection measured. Written only from that connection's
// strand; read after the io threads are joined.
struct conn_stats {
  std::vector<float> latencies_us;
  uint64_t errors = 0;
  std::string first_error;
  clock_type::time_point first_error_at;
};

enum class stage : int { warmup, measure, done };

struct phase_state {
  std::atomic<int> current{static_cast<int>(stage::warmup)};
  // Connections that have not finished yet (a reconnect hands its slot on).
  std::atomic<int> active{0};
  tcp::endpoint endpoint;
  std::string host;
  // With one io thread a strand only adds cost (type-erased, refcounted
  // executor copies were about a tenth of the client's CPU).
  bool use_strands = false;

  net::any_io_executor executor_for(net::io_context& io) const {
    if (use_strands)
      return net::make_strand(io);
    return io.get_executor();
  }

  stage now() const {
    return static_cast<stage>(current.load(std::memory_order_relaxed));
  }
};

// Shared by the HTTP and WebSocket clients: bookkeeping, reconnects, and
// the exception guard that keeps exceptions out of asio.
template <class Derived>
class conn_base : public std::enable_shared_from_this<Derived> {
public:
  conn_base(phase_state& st, conn_stats& stats, size_t index)
    : st_(st), stats_(stats), index_(index) {}

protected:
  // Wraps a handler so nothing it throws escapes into asio.
  template <class F>
  auto guarded(F f) {
    return [self = this->shared_from_this(),
            f = std::move(f)](auto&&... args) mutable {
      try {
        f(std::forward<decltype(args)>(args)...);
      } catch (const std::exception& e) {
        self->fail(std::string{"exception: "} + e.what());
      } catch (...) {
        self->fail("unknown exception");
      }
    };
  }

  void record_success(clock_type::time_point started,
                      clock_type::time_point ended = clock_type::now()) {
    if (st_.now() != stage::measure)
      return;
    auto us = std::chrono::duration<float, std::micro>(ended - started).count();
    stats_.latencies_us.push_back(us);
  }

  // Counts a failed operation (not once the phase is over, when
  // connections are being torn down on purpose).
  void record_error(const std::string& what) {
    if (st_.now() == stage::done)
      return;
    ++stats_.errors;
    if (stats_.first_error.empty()) {
      stats_.first_error = what;
      stats_.first_error_at = clock_type::now();
    }
  }

  // Counts the error (unless `count` is false: the server just closed a
  // keep-alive connection), drops this connection and starts a fresh one
  // after a short delay, so a dead server is not hammered in a tight loop.
  // Only the first call counts: a client with two operations in flight
  // sees the second one aborted by the first one's failure.
  void fail(const std::string& what, bool count = true) noexcept {
    if (failed_)
      return;
    failed_ = true;
    try {
      if (count)
        record_error(what);
      static_cast<Derived*>(this)->close_now();
      if (st_.now() == stage::done)
        return finish();
      timer_.emplace(static_cast<Derived*>(this)->executor(), reconnect_delay);
      timer_->async_wait(guarded([this](beast::error_code) {
        auto next = std::make_shared<Derived>(*static_cast<Derived*>(this));
        next->start();
      }));
    } catch (...) {
      finish(); // out of memory: give the slot up rather than crash
    }
  }

  void finish() noexcept {
    if (!finished_) {
      finished_ = true;
      st_.active.fetch_sub(1);
    }
  }

  phase_state& st_;
  conn_stats& stats_;
  size_t index_;
  uint64_t seq_ = 0;
  std::optional<net::steady_timer> timer_;
  bool finished_ = false;
  bool failed_ = false;
};

// One keep-alive HTTP connection looping one request: GET /healthz or
// POST /api/agent/events.
class http_client : public conn_base<http_client> {
public:
  enum class kind { healthz, rest };

  http_client(net::io_context& io, phase_state& st, conn_stats& stats,
              size_t index, kind k, const agent_creds* agent)
    : conn_base(st, stats, index), io_(io), stream_(st.executor_for(io)),
      kind_(k), agent_(agent) {}

  // A fresh connection taking over from `prev` (a stream cannot be reused
  // safely after an error, so every reconnect is a new object).
  http_client(const http_client& prev)
    : conn_base(prev.st_, prev.stats_, prev.index_), io_(prev.io_),
      stream_(prev.st_.executor_for(prev.io_)), kind_(prev.kind_),
      agent_(prev.agent_) {
    seq_ = prev.seq_;
  }

  void start() {
    if (st_.now() == stage::done)
      return finish();
    build_request();
    stream_.expires_after(connect_timeout);
    stream_.async_connect(st_.endpoint, guarded([this](beast::error_code ec) {
                            if (ec)
                              return fail("connect: " + ec.message());
                            send();
                          }));
  }

  net::any_io_executor executor() {
    return stream_.get_executor();
  }

  void close_now() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

private:
  void build_request() {
    req_ = {};
    req_.version(11);
    req_.set(http::field::host, st_.host);
    req_.set(http::field::user_agent, "nod-bench");
    req_.keep_alive(true);
    if (kind_ == kind::healthz) {
      req_.method(http::verb::get);
      req_.target("/healthz");
    } else {
      req_.method(http::verb::post);
      req_.target("/api/agent/events");
      req_.set("X-Nod-Agent-Id", agent_->id);
      req_.set("X-Nod-Secret", agent_->secret);
      req_.set(http::field::content_type, "application/json");
    }
    req_.prepare_payload();
  }

  void send() {
    if (st_.now() == stage::done) {
      close_now();
      return finish();
    }
    ++seq_;
    if (kind_ == kind::rest) {
      req_.body() = "{\"type\":\"message\",\"text\":\"bench message "
                    + std::to_string(index_) + "." + std::to_string(seq_)
                    + "\"}";
      req_.prepare_payload();
    }
    started_ = clock_type::now();
    stream_.expires_after(op_timeout);
    http::async_write(
      stream_, req_, guarded([this](beast::error_code ec, size_t) {
        if (ec)
          return fail("write: " + ec.message());
        res_ = {};
        http::async_read(stream_, buffer_, res_,
                         guarded([this](beast::error_code ec, size_t) {
                           on_read(ec);
                         }));
      }));
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return fail("read: " + ec.message());
    bool ok = res_.result() == http::status::ok;
    if (ok && kind_ == kind::rest)
      ok = res_.body().find("\"message_id\"") != std::string::npos;
    if (ok)
      record_success(started_);
    else
      record_error(describe(res_));
    if (!res_.keep_alive())
      return fail("server closed the connection", false);
    send();
  }

  net::io_context& io_;
  beast::tcp_stream stream_;
  kind kind_;
  const agent_creds* agent_;
  http::request<http::string_body> req_;
  response res_;
  beast::flat_buffer buffer_;
  clock_type::time_point started_;
};

using ws_stream = websocket::stream<beast::tcp_stream>;

// The frame read into `buffer`, parsed; its text stays in `text` for error
// messages and the buffer is emptied for the next read.
rapidjson::Document take_ws_frame(beast::flat_buffer& buffer,
                                  std::string& text) {
  text = beast::buffers_to_string(buffer.data());
  buffer.consume(buffer.size());
  return parse_json(text);
}

// Why a read on `ws` failed, with the close code if the server closed it.
std::string ws_read_error(ws_stream& ws, beast::error_code ec) {
  if (ec == websocket::error::closed) {
    auto r = ws.reason();
    return "closed by the server with code " + std::to_string(r.code)
           + (r.reason.empty()
                ? ""
                : " (" + std::string{r.reason.data(), r.reason.size()} + ")");
  }
  return ec.message();
}

// The agent's auth frame (A3), asking for acks (A6) if `acks`.
std::string auth_frame(const agent_creds& a, bool acks = false) {
  return "{\"type\":\"auth\",\"agent_id\":" + json_quote(a.id) + ",\"secret\":"
         + json_quote(a.secret) + (acks ? ",\"acks\":true}" : "}");
}

// One agent WebSocket: auth, then message/result round trips, one in
// flight.
class ws_client : public conn_base<ws_client> {
public:
  ws_client(net::io_context& io, phase_state& st, conn_stats& stats,
            size_t index, const agent_creds* agent)
    : conn_base(st, stats, index), io_(io), ws_(st.executor_for(io)),
      agent_(agent) {}

  ws_client(const ws_client& prev)
    : conn_base(prev.st_, prev.stats_, prev.index_), io_(prev.io_),
      ws_(prev.st_.executor_for(prev.io_)), agent_(prev.agent_) {
    seq_ = prev.seq_;
  }

  void start() {
    if (st_.now() == stage::done)
      return finish();
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(connect_timeout);
    tcp_layer.async_connect(st_.endpoint, guarded([this](beast::error_code ec) {
                              if (ec)
                                return fail("connect: " + ec.message());
                              handshake();
                            }));
  }

  net::any_io_executor executor() {
    return ws_.get_executor();
  }

  void close_now() {
    beast::error_code ec;
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
  }

private:
  void handshake() {
    // The websocket stream keeps its own timers from here on.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = connect_timeout;
    t.idle_timeout = op_timeout; // no frame for this long: a hung server
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.text(true);
    ws_.async_handshake(
      upgrade_res_, st_.host, "/ws/agent/" + agent_->id,
      guarded([this](beast::error_code ec) {
        if (ec == websocket::error::upgrade_declined)
          return fail("upgrade declined: " + describe(upgrade_res_));
        if (ec)
          return fail("handshake: " + ec.message());
        out_ = auth_frame(*agent_);
        ws_.async_write(
          net::buffer(out_), guarded([this](beast::error_code ec, size_t) {
            if (ec)
              return fail("write auth: " + ec.message());
            ws_.async_read(buffer_,
                           guarded([this](beast::error_code ec, size_t) {
                             on_auth(ec);
                           }));
          }));
      }));
  }

  void on_auth(beast::error_code ec) {
    if (ec)
      return fail("auth: " + read_error(ec));
    auto doc = take_frame();
    auto type = json_string(doc, "type");
    if (type != "auth_ok")
      return fail("auth: unexpected reply " + clip(last_frame_));
    send();
  }

  void send() {
    if (st_.now() == stage::done)
      return close_politely();
    request_id_ = std::to_string(++seq_);
    out_ = "{\"type\":\"message\",\"text\":\"bench message "
           + std::to_string(index_) + "." + request_id_ + "\",\"request_id\":\""
           + request_id_ + "\"}";
    started_ = clock_type::now();
    ws_.async_write(net::buffer(out_),
                    guarded([this](beast::error_code ec, size_t) {
                      if (ec)
                        return fail("write: " + ec.message());
                      read_reply();
                    }));
  }

  void read_reply() {
    ws_.async_read(buffer_, guarded([this](beast::error_code ec, size_t) {
                     if (ec)
                       return fail("read: " + read_error(ec));
                     auto doc = take_frame();
                     auto type = json_string(doc, "type");
                     // Anything else (delivered events, pushes) is skipped.
                     if ((type != "result" && type != "error")
                         || json_string(doc, "request_id") != request_id_)
                       return read_reply();
                     if (type == "result")
                       record_success(started_);
                     else
                       record_error("error frame: " + clip(last_frame_));
                     send();
                   }));
  }

  rapidjson::Document take_frame() {
    return take_ws_frame(buffer_, last_frame_);
  }

  std::string read_error(beast::error_code ec) {
    return ws_read_error(ws_, ec);
  }

  void close_politely() {
    ws_.async_close(websocket::close_code::normal,
                    guarded([this](beast::error_code) {
                      close_now();
                      finish();
                    }));
  }

  net::io_context& io_;
  ws_stream ws_;
  const agent_creds* agent_;
  websocket::response_type upgrade_res_;
  beast::flat_buffer buffer_;
  std::string out_;
  std::string last_frame_;
  std::string request_id_;
  clock_type::time_point started_;
};

// A person's chat message: POST /api/agents/{id}/messages with the admin's
// token and `text` (B2).
void build_message_request(http::request<http::string_body>& req,
                           const phase_state& st, const std::string& agent_id,
                           const std::string& token, const std::string& text) {
  req = {};
  req.version(11);
  req.method(http::verb::post);
  req.target("/api/agents/" + agent_id + "/messages");
  req.set(http::field::host, st.host);
  req.set(http::field::user_agent, "nod-bench");
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = "{\"text\":" + json_quote(text) + "}";
  req.prepare_payload();
}

// The return path to an online agent: the agent's WebSocket (authenticated,
// then always reading) and a person's keep-alive HTTP connection that
// posts a message with a unique text, one in flight. A message is done
// when both the REST reply and the agent's `user_message` with that text
// have arrived, in either order (the push may beat the reply); its latency
// runs from sending the POST to reading the frame.
class reply_client : public conn_base<reply_client> {
public:
  reply_client(net::io_context& io, phase_state& st, conn_stats& stats,
               size_t index, const agent_creds* agent, const std::string* token,
               bool acks)
    : conn_base(st, stats, index), io_(io), ws_(st.executor_for(io)),
      http_(ws_.get_executor()), agent_(agent), token_(token), acks_(acks) {}

  reply_client(const reply_client& prev)
    : conn_base(prev.st_, prev.stats_, prev.index_), io_(prev.io_),
      ws_(prev.st_.executor_for(prev.io_)), http_(ws_.get_executor()),
      agent_(prev.agent_), token_(prev.token_), acks_(prev.acks_) {
    seq_ = prev.seq_;
  }

  void start() {
    if (st_.now() == stage::done)
      return finish();
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(connect_timeout);
    tcp_layer.async_connect(st_.endpoint, guarded([this](beast::error_code ec) {
                              if (ec)
                                return fail("agent connect: " + ec.message());
                              handshake();
                            }));
  }

  net::any_io_executor executor() {
    return ws_.get_executor();
  }

  void close_now() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both,
                                                   ec);
    beast::get_lowest_layer(ws_).close();
    http_.socket().shutdown(tcp::socket::shutdown_both, ec);
    http_.close();
  }

private:
  void handshake() {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = connect_timeout;
    // A read is always pending: no frame for this long means a lost push
    // (or a hung server).
    t.idle_timeout = op_timeout;
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.text(true);
    ws_.async_handshake(
      upgrade_res_, st_.host, "/ws/agent/" + agent_->id,
      guarded([this](beast::error_code ec) {
        if (ec == websocket::error::upgrade_declined)
          return fail("agent upgrade declined: " + describe(upgrade_res_));
        if (ec)
          return fail("agent handshake: " + ec.message());
        out_ = auth_frame(*agent_, acks_);
        ws_.async_write(
          net::buffer(out_), guarded([this](beast::error_code ec, size_t) {
            if (ec)
              return fail("agent auth: " + ec.message());
            ws_.async_read(buffer_,
                           guarded([this](beast::error_code ec, size_t) {
                             on_auth(ec);
                           }));
          }));
      }));
  }

  void on_auth(beast::error_code ec) {
    if (ec)
      return fail("agent auth: " + ws_read_error(ws_, ec));
    auto doc = take_ws_frame(buffer_, last_frame_);
    if (json_string(doc, "type") != "auth_ok")
      return fail("agent auth: unexpected reply " + clip(last_frame_));
    // Online now; the person connects.
    read_frame();
    http_.expires_after(connect_timeout);
    http_.async_connect(st_.endpoint, guarded([this](beast::error_code ec) {
                          if (failed_)
                            return;
                          if (ec)
                            return fail("person connect: " + ec.message());
                          send();
                        }));
  }

  void read_frame() {
    ws_.async_read(buffer_, guarded([this](beast::error_code ec, size_t) {
                     on_frame(ec);
                   }));
  }

  void on_frame(beast::error_code ec) {
    if (closing_ || failed_)
      return;
    if (ec)
      return fail("agent socket: " + ws_read_error(ws_, ec));
    auto at = clock_type::now();
    auto doc = take_ws_frame(buffer_, last_frame_);
    read_frame();
    // Anything else (events replayed on auth, the probe's message) is
    // skipped.
    if (!in_flight_ || got_frame_ || json_string(doc, "type") != "user_message"
        || json_string(doc, "text") != text_)
      return;
    frame_at_ = at;
    frame_message_id_ = json_string(doc, "message_id");
    if (!acks_) {
      got_frame_ = true;
      return maybe_next();
    }
    // The next message waits for the ack to be written: the phase
    // measures the ack path too.
    out_ = "{\"type\":\"ack\",\"seq\":" + std::to_string(json_uint(doc, "seq"))
           + "}";
    ws_.async_write(net::buffer(out_),
                    guarded([this](beast::error_code ec, size_t) {
                      if (failed_ || closing_)
                        return;
                      if (ec)
                        return fail("agent ack: " + ec.message());
                      got_frame_ = true;
                      maybe_next();
                    }));
  }

  void send() {
    if (st_.now() == stage::done)
      return close_politely();
    text_
      = "bench reply " + std::to_string(index_) + "." + std::to_string(++seq_);
    build_message_request(req_, st_, agent_->id, *token_, text_);
    in_flight_ = true;
    got_reply_ = false;
    got_frame_ = false;
    started_ = clock_type::now();
    http_.expires_after(op_timeout);
    http::async_write(
      http_, req_, guarded([this](beast::error_code ec, size_t) {
        if (failed_)
          return;
        if (ec)
          return fail("person write: " + ec.message());
        res_ = {};
        http::async_read(http_, http_buffer_, res_,
                         guarded([this](beast::error_code ec, size_t) {
                           on_reply(ec);
                         }));
      }));
  }

  void on_reply(beast::error_code ec) {
    if (failed_)
      return;
    if (ec)
      return fail("person read: " + ec.message());
    keep_alive_ = res_.keep_alive();
    if (res_.result() != http::status::created) {
      // No event was made, so no frame will come.
      record_error(describe(res_));
      in_flight_ = false;
      return next();
    }
    got_reply_ = true;
    reply_message_id_ = json_string(parse_json(res_.body()), "message_id");
    maybe_next();
  }

  void maybe_next() {
    if (!got_reply_ || !got_frame_)
      return;
    in_flight_ = false;
    if (reply_message_id_.empty() || reply_message_id_ != frame_message_id_)
      record_error("user_message has message_id \"" + frame_message_id_
                   + "\", the REST reply \"" + reply_message_id_ + "\"");
    else
      record_success(started_, frame_at_);
    next();
  }

  void next() {
    if (!keep_alive_)
      return fail("server closed the connection", false);
    send();
  }

  void close_politely() {
    closing_ = true;
    beast::error_code ec;
    http_.socket().shutdown(tcp::socket::shutdown_both, ec);
    http_.close();
    // The pending read ends with the close handshake.
    ws_.async_close(websocket::close_code::normal,
                    guarded([this](beast::error_code) {
                      close_now();
                      finish();
                    }));
  }

  net::io_context& io_;
  ws_stream ws_;
  beast::tcp_stream http_;
  const agent_creds* agent_;
  const std::string* token_;
  bool acks_ = false;
  websocket::response_type upgrade_res_;
  beast::flat_buffer buffer_;
  std::string out_;
  std::string last_frame_;
  http::request<http::string_body> req_;
  response res_;
  beast::flat_buffer http_buffer_;
  std::string text_;
  std::string reply_message_id_;
  std::string frame_message_id_;
  clock_type::time_point started_;
  clock_type::time_point frame_at_;
  bool in_flight_ = false;
  bool got_reply_ = false;
  bool got_frame_ = false;
  bool keep_alive_ = true;
  bool closing_ = false;
};

class webhook_client;

// What the webhook receiver shares with the person connections: agent i's
// webhook_url ends in /hook/i, and `clients[i]` is the connection posting
// to agent i. Counts are of requests the receiver read.
struct hook_board {
  std::mutex mtx;
  std::vector<std::weak_ptr<webhook_client>> clients;
  std::atomic<uint64_t> total{0};
  std::atomic<uint64_t> measured{0};  // in the measured time
  std::atomic<uint64_t> retries{0};   // X-Nod-Retry-Num other than 0
  std::atomic<uint64_t> unmatched{0}; // for no message in flight
  std::atomic<uint64_t> bad{0};       // unreadable requests, accept errors
};

// A person's keep-alive connection posting to an offline agent that has a
// webhook_url, one message in flight. A message is done when both the REST
// reply and the receiver's request with the reply's event_id (in
// X-Nod-Event-Id) have arrived, in either order; its latency runs from
// sending the POST to the receiver having read the webhook request.
class webhook_client : public conn_base<webhook_client> {
public:
  webhook_client(net::io_context& io, phase_state& st, conn_stats& stats,
                 size_t index, const agent_creds* agent,
                 const std::string* token, hook_board& board)
    : conn_base(st, stats, index), io_(io), http_(st.executor_for(io)),
      deadline_(http_.get_executor()), agent_(agent), token_(token),
      board_(board) {}

  webhook_client(const webhook_client& prev)
    : conn_base(prev.st_, prev.stats_, prev.index_), io_(prev.io_),
      http_(prev.st_.executor_for(prev.io_)), deadline_(http_.get_executor()),
      agent_(prev.agent_), token_(prev.token_), board_(prev.board_) {
    seq_ = prev.seq_;
  }

  void start() {
    if (st_.now() == stage::done)
      return finish();
    {
      std::lock_guard<std::mutex> lock{board_.mtx};
      board_.clients[index_] = weak_from_this();
    }
    http_.expires_after(connect_timeout);
    http_.async_connect(st_.endpoint, guarded([this](beast::error_code ec) {
                          if (ec)
                            return fail("connect: " + ec.message());
                          send();
                        }));
  }

  net::any_io_executor executor() {
    return http_.get_executor();
  }

  void close_now() {
    beast::error_code ec;
    deadline_.cancel();
    http_.socket().shutdown(tcp::socket::shutdown_both, ec);
    http_.close();
  }

  // The receiver read a webhook for this agent (called on its strand).
  void webhook_seen(std::string event_id, clock_type::time_point at) {
    net::post(http_.get_executor(),
              guarded([this, event_id = std::move(event_id), at] {
                on_webhook(event_id, at);
              }));
  }

private:
  void send() {
    if (st_.now() == stage::done) {
      close_now();
      return finish();
    }
    auto op = ++seq_;
    build_message_request(req_, st_, agent_->id, *token_,
                          "bench webhook " + std::to_string(index_) + "."
                            + std::to_string(op));
    in_flight_ = true;
    event_id_.clear();
    early_.clear();
    started_ = clock_type::now();
    deadline_.expires_after(op_timeout);
    deadline_.async_wait(guarded([this, op](beast::error_code ec) {
      if (ec || failed_ || !in_flight_ || op != seq_)
        return;
      fail("no webhook within " + std::to_string(op_timeout.count())
           + " s of the POST");
    }));
    http_.expires_after(op_timeout);
    http::async_write(
      http_, req_, guarded([this](beast::error_code ec, size_t) {
        if (failed_)
          return;
        if (ec)
          return fail("write: " + ec.message());
        res_ = {};
        http::async_read(http_, buffer_, res_,
                         guarded([this](beast::error_code ec, size_t) {
                           on_reply(ec);
                         }));
      }));
  }

  void on_reply(beast::error_code ec) {
    if (failed_)
      return;
    if (ec)
      return fail("read: " + ec.message());
    keep_alive_ = res_.keep_alive();
    if (res_.result() == http::status::created)
      event_id_ = json_string(parse_json(res_.body()), "event_id");
    if (event_id_.empty()) {
      // No event (or none we can recognise): no webhook to wait for.
      record_error((res_.result() == http::status::created
                      ? "reply without event_id: "
                      : "")
                   + describe(res_));
      return complete(std::nullopt);
    }
    std::optional<clock_type::time_point> seen;
    for (auto& [id, at] : early_)
      if (id == event_id_ && !seen)
        seen = at;
      else
        board_.unmatched.fetch_add(1, std::memory_order_relaxed);
    early_.clear();
    if (seen)
      complete(seen);
  }

  void on_webhook(const std::string& event_id, clock_type::time_point at) {
    if (failed_ || !in_flight_)
      board_.unmatched.fetch_add(1, std::memory_order_relaxed);
    else if (event_id_.empty())
      early_.emplace_back(event_id, at); // before the REST reply
    else if (event_id == event_id_)
      complete(at);
    else
      board_.unmatched.fetch_add(1, std::memory_order_relaxed);
  }

  // Ends the message in flight (`at`: when its webhook was read).
  void complete(std::optional<clock_type::time_point> at) {
    in_flight_ = false;
    deadline_.cancel();
    if (at)
      record_success(started_, *at);
    if (!keep_alive_)
      return fail("server closed the connection", false);
    send();
  }

  net::io_context& io_;
  beast::tcp_stream http_;
  net::steady_timer deadline_;
  const agent_creds* agent_;
  const std::string* token_;
  hook_board& board_;
  http::request<http::string_body> req_;
  response res_;
  beast::flat_buffer buffer_;
  std::string event_id_;
  std::vector<std::pair<std::string, clock_type::time_point>> early_;
  clock_type::time_point started_;
  bool in_flight_ = false;
  bool keep_alive_ = true;
};

// One webhook request to the receiver: read it, tell the connection posting
// to that agent, answer 200 with an empty body and close (the server's
// client sends Connection: close).
class hook_session : public std::enable_shared_from_this<hook_session> {
public:
  hook_session(tcp::socket socket, phase_state& st, hook_board& board)
    : stream_(std::move(socket)), st_(st), board_(board) {}

  void start() {
    stream_.expires_after(op_timeout);
    http::async_read(stream_, buffer_, req_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_read(ec);
                     });
  }

private:
  void on_read(beast::error_code ec) noexcept {
    auto at = clock_type::now();
    if (ec) {
      board_.bad.fetch_add(1, std::memory_order_relaxed);
      return close();
    }
    board_.total.fetch_add(1, std::memory_order_relaxed);
    if (st_.now() == stage::measure)
      board_.measured.fetch_add(1, std::memory_order_relaxed);
    try {
      auto retry = req_["X-Nod-Retry-Num"];
      if (!retry.empty() && retry != "0")
        board_.retries.fetch_add(1, std::memory_order_relaxed);
      hand_over(at);
      res_.version(11);
      res_.result(http::status::ok);
      res_.keep_alive(false);
      res_.prepare_payload();
      http::async_write(stream_, res_,
                        [self = shared_from_this()](beast::error_code, size_t) {
                          self->close();
                        });
    } catch (const std::exception&) {
      board_.bad.fetch_add(1, std::memory_order_relaxed);
      close();
    }
  }

  // Finds the connection waiting for agent i (target /hook/i).
  void hand_over(clock_type::time_point at) {
    static const std::string prefix = "/hook/";
    std::string target{req_.target().data(), req_.target().size()};
    std::shared_ptr<webhook_client> who;
    if (target.compare(0, prefix.size(), prefix) == 0) {
      char* end = nullptr;
      auto i = std::strtoul(target.c_str() + prefix.size(), &end, 10);
      std::lock_guard<std::mutex> lock{board_.mtx};
      if (*end == '\0' && i < board_.clients.size())
        who = board_.clients[i].lock();
    }
    auto event_id = req_["X-Nod-Event-Id"];
    if (who)
      who->webhook_seen(std::string{event_id.data(), event_id.size()}, at);
    else
      board_.unmatched.fetch_add(1, std::memory_order_relaxed);
  }

  void close() noexcept {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  phase_state& st_;
  hook_board& board_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::empty_body> res_;
};

// The local webhook receiver: accepts on 127.0.0.1 (a free port) on the
// phase's io_context until the phase ends.
class hook_receiver : public std::enable_shared_from_this<hook_receiver> {
public:
  hook_receiver(net::io_context& io, phase_state& st, hook_board& board)
    : io_(io), st_(st), board_(board),
      acceptor_(io, tcp::endpoint{net::ip::address_v4::loopback(), 0}),
      retry_(io) {}

  uint16_t port() const {
    return acceptor_.local_endpoint().port();
  }

  void start() {
    acceptor_.async_accept(
      st_.executor_for(io_),
      [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
      });
  }

private:
  void on_accept(beast::error_code ec, tcp::socket socket) noexcept {
    if (ec == net::error::operation_aborted)
      return;
    try {
      if (ec) {
        // Out of descriptors, most likely: do not spin.
        board_.bad.fetch_add(1, std::memory_order_relaxed);
        retry_.expires_after(reconnect_delay);
        retry_.async_wait([self = shared_from_this()](beast::error_code ec) {
          if (!ec)
            self->start();
        });
        return;
      }
      std::make_shared<hook_session>(std::move(socket), st_, board_)->start();
      start();
    } catch (const std::exception&) {
      // Out of memory: the receiver stops; the phase reports timeouts.
      board_.bad.fetch_add(1, std::memory_order_relaxed);
    }
  }

  net::io_context& io_;
  phase_state& st_;
  hook_board& board_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
};

struct phase_result {
  std::string name;
  size_t connections = 0;
  double ops_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  uint64_t errors = 0;
  std::string first_error;
  double seconds = 0;         // the measured time
  double server_cpu_pct = -1; // of one core, over the measured window
  int stuck = 0; // connections still busy long after the phase ended
  double bench_cpu_pct = 0;
};

double percentile(const std::vector<float>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<size_t>(std::ceil(p * sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Runs one phase: `prepare(io, state)`, if given, runs first (on this
// thread), then `make(io, state, stats, i)` starts connection i.
template <class Make>
phase_result
run_phase(const std::string& name, const options& opt, const tcp::endpoint& ep,
          server_process* srv, Make make,
          const std::function<void(net::io_context&, phase_state&)>& prepare
          = {}) {
  auto n = static_cast<size_t>(opt.agents);
  std::fprintf(stderr, "%s: %zu connections, 0.5 s warm-up + %.1f s...\n",
               name.c_str(), n, opt.seconds);
  // Declared before the io_context: connections still queued when it is
  // destroyed refer to them.
  std::vector<conn_stats> stats(n);
  phase_result r;
  phase_state st;
  st.endpoint = ep;
  st.host = ep.address().to_string() + ":" + std::to_string(ep.port());
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
    std::this_thread::sleep_for(10ms);
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

// ----------------------------------------------------------------- probes

// One POST through the blocking client, so a missing endpoint is reported
// once, clearly, instead of as thousands of errors.
std::optional<std::string> probe_rest(sync_client& c, const agent_creds& a) {
  response res;
  try {
    res = c.call(http::verb::post, "/api/agent/events",
                 "{\"type\":\"message\",\"text\":\"bench probe\"}",
                 {{"X-Nod-Agent-Id", a.id}, {"X-Nod-Secret", a.secret}});
  } catch (const std::exception& e) {
    return std::string{"POST /api/agent/events failed: "} + e.what();
  }
  if (res.result() == http::status::ok
      && res.body().find("\"message_id\"") != std::string::npos)
    return std::nullopt;
  if (res.result() == http::status::not_found
      || res.result() == http::status::method_not_allowed)
    return "POST /api/agent/events is not served (" + describe(res) + ")";
  return "POST /api/agent/events failed: " + describe(res);
}

// A person's message to agent `a` (the server queues it for the agent).
std::optional<std::string> probe_message(sync_client& c, const agent_creds& a) {
  auto target = "/api/agents/" + a.id + "/messages";
  response res;
  try {
    res = c.call(http::verb::post, target, "{\"text\":\"bench probe\"}");
  } catch (const std::exception& e) {
    return "POST " + target + " failed: " + e.what();
  }
  if (res.result() == http::status::created
      && res.body().find("\"event_id\"") != std::string::npos)
    return std::nullopt;
  if (res.result() == http::status::not_found
      || res.result() == http::status::method_not_allowed)
    return "POST /api/agents/{id}/messages is not served (" + describe(res)
           + ")";
  return "POST " + target + " failed: " + describe(res);
}

std::optional<std::string> probe_ws(const tcp::endpoint& ep,
                                    const std::string& host,
                                    const agent_creds& a) {
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  auto target = "/ws/agent/" + a.id;
  try {
    beast::get_lowest_layer(ws).expires_after(connect_timeout);
    beast::get_lowest_layer(ws).connect(ep);
    websocket::response_type res;
    beast::error_code ec;
    // The blocking handshake leaves `res` empty when the upgrade is
    // declined; the asynchronous one fills it in.
    ws.async_handshake(res, host, target, [&ec](beast::error_code e) {
      ec = e;
    });
    io.run();
    if (ec == websocket::error::upgrade_declined)
      return "GET " + target + " was not upgraded (" + describe(res) + ")";
    if (ec)
      return "WebSocket handshake failed: " + ec.message();
    ws.text(true);
    ws.write(net::buffer(auth_frame(a)));
    beast::flat_buffer buf;
    ws.read(buf, ec);
    if (ec == websocket::error::closed)
      return "auth refused: closed with code "
             + std::to_string(ws.reason().code) + " "
             + std::string{ws.reason().reason.data(),
                           ws.reason().reason.size()};
    if (ec)
      return "auth failed: " + ec.message();
    auto frame = beast::buffers_to_string(buf.data());
    auto doc = parse_json(frame);
    if (json_string(doc, "type") != "auth_ok")
      return "auth failed: unexpected reply " + clip(frame);
    ws.close(websocket::close_code::normal, ec);
  } catch (const std::exception& e) {
    return std::string{"WebSocket probe failed: "} + e.what();
  }
  return std::nullopt;
}

// ------------------------------------------------------------------- main

struct setup_result {
  std::string token;
  std::string tag; // tells runs against one --url server apart
  std::vector<agent_creds> agents;
};

// POST /api/agents; `extra` are more JSON members (",\"k\":v").
agent_creds create_agent(sync_client& c, const std::string& name,
                         const std::string& extra = {}) {
  auto r = c.call(http::verb::post, "/api/agents",
                  "{\"name\":" + json_quote(name) + extra + "}");
  if (r.result() != http::status::created && r.result() != http::status::ok)
    throw std::runtime_error("creating agent " + name
                             + " failed: " + describe(r));
  auto doc = parse_json(r.body());
  agent_creds a{json_string(doc, "agent_id"), json_string(doc, "secret")};
  if (a.id.empty())
    a.id = json_string(doc, "id");
  if (a.id.empty() || a.secret.empty())
    throw std::runtime_error("agent reply lacks agent_id or secret: "
                             + describe(r));
  return a;
}

setup_result setup(sync_client& c, const std::string& password, int n) {
  setup_result s;
  auto res = c.call(
    http::verb::post, "/api/auth/login",
    "{\"username\":\"admin\",\"password\":" + json_quote(password) + "}");
  if (res.result() != http::status::ok)
    throw std::runtime_error("login as admin failed: " + describe(res));
  s.token = json_string(parse_json(res.body()), "token");
  if (s.token.empty())
    throw std::runtime_error("login reply has no token: " + describe(res));
  c.set_token(s.token);
  s.tag = random_hex(3);
  for (int i = 0; i < n && !interrupted; ++i)
    s.agents.push_back(
      create_agent(c, "bench-" + s.tag + "-" + std::to_string(i)));
  return s;
}

// What the server recorded about the newest deliveries to `agent_id` (B2),
// e.g. "200 delivered by websocket".
std::string delivery_summary(sync_client& c, const std::string& agent_id) {
  response res;
  try {
    res = c.call(http::verb::get,
                 "/api/agents/" + agent_id + "/deliveries?limit=200");
  } catch (const std::exception& e) {
    return std::string{"GET deliveries failed: "} + e.what();
  }
  auto doc = parse_json(res.body());
  if (res.result() != http::status::ok || !doc.IsArray())
    return "GET deliveries failed: " + describe(res);
  std::map<std::string, size_t> counts;
  for (auto& d : doc.GetArray()) {
    auto state = json_string(d, "state");
    auto channel = json_string(d, "channel");
    ++counts[state + (channel.empty() ? "" : " by " + channel)];
  }
  std::string out = "the newest " + std::to_string(doc.Size())
                    + " deliveries to " + agent_id + ":";
  for (auto& [what, n] : counts)
    out += " " + std::to_string(n) + " " + what + ",";
  if (!counts.empty())
    out.pop_back();
  return out;
}

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

void print_open_loop(const std::vector<nod::bench::open_loop_row>& rows,
                     double rate, size_t agents) {
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

int run(const options& opt) {
  std::optional<server_process> srv;
  std::string host = opt.host;
  std::string port = opt.port;
  std::string password = opt.admin_password;
  std::string server_env; // what nod-bench set, for the output
  if (!opt.server.empty()) {
    std::vector<std::pair<std::string, std::string>> env;
    if (opt.webhook_max_per_host > 0)
      env.emplace_back("NOD_WEBHOOK_MAX_PER_HOST",
                       std::to_string(opt.webhook_max_per_host));
    for (auto& [k, v] : env)
      server_env += " " + k + "=" + v;
    srv.emplace();
    auto p = srv->start(opt.server, env);
    host = "127.0.0.1";
    port = std::to_string(p);
    password = srv->password();
    std::fprintf(stderr, "started %s (pid %d) on %s:%s%s%s\n",
                 opt.server.c_str(), static_cast<int>(srv->pid()), host.c_str(),
                 port.c_str(), server_env.empty() ? "" : " with",
                 server_env.c_str());
  }

  net::io_context resolve_io;
  tcp::resolver resolver{resolve_io};
  auto ep = resolver.resolve(host, port).begin()->endpoint();
  auto host_header = host + ":" + port;
  sync_client client{ep, host_header};
  try {
    auto res = client.call(http::verb::get, "/healthz");
    if (res.result() != http::status::ok)
      throw std::runtime_error(describe(res));
  } catch (const std::exception& e) {
    throw std::runtime_error("GET http://" + host_header
                             + "/healthz failed: " + e.what());
  }

  bool need_agents
    = opt.rate > 0
      || std::any_of(opt.phases.begin(), opt.phases.end(), [](auto& p) {
           return p != "healthz";
         });
  setup_result creds;
  if (need_agents) {
    if (password.empty())
      throw std::runtime_error("every phase but healthz needs "
                               "--admin-password (or NOD_ADMIN_PASSWORD)");
    creds = setup(client, password, opt.agents);
    std::fprintf(stderr, "logged in, created %zu agents\n",
                 creds.agents.size());
  }

  std::vector<phase_result> rows;
  std::vector<std::string> notes;
  // Agents made by the webhook phases, deleted with the others.
  std::vector<agent_creds> hook_agents;
  for (auto& phase : opt.phases) {
    if (interrupted)
      break;
    server_process* sp = srv ? &*srv : nullptr;
    std::vector<std::string> phase_notes;
    if (phase == "healthz") {
      rows.push_back(run_phase(
        phase, opt, ep, sp,
        [](net::io_context& io, phase_state& st, conn_stats& s, size_t i) {
          std::make_shared<http_client>(io, st, s, i,
                                        http_client::kind::healthz, nullptr)
            ->start();
        }));
    } else if (phase == "rest") {
      if (auto why = probe_rest(client, creds.agents.front())) {
        notes.push_back("rest: skipped: " + *why);
        std::fprintf(stderr, "rest: skipped: %s\n", why->c_str());
        continue;
      }
      auto& agents = creds.agents;
      rows.push_back(run_phase(phase, opt, ep, sp,
                               [&agents](net::io_context& io, phase_state& st,
                                         conn_stats& s, size_t i) {
                                 std::make_shared<http_client>(
                                   io, st, s, i, http_client::kind::rest,
                                   &agents[i])
                                   ->start();
                               }));
    } else if (phase == "ws") {
      if (auto why = probe_ws(ep, host_header, creds.agents.front())) {
        notes.push_back("ws: skipped: " + *why);
        std::fprintf(stderr, "ws: skipped: %s\n", why->c_str());
        continue;
      }
      auto& agents = creds.agents;
      rows.push_back(run_phase(
        phase, opt, ep, sp,
        [&agents](net::io_context& io, phase_state& st, conn_stats& s,
                  size_t i) {
          std::make_shared<ws_client>(io, st, s, i, &agents[i])->start();
        }));
    } else if (phase == "reply" || phase == "reply-acks") {
      auto why = probe_message(client, creds.agents.front());
      if (!why)
        why = probe_ws(ep, host_header, creds.agents.front());
      if (why) {
        notes.push_back(phase + ": skipped: " + *why);
        std::fprintf(stderr, "%s: skipped: %s\n", phase.c_str(), why->c_str());
        continue;
      }
      auto& agents = creds.agents;
      auto* token = &creds.token;
      bool acks = phase == "reply-acks";
      rows.push_back(run_phase(
        phase, opt, ep, sp,
        [&agents, token, acks](net::io_context& io, phase_state& st,
                               conn_stats& s, size_t i) {
          std::make_shared<reply_client>(io, st, s, i, &agents[i], token, acks)
            ->start();
        }));
      phase_notes.push_back(phase + ": deliveries API: "
                            + delivery_summary(client, agents.front().id));
    } else if (phase == "webhook") {
      std::optional<std::string> why;
      if (!ep.address().is_loopback())
        why = "the receiver listens on 127.0.0.1, so the server must run "
              "on this machine";
      else
        why = probe_message(client, creds.agents.front());
      if (why) {
        notes.push_back("webhook: skipped: " + *why);
        std::fprintf(stderr, "webhook: skipped: %s\n", why->c_str());
        continue;
      }
      hook_board board;
      board.clients.resize(static_cast<size_t>(opt.agents));
      std::vector<agent_creds> hooked;
      auto* token = &creds.token;
      auto prepare = [&](net::io_context& io, phase_state& st) {
        // Agents made now, when the receiver's port is known: offline (no
        // socket ever), each with its own webhook path.
        auto rx = std::make_shared<hook_receiver>(io, st, board);
        auto url = "http://127.0.0.1:" + std::to_string(rx->port()) + "/hook/";
        for (int i = 0; i < opt.agents; ++i) {
          hooked.push_back(create_agent(
            client, "bench-" + creds.tag + "-hook-" + std::to_string(i),
            ",\"webhook_url\":" + json_quote(url + std::to_string(i))));
          hook_agents.push_back(hooked.back());
        }
        rx->start();
      };
      rows.push_back(run_phase(
        phase, opt, ep, sp,
        [&hooked, &board, token](net::io_context& io, phase_state& st,
                                 conn_stats& s, size_t i) {
          std::make_shared<webhook_client>(io, st, s, i, &hooked[i], token,
                                           board)
            ->start();
        },
        prepare));
      auto& r = rows.back();
      char line[256];
      std::snprintf(
        line, sizeof(line),
        "webhook: the receiver read %llu requests, %.0f/s in the measured "
        "time; %llu retries, %llu for no message in flight, %llu unreadable",
        static_cast<unsigned long long>(board.total.load()),
        r.seconds > 0 ? static_cast<double>(board.measured.load()) / r.seconds
                      : 0.0,
        static_cast<unsigned long long>(board.retries.load()),
        static_cast<unsigned long long>(board.unmatched.load()),
        static_cast<unsigned long long>(board.bad.load()));
      phase_notes.push_back(line);
      if (srv && opt.webhook_max_per_host > 0)
        phase_notes.push_back(
          "webhook: the server ran with webhook-max-per-host "
          + std::to_string(opt.webhook_max_per_host)
          + " (NOD_WEBHOOK_MAX_PER_HOST set by nod-bench; the server's "
            "default is 4)");
      else
        phase_notes.push_back("webhook: the server's own "
                              "webhook-max-per-host applies (4 unless "
                              "configured)");
      if (!hooked.empty())
        phase_notes.push_back("webhook: deliveries API: "
                              + delivery_summary(client, hooked.front().id));
    }
    auto& r = rows.back();
    if (!r.first_error.empty())
      notes.push_back(r.name + ": first error: " + r.first_error);
    if (r.stuck > 0)
      notes.push_back(r.name + ": " + std::to_string(r.stuck)
                      + " connection(s) still waiting for a reply "
                      + std::to_string(drain_time.count())
                      + " s after the phase ended");
    notes.insert(notes.end(), phase_notes.begin(), phase_notes.end());
  }

  std::vector<nod::bench::open_loop_row> open_rows;
  if (opt.rate > 0 && !interrupted) {
    nod::bench::open_loop_config cfg;
    cfg.endpoint = ep;
    cfg.host = host_header;
    cfg.token = creds.token;
    for (auto& a : creds.agents)
      cfg.agents.push_back({a.id, a.secret});
    cfg.rate = opt.rate;
    cfg.seconds = opt.seconds;
    cfg.paths = nod::bench::open_loop_paths();
    cfg.interrupted = [] {
      return interrupted != 0;
    };
    std::function<double()> server_cpu;
    if (srv)
      server_cpu = [pid = srv->pid()] {
        return process_cpu_seconds(pid).value_or(-1);
      };
    std::fprintf(stderr,
                 "open loop: %.0f messages/s over %zu agents, 0.5 s warm-up "
                 "+ %.1f s per direction...\n",
                 opt.rate, cfg.agents.size(), opt.seconds);
    open_rows = nod::bench::run_open_loop(cfg, server_cpu);
  }

  // Against a long-lived server, leave nothing behind.
  if (!srv) {
    try {
      for (auto& a : creds.agents)
        client.call(http::verb::delete_, "/api/agents/" + a.id);
      for (auto& a : hook_agents)
        client.call(http::verb::delete_, "/api/agents/" + a.id);
      if (!creds.token.empty())
        client.call(http::verb::post, "/api/auth/logout");
    } catch (const std::exception& e) {
      notes.push_back(std::string{"cannot delete the bench agents: "}
                      + e.what());
    }
  }

  if (!rows.empty())
    print_table(rows);
  if (!open_rows.empty())
    print_open_loop(open_rows, opt.rate, creds.agents.size());
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
  if (srv) {
    auto [count, first] = srv->problems();
    auto how = srv->stop();
    if (count > 0) {
      std::printf("server logged %zu warning/error line(s), first:\n", count);
      for (auto& l : first)
        std::printf("  | %s\n", l.c_str());
    }
    if (!how.empty())
      std::printf("%s\n", how.c_str());
  }
  return interrupted ? 130 : 0;
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse_options(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  raise_fd_limit();
  try {
    return run(opt);
  } catch (const std::exception& e) {
    // `run`'s server_process has been stopped and its temp dir removed by
    // the time we get here.
    std::fprintf(stderr, "nod-bench: %s\n", e.what());
    return 1;
  }
}
