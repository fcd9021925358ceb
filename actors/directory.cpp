#include "actors/directory.hpp"

#include "actors/error.hpp"
#include "protocol/close_codes.hpp"
#include "protocol/json.hpp"
#include "protocol/time.hpp"

#include <algorithm>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace nod {

namespace {

using self_ptr = directory_actor::stateful_pointer<directory_state>;

void publish(self_ptr self, uint64_t user, const std::string& frame) {
  auto i = self->state.apps.find(user);
  if (i == self->state.apps.end())
    return;
  for (auto& session : i->second)
    self->send(session, push_atom::value, frame);
}

// Removes `who` wherever it is registered; tells the owner when an agent
// lost its last socket.
void forget(self_ptr self, const caf::actor_addr& who) {
  auto& st = self->state;
  for (auto i = st.apps.begin(); i != st.apps.end();) {
    auto& list = i->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const app_session_actor& s) {
                                return s.address() == who;
                              }),
               list.end());
    i = list.empty() ? st.apps.erase(i) : std::next(i);
  }
  for (auto i = st.agents.begin(); i != st.agents.end();) {
    auto& sessions = i->second.sessions;
    auto before = sessions.size();
    sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                  [&](const agent_session_actor& s) {
                                    return s.address() == who;
                                  }),
                   sessions.end());
    if (before > 0 && sessions.empty()) {
      publish(self, i->second.owner, agent_status_frame(i->first, false));
      // An agent whose last socket went is not working on anything the
      // person can wait for: its indicator ends with it.
      if (auto p = st.processing.find(i->first); p != st.processing.end()) {
        auto off = p->second.last;
        off.on = false;
        st.processing.erase(p);
        publish(self, off.owner, processing_frame(off));
      }
      i = st.agents.erase(i);
    } else {
      ++i;
    }
  }
}

} // namespace

std::string agent_status_frame(uint64_t agent, bool online) {
  json::writer w;
  w.start_object();
  w.field("type", "agent_status");
  w.field("agent_id", agent_id_text(agent));
  w.field("online", online);
  w.field("at", iso8601(now_ms()));
  w.end_object();
  return w.str();
}

std::string processing_frame(const processing_update& p) {
  json::writer w;
  w.start_object();
  w.field("type", "processing");
  w.field("agent_id", agent_id_text(p.agent));
  w.key("conversation_id");
  if (p.conversation_id.empty())
    w.null();
  else
    w.string(p.conversation_id);
  w.field("processing", p.on);
  w.key("status_text");
  if (p.on)
    w.string(p.status_text);
  else
    w.null();
  w.field("at", iso8601(now_ms()));
  w.end_object();
  return w.str();
}

directory_actor::behavior_type directory(self_ptr self,
                                         directory_options opts) {
  self->state.opts = opts;
  // Sessions that die without saying goodbye are dropped all the same.
  self->set_down_handler([self](const caf::down_msg& msg) {
    forget(self, msg.source);
  });
  return {
    [self](join_atom, uint64_t user, app_session_actor session) {
      self->monitor(session);
      self->state.apps[user].push_back(std::move(session));
    },
    [self](publish_atom, uint64_t user, const std::string& frame) {
      publish(self, user, frame);
    },
    [self](agent_up_atom, uint64_t agent, uint64_t owner,
           agent_session_actor session) {
      auto& entry = self->state.agents[agent];
      entry.owner = owner;
      // Over the bound the oldest goes: a client that reconnects without
      // closing its old sockets keeps working, and no agent holds more.
      auto max = std::max<size_t>(self->state.opts.max_sockets_per_agent, 1);
      while (entry.sessions.size() >= max) {
        self->send(entry.sessions.front(), kick_atom::value,
                   ws_close::too_many_sockets,
                   "too many sockets for this agent (max-sockets-per-agent)");
        entry.sessions.erase(entry.sessions.begin());
      }
      self->monitor(session);
      entry.sessions.push_back(std::move(session));
      if (entry.sessions.size() == 1)
        publish(self, owner, agent_status_frame(agent, true));
    },
    [self](agent_down_atom, uint64_t, const caf::actor_addr& session) {
      forget(self, session);
    },
    [self](kick_atom, uint64_t agent, uint16_t code,
           const std::string& reason) {
      auto i = self->state.agents.find(agent);
      if (i == self->state.agents.end())
        return;
      for (auto& session : i->second.sessions)
        self->send(session, kick_atom::value, code, reason);
    },
    [self](online_atom, const std::vector<uint64_t>& agents) {
      auto& st = self->state;
      std::vector<agent_live> result(agents.size());
      for (size_t i = 0; i < agents.size(); ++i) {
        result[i].online = st.agents.count(agents[i]) > 0;
        if (auto p = st.processing.find(agents[i]); p != st.processing.end()) {
          result[i].processing = true;
          result[i].status_text = p->second.last.status_text;
        }
      }
      return result;
    },
    [self](processing_atom, processing_update& p) {
      auto& st = self->state;
      auto i = st.processing.find(p.agent);
      if (p.on) {
        // Heartbeats arrive every second: tell the app only what changed.
        bool changed = i == st.processing.end()
                       || i->second.last.status_text != p.status_text
                       || i->second.last.conversation_id != p.conversation_id;
        auto gen = st.next_generation++;
        if (changed)
          publish(self, p.owner, processing_frame(p));
        st.processing[p.agent] = {p, gen};
        self->delayed_send(self, st.opts.processing_timeout, expire_atom::value,
                           p.agent, gen);
      } else if (i != st.processing.end()) {
        st.processing.erase(i);
        publish(self, p.owner, processing_frame(p));
      }
    },
    [self](expire_atom, uint64_t agent, uint64_t generation) {
      auto& st = self->state;
      auto i = st.processing.find(agent);
      if (i == st.processing.end() || i->second.generation != generation)
        return;
      auto off = i->second.last;
      off.on = false;
      st.processing.erase(i);
      publish(self, off.owner, processing_frame(off));
    },
    [self](session_count_atom, uint64_t user) -> uint64_t {
      auto i = self->state.apps.find(user);
      return i == self->state.apps.end() ? 0 : i->second.size();
    },
  };
}

} // namespace nod
