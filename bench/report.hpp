#pragma once

// nod-bench's report on stdout: the phases' table, the open-loop table, the
// legend and the notes.

#include "bench/open_loop.hpp"
#include "bench/phase.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace nod::bench {

/// Prints the tables of `rows` and `open_rows` (`rate` messages a second
/// over `agents` agents), the legend, `notes` and whether the run was
/// interrupted.
void print_report(const std::vector<phase_result>& rows,
                  const std::vector<open_loop_row>& open_rows, double rate,
                  size_t agents, const std::vector<std::string>& notes);

} // namespace nod::bench
