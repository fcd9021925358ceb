#pragma once

#include <string>

namespace nod::testkit {

/// A fresh directory under /tmp, removed with everything in it on
/// destruction.
class temp_dir {
public:
  /// Makes /tmp/`prefix`XXXXXX. Throws std::runtime_error if it cannot.
  explicit temp_dir(const std::string& prefix = "nod-test-");
  ~temp_dir();

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Absolute path of the directory.
  const std::string& path() const noexcept {
    return path_;
  }

  /// `path()` + "/" + `name`.
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

} // namespace nod::testkit
