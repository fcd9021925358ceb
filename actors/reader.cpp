#include "actors/reader.hpp"

#include "actors/error.hpp"
#include "protocol/delivery.hpp"
#include "protocol/ids.hpp"
#include "protocol/json.hpp"
#include "storage/keys.hpp"

#include <algorithm>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace nod {

namespace {

using storage::table;
using self_ptr = reader_actor::stateful_pointer<reader_state>;
using text_promise = caf::typed_response_promise<std::string>;

/// Where a newest-first listing stands: the index, the exclusive upper
/// key of the next chunk, and what was kept so far.
struct listing {
  std::string prefix;
  std::string end;
  uint32_t limit = 0;
  /// The item to list for an entry, or nothing to skip it.
  std::function<std::optional<std::string>(const kv_entry&)> pick;
  std::vector<std::string> found;
  /// Bytes of `found`: the list ends at `max_reply_bytes`.
  uint64_t bytes = 0;
};

/// Reads the next chunk of `l` and either answers or reads on. Reads in
/// chunks so a sparse filter does not load the whole index at once.
void next_chunk(self_ptr self, std::shared_ptr<listing> l, text_promise rp) {
  scan_request req;
  req.begin = l->prefix;
  req.end = l->end;
  req.limit = std::max<uint32_t>(l->limit * 2, 64);
  req.reverse = true;
  req.max_bytes = max_reply_bytes;
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [self, l, rp, chunk = req.limit](std::vector<kv_entry>& entries) mutable {
        uint64_t scanned = 0;
        bool full = false;
        for (auto& e : entries) {
          scanned += e.value.size();
          if (auto item = l->pick(e)) {
            l->bytes += item->size();
            l->found.push_back(std::move(*item));
          }
          full = l->found.size() >= l->limit || l->bytes >= max_reply_bytes;
          if (full)
            break;
        }
        // A chunk cut by count or by bytes may have more below it.
        bool more = entries.size() == chunk || scanned >= max_reply_bytes;
        if (!full && more && !entries.empty()) {
          l->end = entries.back().key; // exclusive: go on below it
          next_chunk(self, std::move(l), std::move(rp));
          return;
        }
        rp.deliver(json::array_of(l->found));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(std::move(err));
      });
}

/// Lists index `prefix` (keys end in an 8-byte id or seq) newest first,
/// below `page.before`, keeping what `pick` returns, into `rp`.
void list_newest_first(
  self_ptr self, std::string prefix, const page_query& page,
  std::function<std::optional<std::string>(const kv_entry&)> pick,
  text_promise rp) {
  auto l = std::make_shared<listing>();
  l->prefix = std::move(prefix);
  if (page.before) {
    l->end = l->prefix;
    storage::put_u64(l->end, *page.before);
  } else {
    l->end = storage::prefix_end(l->prefix);
  }
  l->limit = page.limit;
  l->pick = std::move(pick);
  next_chunk(self, std::move(l), std::move(rp));
}

/// As above, answering the current request.
text_promise list_newest_first(
  self_ptr self, std::string prefix, const page_query& page,
  std::function<std::optional<std::string>(const kv_entry&)> pick) {
  auto rp = self->make_response_promise<std::string>();
  list_newest_first(self, std::move(prefix), page, std::move(pick), rp);
  return rp;
}

/// Every stored object as it is.
std::optional<std::string> any(const kv_entry& e) {
  return e.value;
}

bool has_string(const json::document& doc, const char* name,
                const std::string& want) {
  auto i = doc.FindMember(name);
  return i != doc.MemberEnd() && i->value.IsString()
         && want == i->value.GetString();
}

/// True if the object's `status` is `want`; "resolved" is any status
/// but pending and expired.
bool status_matches(const json::document& doc, const std::string& want) {
  if (want != "resolved")
    return has_string(doc, "status", want);
  auto i = doc.FindMember("status");
  if (i == doc.MemberEnd() || !i->value.IsString())
    return false;
  std::string_view status = i->value.GetString();
  return status != "pending" && status != "expired";
}

/// The stored objects whose fields match `filter` (empty fields match
/// all).
auto matching(list_filter filter) {
  return [filter = std::move(filter)](
           const kv_entry& e) -> std::optional<std::string> {
    if (filter.status.empty() && filter.agent_id.empty())
      return e.value;
    json::document doc;
    json::field_error err;
    if (!json::parse_object(e.value, doc, err)
        || (!filter.status.empty() && !status_matches(doc, filter.status))
        || (!filter.agent_id.empty()
            && !has_string(doc, "agent_id", filter.agent_id)))
      return std::nullopt;
    return e.value;
  };
}

