#include "daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include "error.h"
#include "fd.h"

namespace starter {

void daemonize(bool keep_stdin) {
  for (int round = 0; round < 2; ++round) {
    pid_t pid = ::fork();
    if (pid < 0) throw SysError("fork", "").during("--daemonize");
    if (pid > 0) ::_exit(0);
    if (round == 0 && ::setsid() < 0) throw SysError("setsid", "").during("--daemonize");
  }
  if (keep_stdin) return;
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) throw SysError("open", "/dev/null");
  if (::dup2(null.get(), STDIN_FILENO) < 0)
    throw SysError("dup2", "/dev/null").flag("STDIN_FILENO");
}

}  // namespace starter
