#include "activation.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace itest {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Above every fd the launcher places a socket at (3 .. 3+N-1), so moving one never clobbers
// another.
constexpr int kStagingFloor = 100;

}  // namespace

TestSocket TestSocket::inet(const std::string& host, int type, int port) {
  TestSocket s;
  bool v6 = host.find(':') != std::string::npos;
  s.fd_ = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) fail("socket");
  int one = 1;
  if (type == SOCK_STREAM) (void)setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    int v6only = host == "::" ? 0 : 1;
    if (setsockopt(s.fd_, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0)
      fail("setsockopt(IPV6_V6ONLY)");
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) fail("inet_pton(" + host + ")");
    len = sizeof *in6;
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) fail("inet_pton(" + host + ")");
    len = sizeof *in;
  }
  if (bind(s.fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) fail("bind(" + host + ")");
  if (type == SOCK_STREAM && listen(s.fd_, SOMAXCONN) != 0) fail("listen(" + host + ")");
  len = sizeof ss;
  if (getsockname(s.fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) fail("getsockname");
  s.port_ = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
               : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  s.addr_ = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(s.port_);
  return s;
}

TestSocket TestSocket::unix_stream(const std::string& path) {
  TestSocket s;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  s.fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) fail("socket(AF_UNIX)");
  if (bind(s.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind(" + path + ")");
  if (listen(s.fd_, SOMAXCONN) != 0) fail("listen(" + path + ")");
  s.addr_ = path;
  return s;
}

TestSocket::TestSocket(TestSocket&& other) noexcept
    : fd_(other.fd_), port_(other.port_), addr_(std::move(other.addr_)) {
  other.fd_ = -1;
}

TestSocket::~TestSocket() {
  if (fd_ >= 0) close(fd_);
}

std::string TestSocket::identity() const { return fd_identity(getpid(), fd_); }

int TestSocket::status_flags() const { return fcntl(fd_, F_GETFL); }

void TestSocket::set_nonblocking(bool on) const {
  int flags = fcntl(fd_, F_GETFL);
  if (flags < 0 || fcntl(fd_, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) != 0)
    fail("fcntl(F_SETFL)");
}

std::vector<std::string> socket_identities(pid_t pid) {
  std::vector<std::string> out;
  for (const auto& [fd, id] : fds_of(pid))
    if (id.rfind("socket:", 0) == 0) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

int free_port() { return TestSocket::inet("127.0.0.1").port(); }

ActivatedStarter::ActivatedStarter(const TempDir& dir,
                                   const std::vector<const TestSocket*>& sockets,
                                   const std::vector<std::string>& args,
                                   const std::vector<std::string>& env,
                                   const ActivationOptions& options, const std::string& program) {
  // The launcher: `exec 3<&100 4<&101 100<&- 101<&-`, then LISTEN_PID=$$ and exec. A shell
  // keeps its pid across exec, so LISTEN_PID is the pid of start_server itself.
  std::string moves;
  std::string closes;
  for (size_t i = 0; i < sockets.size(); ++i) {
    int staged = fcntl(sockets[i]->fd(), F_DUPFD_CLOEXEC, kStagingFloor);
    if (staged < 0) fail("fcntl(F_DUPFD_CLOEXEC)");
    staged_.push_back(staged);
    moves += " " + std::to_string(3 + i) + "<&" + std::to_string(staged);
    closes += " " + std::to_string(staged) + "<&-";
  }
  std::string script;
  if (!sockets.empty()) script += "exec" + moves + closes + " || exit 125; ";
  // systemd never passes LISTEN_FDS=0 (sd_listen_fds(3) calls it invalid): with no sockets
  // this only launches, e.g. to set WATCHDOG_PID.
  bool activate = !sockets.empty() || !options.listen_fds.empty();
  if (activate) script += "export LISTEN_PID=$$; ";
  if (options.watchdog_pid) script += "export WATCHDOG_PID=$$; ";
  script += "exec \"$@\"";
  std::vector<std::string> full_env = env;
  if (activate)
    full_env.push_back("LISTEN_FDS=" + (options.listen_fds.empty() ? std::to_string(sockets.size())
                                                                   : options.listen_fds));
  if (!options.fdnames.empty()) full_env.push_back("LISTEN_FDNAMES=" + options.fdnames);
  process_ = std::make_unique<StarterProcess>(
      dir, concat({"-c", script, "launcher", program}, args), full_env, staged_, "/bin/bash");
  for (int fd : staged_) close(fd);
  staged_.clear();
}

ActivatedStarter::~ActivatedStarter() {
  process_.reset();
  for (int fd : staged_) close(fd);
}

}  // namespace itest