/// Runs `next()` if `agent` is in `scope`: the scope's own agent, or one
/// of the person's; otherwise answers `rp` with the accounts' error, or
/// with `not_found(detail)` when `detail` is set (so a hidden agent does
/// not show through another object).
template <class Promise, class F>
void if_owned(self_ptr self, const read_scope& scope, uint64_t agent,
              Promise rp, const char* detail, F next) {
  if (scope.agent != 0) {
    // The agent itself, authenticated: no need to ask accounts.
    if (agent == scope.agent)
      next();
    else
      rp.deliver(make_error(ec::not_found,
                            detail != nullptr ? detail : "agent not found"));
    return;
  }
  self
    ->request(self->state.accounts, caf::infinite, agent_get_atom::value,
              scope.user, agent)
    .then(
      [next](agent_record&) mutable {
        next();
      },
      [rp, detail](caf::error& err) mutable {
        if (detail != nullptr)
          rp.deliver(make_error(ec::not_found, detail));
        else
          rp.deliver(std::move(err));
      });
}

/// Answers `rp` with a failed read: `not_found(detail)` when the key is
/// absent, else the error as it is (a storage failure is no 404).
template <class Promise>
void read_failed(Promise& rp, caf::error& err, const char* detail) {
  if (code_of(err) == ec::not_found)
    rp.deliver(make_error(ec::not_found, detail));
  else
    rp.deliver(std::move(err));
}

/// The agent a stored JSON object names in `agent_id`, if any.
std::optional<uint64_t> agent_of(const std::string& stored,
                                 json::document& doc) {
  json::field_error err;
  if (!json::parse_object(stored, doc, err) || !doc.HasMember("agent_id")
      || !doc["agent_id"].IsString())
    return std::nullopt;
  return parse_id64("agt_", doc["agent_id"].GetString());
}

text_promise conversations(self_ptr self, const read_scope& scope,
                           uint64_t agent, page_query page) {
  auto rp = self->make_response_promise<std::string>();
  if_owned(self, scope, agent, rp, nullptr, [self, agent, page, rp] {
    list_newest_first(self, storage::id_key(table::agent_conversations, agent),
                      page, any, rp);
  });
  return rp;
}

text_promise messages(self_ptr self, const read_scope& scope,
                      uint64_t conversation, page_query page) {
  auto rp = self->make_response_promise<std::string>();
  // The conversation names its agent; the agent must be the caller's.
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::id_key(table::conversations, conversation))
    .then(
      [self, scope, conversation, page, rp](std::string& stored) mutable {
        json::document doc;
        auto agent = agent_of(stored, doc);
        if (!agent) {
          rp.deliver(make_error(ec::not_found, "conversation not found"));
          return;
        }
        if_owned(self, scope, *agent, rp, "conversation not found",
                 [self, conversation, page, rp] {
                   list_newest_first(
                     self, storage::id_key(table::messages, conversation), page,
                     any, rp);
                 });
      },
      [rp](caf::error& err) mutable {
        read_failed(rp, err, "conversation not found");
      });
  return rp;
}

text_promise deliveries(self_ptr self, uint64_t user, uint64_t agent,
                        page_query page, list_filter filter) {
  auto rp = self->make_response_promise<std::string>();
  if_owned(self, read_scope{user, 0}, agent, rp, nullptr,
           [self, agent, page, status = filter.status, rp] {
             auto pick
               = [status](const kv_entry& e) -> std::optional<std::string> {
               delivery_record r;
               if (!from_json(e.value, r))
                 return std::nullopt;
               // The first record is written before the seq is known.
               r.seq = storage::pair_second(e.key);
               if (!status.empty() && r.state != status)
                 return std::nullopt;
               return to_json(r);
             };
             list_newest_first(self, storage::id_key(table::deliveries, agent),
                               page, pick, rp);
           });
  return rp;
}

text_promise decision(self_ptr self, uint64_t user, uint64_t id) {
  auto rp = self->make_response_promise<std::string>();
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::pair_key(table::user_decisions, user, id))
    .then(
      [rp](std::string& stored) mutable {
        rp.deliver(std::move(stored));
      },
      [rp](caf::error& err) mutable {
        read_failed(rp, err, "decision not found");
      });
  return rp;
}

caf::typed_response_promise<agent_decision>
decision_of_agent(self_ptr self, uint64_t agent, uint64_t id) {
  auto rp = self->make_response_promise<agent_decision>();
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::id_key(table::decisions, id))
    .then(
      [rp, agent](std::string& stored) mutable {
        json::document doc;
        if (agent_of(stored, doc) != agent) {
          rp.deliver(make_error(ec::not_found, "decision not found"));
          return;
        }
        agent_decision out;
        out.pending = has_string(doc, "status", "pending");
        out.json = std::move(stored);
        rp.deliver(std::move(out));
      },
      [rp](caf::error& err) mutable {
        read_failed(rp, err, "decision not found");
      });
  return rp;
}

