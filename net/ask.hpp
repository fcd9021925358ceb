#pragma once

// The REST side of the asio/CAF seam: a handler never blocks on an actor.
//
// `ask` sends one request straight from the calling thread; its sender is a
// reply callback, a tiny actor without a mailbox that runs the callback on
// the replying actor's thread as the reply arrives (no scheduling, no
// timer). A request that is never answered (its promise dropped, the actor
// gone) calls the callback with an error when the last reference to the
// callback goes. (A short-lived actor per request cost a spawn, two
// schedulings, a timer and a teardown each time.)
//
// Steps that need an actor of their own for several requests in turn (an
// agent's long poll) run as jobs on a few long-lived edge actors.

#include <atomic>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message.hpp>
#include <caf/response_type.hpp>
#include <caf/sec.hpp>
#include <chrono>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace nod::net {

/// How long a long poll step waits for an actor before answering 503.
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

/// Called once with a reply message (the result or a `caf::error`), or
/// with an error when no reply can come.
using reply_handler = std::function<void(caf::expected<caf::message>)>;

/// A sender for one request to `dest` whose reply goes to `on_reply`.
caf::strong_actor_ptr reply_callback(caf::abstract_actor& dest,
                                     reply_handler on_reply);

/// Sends `xs...` to `dest` and calls `on_reply(caf::expected<R>)` once with
/// the reply or the error, on the replying actor's thread (keep it short:
/// answer, or ask the next actor).
template <class R, class Handle, class F, class... Ts>
void ask(const Handle& dest, F on_reply, Ts&&... xs) {
  static_assert(
    std::is_same<
      caf::response_type_t<typename Handle::signatures,
                           typename caf::detail::implicit_conversions<
                             typename std::decay<Ts>::type>::type...>,
      caf::detail::type_list<R>>::value,
    "`dest` does not answer these arguments with R");
  auto* target = caf::actor_cast<caf::abstract_actor*>(dest);
  if (target == nullptr) {
    on_reply(caf::expected<R>{caf::make_error(caf::sec::invalid_argument)});
    return;
  }
  auto sender = reply_callback(
    *target, [on_reply](caf::expected<caf::message> reply) mutable {
      if (!reply)
        on_reply(caf::expected<R>{std::move(reply.error())});
      else if (reply->template match_elements<R>())
        on_reply(
          caf::expected<R>{std::move(reply->template get_mutable_as<R>(0))});
      else if (reply->template match_elements<caf::error>())
        on_reply(caf::expected<R>{
          std::move(reply->template get_mutable_as<caf::error>(0))});
      else
        on_reply(
          caf::expected<R>{caf::make_error(caf::sec::unexpected_response)});
    });
  // Any request id will do: the callback serves this request alone.
  target->enqueue(caf::make_mailbox_element(std::move(sender),
                                            caf::make_message_id(1), {},
                                            std::forward<Ts>(xs)...),
                  nullptr);
}

} // namespace nod::net
