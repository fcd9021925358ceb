#pragma once

#include "protocol/error.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <string>

namespace nod {

/// Category of the project's errors inside `caf::error`.
constexpr caf::atom_value error_category = caf::atom("nod");

/// Wraps `x` into a `caf::error` (found by ADL, so `caf::error{ec::x}` and
/// returning an `ec` from a handler work).
caf::error make_error(ec x);

/// Wraps `x` with a readable detail, e.g. which field was invalid.
caf::error make_error(ec x, std::string detail);

/// The project code inside `err`, or nothing for other categories.
ec code_of(const caf::error& err);

/// The detail string attached by `make_error`, or CAF's rendering.
std::string detail_of(const caf::error& err);

} // namespace nod
