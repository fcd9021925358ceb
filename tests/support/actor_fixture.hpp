#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <utility>

namespace nod::test {

/// An actor system on CAF's deterministic scheduler, for GoogleTest.
/// Nothing runs until the test says so (`run`), and timers fire only when
/// the test moves virtual time (`advance_time`). CAF's own test DSL does
/// not work under GoogleTest's main (its FAIL macro clashes, and its checks
/// need its own test engine), hence this fixture.
class actor_fixture : public ::testing::Test {
protected:
  actor_fixture();
  ~actor_fixture() override;

  /// Runs every actor until no message is left; returns the count handled.
  size_t run();

  /// Moves virtual time forward by `d`, fires due timers and runs.
  size_t advance_time(caf::timespan d);

  /// Sends `xs...` to `dest` from the test, runs the system and returns
  /// the reply as `R`, or the error (including "no reply" when `dest`
  /// never answered).
  template <class R, class Handle, class... Ts>
  caf::expected<R> call(const Handle& dest, Ts&&... xs) {
    auto handle
      = self.ptr()->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    if (self.ptr()->mailbox().empty())
      return caf::make_error(caf::sec::request_timeout, "no reply");
    caf::expected<R> result{caf::sec::unexpected_response};
    handle.receive(
      [&](R& x) {
        result = std::move(x);
      },
      [&](caf::error& err) {
        result = std::move(err);
      });
    return result;
  }

  struct test_config : caf::actor_system_config {
    test_config();
  };

  test_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
};

} // namespace nod::test
