// Child process of the crash test: appends to the journal from many
// concurrent appenders forever and prints one line per acknowledged append,
// "agent seq payload", until it is killed with SIGKILL. With a fourth
// argument "unsynced" every append is a `journal_write` without `sync`.

#include "actors/journal.hpp"
#include "actors/system.hpp"
#include "storage/store.hpp"

#include <caf/all.hpp>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace {

using namespace nod;

using next_atom = caf::atom_constant<caf::atom("next")>;

// One appender: append, print the acknowledgement, repeat. Each round is a
// message to itself, so no closure refers to itself.
caf::behavior appender(caf::event_based_actor* self, journal_actor j, int id,
                       uint64_t agents, bool sync) {
  auto agent = static_cast<uint64_t>(id) % agents;
  self->send(self, next_atom::value, uint64_t{0});
  return {
    [=](next_atom, uint64_t i) {
      journal_write w;
      auto payload = "w" + std::to_string(id) + "-" + std::to_string(i);
      w.appends.push_back({agent, payload, {}});
      w.sync = sync;
      self->request(j, caf::infinite, append_atom::value, std::move(w))
        .then(
          [=](journal_written& r) {
            // One write(2) per line: lines under PIPE_BUF never interleave.
            auto line = std::to_string(agent) + " " + std::to_string(r.seqs[0])
                        + " " + payload + "\n";
            if (::write(STDOUT_FILENO, line.data(), line.size()) < 0)
              self->quit();
            self->send(self, next_atom::value, i + 1);
          },
          [=](caf::error&) {
            self->quit();
          });
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s DATA_DIR APPENDERS AGENTS [unsynced]\n",
                 argv[0]);
    return 2;
  }
  std::string error;
  auto db = storage::store::open(argv[1], {}, error);
  if (!db) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  caf::actor_system_config cfg;
  configure_actor_system(cfg, 2);
  caf::actor_system sys{cfg};
  auto j
    = spawn_journal(sys, std::shared_ptr<storage::store>{std::move(db)}, {});
  auto appenders = std::stoi(argv[2]);
  auto agents = std::stoull(argv[3]);
  bool sync = argc < 5 || std::string{argv[4]} != "unsynced";
  for (int i = 0; i < appenders; ++i)
    sys.spawn(appender, j, i, agents, sync);
  for (;;)
    pause(); // until SIGKILL
}
