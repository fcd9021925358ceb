#include "net/ask.hpp"

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/send.hpp>
#include <mutex>

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

/// The sender of one `ask`: it has no mailbox and is never scheduled; the
/// reply is handled inside `enqueue`, on the thread of the actor that
/// sends it. CAF's own decorators are built the same way.
class reply_callback_actor final : public caf::monitorable_actor {
public:
  reply_callback_actor(caf::actor_config& cfg, reply_handler fn)
    : caf::monitorable_actor(cfg), fn_(std::move(fn)) {}

  ~reply_callback_actor() override {
    // Dropped without a reply: the promise was never kept, or the request
    // never reached an actor.
    if (auto fn = take())
      fn(caf::expected<caf::message>{
        caf::make_error(caf::sec::request_receiver_down)});
  }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    // Only the reply counts; system messages have nobody to tell here.
    if (!what || !what->mid.is_response())
      return;
    if (auto fn = take())
      fn(caf::expected<caf::message>{what->move_content_to_message()});
  }

  const char* name() const override {
    return "reply_callback";
  }

private:
  reply_handler take() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::exchange(fn_, nullptr);
  }

  std::mutex mtx_;
  reply_handler fn_;
};

} // namespace

caf::strong_actor_ptr reply_callback(caf::abstract_actor& dest,
                                     reply_handler on_reply) {
  auto& sys = dest.home_system();
  caf::actor_config cfg;
  return caf::make_actor<reply_callback_actor, caf::strong_actor_ptr>(
    sys.next_actor_id(), sys.node(), &sys, cfg, std::move(on_reply));
}

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
