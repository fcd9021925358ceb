#pragma once

// The server's loggers: the default one and the access logger, both on
// standard output in the format `log-format` names.

#include <memory>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

namespace nod::logging {

/// Makes the default logger ("nod") and the access logger, both writing to
/// standard output in `format` (`text` or `json`), the default one at
/// `level` (an spdlog level name). The access logger logs at info whatever
/// `level` says: `access-log` alone turns it on and off. Returns the
/// access logger.
std::shared_ptr<spdlog::logger> setup(const std::string& format,
                                      const std::string& level);

/// Applies `format` and `level` to the loggers `setup` made, at once
/// (SIGHUP); records being written finish in the format they began in.
void reconfigure(const std::string& format, const std::string& level);

} // namespace nod::logging
