#pragma once

#include "actors/actions.hpp"
#include "actors/notifier.hpp"
#include "actors/outbox.hpp"
#include "actors/webhook_scheduler.hpp"
#include "tests/actors/people_fixture.hpp"

#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace nod::test {

/// HTTP for the webhook scheduler under test: records each POST and lets
/// the test answer it when it likes.
struct fake_http {
  struct call {
    http_post req;
    std::function<void(http_post_result)> done;
    bool answered = false;
  };
  std::vector<call> calls;

  /// Answers every unanswered call with `status` (0: `failure`).
  void answer_all(unsigned status, post_failure failure = post_failure::none,
                  std::string retry_after = {}) {
    for (auto& c : calls) {
      if (c.answered)
        continue;
      c.answered = true;
      http_post_result r;
      r.failure = failure;
      r.status = status;
      r.retry_after = retry_after;
      r.elapsed_us = 1000;
      c.done(r);
    }
  }

  size_t unanswered() const {
    size_t n = 0;
    for (auto& c : calls)
      n += c.answered ? 0 : 1;
    return n;
  }

  /// Value of header `name` of call `i`.
  std::string header(size_t i, const std::string& name) const {
    for (auto& [k, v] : calls.at(i).req.headers)
      if (k == name)
        return v;
    return {};
  }
};

/// The people's side plus everything that delivers to agents: notifier,
/// webhook scheduler (over `fake_http`, jitter fixed at its middle),
/// outbox and actions.
class delivery_fixture : public people_fixture {
protected:
  delivery_fixture() {
    start_delivery();
  }

  ~delivery_fixture() override {
    stop_delivery();
  }

  void start_delivery() {
    notes = sys.spawn(notifier, notifier_options{});
    webhook_options wh;
    wh.unit_random = [] {
      return 0.5;
    };
    wh.timeout_ms = 30000;
    webhooks = sys.spawn(
      webhook_scheduler,
      [http = http](http_post req, std::function<void(http_post_result)> done) {
        http->calls.push_back({std::move(req), std::move(done), false});
      },
      wh);
    delivery_deps deps;
    deps.journal = journal;
    deps.directory = directory_;
    deps.accounts = acc;
    deps.webhooks = webhooks;
    deps.notifier = notes;
    deps.agents_epoch = opts.agents_epoch;
    box = sys.spawn(outbox, deps, box_options);
    act = sys.spawn(actions, journal, acc, box, task_clock_actor{},
                    std::string{"http://x"}, opts.agents_epoch);
    run();
  }

  void stop_delivery() {
    for (auto a :
         {caf::actor_cast<caf::actor>(act), caf::actor_cast<caf::actor>(box),
          caf::actor_cast<caf::actor>(webhooks),
          caf::actor_cast<caf::actor>(notes)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  /// Restarts everything on the same store, as after a crash.
  void restart_all() {
    stop_delivery();
    restart();
    start_delivery();
  }

  /// The outbox's settings (a test may change them, then `restart_all`).
  outbox_options box_options;
  std::shared_ptr<fake_http> http = std::make_shared<fake_http>();
  notifier_actor notes;
  webhook_scheduler_actor webhooks;
  outbox_actor box;
  actions_actor act;
};

} // namespace nod::test
