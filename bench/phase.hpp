#pragma once

// One phase of nod-bench: N connections, each with one operation in flight,
// on one io_context; 0.5 s of warm-up, then --seconds measured. The
// connections (clients.hpp, webhook.hpp) derive from `conn_base`.

#include "bench/common.hpp"
#include "bench/nodes.hpp"
#include "bench/options.hpp"

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nod::bench {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class server_process;

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
  std::vector<server_node> nodes;
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
  // Where this connection's agent, and the person writing to it, connect.
  const server_node& agent_node() const {
    return bench::agent_node(st_.nodes, index_);
  }

  const server_node& person_node() const {
    return bench::person_node(st_.nodes, index_);
  }

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
      timer_->async_wait(guarded([this](boost::system::error_code) {
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

/// The `p` quantile (0..1) of `sorted`, or 0 if it is empty.
double percentile(const std::vector<float>& sorted, double p);

/// Starts connection `i` of a phase.
using connection_maker
  = std::function<void(net::io_context&, phase_state&, conn_stats&, size_t)>;

// Runs one phase against `nodes`: `prepare(io, state)`, if given, runs
// first (on this thread), then `make(io, state, stats, i)` starts
// connection i.
phase_result
run_phase(const std::string& name, const options& opt,
          const std::vector<server_node>& nodes, server_process* srv,
          const connection_maker& make,
          const std::function<void(net::io_context&, phase_state&)>& prepare
          = {});

} // namespace nod::bench
