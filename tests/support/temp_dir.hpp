#pragma once

// The temp directory lives in testkit/ (nod-bench uses it too).

#include "testkit/temp_dir.hpp"

namespace nod::test {

using testkit::temp_dir;

} // namespace nod::test
