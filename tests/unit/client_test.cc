// The C++ layer of server_starter.h (client_c_api_test.cc: the C API beneath it).
#include "server_starter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/scoped_env.h"
#include "support/temp_dir.h"

namespace server_starter {
namespace {

/// Owns an fd; -1 means the call that made it failed (tests assert on get()).
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

using starter::testing_support::ScopedEnv;
using starter::testing_support::TempDir;

std::string message_of(void (*call)()) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no Error thrown)";
}

const char* const kPort = "SERVER_STARTER_PORT";
const char* const kGeneration = "SERVER_STARTER_GENERATION";
const std::string kNotUnder = " is not set (is this program running under start_server?)";

TEST(ClientServerPorts, ReadsTheVariableInOrder) {
  ScopedEnv env(kPort, "8080=3;[::1]:8081=4;8080=5;/run/app.sock=6");
  std::vector<Port> expected = {{"8080", 3}, {"[::1]:8081", 4}, {"8080", 5}, {"/run/app.sock", 6}};
  EXPECT_EQ(server_ports(), expected);
}

TEST(ClientServerPorts, EmptyValueMeansNoPorts) {
  ScopedEnv env(kPort, "");
  EXPECT_TRUE(server_ports().empty());
  EXPECT_TRUE(server_ports_map().empty());
}

TEST(ClientServerPorts, UnsetIsAnErrorThatSaysWhy) {
  ScopedEnv env(kPort, std::nullopt);
  EXPECT_EQ(message_of([] { server_ports(); }), kPort + kNotUnder);
  EXPECT_EQ(message_of([] { server_ports_map(); }), kPort + kNotUnder);
}

