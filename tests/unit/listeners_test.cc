// Component test of Listeners: real sockets on loopback and in a temporary directory, checked
// the way a worker would check them (getsockname, SO_TYPE, SO_ACCEPTCONN, connect).

#include "listeners.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "error.h"
#include "listen_spec.h"
#include "temp_dir.h"

namespace starter {
namespace {

using testing_support::exists_no_follow;
using testing_support::slurp;
using testing_support::TempDir;
using testing_support::write_file;

int sockopt(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  EXPECT_EQ(::getsockopt(fd, level, name, &value, &len), 0) << std::strerror(errno);
  return value;
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }
bool is_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

sockaddr_storage local_address(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0) << std::strerror(errno);
  return addr;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage addr = local_address(fd);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

std::string ipv4_text(int fd) {
  sockaddr_storage addr = local_address(fd);
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, text, sizeof text);
  return text;
}

bool connects_tcp4(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

/// A unix socket bound at `path`; listening when `listen_too`.
UniqueFd unix_socket_at(const std::string& path, bool listen_too) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
  if (listen_too) {
    EXPECT_EQ(::listen(fd.get(), 1), 0);
  }
  return fd;
}

bool ipv6_loopback_available() {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// --- TCP and UDP ---------------------------------------------------------------------------

TEST(Listeners, Tcp4Loopback) {
  Listeners set = Listeners::open({parse_port("127.0.0.1:0")}, 16);
  ASSERT_EQ(set.size(), 1u);
  int fd = set.fds()[0];
  EXPECT_GE(fd, 3);
  EXPECT_EQ(local_address(fd).ss_family, AF_INET);
  EXPECT_EQ(ipv4_text(fd), "127.0.0.1");
  EXPECT_NE(local_port(fd), 0);
  EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
  EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
  EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_REUSEADDR), 1);
  EXPECT_TRUE(is_cloexec(fd)) << "listeners lose CLOEXEC only in the worker";
  EXPECT_EQ(set.port_entries(),
            (std::vector<PortEntry>{{"127.0.0.1:0", fd}}));  // key says 0, as Perl's
  EXPECT_TRUE(connects_tcp4(local_port(fd)));
}

TEST(Listeners, BarePortIsIpv4Wildcard) {
  Listeners set = Listeners::open({parse_port("0")}, 16);
  int fd = set.fds()[0];
  EXPECT_EQ(local_address(fd).ss_family, AF_INET);
  EXPECT_EQ(ipv4_text(fd), "0.0.0.0");
  EXPECT_EQ(set.port_entries()[0].key, "0");
}

TEST(Listeners, HostNameIsResolvedToIpv4) {
  Listeners set = Listeners::open({parse_port("localhost:0")}, 16);
  int fd = set.fds()[0];
  EXPECT_EQ(local_address(fd).ss_family, AF_INET);
  EXPECT_EQ(ipv4_text(fd), "127.0.0.1");
  EXPECT_EQ(set.port_entries()[0].key, "localhost:0");  // as typed
}

TEST(Listeners, UnresolvableHostIsAUsageError) {
  EXPECT_THROW(Listeners::open({parse_port("no-such-host.invalid:0")}, 16), UsageError);
}

TEST(Listeners, UdpIsBoundNotListening) {
  Listeners set = Listeners::open({parse_port("127.0.0.1:u0")}, 16);
  int fd = set.fds()[0];
  EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
  EXPECT_NE(local_port(fd), 0);
  EXPECT_EQ(set.port_entries()[0].key, "127.0.0.1:0");  // no "u" in the key
}

TEST(Listeners, Tcp6LoopbackIsV6Only) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  Listeners set = Listeners::open({parse_port("[::1]:0")}, 16);
  int fd = set.fds()[0];
  sockaddr_storage addr = local_address(fd);
  ASSERT_EQ(addr.ss_family, AF_INET6);
  EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr));
  EXPECT_NE(local_port(fd), 0);
  EXPECT_EQ(sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
  EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
  EXPECT_EQ(set.port_entries()[0].key, "[::1]:0");
}

