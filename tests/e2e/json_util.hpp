#pragma once

// Reading JSON replies in end-to-end tests; the helpers live in testkit/.

#include "testkit/json.hpp"

namespace nod::test {

using testkit::parse;
using testkit::str;

} // namespace nod::test
