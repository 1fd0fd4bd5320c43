#include "fd_store.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "error.h"
#include "fd_store_plan.h"
#include "listeners.h"

namespace starter {

namespace {

constexpr uint64_t kBarrierUsec = 5'000'000;

bool socket_file_present(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

/// Describes a stored descriptor for plan_stored_sockets: no address when it is not a
/// socket we could hand on.
StoredSocket describe_stored(PassedFd& passed) {
  StoredSocket out;
  out.name = passed.name;
  int dup = ::fcntl(passed.fd.get(), F_DUPFD_CLOEXEC, 3);
  if (dup < 0) return out;
  try {
    InheritedSocket socket = describe_socket(UniqueFd(dup), passed.name);
    out.address = socket.address;
    out.stream = socket.type == SOCK_STREAM;
    if (out.address->kind == ListenSpec::Kind::kUnix)
      out.path_present = socket_file_present(out.address->path);
  } catch (const std::exception&) {
    // Not a socket, or one of a kind we cannot hand on: the verdict releases it.
  }
  return out;
}

}  // namespace

unsigned fd_store_capacity(std::string& problem) {
  const char* notify = std::getenv("NOTIFY_SOCKET");
  const char* value = std::getenv("FDSTORE");
  if (!notify || !*notify || !value) return 0;
  auto capacity = parse_fd_store_variable(value);
  if (!capacity) {
    problem = "ignoring FDSTORE=" + quote(value) + ": not a number of descriptors";
    return 0;
  }
  return *capacity;
}

TakenBack take_back_stored(std::vector<PassedFd> stored, const std::vector<ListenSpec>& specs,
                           const std::vector<InheritedSocket>& from_units) {
  TakenBack out;
  if (stored.empty()) return out;
  std::vector<bool> claimed(specs.size(), false);
  for (std::size_t i = 0; i < specs.size(); ++i)
    for (const auto& socket : from_units)
      if (names_address(specs[i], socket.address)) claimed[i] = true;
  std::vector<StoredSocket> described;
  for (auto& passed : stored) described.push_back(describe_stored(passed));
  std::vector<StoredVerdict> verdicts = plan_stored_sockets(
      specs, claimed, described,
      [](const ListenSpec& spec, const ListenSpec& bound) { return names_address(spec, bound); });
  bool released = false;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    std::string what = described[i].address ? quote(described[i].address->describe())
                                            : "fd " + std::to_string(stored[i].fd.get());
    if (verdicts[i].spec) {
      InheritedSocket socket = describe_socket(std::move(stored[i].fd), stored[i].name);
      socket.from_store = true;
      out.used.push_back(quote(socket.address.describe()));
      out.kept.push_back(std::move(socket));
      continue;
    }
    stored[i].fd.reset();
    int rc = sd_pid_notify(0, 0, ("FDSTOREREMOVE=1\nFDNAME=" + stored[i].name).c_str());
    if (rc < 0)
      out.released.push_back("cannot release " + what + " from systemd's fd store: " +
                             call_text("sd_pid_notify", stored[i].name, "FDSTOREREMOVE=1") + ": " +
                             errno_text(-rc));
    else
      out.released.push_back("released " + what + " (" + quote(stored[i].name) +
                             ") from systemd's fd store: " + verdicts[i].reason);
    released |= rc > 0;
  }
  // systemd closes its copy when it reads the message; until then the address is taken.
  if (released) {
    int rc = sd_notify_barrier(0, kBarrierUsec);
    if (rc < 0)
      out.released.push_back("systemd did not confirm the release in 5 s: sd_notify_barrier: " +
                             errno_text(-rc));
  }
  return out;
}

void store_fd(const std::string& name, int fd) {
  // FDPOLL=0: systemd would otherwise drop a listener on POLLHUP, which a worker's shutdown(2)
  // causes; Listeners::heal makes that very socket listen again, for the store's copy too.
  std::string message = "FDSTORE=1\nFDPOLL=0\nFDNAME=" + name;
  int rc = sd_pid_notify_with_fds(0, 0, message.c_str(), &fd, 1);
  if (rc < 0) throw SysError("sd_pid_notify_with_fds", name, -rc).flag("FDSTORE=1");
}

}  // namespace starter