TEST(Listeners, PortInUseIsASysErrorNamingBind) {
  Listeners first = Listeners::open({parse_port("127.0.0.1:0")}, 16);
  std::string taken = "127.0.0.1:" + std::to_string(local_port(first.fds()[0]));
  try {
    Listeners second = Listeners::open({parse_port(taken)}, 16);
    ADD_FAILURE() << "bound twice";
  } catch (const SysError& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_EQ(e.call(), "bind");
    EXPECT_NE(std::string(e.what()).find(taken), std::string::npos) << e.what();
  }
}

TEST(Listeners, EntriesKeepCommandLineOrder) {
  TempDir dir;
  Listeners set = Listeners::open({parse_port("127.0.0.1:0"), parse_port("0"),
                                   parse_port("127.0.0.1:u0"), parse_path(dir / "s")},
                                  16);
  std::vector<PortEntry> entries = set.port_entries();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].key, "127.0.0.1:0");
  EXPECT_EQ(entries[1].key, "0");
  EXPECT_EQ(entries[2].key, "127.0.0.1:0");
  EXPECT_EQ(entries[3].key, dir / "s");
  std::vector<int> fds = set.fds();
  for (std::size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(entries[i].fd, fds[i]);
}

// What worker_launch.h hands on: the same keys and descriptors, and no systemd name for a
// socket we bound ourselves (LISTEN_FDNAMES then falls back to the key).
TEST(Listeners, ExportedMatchesTheEntriesWithoutSystemdNames) {
  Listeners set = Listeners::open({parse_port("127.0.0.1:0"), parse_port("127.0.0.1:u0")}, 16);
  std::vector<int> fds = set.fds();
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(set.exported(), (std::vector<ExportedListener>{{"127.0.0.1:0", fds[0], ""},
                                                           {"127.0.0.1:0", fds[1], ""}}));
}

TEST(Listeners, NoSpecsNoSockets) {
  Listeners set = Listeners::open({}, 16);
  EXPECT_EQ(set.size(), 0u);
  EXPECT_TRUE(set.port_entries().empty());
}

// --- unix sockets ----------------------------------------------------------------------------

TEST(Listeners, UnixSocketIsCreatedWorldWritableAndRemovedAtDestruction) {
  TempDir dir;
  std::string path = dir / "app.sock";
  mode_t mask_before = ::umask(022);
  {
    Listeners set = Listeners::open({parse_path(path)}, 16);
    int fd = set.fds()[0];
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0777u) << "mode 0777 as Perl's";
    EXPECT_EQ(local_address(fd).ss_family, AF_UNIX);
    EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
    EXPECT_TRUE(is_cloexec(fd));
    EXPECT_EQ(set.port_entries(), (std::vector<PortEntry>{{path, fd}}));
    UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  EXPECT_EQ(::umask(mask_before), 022u) << "umask restored after bind";
  EXPECT_FALSE(exists_no_follow(path)) << "socket file removed with its Listener";
}

TEST(Listeners, StaleSocketFileIsReplaced) {
  TempDir dir;
  std::string path = dir / "app.sock";
  { UniqueFd stale = unix_socket_at(path, /*listen_too=*/false); }  // closed: nobody listens
  ASSERT_TRUE(exists_no_follow(path));
  Listeners set = Listeners::open({parse_path(path)}, 16);
  EXPECT_EQ(sockopt(set.fds()[0], SOL_SOCKET, SO_ACCEPTCONN), 1);
}

TEST(Listeners, RegularFileIsRefused) {
  TempDir dir;
  std::string path = dir / "data";
  write_file(path, "keep me\n");
  EXPECT_THROW(Listeners::open({parse_path(path)}, 16), UsageError);
  EXPECT_EQ(slurp(path), "keep me\n");
}