TEST(ClientServerPorts, MalformedValueNamesTheVariableAndEntry) {
  struct Case {
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {"abc", "SERVER_STARTER_PORT: entry 'abc' has no '=FD'"},
      {"80=x", "SERVER_STARTER_PORT: entry '80=x' has a bad file descriptor 'x'"},
      {"a=3;;b=4", "SERVER_STARTER_PORT: empty entry in 'a=3;;b=4'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    ScopedEnv env(kPort, c.value);
    EXPECT_EQ(message_of([] { server_ports(); }), c.message);
    EXPECT_THROW(parse_server_ports(c.value), Error);
  }
}

TEST(ClientParseServerPorts, IgnoresTheEnvironment) {
  ScopedEnv env(kPort, std::nullopt);
  std::vector<Port> expected = {{"127.0.0.1:0", 5}};
  EXPECT_EQ(parse_server_ports("127.0.0.1:0=5"), expected);
}

TEST(ClientParseServerPorts, TakesCStringsStringsAndStringViews) {
  std::vector<Port> expected = {{"8080", 3}, {"/run/a.sock", 4}};
  const char* text = "8080=3;/run/a.sock=4;";
  EXPECT_EQ(parse_server_ports(text), expected);
  EXPECT_EQ(parse_server_ports(std::string(text)), expected);
  EXPECT_EQ(parse_server_ports(std::string_view(text)), expected);
  // A view is parsed as far as it reaches, not to the NUL of the string behind it.
  std::vector<Port> first = {{"8080", 3}};
  EXPECT_EQ(parse_server_ports(std::string_view(text, 6)), first);
}

TEST(ClientPort, DefaultsToNoFdAndComparesBothFields) {
  EXPECT_EQ(Port().fd, -1);
  EXPECT_EQ(Port("8080", 3), Port("8080", 3));
  EXPECT_NE(Port("8080", 3), Port("8080", 4));
  EXPECT_NE(Port("8080", 3), Port("8081", 3));
}

TEST(ClientServerPortsMap, LastDuplicateWinsAsInPerl) {
  ScopedEnv env(kPort, "8080=3;/run/app.sock=4;8080=5");
  std::map<std::string, int> expected = {{"8080", 5}, {"/run/app.sock", 4}};
  EXPECT_EQ(server_ports_map(), expected);
}

TEST(ClientGeneration, ParsesStrictDecimal) {
  struct Case {
    const char* value;
    unsigned long expected;
  };
  const Case cases[] = {
      {"1", 1}, {"42", 42}, {"0", 0}, {"007", 7}, {"18446744073709551615", ULONG_MAX}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    ScopedEnv env(kGeneration, c.value);
    EXPECT_EQ(generation(), c.expected);
  }
}

TEST(ClientGeneration, RejectsAnythingElse) {
  for (const char* value :
       {"", "abc", "-1", "+1", " 1", "1 ", "12abc", "1.0", "0x10", "18446744073709551616"}) {
    SCOPED_TRACE(value);
    ScopedEnv env(kGeneration, value);
    EXPECT_EQ(message_of([] { generation(); }),
              std::string("SERVER_STARTER_GENERATION: '") + value + "' is not a decimal number");
  }
}

TEST(ClientGeneration, UnsetIsAnError) {
  ScopedEnv env(kGeneration, std::nullopt);
  EXPECT_EQ(message_of([] { generation(); }), kGeneration + kNotUnder);
}

Fd bound_inet(int family, int type) {
  Fd fd(::socket(family, type | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return fd;
  sockaddr_storage addr{};
  socklen_t len;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *in;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    len = sizeof *in6;
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return Fd(-1);
  if (type == SOCK_STREAM && ::listen(fd.get(), 8) != 0) return Fd(-1);
  return fd;
}

struct SocketCase {
  std::string address;
  bool is_socket;
};

void expect_socket(int fd, bool datagram, std::initializer_list<SocketCase> cases) {
  for (const SocketCase& c : cases) {
    SCOPED_TRACE("key '" + c.address + "'");
    EXPECT_EQ(is_socket({c.address, fd}), c.is_socket);
    EXPECT_EQ(is_datagram({c.address, fd}), datagram);
  }
}

TEST(ClientIsSocket, TcpListenerMatchesHostKeysOnly) {
  Fd tcp = bound_inet(AF_INET, SOCK_STREAM);
  ASSERT_GE(tcp.get(), 0) << std::strerror(errno);
  expect_socket(tcp.get(), false,
                {{"0", true},
                 {"127.0.0.1:0", true},
                 {"localhost:8080", true},
                 {"[::1]:80", true},
                 {"/run/app.sock", false},
                 {"app.sock", false}});
}

TEST(ClientIsSocket, UdpSocketIsADatagramHostSocket) {
  Fd udp = bound_inet(AF_INET, SOCK_DGRAM);
  ASSERT_GE(udp.get(), 0) << std::strerror(errno);
  expect_socket(udp.get(), true, {{"0", true}, {"127.0.0.1:0", true}, {"/tmp/x", false}});
}

TEST(ClientIsSocket, Ipv6Listener) {
  Fd tcp6 = bound_inet(AF_INET6, SOCK_STREAM);
  if (tcp6.get() < 0) GTEST_SKIP() << "no IPv6 loopback here: " << std::strerror(errno);
  expect_socket(tcp6.get(), false, {{"[::1]:0", true}, {"8080", true}, {"/tmp/x", false}});
}

TEST(ClientIsSocket, UnixListenerMatchesPathKeysOnly) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty()) << "mkdtemp: " << std::strerror(errno);
  std::string path = dir.path() + "/s.sock";
  Fd unix_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(unix_fd.get(), 0) << std::strerror(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(unix_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
  ASSERT_EQ(::listen(unix_fd.get(), 8), 0) << std::strerror(errno);
  expect_socket(unix_fd.get(), false,
                {{path, true}, {"s.sock", true}, {"8080", false}, {"127.0.0.1:8080", false}});
}

TEST(ClientIsSocket, SocketpairIsAUnixSocket) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0) << std::strerror(errno);
  Fd a(pair[0]), b(pair[1]);
  expect_socket(a.get(), false, {{"/run/app.sock", true}, {"8080", false}});
  int dgram[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dgram), 0) << std::strerror(errno);
  Fd c(dgram[0]), d(dgram[1]);
  expect_socket(c.get(), true, {{"/run/app.sock", true}, {"8080", false}});
}

TEST(ClientIsSocket, ClosedFdAndPipeAreNotSockets) {
  int closed = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(closed, 0) << std::strerror(errno);
  ::close(closed);
  expect_socket(closed, false, {{"8080", false}, {"/run/app.sock", false}});
  expect_socket(-1, false, {{"8080", false}});

  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0) << std::strerror(errno);
  Fd r(pipe_fds[0]), w(pipe_fds[1]);
  expect_socket(r.get(), false, {{"8080", false}, {"/run/app.sock", false}});
}

}  // namespace
}  // namespace server_starter
