#pragma once

// The closed-loop phases of nod-bench (--phases), in the order given: each
// probed first, then run (phase.hpp), with notes on what it saw.

#include "bench/common.hpp"
#include "bench/nodes.hpp"
#include "bench/options.hpp"
#include "bench/phase.hpp"
#include "bench/setup.hpp"

#include <string>
#include <vector>

namespace nod::bench {

class server_process;

/// What the phases measured and noted.
struct phases_outcome {
  std::vector<phase_result> rows;
  std::vector<std::string> notes;
  /// Agents made by the webhook phases, to delete with the others.
  std::vector<agent_creds> hook_agents;
};

/// Runs `opt.phases` against `nodes` with the admin's `client` and the
/// agents of `creds`; `srv` is the server nod-bench started, if it did.
phases_outcome run_phases(const options& opt,
                          const std::vector<server_node>& nodes,
                          server_process* srv, api_client& client,
                          setup_result& creds);

} // namespace nod::bench
