#include "resolve_release.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "spawn.h"

namespace starter {

namespace {

/// realpath(3), or "" when the path does not resolve.
std::string real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr),
                                                       &std::free);
  return resolved ? std::string(resolved.get()) : std::string();
}

/// Whether `path` names a symlink itself or goes through one: its real path differs from the
/// path spelled absolutely (a relative path is taken from our cwd).
bool through_symlink(const std::string& path, const std::string& resolved) {
  if (resolved.empty()) return false;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) return true;
  std::string absolute = path;
  if (absolute.front() != '/') {
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return false;
    absolute = std::string(cwd) + "/" + path;
  }
  // Anything else that differs (a symlinked directory on the way) is one too; "." and ".."
  // components or doubled slashes also differ, which only makes the name the program's.
  return absolute != resolved;
}

}  // namespace

Release resolve_release(const std::string& program, const std::string& path_env,
                        const std::string& dir) {
  Release release;
  if (!dir.empty()) release.dir = real_path(dir);
  std::string found;
  for (std::string candidate : exec_candidates(program, path_env)) {
    // The worker execs after chdir(dir): a relative candidate is relative to it.
    if (candidate.front() != '/' && !dir.empty()) candidate = dir + "/" + candidate;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      found = candidate;
      break;
    }
  }
  if (!found.empty()) release.program = real_path(found);
  // `--dir=/srv/app/current -- python3 app.py`: the release is the directory, not python3.
  bool dir_named = !release.dir.empty() &&
                   (through_symlink(dir, release.dir) || !through_symlink(found, release.program));
  release.name = dir_named ? release.dir : release.program;
  return release;
}

}  // namespace starter
