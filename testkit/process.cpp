#include "testkit/process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace nod::testkit {

namespace {

/// The current environment with `env` (`NAME=value`) replacing or adding
/// variables.
std::vector<std::string>
merged_environment(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e)
    out.emplace_back(*e);
  for (const auto& var : env) {
    auto name = var.substr(0, var.find('=') + 1);
    auto same = [&name](const std::string& have) {
      return have.compare(0, name.size(), name) == 0;
    };
    auto at = std::find_if(out.begin(), out.end(), same);
    if (at == out.end())
      out.push_back(var);
    else
      *at = var;
  }
  return out;
}

/// Writes `text` to stderr from a forked child (no stdio there).
void child_say(const std::string& text) {
  auto rc = ::write(STDERR_FILENO, text.data(), text.size());
  static_cast<void>(rc);
}

} // namespace

child_process::child_process(const std::string& binary,
                             const std::vector<std::string>& args,
                             const std::vector<std::string>& env,
                             child_options options)
  : options_(std::move(options)) {
  std::vector<std::string> argv_s{binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  auto env_s = merged_environment(env);
  std::vector<char*> argv_p;
  for (auto& a : argv_s)
    argv_p.push_back(a.data());
  argv_p.push_back(nullptr);
  std::vector<char*> env_p;
  for (auto& e : env_s)
    env_p.push_back(e.data());
  env_p.push_back(nullptr);
  // Everything the child needs is built before fork: only async-signal-safe
  // calls after it.
  auto exec_failed = "cannot run " + binary + ": ";
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string{"pipe: "} + std::strerror(errno));
  auto parent = getpid();
  pid_ = fork();
  if (pid_ < 0)
    throw std::runtime_error(std::string{"fork: "} + std::strerror(errno));
  if (pid_ == 0) {
    if (options_.own_group) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent)
        _exit(127);
    }
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    // The parent (a test runner, a tool) may block signals; the child must
    // see defaults.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv_p[0], argv_p.data(), env_p.data());
    child_say(exec_failed + std::strerror(errno) + "\n");
    _exit(127);
  }
  close(out[1]);
  reader_ = std::thread{[this, fd = out[0]] {
    read_loop(fd);
  }};
}

child_process::~child_process() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds{10});
  }
  if (reader_.joinable())
    reader_.join();
}

void child_process::read_loop(int fd) {
  char buf[4096];
  std::string partial;
  for (;;) {
    auto n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (options_.on_line) {
      partial.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        options_.on_line(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
    }
    if (options_.keep_output) {
      std::lock_guard<std::mutex> guard{mtx_};
      output_.append(buf, static_cast<size_t>(n));
      cv_.notify_all();
    }
  }
  if (options_.on_line && !partial.empty())
    options_.on_line(partial);
  close(fd);
  if (options_.on_end)
    options_.on_end();
  std::lock_guard<std::mutex> guard{mtx_};
  eof_ = true;
  cv_.notify_all();
}

void child_process::signal(int sig) {
  if (!status_)
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  if (status_)
    return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int raw = 0;
    auto r = waitpid(pid_, &raw, WNOHANG);
    if (r == pid_) {
      signalled_ = !WIFEXITED(raw);
      status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      // The exit may be seen before the reader drained the pipe: wait for
      // its end, so output() holds everything the child printed.
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait_for(guard, std::chrono::seconds{5}, [this] {
        return eof_;
      });
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

std::optional<std::string>
child_process::wait_for_output(const std::string& needle,
                               std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  auto found = cv_.wait_for(guard, timeout, [&] {
    return output_.find(needle) != std::string::npos || eof_;
  });
  if (!found || output_.find(needle) == std::string::npos)
    return std::nullopt;
  return output_;
}

std::string child_process::output() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return output_;
}

std::optional<uint16_t> listening_port(const std::string& log) {
  // "listening on http://HOST:PORT ..." (or https://) with HOST possibly
  // [v6].
  auto at = log.find("listening on http");
  if (at == std::string::npos)
    return std::nullopt;
  static const std::string marker = "://";
  at = log.find(marker, at);
  if (at == std::string::npos)
    return std::nullopt;
  auto end = log.find_first_of(" \n", at + marker.size());
  if (end == std::string::npos)
    return std::nullopt;
  auto addr = log.substr(at + marker.size(), end - at - marker.size());
  auto colon = addr.rfind(':');
  if (colon == std::string::npos)
    return std::nullopt;
  return static_cast<uint16_t>(
    std::strtoul(addr.c_str() + colon + 1, nullptr, 10));
}

uint16_t wait_for_port(child_process& server) {
  auto out
    = server.wait_for_output(" listening on http", std::chrono::seconds{20});
  if (!out)
    return 0;
  // Wait for the rest of the line, then parse the port.
  for (int i = 0; i < 100; ++i) {
    if (auto port = listening_port(server.output()))
      return *port;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return 0;
}

} // namespace nod::testkit
