#include "actors/error.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace nod {

caf::error make_error(ec x) {
  return {static_cast<uint8_t>(x), error_category};
}

caf::error make_error(ec x, std::string detail) {
  return {static_cast<uint8_t>(x), error_category,
          caf::make_message(std::move(detail))};
}

ec code_of(const caf::error& err) {
  if (!err || err.category() != error_category)
    return ec::none;
  return static_cast<ec>(err.code());
}

std::string detail_of(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  if (err.category() == error_category)
    return to_string(static_cast<ec>(err.code()));
  return caf::to_string(err);
}

} // namespace nod
