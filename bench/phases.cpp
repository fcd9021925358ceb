#include "bench/phases.hpp"

#include "bench/clients.hpp"
#include "bench/server.hpp"
#include "bench/webhook.hpp"
#include "testkit/json.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace nod::bench {

phases_outcome run_phases(const options& opt,
                          const std::vector<server_node>& nodes,
                          server_process* srv, api_client& client,
                          setup_result& creds) {
  phases_outcome out;
  auto& rows = out.rows;
  auto& notes = out.notes;
  auto& hook_agents = out.hook_agents;
  for (auto& phase : opt.phases) {
    if (interrupted)
      break;
    std::vector<std::string> phase_notes;
    if (phase == "healthz") {
      rows.push_back(run_phase(
        phase, opt, nodes, srv,
        [](net::io_context& io, phase_state& st, conn_stats& s, size_t i) {
          start_healthz_client(io, st, s, i);
        }));
    } else if (phase == "rest") {
      if (auto why = probe_rest(client, creds.agents.front())) {
        notes.push_back("rest: skipped: " + *why);
        std::fprintf(stderr, "rest: skipped: %s\n", why->c_str());
        continue;
      }
      auto& agents = creds.agents;
      rows.push_back(run_phase(phase, opt, nodes, srv,
                               [&agents](net::io_context& io, phase_state& st,
                                         conn_stats& s, size_t i) {
                                 start_rest_client(io, st, s, i, &agents[i]);
                               }));
    } else if (phase == "ws") {
      if (auto why = probe_ws(nodes.front().endpoint, nodes.front().host,
                              creds.agents.front())) {
        notes.push_back("ws: skipped: " + *why);
        std::fprintf(stderr, "ws: skipped: %s\n", why->c_str());
        continue;
      }
      auto& agents = creds.agents;
      rows.push_back(run_phase(phase, opt, nodes, srv,
                               [&agents](net::io_context& io, phase_state& st,
                                         conn_stats& s, size_t i) {
                                 start_ws_client(io, st, s, i, &agents[i]);
                               }));
    } else if (phase == "reply" || phase == "reply-acks") {
      auto why = probe_message(client, creds.agents.front());
      if (!why)
        why = probe_ws(nodes.front().endpoint, nodes.front().host,
                       creds.agents.front());
      if (why) {
        notes.push_back(phase + ": skipped: " + *why);
        std::fprintf(stderr, "%s: skipped: %s\n", phase.c_str(), why->c_str());
        continue;
      }
      auto& agents = creds.agents;
      auto* token = &creds.token;
      bool acks = phase == "reply-acks";
      rows.push_back(
        run_phase(phase, opt, nodes, srv,
                  [&agents, token, acks](net::io_context& io, phase_state& st,
                                         conn_stats& s, size_t i) {
                    start_reply_client(io, st, s, i, &agents[i], token, acks);
                  }));
      phase_notes.push_back(phase + ": deliveries API: "
                            + delivery_summary(client, agents.front().id));
    } else if (phase == "webhook") {
      std::optional<std::string> why;
      // Whichever node sends the webhooks must reach the receiver.
      if (!std::all_of(nodes.begin(), nodes.end(), [](auto& node) {
            return node.endpoint.address().is_loopback();
          }))
        why = "the receiver listens on 127.0.0.1, so the server must run "
              "on this machine";
      else
        why = probe_message(client, creds.agents.front());
      if (why) {
        notes.push_back("webhook: skipped: " + *why);
        std::fprintf(stderr, "webhook: skipped: %s\n", why->c_str());
        continue;
      }
      hook_board board;
      board.clients.resize(static_cast<size_t>(opt.agents));
      std::vector<agent_creds> hooked;
      auto* token = &creds.token;
      auto prepare = [&](net::io_context& io, phase_state& st) {
        // Agents made now, when the receiver's port is known: offline (no
        // socket ever), each with its own webhook path.
        auto rx = std::make_shared<hook_receiver>(io, st, board);
        auto url = "http://127.0.0.1:" + std::to_string(rx->port()) + "/hook/";
        for (int i = 0; i < opt.agents; ++i) {
          hooked.push_back(create_agent(
            client, "bench-" + creds.tag + "-hook-" + std::to_string(i),
            ",\"webhook_url\":" + testkit::quote(url + std::to_string(i))));
          hook_agents.push_back(hooked.back());
        }
        rx->start();
      };
      rows.push_back(run_phase(
        phase, opt, nodes, srv,
        [&hooked, &board, token](net::io_context& io, phase_state& st,
                                 conn_stats& s, size_t i) {
          start_webhook_client(io, st, s, i, &hooked[i], token, board);
        },
        prepare));
      auto& r = rows.back();
      char line[256];
      std::snprintf(
        line, sizeof(line),
        "webhook: the receiver read %llu requests, %.0f/s in the measured "
        "time; %llu retries, %llu for no message in flight, %llu unreadable",
        static_cast<unsigned long long>(board.total.load()),
        r.seconds > 0 ? static_cast<double>(board.measured.load()) / r.seconds
                      : 0.0,
        static_cast<unsigned long long>(board.retries.load()),
        static_cast<unsigned long long>(board.unmatched.load()),
        static_cast<unsigned long long>(board.bad.load()));
      phase_notes.push_back(line);
      if (srv && opt.webhook_max_per_host > 0)
        phase_notes.push_back(
          "webhook: the server ran with webhook-max-per-host "
          + std::to_string(opt.webhook_max_per_host)
          + " (NOD_WEBHOOK_MAX_PER_HOST set by nod-bench; the server's "
            "default is 4)");
      else
        phase_notes.push_back("webhook: the server's own "
                              "webhook-max-per-host applies (4 unless "
                              "configured)");
      if (!hooked.empty())
        phase_notes.push_back("webhook: deliveries API: "
                              + delivery_summary(client, hooked.front().id));
    }
    auto& r = rows.back();
    if (!r.first_error.empty())
      notes.push_back(r.name + ": first error: " + r.first_error);
    if (r.stuck > 0)
      notes.push_back(r.name + ": " + std::to_string(r.stuck)
                      + " connection(s) still waiting for a reply "
                      + std::to_string(drain_time.count())
                      + " s after the phase ended");
    notes.insert(notes.end(), phase_notes.begin(), phase_notes.end());
  }

  return out;
}

} // namespace nod::bench
