#pragma once

// The REST side of the asio/CAF seam: a handler never blocks on an actor.
// `ask` hands a job to one of a few long-lived edge actors, which sends
// the request and passes the reply (or error) to a callback on its actor
// thread; the callback answers through the request's thread-safe
// `responder`. (A short-lived actor per request cost a spawn, a
// scheduling and a teardown on the actor clock each time.)

#include <atomic>
#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <functional>
#include <tuple>
#include <utility>
#include <vector>

namespace nod::net {

/// How long a REST handler waits for an actor before answering 503.
constexpr std::chrono::seconds ask_timeout{30};

/// What an edge actor runs: anything that starts requests from `self` and
/// handles their replies there.
using edge_job = std::function<void(caf::event_based_actor* self)>;

/// A few long-lived actors that jobs from io threads run on, round robin.
/// They stop when this goes.
class edge_actors {
public:
  edge_actors(caf::actor_system& sys, size_t count);
  ~edge_actors();
  edge_actors(const edge_actors&) = delete;
  edge_actors& operator=(const edge_actors&) = delete;

  /// Runs `job` on one of the actors (from any thread).
  void post(edge_job job);

private:
  std::vector<caf::actor> actors_;
  std::atomic<size_t> next_{0};
};

/// Sends `xs...` to `dest` and calls `on_reply(caf::expected<R>)` with the
/// reply, the error, or a timeout. `on_reply` runs on an actor thread.
template <class R, class Handle, class F, class... Ts>
void ask(edge_actors& edge, const Handle& dest, F on_reply, Ts&&... xs) {
  edge.post([dest, on_reply = std::move(on_reply),
             msg = std::make_tuple(std::forward<Ts>(xs)...)](
              caf::event_based_actor* self) mutable {
    auto send = [&](auto&... args) {
      return self->request(dest, ask_timeout, std::move(args)...);
    };
    std::apply(send, msg).then(
      [on_reply](R& reply) {
        on_reply(caf::expected<R>{std::move(reply)});
      },
      [on_reply](caf::error& err) {
        on_reply(caf::expected<R>{std::move(err)});
      });
  });
}

} // namespace nod::net
