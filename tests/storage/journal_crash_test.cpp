// Crash consistency: a child appends with acknowledgements and is killed
// with SIGKILL at a random moment. Every append it saw acknowledged must be
// in the reopened store, in order, with no gaps in any agent's seq.

#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

#include <chrono>
#include <csignal>
#include <gtest/gtest.h>
#include <map>
#include <poll.h>
#include <random>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace nod {
namespace {

constexpr int appenders = 16;
constexpr uint64_t agents = 4;

struct ack {
  uint64_t agent;
  uint64_t seq;
  std::string payload;
};

// Runs the child until `run_for` after its first acknowledgement (start-up
// and WAL recovery take their own time on a loaded machine), kills it with
// SIGKILL and returns every acknowledgement it printed before dying.
std::vector<ack> run_and_kill(const std::string& dir,
                              std::chrono::milliseconds run_for,
                              bool sync = true) {
  int out[2];
  if (pipe(out) != 0)
    throw std::runtime_error("pipe failed");
  auto pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    auto n = std::to_string(appenders);
    auto a = std::to_string(agents);
    execl(NOD_CRASH_CHILD, NOD_CRASH_CHILD, dir.c_str(), n.c_str(), a.c_str(),
          sync ? static_cast<char*>(nullptr) : "unsynced",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[65536];
  // Until the first acknowledgement: a generous start-up limit.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  bool appending = false;
  bool killed = false;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (!appending && !text.empty()) {
      appending = true;
      deadline = now + run_for;
    }
    if (!killed && now >= deadline) {
      kill(pid, SIGKILL);
      killed = true;
    }
    pollfd pfd{out[0], POLLIN, 0};
    auto wait_ms = killed
                     ? 1000
                     : static_cast<int>(
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                         deadline - now)
                         .count());
    if (poll(&pfd, 1, std::max(wait_ms, 1)) > 0) {
      auto n = read(out[0], buf, sizeof(buf));
      if (n <= 0)
        break; // EOF: the child is gone and the pipe drained
      text.append(buf, static_cast<size_t>(n));
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
    << "child ended on its own, status " << status;
  std::vector<ack> acks;
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields{line};
    ack a;
    if (fields >> a.agent >> a.seq >> a.payload)
      acks.push_back(a);
  }
  return acks;
}

// Rounds of run, SIGKILL, reopen: every acknowledged append is there, in
// order, without gaps.
void check_survival(bool sync) {
  test::temp_dir dir;
  std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> run_ms{150, 600};
  std::map<std::pair<uint64_t, uint64_t>, std::string> acked;
  for (int round = 0; round < 5; ++round) {
    auto acks
      = run_and_kill(dir.path(), std::chrono::milliseconds{run_ms(rng)}, sync);
    ASSERT_FALSE(acks.empty()) << "round " << round << ": no acknowledgements";
    for (auto& a : acks)
      acked[{a.agent, a.seq}] = a.payload;
    std::string error;
    auto db = storage::store::open(dir.path(), {}, error);
    ASSERT_TRUE(db) << "round " << round << ": " << error;
    size_t found = 0;
    for (uint64_t agent = 0; agent < agents; ++agent) {
      uint64_t expected_seq = 1;
      auto prefix = storage::stream_prefix(agent);
      auto st = db->scan(prefix, storage::prefix_end(prefix), SIZE_MAX,
                         [&](std::string_view key, std::string_view value) {
                           auto seq = storage::decode_stream_key(key)->second;
                           EXPECT_EQ(seq, expected_seq)
                             << "gap in agent " << agent << "'s stream";
                           expected_seq = seq + 1;
                           auto i = acked.find({agent, seq});
                           if (i != acked.end()) {
                             EXPECT_EQ(i->second, value);
                             ++found;
                           }
                           return true;
                         });
      ASSERT_TRUE(st.ok()) << st.message();
    }
    EXPECT_EQ(found, acked.size())
      << "round " << round << ": acknowledged appends missing after SIGKILL";
  }
}

TEST(journal_crash, acknowledged_appends_survive_sigkill) {
  check_survival(true);
}

// Writes without `sync` (delivery outcomes) are in the log when they are
// acknowledged: a killed process loses none of them (an OS crash may).
TEST(journal_crash, unsynced_writes_survive_sigkill_too) {
  check_survival(false);
}

} // namespace
} // namespace nod
