#pragma once
/// Sockets passed by systemd (socket activation), read through libsystemd's
/// sd_listen_fds_with_names and described by their own bound address, so they can be matched
/// against --port/--path and keyed as start_server would key a socket it bound itself.

#include <string>
#include <vector>

#include "fd.h"
#include "listen_spec.h"

namespace starter {

struct InheritedSocket {
  UniqueFd fd;
  std::string name;    ///< systemd's FileDescriptorName (the socket unit's name by default)
  int type = 0;        ///< SOCK_STREAM or SOCK_DGRAM
  ListenSpec address;  ///< what --port/--path would have made this socket; address.key() keys it
};

/// Takes the sockets systemd passed to this process (LISTEN_FDS for our pid) and unsets the
/// LISTEN_* variables. None when not socket-activated. Throws UsageError for a malformed
/// LISTEN_FDNAMES or a passed descriptor that is not an AF_INET/AF_INET6/AF_UNIX socket.
std::vector<InheritedSocket> take_systemd_sockets();

/// Describes an already bound socket as a ListenSpec. Throws UsageError if it is not an
/// internet or unix socket of a kind we can hand on.
InheritedSocket describe_socket(UniqueFd fd, std::string name);

}  // namespace starter
