#pragma once

// The webhook phase: people's connections posting messages to offline
// agents whose webhook_url points at a receiver that nod-bench runs on the
// phase's io_context (127.0.0.1, a free port). A message is timed until the
// receiver has read its webhook.

#include "bench/common.hpp"
#include "bench/phase.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nod::bench {

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

// Starts connection `index`: the person posting to `agent`, whose
// webhook_url ends in /hook/`index`.
void start_webhook_client(net::io_context& io, phase_state& st,
                          conn_stats& stats, size_t index,
                          const agent_creds* agent, const std::string* token,
                          hook_board& board);

// The local webhook receiver: accepts on 127.0.0.1 (a free port) on the
// phase's io_context until the phase ends.
class hook_receiver : public std::enable_shared_from_this<hook_receiver> {
public:
  hook_receiver(net::io_context& io, phase_state& st, hook_board& board);

  uint16_t port() const {
    return acceptor_.local_endpoint().port();
  }

  void start();

private:
  void on_accept(boost::system::error_code ec, tcp::socket socket) noexcept;

  net::io_context& io_;
  phase_state& st_;
  hook_board& board_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
};

} // namespace nod::bench
