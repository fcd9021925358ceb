#pragma once

// The command-line tools beside the server: `nod-server backup` and
// `nod-server restore` (commands.cpp), and what `nod-server user` shares
// with them.

#include <string>
#include <vector>

namespace nod::app {

/// Exit statuses: 2 for a bad setting or usage (as `--help` explains), 1
/// for a failure at run time (port taken, data directory locked or
/// damaged, a request that failed).
constexpr int exit_bad_setting = 2;
constexpr int exit_failure = 1;

/// The password the `user` and `backup` commands use: NOD_USER_PASSWORD,
/// else the first line of standard input (never a flag: `ps` shows flags).
std::string password_input();

/// True when `args` starts with --help or -h, after printing `usage` to
/// standard output (asked for, the usage is the answer: exit 0).
bool help_asked(const std::vector<std::string>& args, const char* usage);

/// `nod-server backup --url URL [--user NAME] [--ca-file PEM]`; `args`
/// are the words after `backup`. Returns the exit status.
int backup_command(std::vector<std::string> args);

/// `nod-server restore --from BACKUP_DIR --data-dir DIR`; the exit status.
int restore_command(std::vector<std::string> args);

} // namespace nod::app
