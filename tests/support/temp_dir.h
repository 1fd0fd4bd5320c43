#pragma once
/// The one temporary directory of the unit and integration tests: a fresh directory under
/// /tmp, removed with everything in it (files, sockets, subdirectories, whatever their modes)
/// at scope exit.
///
/// Always /tmp, never $TMPDIR: unix socket paths made inside it must fit in sun_path (108
/// bytes), and tests that run start_server as `nobody` must be able to reach it.

#include <string>
#include <string_view>

namespace starter::testing_support {

class TempDir {
 public:
  /// /tmp/PREFIX.XXXXXX; throws std::runtime_error naming mkdtemp and errno when it cannot.
  explicit TempDir(std::string_view prefix = "start_server_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path()/name
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

}  // namespace starter::testing_support
