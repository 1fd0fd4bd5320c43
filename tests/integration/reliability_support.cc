#include "reliability_support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace itest {

// ---- small helpers ---------------------------------------------------------------------

std::vector<std::string> open_fds_of(pid_t pid) {
  std::vector<std::string> out;
  for (const auto& [fd, id] : fds_of(pid)) out.push_back(std::to_string(fd) + " -> " + id);
  std::sort(out.begin(), out.end());  // as text, as the lines have always been listed
  return out;
}

long uid_of(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Uid:", 0) == 0) return std::atol(line.c_str() + 4);
  return -1;
}

// ---- running as another user -------------------------------------------------------------

void become_nobody_in_child() {
  if (syscall(SYS_setgroups, 0, nullptr) != 0 ||
      syscall(SYS_setresgid, kNogroup, kNogroup, kNogroup) != 0 ||
      syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0)
    _exit(120);
}

std::string nobody_unavailable() {
  if (geteuid() != 0) return "the test does not run as root, so it cannot become nobody";
  if (access(kSetpriv.c_str(), X_OK) != 0) return kSetpriv + " (util-linux) is missing";
  const char* starter = kStarter.c_str();
  const char* worker = kFakeWorker.c_str();
  int rc =
      as_nobody([&] { return access(starter, X_OK) == 0 && access(worker, X_OK) == 0 ? 0 : 1; });
  if (rc == 120) return "setresuid(nobody) fails here";
  if (rc != 0)
    return "nobody cannot execute " + kStarter + " or " + kFakeWorker +
           " (a directory on the way is private)";
  return "";
}

std::vector<std::string> as_nobody_args(const std::vector<std::string>& starter_args) {
  return concat({"--reuid=" + std::to_string(kNobody), "--regid=" + std::to_string(kNogroup),
                 "--clear-groups", "--", kStarter},
                starter_args);
}

std::string nobody_dir(const TempDir& dir) {
  chmod(dir.path().c_str(), 0711);
  std::string sub = dir / "nobody";
  make_dir(sub);
  if (chown(sub.c_str(), kNobody, kNogroup) != 0) throw std::runtime_error("chown " + sub);
  return sub;
}

// ---- a launcher that hands sockets over the way a socket manager does ---------------------

std::unique_ptr<StarterProcess> launch(const TempDir& dir, const std::vector<int>& sockets,
                                       const std::string& exports,
                                       const std::vector<std::string>& argv) {
  std::string moves, closes;
  std::vector<int> staged;
  for (size_t i = 0; i < sockets.size(); ++i) {
    int fd = fcntl(sockets[i], F_DUPFD_CLOEXEC, 100);
    staged.push_back(fd);
    moves += " " + std::to_string(3 + i) + "<&" + std::to_string(fd);
    closes += " " + std::to_string(fd) + "<&-";
  }
  std::string script = sockets.empty() ? "" : "exec" + moves + closes + " || exit 125; ";
  script += exports + " exec \"$@\"";
  auto process = std::make_unique<StarterProcess>(dir, concat({"-c", script, "launcher"}, argv),
                                                  std::vector<std::string>{}, staged, "/bin/bash");
  for (int fd : staged) close(fd);
  return process;
}

}  // namespace itest