caf::typed_response_promise<media_item>
media(self_ptr self, const read_scope& scope, uint64_t id) {
  auto rp = self->make_response_promise<media_item>();
  self
    ->request(self->state.journal, caf::infinite, get_atom::value,
              storage::id_key(table::media, id))
    .then(
      [self, scope, rp](std::string& stored) mutable {
        auto item = std::make_shared<media_item>();
        uint64_t agent = 0;
        if (!decode_media(stored, *item, agent)) {
          rp.deliver(make_error(ec::not_found, "not found"));
          return;
        }
        if_owned(self, scope, agent, rp, "not found", [item, rp]() mutable {
          rp.deliver(std::move(*item));
        });
      },
      [rp](caf::error& err) mutable {
        read_failed(rp, err, "not found");
      });
  return rp;
}

/// Counts the pending decisions of `agents[i..]` (one scan each) into
/// `counts`, then answers.
void count_pending(self_ptr self, std::shared_ptr<std::vector<uint64_t>> agents,
                   std::shared_ptr<std::vector<int64_t>> counts, size_t i,
                   caf::typed_response_promise<std::vector<int64_t>> rp) {
  if (i == agents->size()) {
    rp.deliver(std::move(*counts));
    return;
  }
  auto begin = storage::id_key(table::pending_decisions, (*agents)[i]);
  scan_request req{begin, storage::prefix_end(begin), max_pending_counted,
                   false};
  auto on_count = [self, agents, counts, i, rp](int64_t n) mutable {
    (*counts)[i] = n;
    count_pending(self, agents, counts, i + 1, rp);
  };
  self->request(self->state.journal, caf::infinite, scan_atom::value, req)
    .then(
      [on_count](std::vector<kv_entry>& entries) mutable {
        on_count(static_cast<int64_t>(entries.size()));
      },
      // A failed count shows as none rather than failing the list.
      [on_count](caf::error&) mutable {
        on_count(0);
      });
}

} // namespace

std::string encode_media(std::string_view content_type, uint64_t agent,
                         std::string_view bytes) {
  std::string out;
  out.reserve(content_type.size() + bytes.size() + 24);
  out += content_type;
  out += '\n';
  out += format_id64("agt_", agent);
  out += '\n';
  out += bytes;
  return out;
}

bool decode_media(std::string_view stored, media_item& out, uint64_t& agent) {
  auto first = stored.find('\n');
  if (first == std::string_view::npos)
    return false;
  auto second = stored.find('\n', first + 1);
  if (second == std::string_view::npos)
    return false;
  auto id = parse_id64("agt_", stored.substr(first + 1, second - first - 1));
  if (!id)
    return false;
  agent = *id;
  out.content_type = std::string{stored.substr(0, first)};
  out.bytes = std::string{stored.substr(second + 1)};
  return true;
}

reader_actor::behavior_type reader(self_ptr self, journal_actor journal,
                                   accounts_actor accounts) {
  self->state.journal = std::move(journal);
  self->state.accounts = std::move(accounts);
  return {
    [self](conversations_atom, const read_scope& scope, uint64_t agent,
           page_query page) {
      return conversations(self, scope, agent, page);
    },
    [self](messages_atom, const read_scope& scope, uint64_t conversation,
           page_query page) {
      return messages(self, scope, conversation, page);
    },
    [self](decisions_atom, const read_scope& scope, page_query page,
           list_filter& filter) {
      // An agent's own are its person's, of that agent.
      if (scope.agent != 0)
        filter.agent_id = format_id64("agt_", scope.agent);
      return list_newest_first(
        self, storage::id_key(table::user_decisions, scope.user), page,
        matching(std::move(filter)));
    },
    [self](activity_atom, uint64_t user, page_query page, list_filter& filter) {
      filter.status.clear(); // activity entries have no status to filter by
      return list_newest_first(self,
                               storage::id_key(table::user_activity, user),
                               page, matching(std::move(filter)));
    },
    [self](deliveries_atom, uint64_t user, uint64_t agent, page_query page,
           list_filter& filter) {
      return deliveries(self, user, agent, page, std::move(filter));
    },
    [self](decision_atom, uint64_t user, uint64_t id) {
      return decision(self, user, id);
    },
    [self](agent_decision_atom, uint64_t agent, uint64_t id) {
      return decision_of_agent(self, agent, id);
    },
    [self](media_atom, const read_scope& scope, uint64_t id) {
      return media(self, scope, id);
    },
    [self](pending_count_atom, std::vector<uint64_t>& agents) {
      auto rp = self->make_response_promise<std::vector<int64_t>>();
      auto counts = std::make_shared<std::vector<int64_t>>(agents.size(), 0);
      count_pending(self,
                    std::make_shared<std::vector<uint64_t>>(std::move(agents)),
                    std::move(counts), 0, rp);
      return rp;
    },
  };
}

} // namespace nod
