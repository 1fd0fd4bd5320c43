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
  bool from_store = false;  ///< from systemd's fd store (fd_store.h), not from a socket unit
};

/// A descriptor systemd passed back from its fd store under a name start_server gives
/// (fd_store_plan.h), as it came: whether it is a usable socket is decided later.
struct PassedFd {
  UniqueFd fd;
  std::string name;
};

struct SystemdFds {
  std::vector<InheritedSocket> sockets;  ///< from socket units (and any other name)
  std::vector<PassedFd> stored;          ///< from the fd store, under start_server's names
};

/// Takes the descriptors systemd passed to this process (LISTEN_FDS for our pid) and unsets
/// the LISTEN_* variables. None when not socket-activated. Throws UsageError for a malformed
/// LISTEN_FDNAMES or a socket unit's descriptor that is not an AF_INET/AF_INET6/AF_UNIX socket.
SystemdFds take_systemd_fds();

/// Describes an already bound socket as a ListenSpec. Throws UsageError if it is not an
/// internet or unix socket of a kind we can hand on.
InheritedSocket describe_socket(UniqueFd fd, std::string name);

}  // namespace starter