TEST(Listeners, LiveSocketIsRefused) {
  TempDir dir;
  std::string path = dir / "app.sock";
  UniqueFd other = unix_socket_at(path, /*listen_too=*/true);
  struct stat before {};
  ASSERT_EQ(::lstat(path.c_str(), &before), 0);
  EXPECT_THROW(Listeners::open({parse_path(path)}, 16), UsageError);
  struct stat after {};
  ASSERT_EQ(::lstat(path.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "the other server's socket was replaced";
}

TEST(Listeners, SocketFileReplacedBySomeoneElseIsNotRemoved) {
  TempDir dir;
  std::string path = dir / "app.sock";
  {
    Listeners set = Listeners::open({parse_path(path)}, 16);
    ASSERT_EQ(::unlink(path.c_str()), 0);
    write_file(path, "successor\n");
  }
  EXPECT_EQ(slurp(path), "successor\n");
}

TEST(Listener, MovedFromListenerDoesNotRemoveTheSocketFile) {
  TempDir dir;
  std::string path = dir / "app.sock";
  UniqueFd fd = unix_socket_at(path, /*listen_too=*/true);
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  auto original = std::make_unique<Listener>(parse_path(path), std::move(fd));
  original->own_path(st.st_dev, st.st_ino);
  {
    Listener moved(std::move(*original));
    original.reset();
    EXPECT_TRUE(exists_no_follow(path)) << "removed by the moved-from Listener";
    EXPECT_EQ(sockopt(moved.fd(), SOL_SOCKET, SO_ACCEPTCONN), 1);
  }
  EXPECT_FALSE(exists_no_follow(path)) << "not removed by its owner";
}

TEST(Listeners, FailureUndoesWhatWasCreated) {
  TempDir dir;
  std::string first = dir / "first.sock";
  EXPECT_THROW(Listeners::open({parse_path(first), parse_path(dir / "absent/second.sock")}, 16),
               SysError);
  EXPECT_FALSE(exists_no_follow(first)) << "the socket file of the first --path was left behind";
}

// --- =FD ------------------------------------------------------------------------------------

TEST(Listeners, PinnedFdPlacesTheSocketThere) {
  constexpr int kTarget = 60;
  ASSERT_FALSE(is_open(kTarget)) << "fd " << kTarget << " is already in use in this test binary";
  {
    Listeners set = Listeners::open({parse_port("127.0.0.1:0=60")}, 16);
    EXPECT_EQ(set.fds(), std::vector<int>{kTarget});
    EXPECT_EQ(set.port_entries(), (std::vector<PortEntry>{{"127.0.0.1:0", kTarget}}));
    EXPECT_EQ(sockopt(kTarget, SOL_SOCKET, SO_ACCEPTCONN), 1);
    EXPECT_TRUE(is_cloexec(kTarget));
    EXPECT_TRUE(connects_tcp4(local_port(kTarget)));
  }
  EXPECT_FALSE(is_open(kTarget)) << "closed with its Listener";
}

TEST(Listeners, PinnedFdEvictsOurOwnSocket) {
  int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free descriptor...
  ASSERT_GE(probe, 3);
  ::close(probe);  // ...is where the first socket will land
  std::string spec = "127.0.0.1:0=" + std::to_string(probe);
  Listeners set = Listeners::open({parse_port("127.0.0.1:0"), parse_port(spec)}, 16);
  std::vector<int> fds = set.fds();
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(fds[1], probe);
  EXPECT_NE(fds[0], probe);
  for (int fd : fds) {
    EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1) << fd;
    EXPECT_TRUE(is_cloexec(fd)) << fd;
  }
  EXPECT_NE(local_port(fds[0]), local_port(fds[1])) << "two distinct sockets";
  EXPECT_TRUE(connects_tcp4(local_port(fds[0])));
  EXPECT_TRUE(connects_tcp4(local_port(fds[1])));
}

TEST(Listeners, PinnedFdsSwapPlaces) {
  int a = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int b = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(b, a + 1) << "need two consecutive free descriptors";
  ::close(a);
  ::close(b);
  // The first socket lands on a and the second on b: ask for the opposite.
  Listeners set = Listeners::open({parse_port("127.0.0.1:0=" + std::to_string(b)),
                                   parse_port("127.0.0.1:u0=" + std::to_string(a))},
                                  16);
  EXPECT_EQ(set.fds(), (std::vector<int>{b, a}));
  EXPECT_EQ(sockopt(b, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
  EXPECT_EQ(sockopt(a, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
}

TEST(Listeners, PinnedFdReplacesAForeignDescriptor) {  // as Perl's dup2
  constexpr int kTarget = 61;
  ASSERT_FALSE(is_open(kTarget));
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(::dup3(devnull, kTarget, O_CLOEXEC), kTarget);
  ::close(devnull);
  {
    Listeners set = Listeners::open({parse_port("127.0.0.1:0=61")}, 16);
    EXPECT_EQ(sockopt(kTarget, SOL_SOCKET, SO_ACCEPTCONN), 1);
  }
  EXPECT_FALSE(is_open(kTarget));
}

}  // namespace
}  // namespace starter
