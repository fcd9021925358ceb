#pragma once

// The child process helper lives in testkit/ (nod-bench uses it too).

#include "testkit/process.hpp"

namespace nod::test {

using testkit::child_process;
using testkit::wait_for_port;

} // namespace nod::test
