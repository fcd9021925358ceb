#include "actors/notifier.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace nod {

namespace {

using self_ptr = notifier_actor::stateful_pointer<notifier_state>;

void answer(self_ptr self, uint64_t id, bool changed) {
  auto& st = self->state;
  auto i = st.waiters.find(id);
  if (i == st.waiters.end())
    return;
  i->second.promise.deliver(changed);
  auto range = st.by_key.equal_range(i->second.key);
  for (auto j = range.first; j != range.second; ++j) {
    if (j->second == id) {
      st.by_key.erase(j);
      break;
    }
  }
  st.waiters.erase(i);
}

// Forgets change versions no reader can still hold.
void prune(self_ptr self) {
  auto& st = self->state;
  auto keep = st.opts.keep_versions;
  if (st.version - st.pruned_at < keep)
    return;
  st.pruned_at = st.version;
  for (auto i = st.changed.begin(); i != st.changed.end();)
    i = st.version - i->second > keep ? st.changed.erase(i) : std::next(i);
}

} // namespace

std::string inbox_key(uint64_t agent) {
  return "inbox/" + std::to_string(agent);
}

std::string decision_key(uint64_t decision) {
  return "decision/" + std::to_string(decision);
}

// (Spawned with an argument on purpose: CAF 0.17 binds a null reference
// when spawning a function without arguments, which UBSan reports.)
notifier_actor::behavior_type notifier(self_ptr self, notifier_options opts) {
  self->state.opts = opts;
  // Long polls end when the server stops, rather than at their deadline.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, w] : self->state.waiters)
      w.promise.deliver(false);
    self->state.waiters.clear();
    self->state.by_key.clear();
    self->quit(msg.reason);
  });
  return {
    [self](version_atom) {
      return self->state.version;
    },
    [self](watch_atom, const std::string& key, uint64_t seen,
           caf::timespan wait) -> caf::result<bool> {
      auto& st = self->state;
      if (auto i = st.changed.find(key);
          i != st.changed.end() && i->second > seen)
        return true;
      if (wait <= caf::timespan{0})
        return false;
      auto id = st.next_waiter++;
      auto promise = self->make_response_promise<bool>();
      st.waiters.emplace(id, notifier_state::waiter{key, promise});
      st.by_key.emplace(key, id);
      self->delayed_send(self, wait, timeout_atom::value, id);
      return promise;
    },
    [self](notify_atom, const std::string& key) {
      auto& st = self->state;
      st.changed[key] = ++st.version;
      std::vector<uint64_t> ids;
      auto range = st.by_key.equal_range(key);
      for (auto i = range.first; i != range.second; ++i)
        ids.push_back(i->second);
      for (auto id : ids)
        answer(self, id, true);
      prune(self);
    },
    [self](timeout_atom, uint64_t id) {
      answer(self, id, false);
    },
  };
}

} // namespace nod
