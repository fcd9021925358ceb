// `nod-server backup` and `nod-server restore`: what an operator runs
// from cron or by hand beside a server (docs/operations.md).

#include "app/commands.hpp"

#include "net/webhook_client.hpp"
#include "protocol/json.hpp"
#include "protocol/webhook.hpp"
#include "storage/backups.hpp"

#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <optional>

namespace nod::app {

namespace {

// The value of `--name=value` or `--name value` in `args` (removed from
// it), if given.
std::optional<std::string> take_flag(std::vector<std::string>& args,
                                     const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--" + name && i + 1 < args.size()) {
      auto v = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                 args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
      return v;
    }
    if (args[i].rfind("--" + name + "=", 0) == 0) {
      auto v = args[i].substr(name.size() + 3);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      return v;
    }
  }
  return std::nullopt;
}

// One POST, waited for (this is a command, not the server).
http_post_result post_and_wait(net::webhook_client& client, http_post req) {
  std::promise<http_post_result> done;
  auto result = done.get_future();
  client.post(std::move(req), [&done](http_post_result r) {
    done.set_value(std::move(r));
  });
  return result.get();
}

} // namespace

std::string password_input() {
  std::string password;
  if (auto* env = std::getenv("NOD_USER_PASSWORD"))
    password = env;
  else
    std::getline(std::cin, password);
  return password;
}

bool help_asked(const std::vector<std::string>& args, const char* usage) {
  if (args.empty() || (args[0] != "--help" && args[0] != "-h"))
    return false;
  std::fputs(usage, stdout);
  return true;
}

// `nod-server backup --url URL [--user NAME]`: asks a running server for
// a backup (POST /api/admin/backups), for cron. Signs in as an admin with
// NOD_TOKEN (a session token), else NAME (default admin) and the password
// in NOD_USER_PASSWORD or the first line of standard input.
int backup_command(std::vector<std::string> args) {
  static const char* const usage
    = "usage: nod-server backup --url URL [--user NAME] [--ca-file PEM]\n"
      "Asks the server at URL for a backup and prints it as JSON. Signs in "
      "with NOD_TOKEN, else as NAME (default admin) with the password in "
      "NOD_USER_PASSWORD or the first line of standard input.\n";
  if (help_asked(args, usage))
    return 0;
  auto url = take_flag(args, "url");
  auto user = take_flag(args, "user").value_or("admin");
  auto ca_file = take_flag(args, "ca-file").value_or("");
  if (!url || !args.empty()) {
    std::fputs(usage, stderr);
    return exit_bad_setting;
  }
  while (!url->empty() && url->back() == '/')
    url->pop_back();
  if (!parse_http_url(*url)) {
    std::fprintf(stderr, "nod-server: --url %s is not an http(s) URL\n",
                 url->c_str());
    return exit_bad_setting;
  }
  net::webhook_client_options opts;
  opts.ca_file = ca_file;
  opts.max_response_bytes = 1024 * 1024;
  opts.keep_body = true;
  net::webhook_client client{opts};
  auto fail = [&](const std::string& what, const http_post_result& r) -> int {
    if (r.failure != post_failure::none)
      std::fprintf(stderr, "nod-server: %s: %s\n", what.c_str(),
                   r.error.c_str());
    else
      std::fprintf(stderr, "nod-server: %s: HTTP %u %s\n", what.c_str(),
                   r.status, r.body.c_str());
    client.stop();
    return exit_failure;
  };
  std::string token;
  bool signed_in = false;
  if (auto* env = std::getenv("NOD_TOKEN"); env && *env) {
    token = env;
  } else {
    auto password = password_input();
    json::writer w;
    w.start_object();
    w.field("username", user);
    w.field("password", password);
    w.end_object();
    http_post login;
    login.url = *url + "/api/auth/login";
    login.headers = {{"Content-Type", "application/json"}};
    login.body = w.str();
    auto r = post_and_wait(client, std::move(login));
    if (r.failure != post_failure::none || r.status != 200)
      return fail("sign-in as " + user + " failed", r);
    json::document doc;
    json::field_error err;
    auto t = json::parse_object(r.body, doc, err)
               ? json::string_member(doc, "token")
               : std::nullopt;
    if (!t)
      return fail("sign-in answered without a token", r);
    token = *t;
    signed_in = true;
  }
  http_post req;
  req.url = *url + "/api/admin/backups";
  req.headers = {{"Authorization", "Bearer " + token}};
  // A big store takes a while to flush and link.
  req.timeout_ms = 600000;
  auto r = post_and_wait(client, std::move(req));
  if (signed_in) {
    http_post out;
    out.url = *url + "/api/auth/logout";
    out.headers = {{"Authorization", "Bearer " + token}};
    post_and_wait(client, std::move(out));
  }
  if (r.failure != post_failure::none || r.status != 201)
    return fail("backup failed", r);
  std::printf("%s\n", r.body.c_str());
  client.stop();
  return 0;
}

// `nod-server restore --from PATH --data-dir DIR`: copies a backup into a
// new data directory, which a server then starts on.
int restore_command(std::vector<std::string> args) {
  static const char* const usage
    = "usage: nod-server restore --from BACKUP_DIR --data-dir DIR\n"
      "Copies the backup into DIR, which must be missing or empty; then "
      "start nod-server with --data-dir DIR.\n";
  if (help_asked(args, usage))
    return 0;
  auto from = take_flag(args, "from");
  auto to = take_flag(args, "data-dir");
  if (!from || !to || from->empty() || to->empty() || !args.empty()) {
    std::fputs(usage, stderr);
    return exit_bad_setting;
  }
  std::string error;
  bool usage_error = false;
  if (!storage::restore_backup(*from, *to, error, usage_error)) {
    std::fprintf(stderr, "nod-server: %s\n", error.c_str());
    return usage_error ? exit_bad_setting : exit_failure;
  }
  std::printf("restored %s into %s; start nod-server with --data-dir %s\n",
              from->c_str(), to->c_str(), to->c_str());
  return 0;
}

} // namespace nod::app
