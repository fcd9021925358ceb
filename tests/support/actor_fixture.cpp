#include "tests/support/actor_fixture.hpp"

#include "actors/system.hpp"

namespace nod::test {

actor_fixture::test_config::test_config() {
  configure_test_system(*this);
}

actor_fixture::actor_fixture()
  : sys(cfg),
    sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
    self(sys, true) {}

actor_fixture::~actor_fixture() {
  run();
}

size_t actor_fixture::run() {
  return sched.run();
}

size_t actor_fixture::advance_time(caf::timespan d) {
  auto fired = sched.advance_time(d);
  return fired + run();
}

} // namespace nod::test
