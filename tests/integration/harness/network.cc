#include "network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace itest {
namespace {

std::string errno_text(const std::string& what) {
  return "ERROR: " + what + ": " + std::strerror(errno);
}

struct Endpoint {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string error;
};

Endpoint resolve(const std::string& addr) {
  Endpoint ep;
  if (!addr.empty() && addr[0] == '/') {
    auto* un = reinterpret_cast<sockaddr_un*>(&ep.ss);
    un->sun_family = AF_UNIX;
    if (addr.size() >= sizeof un->sun_path) {
      ep.error = "ERROR: unix path too long: " + addr;
      return ep;
    }
    std::memcpy(un->sun_path, addr.c_str(), addr.size() + 1);
    ep.len = sizeof(sockaddr_un);
    return ep;
  }
  std::string host;
  std::string port;
  if (!addr.empty() && addr[0] == '[') {
    auto close = addr.find("]:");
    if (close == std::string::npos) {
      ep.error = "ERROR: bad address " + addr;
      return ep;
    }
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    auto colon = addr.rfind(':');
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  int port_number = std::atoi(port.c_str());
  if (host.find(':') != std::string::npos) {
    if (host == "::") host = "::1";
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ep.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port_number));
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1)
      ep.error = "ERROR: bad host " + host;
    ep.len = sizeof(sockaddr_in6);
  } else {
    if (host == "0.0.0.0" || host == "localhost") host = "127.0.0.1";
    auto* in = reinterpret_cast<sockaddr_in*>(&ep.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port_number));
    if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) ep.error = "ERROR: bad host " + host;
    ep.len = sizeof(sockaddr_in);
  }
  return ep;
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace

std::string request(const std::string& addr, Millis timeout, std::string_view send) {
  Endpoint ep = resolve(addr);
  if (!ep.error.empty()) return ep.error;
  auto deadline = Clock::now() + timeout;
  int fd = socket(ep.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_text("socket");
  std::string reply;
  int r = connect(fd, reinterpret_cast<sockaddr*>(&ep.ss), ep.len);
  if (r != 0 && errno != EINPROGRESS && errno != EAGAIN) {
    reply = errno_text("connect(" + addr + ")");
    close(fd);
    return reply;
  }
  if (r != 0) {
    if (!wait_fd(fd, POLLOUT, deadline)) {
      close(fd);
      return "ERROR: connect(" + addr + ") timed out";
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      close(fd);
      return "ERROR: connect(" + addr + "): " + std::strerror(so_error);
    }
  }
  size_t sent = 0;
  while (sent < send.size()) {
    ssize_t n = ::send(fd, send.data() + sent, send.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline)) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      reply = errno_text("send(" + addr + ")");
      close(fd);
      return reply;
    }
    sent += static_cast<size_t>(n);
  }
  char buf[4096];
  for (;;) {
    if (!wait_fd(fd, POLLIN, deadline)) {
      reply = "ERROR: no reply from " + addr + " (got '" + reply + "')";
      break;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      reply = errno_text("read(" + addr + ")");
      break;
    }
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

std::string udp_request(const std::string& addr, Millis timeout) {
  Endpoint ep = resolve(addr);
  if (!ep.error.empty()) return ep.error;
  auto deadline = Clock::now() + timeout;
  int fd = socket(ep.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_text("socket");
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&ep.ss), ep.len) != 0) {
    reply = errno_text("connect(" + addr + ")");
  } else if (send(fd, "ping", 4, 0) != 4) {
    reply = errno_text("send(" + addr + ")");
  } else if (!wait_fd(fd, POLLIN, deadline)) {
    reply = "ERROR: no datagram from " + addr;
  } else {
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    reply = n < 0 ? errno_text("recv(" + addr + ")") : std::string(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

std::string reply_of(int gen, pid_t pid) {
  return std::to_string(gen) + ":" + std::to_string(pid) + "\n";
}

int port_of(const std::string& addr) {
  auto colon = addr.rfind(':');
  return colon == std::string::npos ? -1 : std::atoi(addr.c_str() + colon + 1);
}

bool ipv6_available() {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

}  // namespace itest
