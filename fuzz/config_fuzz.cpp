// Settings (config/config.hpp) from all three sources at once. The input
// is NUL-separated: a config file's text, then command-line arguments
// (those starting with `-`) and `NOD_` environment entries. Loading never
// throws and ends either in a runnable configuration that passes its own
// checks, or in one line naming the setting.

#include "config/config.hpp"
#include "fuzz/fuzz_check.hpp"
#include "protocol/address_policy.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace {

std::string write_file(const std::string& text) {
  static const std::string path
    = "/dev/shm/nod-config-fuzz-" + std::to_string(getpid()) + ".conf";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts
    = nod::fuzz::split_nul({reinterpret_cast<const char*>(data), size});
  std::vector<std::string> args{"--config=" + write_file(parts[0])};
  std::vector<std::string> env;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!parts[i].empty() && parts[i][0] == '-')
      args.push_back(parts[i]);
    else
      env.push_back("NOD_" + parts[i]);
  }
  auto r = nod::load_config(args, env);
  using outcome = nod::config_result::outcome;
  if (r.what == outcome::error) {
    FUZZ_CHECK(!r.message.empty() && r.message.find('\n') == std::string::npos);
    return 0;
  }
  if (r.what == outcome::print_and_exit) {
    FUZZ_CHECK(!r.message.empty());
    return 0;
  }
  auto& cfg = r.cfg;
  FUZZ_CHECK(cfg.io_threads >= 1 && cfg.max_body_bytes > 0
             && cfg.max_frame_bytes > 0 && cfg.ack_window >= 1);
  std::string error;
  FUZZ_CHECK(nod::address_policy::parse(cfg.webhook_allowed_hosts, error));
  FUZZ_CHECK(nod::parse_network_list(cfg.trusted_proxies, error));
  return 0;
}
