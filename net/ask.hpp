#pragma once

// The REST side of the asio/CAF seam: a handler never blocks on an actor.
// `ask` spawns a short-lived actor that sends the request and hands the
// reply (or error) to a callback on an actor thread; the callback answers
// through the request's thread-safe `responder`.

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <tuple>
#include <utility>

namespace nod::net {

/// How long a REST handler waits for an actor before answering 503.
constexpr std::chrono::seconds ask_timeout{30};

/// The short-lived actor behind `ask`. Its state comes in as spawn
/// arguments: CAF 0.17 binds a null reference when spawning a function
/// without arguments (UBSan reports it), so `ask` never does.
template <class R, class Handle, class F, class Tuple>
void ask_actor(caf::event_based_actor* self, Handle dest, F on_reply,
               Tuple msg) {
  auto send = [&](auto&&... args) {
    return self->request(dest, ask_timeout,
                         std::forward<decltype(args)>(args)...);
  };
  std::apply(send, std::move(msg))
    .then(
      [on_reply](R& reply) {
        on_reply(caf::expected<R>{std::move(reply)});
      },
      [on_reply](caf::error& err) {
        on_reply(caf::expected<R>{std::move(err)});
      });
}

/// Sends `xs...` to `dest` and calls `on_reply(caf::expected<R>)` with the
/// reply, the error, or a timeout. `on_reply` runs on an actor thread.
template <class R, class Handle, class F, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, F on_reply, Ts&&... xs) {
  auto msg = std::make_tuple(std::forward<Ts>(xs)...);
  sys.spawn(ask_actor<R, Handle, F, decltype(msg)>, dest, std::move(on_reply),
            std::move(msg));
}

} // namespace nod::net
