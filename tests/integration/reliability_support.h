// Helpers shared by the reliability tests (issue 8, items 1, 2 and 5): storm_test.cc (Storm*),
// fault_test.cc (Fault*) and files_privileges_test.cc (Files*).
//
// Tests that need another user run start_server as `nobody` through setpriv(1) (root ignores
// RLIMIT_NPROC and may bind any port) and skip, saying why, where that is impossible.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"

namespace itest {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
inline const std::string kSetpriv = "/usr/bin/setpriv";

// ---- small helpers ---------------------------------------------------------------------

/// Every descriptor `pid` has open, as "FD -> target" lines (for failure messages too).
std::vector<std::string> open_fds_of(pid_t pid);

/// The real uid of `pid` (from /proc/PID/status), or -1.
long uid_of(pid_t pid);

// ---- running as another user -------------------------------------------------------------

/// In a forked child: drop to nobody for good (raw syscalls: the child of a threaded process
/// may call nothing that takes glibc's locks).
void become_nobody_in_child();

/// Runs `body` (async-signal-safe calls only) in a child that is `nobody`; its exit status.
template <typename Body>
int as_nobody(Body body) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    become_nobody_in_child();
    _exit(body());
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Why start_server cannot run as nobody here, or "".
std::string nobody_unavailable();

#define SKIP_WITHOUT_NOBODY()                                                      \
  do {                                                                             \
    if (std::string why = nobody_unavailable(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

/// `setpriv ... start_server args...`: argv for a StarterProcess with program kSetpriv.
std::vector<std::string> as_nobody_args(const std::vector<std::string>& starter_args);

/// A directory inside `dir` that nobody owns (and `dir` opened up for it to be reached).
std::string nobody_dir(const TempDir& dir);

// ---- a launcher that hands sockets over the way a socket manager does ---------------------

/// `bash -c 'exec 3<&100 ...; EXPORTS exec "$@"' argv...`: sockets at 3, 4, ... and whatever
/// `exports` sets (e.g. "export LISTEN_PID=$$ LISTEN_FDS=abc;"), so that each malformed
/// variable can be given exactly. A shell keeps its pid across exec: $$ is start_server's pid.
std::unique_ptr<StarterProcess> launch(const TempDir& dir, const std::vector<int>& sockets,
                                       const std::string& exports,
                                       const std::vector<std::string>& argv);

}  // namespace itest
