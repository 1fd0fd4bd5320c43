#include "socket_activation.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

#include "error.h"
#include "fd_store_plan.h"

namespace starter {

namespace {

[[noreturn]] void unusable(int fd, const std::string& why) {
  throw UsageError("socket from systemd at fd " + std::to_string(fd) + ": " + why);
}

}  // namespace

InheritedSocket describe_socket(UniqueFd fd, std::string name) {
  InheritedSocket out;
  int raw = fd.get();
  socklen_t len = sizeof out.type;
  if (::getsockopt(raw, SOL_SOCKET, SO_TYPE, &out.type, &len) < 0) unusable(raw, "not a socket");
  if (out.type != SOCK_STREAM && out.type != SOCK_DGRAM)
    unusable(raw, "neither a stream nor a datagram socket");

  sockaddr_storage ss{};
  len = sizeof ss;
  if (::getsockname(raw, reinterpret_cast<sockaddr*>(&ss), &len) < 0)
    throw SysError("getsockname", "").flag(std::to_string(raw));
  ListenSpec& spec = out.address;
  spec.kind = out.type == SOCK_DGRAM ? ListenSpec::Kind::kUdp : ListenSpec::Kind::kTcp;
  char text[INET6_ADDRSTRLEN] = {};
  switch (ss.ss_family) {
    case AF_INET: {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      spec.port = ntohs(sin->sin_port);
      if (sin->sin_addr.s_addr != htonl(INADDR_ANY))
        spec.host = ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
      break;
    }
    case AF_INET6: {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      spec.port = ntohs(sin6->sin6_port);
      spec.ipv6 = true;
      spec.host = ::inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
      break;
    }
    case AF_UNIX: {
      auto* sun = reinterpret_cast<sockaddr_un*>(&ss);
      std::size_t path_len =
          len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
      if (path_len == 0 || sun->sun_path[0] == '\0')
        unusable(raw, "an unnamed or abstract unix socket");
      spec.kind = ListenSpec::Kind::kUnix;
      spec.path.assign(sun->sun_path, ::strnlen(sun->sun_path, path_len));
      break;
    }
    default:
      unusable(raw, "address family " + std::to_string(ss.ss_family) + " is not supported");
  }
  out.fd = std::move(fd);
  out.name = std::move(name);
  return out;
}

SystemdFds take_systemd_fds() {
  char** names = nullptr;
  // unset_environment=1: the variables are gone whether or not the call succeeds, so it is
  // called once and its answer kept.
  int n = sd_listen_fds_with_names(1, &names);
  if (n < 0)
    throw UsageError(std::string("LISTEN_FDS/LISTEN_FDNAMES from systemd are malformed: ") +
                     errno_text(-n));
  SystemdFds out;
  std::vector<std::string> fd_names;
  for (int i = 0; i < n; ++i) fd_names.emplace_back(names && names[i] ? names[i] : "");
  if (names) {
    for (int i = 0; names[i]; ++i) std::free(names[i]);
    std::free(names);
  }
  // Every descriptor is owned before any is described: one that throws closes all of them.
  std::vector<UniqueFd> fds;
  for (int i = 0; i < n; ++i) fds.emplace_back(SD_LISTEN_FDS_START + i);
  for (int i = 0; i < n; ++i) {
    if (is_fd_store_name(fd_names[i]))
      out.stored.push_back({std::move(fds[i]), fd_names[i]});
    else
      out.sockets.push_back(describe_socket(std::move(fds[i]), fd_names[i]));
  }
  return out;
}

}  // namespace starter
