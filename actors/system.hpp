#pragma once

#include <caf/fwd.hpp>
#include <cstddef>

namespace nod {

/// Prepares `cfg` for the server: `worker_threads` CAF workers (0 = one per
/// core, since CAF's default of 4 oversubscribes small machines), polling
/// tuned for latency of messages from io threads, and the project's error
/// category so `caf::to_string(error)` reads well.
void configure_actor_system(caf::actor_system_config& cfg,
                            size_t worker_threads);

/// Prepares `cfg` for deterministic tests: the `testing` scheduler policy
/// (virtual time, run on demand) and the project's error category.
void configure_test_system(caf::actor_system_config& cfg);

/// Worker threads `configure_actor_system` picks for `requested`.
size_t effective_worker_threads(size_t requested);

} // namespace nod
