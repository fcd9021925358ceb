#include "bench/options.hpp"

#include "protocol/webhook.hpp"

#include <cstdlib>
#include <exception>
#include <sstream>

namespace nod::bench {

void usage(FILE* out) {
  std::fputs(
    "usage: nod-bench [--server=PATH | --url=http://HOST:PORT[,...] "
    "[--admin-password=PW]]\n"
    "                 [--agents=N] [--seconds=S] [--phases=LIST] "
    "[--io-threads=T]\n"
    "                 [--webhook-max-per-host=N] [--rate=R]\n"
    "\n"
    "  --server=PATH        start PATH (a nod-server) on a fresh temp data\n"
    "                       directory and a free port, stop it at the end;\n"
    "                       it inherits the environment (e.g.\n"
    "                       NOD_JOURNAL_SYNC), except NOD_LISTEN,\n"
    "                       NOD_DATA_DIR, NOD_ADMIN_PASSWORD, NOD_LOG_LEVEL,\n"
    "                       NOD_WEBHOOK_MAX_PER_HOST (see below) and\n"
    "                       NOD_WEBHOOK_ALLOWED_HOSTS (loopback, for the\n"
    "                       webhook phase's receiver)\n"
    "  --url=URL[,URL...]   use a running server instead (default\n"
    "                       http://127.0.0.1:8000); every phase but healthz\n"
    "                       needs --admin-password (or NOD_ADMIN_PASSWORD).\n"
    "                       Several URLs: the nodes of one cluster;\n"
    "                       connection i (agent i's) goes to node i % n,\n"
    "                       the person writing to agent i (reply, webhook,\n"
    "                       post>agent, post>acks) to node (i+1) % n, so\n"
    "                       that a message crosses nodes; the app socket\n"
    "                       (--rate), login and setup use the first node\n"
    "  --agents=N           agents per phase, one connection each (reply:\n"
    "                       two, the agent's and the person's) (default 64)\n"
    "  --seconds=S          measured time per phase, after 0.5 s warm-up\n"
    "                       (default 5)\n"
    "  --phases=LIST        any of healthz,rest,ws,reply,reply-acks,webhook\n"
    "                       in the order to run (default all but\n"
    "                       reply-acks, in that order; none with --rate)\n"
    "  --rate=R             after the phases, open-loop latency: R messages\n"
    "                       a second over --agents agents, each timed from\n"
    "                       its scheduled send time, in four directions:\n"
    "                       rest>app (agent REST message until the app\n"
    "                       socket has it), ws>app (the same as a WebSocket\n"
    "                       frame), post>agent (a person's POST until the\n"
    "                       agent's socket has the user_message), post>acks\n"
    "                       (the same, the agent acking each event)\n"
    "  --io-threads=T       client io threads (default 1)\n"
    "  --webhook-max-per-host=N\n"
    "                       with --server: start it with\n"
    "                       NOD_WEBHOOK_MAX_PER_HOST=N (default 64; 0 leaves\n"
    "                       the server's own setting, 4 unless configured)\n"
    "\n"
    "phases: healthz  GET /healthz\n"
    "        rest     POST /api/agent/events (agent message, REST)\n"
    "        ws       the same as agent WebSocket frames, waiting for result\n"
    "        reply    a person's POST /api/agents/{id}/messages until the\n"
    "                 agent's WebSocket receives the user_message\n"
    "        reply-acks  the same, the agent authenticated with acks and\n"
    "                 acking each event before the next message\n"
    "        webhook  the same to offline agents whose webhook_url is a\n"
    "                 receiver in nod-bench (127.0.0.1, so the server must\n"
    "                 run on this machine, with\n"
    "                 NOD_WEBHOOK_ALLOWED_HOSTS=loopback, which --server\n"
    "                 sets), until the receiver has it\n",
    out);
}

namespace {

[[noreturn]] void bad_usage(const std::string& what) {
  std::fprintf(stderr, "nod-bench: %s\n", what.c_str());
  usage(stderr);
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in{s};
  while (std::getline(in, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

// Accepts http://HOST[:PORT][/], by the server's own URL rules; https is
// not supported (the server speaks plain HTTP behind an optional proxy).
url_address parse_url(const std::string& url) {
  auto parts = parse_http_url(url);
  if (!parts || parts->tls || parts->target != "/")
    bad_usage("--url must be http://HOST[:PORT]: " + url);
  return {parts->host, parts->port};
}

int parse_int(const std::string& name, const std::string& v, int lo, int hi) {
  try {
    size_t used = 0;
    auto n = std::stol(v, &used);
    if (used == v.size() && n >= lo && n <= hi)
      return static_cast<int>(n);
  } catch (const std::exception&) {
  }
  bad_usage(name + " must be an integer from " + std::to_string(lo) + " to "
            + std::to_string(hi));
}

} // namespace

options parse_options(int argc, char** argv) {
  options opt;
  bool have_url = false;
  if (auto pw = std::getenv("NOD_ADMIN_PASSWORD"))
    opt.admin_password = pw;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    }
    auto eq = arg.find('=');
    if (arg.compare(0, 2, "--") != 0 || eq == std::string::npos)
      bad_usage("unexpected argument: " + arg);
    auto key = arg.substr(0, eq);
    auto val = arg.substr(eq + 1);
    if (key == "--server") {
      opt.server = val;
    } else if (key == "--url") {
      opt.urls.clear();
      for (auto& url : split(val, ','))
        opt.urls.push_back(parse_url(url));
      if (opt.urls.empty())
        bad_usage("--url is empty");
      have_url = true;
    } else if (key == "--admin-password") {
      opt.admin_password = val;
    } else if (key == "--agents") {
      opt.agents = parse_int(key, val, 1, 100000);
    } else if (key == "--io-threads") {
      opt.io_threads = parse_int(key, val, 1, 256);
    } else if (key == "--webhook-max-per-host") {
      opt.webhook_max_per_host = parse_int(key, val, 0, 1000);
    } else if (key == "--seconds") {
      char* end = nullptr;
      opt.seconds = std::strtod(val.c_str(), &end);
      if (val.empty() || *end != '\0' || !(opt.seconds > 0)
          || opt.seconds > 86400)
        bad_usage("--seconds must be a positive number");
    } else if (key == "--phases") {
      opt.phases = split(val, ',');
      opt.phases_given = true;
      if (opt.phases.empty())
        bad_usage("--phases is empty");
      for (auto& p : opt.phases)
        if (p != "healthz" && p != "rest" && p != "ws" && p != "reply"
            && p != "reply-acks" && p != "webhook")
          bad_usage("unknown phase: " + p);
    } else if (key == "--rate") {
      char* end = nullptr;
      opt.rate = std::strtod(val.c_str(), &end);
      if (val.empty() || *end != '\0' || !(opt.rate > 0) || opt.rate > 1e6)
        bad_usage("--rate must be a positive number of messages a second");
    } else {
      bad_usage("unknown option: " + key);
    }
  }
  if (have_url && !opt.server.empty())
    bad_usage("--server and --url exclude each other");
  if (opt.rate > 0 && !opt.phases_given)
    opt.phases.clear();
  return opt;
}

} // namespace nod::bench
