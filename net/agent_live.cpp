#include "net/agent_live.hpp"

#include "net/ask.hpp"

#include <memory>
#include <utility>

namespace nod::net {

namespace {

/// What `with_live` gathers, step by step.
struct gathering {
  live_sources from;
  std::vector<agent_record> agents;
  std::vector<agent_live> live;
  agents_view done;

  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> out;
    out.reserve(agents.size());
    for (auto& a : agents)
      out.push_back(a.id);
    return out;
  }
};

using gathering_ptr = std::shared_ptr<gathering>;

void finish(const gathering_ptr& g) {
  g->done(g->agents, g->live);
}

/// Step 3: pending decisions, from the reader.
void count_pending(gathering_ptr g) {
  if (!g->from.reader) {
    finish(g);
    return;
  }
  ask<std::vector<int64_t>>(
    g->from.reader,
    [g](caf::expected<std::vector<int64_t>> counts) {
      if (counts && counts->size() == g->live.size())
        for (size_t i = 0; i < g->live.size(); ++i)
          g->live[i].pending_decisions = (*counts)[i];
      finish(g);
    },
    pending_count_atom::value, g->ids());
}

/// Step 2: undelivered events, from the outbox.
void count_undelivered(gathering_ptr g) {
  if (!g->from.outbox) {
    count_pending(std::move(g));
    return;
  }
  ask<std::vector<uint64_t>>(
    g->from.outbox,
    [g](caf::expected<std::vector<uint64_t>> counts) {
      if (counts && counts->size() == g->live.size())
        for (size_t i = 0; i < g->live.size(); ++i)
          g->live[i].undelivered_events = static_cast<int64_t>((*counts)[i]);
      count_pending(g);
    },
    undelivered_atom::value, g->ids());
}

} // namespace

void with_live(const live_sources& from, std::vector<agent_record> agents,
               agents_view done) {
  auto g = std::make_shared<gathering>();
  g->from = from;
  g->agents = std::move(agents);
  g->live.resize(g->agents.size());
  g->done = std::move(done);
  // Step 1: online and processing, from the directory.
  if (!from.directory) {
    count_undelivered(std::move(g));
    return;
  }
  ask<std::vector<agent_live>>(
    from.directory,
    [g](caf::expected<std::vector<agent_live>> live) {
      if (live && live->size() == g->agents.size())
        g->live = std::move(*live);
      count_undelivered(g);
    },
    online_atom::value, g->ids());
}

} // namespace nod::net
