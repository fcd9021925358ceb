#include "tests/support/process.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace nod::test {

child_process::child_process(const std::string& binary,
                             const std::vector<std::string>& args,
                             const std::vector<std::string>& env) {
  std::vector<std::string> argv_s{binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; e && *e; ++e)
    env_s.emplace_back(*e);
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> argv_p;
  for (auto& a : argv_s)
    argv_p.push_back(a.data());
  argv_p.push_back(nullptr);
  std::vector<char*> env_p;
  for (auto& e : env_s)
    env_p.push_back(e.data());
  env_p.push_back(nullptr);
  int out[2];
  if (pipe(out) != 0)
    throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    // The test runner may block signals; the server must see defaults.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv_p[0], argv_p.data(), env_p.data());
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
  for (;;) {
    auto n = read(fd, buf, sizeof(buf));
    if (n <= 0)
      break;
    std::lock_guard<std::mutex> guard{mtx_};
    output_.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  close(fd);
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

uint16_t wait_for_port(child_process& server) {
  auto out
    = server.wait_for_output(" listening on http://", std::chrono::seconds{20});
  if (!out)
    return 0;
  // Wait for the rest of the line, then parse the port.
  const std::string marker = "listening on http://";
  for (int i = 0; i < 100; ++i) {
    auto text = server.output();
    auto at = text.find(marker);
    auto end = text.find_first_of(" \n", at + marker.size());
    if (at != std::string::npos && end != std::string::npos) {
      auto addr = text.substr(at + marker.size(), end - at - marker.size());
      auto colon = addr.rfind(':');
      if (colon != std::string::npos)
        return static_cast<uint16_t>(std::atoi(addr.c_str() + colon + 1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return 0;
}

} // namespace nod::test
