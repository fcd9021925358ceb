#pragma once

// Marking parked events delivered: what a poll ack (the outbox) and a
// socket's `resume_from` (the agent's lane) share. Included by
// outbox.cpp and delivery.cpp only.

#include "actors/delivery.hpp"
#include "protocol/delivery.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"

#include <caf/expected.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace nod {

/// The app frame that shows a delivery record's change.
std::string delivery_frame(const delivery_record& r);

/// Marks every pending event of `agent` up to `upto` delivered over
/// `channel` ("poll" or "resume"): each record gets a successful attempt,
/// each pending mark goes, in one journal write; then the owner's apps see
/// the records and `done` gets how many (or the error).
template <class Self, class Done>
void mark_pending_delivered(Self* self, const delivery_deps& deps,
                            uint64_t agent, uint64_t owner, uint64_t upto,
                            const char* channel, Done done) {
  using storage::table;
  scan_request req;
  req.begin = storage::pair_key(table::pending, agent, 0);
  req.end = upto == UINT64_MAX
              ? storage::prefix_end(storage::id_key(table::pending, agent))
              : storage::pair_key(table::pending, agent, upto + 1);
  req.limit = 100000;
  self->request(deps.journal, caf::infinite, scan_atom::value, req)
    .then(
      [self, deps, agent, owner, channel,
       done](std::vector<kv_entry>& keys) mutable {
        if (keys.empty()) {
          done(uint64_t{0});
          return;
        }
        scan_request records;
        records.begin = storage::pair_key(
          table::deliveries, agent, storage::pair_second(keys.front().key));
        records.end = storage::pair_key(
          table::deliveries, agent, storage::pair_second(keys.back().key) + 1);
        records.limit = 1000000;
        self->request(deps.journal, caf::infinite, scan_atom::value, records)
          .then(
            [self, deps, agent, owner, channel, done,
             keys = std::move(keys)](std::vector<kv_entry>& found) mutable {
              std::unordered_map<uint64_t, std::string> by_seq;
              for (auto& e : found)
                by_seq[storage::pair_second(e.key)] = std::move(e.value);
              journal_write w;
              std::vector<std::string> frames;
              auto at = now_ms();
              for (auto& k : keys) {
                auto seq = storage::pair_second(k.key);
                delivery_record r;
                if (!from_json(by_seq[seq], r)) {
                  r = delivery_record{};
                  r.created_ms = at;
                }
                r.agent = agent;
                r.seq = seq;
                r.state = delivery_states::delivered;
                r.channel = channel;
                r.next_attempt_ms.reset();
                delivery_attempt a;
                a.at_ms = at;
                a.channel = channel;
                a.ok = true;
                r.attempts.push_back(std::move(a));
                r.updated_ms = at;
                w.puts.emplace_back(
                  storage::pair_key(table::deliveries, agent, seq), to_json(r));
                w.deletes.push_back(k.key);
                frames.push_back(delivery_frame(r));
              }
              auto n = static_cast<uint64_t>(keys.size());
              self
                ->request(deps.journal, caf::infinite, append_atom::value,
                          std::move(w))
                .then(
                  [self, deps, owner, done, n,
                   frames = std::move(frames)](journal_written&) mutable {
                    for (auto& f : frames)
                      self->send(deps.directory, publish_atom::value, owner, f);
                    done(n);
                  },
                  [done](caf::error& err) mutable {
                    done(std::move(err));
                  });
            },
            [done](caf::error& err) mutable {
              done(std::move(err));
            });
      },
      [done](caf::error& err) mutable {
        done(std::move(err));
      });
}

} // namespace nod
