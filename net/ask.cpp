#include "net/ask.hpp"

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>

namespace {

/// The message an edge actor gets; it never leaves the process.
struct edge_message {
  nod::net::edge_job job;
};

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(edge_message)

namespace nod::net {

namespace {

// `index` is there because CAF 0.17 binds a null reference when spawning a
// function without arguments (UBSan reports it; STACK.md).
caf::behavior edge_actor(caf::event_based_actor* self, size_t index) {
  (void)index;
  return {
    [self](edge_message& m) {
      m.job(self);
    },
  };
}

} // namespace

edge_actors::edge_actors(caf::actor_system& sys, size_t count) {
  for (size_t i = 0; i < std::max<size_t>(count, 1); ++i)
    actors_.push_back(sys.spawn<caf::hidden>(edge_actor, i));
}

edge_actors::~edge_actors() {
  for (auto& a : actors_)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

void edge_actors::post(edge_job job) {
  auto i = next_.fetch_add(1, std::memory_order_relaxed) % actors_.size();
  caf::anon_send(actors_[i], edge_message{std::move(job)});
}

} // namespace nod::net
