#pragma once
/// systemd's file descriptor store, through libsystemd: start_server keeps there the
/// listeners it bound itself, so that they outlive start_server. systemd hands them back at
/// the next start of the unit (`systemctl restart`, or Restart= after a crash) the way it
/// passes a socket unit's sockets, and new clients wait in the backlog meanwhile instead of
/// being refused. The names and the decisions are fd_store_plan.h's.
///
/// systemd keeps the store while the unit is neither inactive nor failed, or a job is queued
/// for it, or it is about to be restarted (systemd.service(5), FileDescriptorStoreMax= and,
/// from 254 on, FileDescriptorStorePreserve=restart, the default); `systemctl stop` empties it.

#include <optional>
#include <string>
#include <vector>

#include "listen_spec.h"
#include "socket_activation.h"

namespace starter {

/// How many descriptors the unit lets start_server store: $FDSTORE, which systemd 254 and
/// later set from FileDescriptorStoreMax=, and which a unit for systemd 252 sets itself
/// (Environment=FDSTORE=, beside FileDescriptorStoreMax=). 0 without a NOTIFY_SOCKET, without
/// $FDSTORE, or when it is not a number (`problem` then says so, for the log).
unsigned fd_store_capacity(std::string& problem);

struct TakenBack {
  std::vector<InheritedSocket> kept;  ///< from_store set; for Listeners::open
  std::vector<std::string> used;      ///< the address of each kept one, for the log
  std::vector<std::string> released;  ///< one line per released descriptor, for the log
};

/// Decides what to do with each stored descriptor systemd passed back (plan_stored_sockets,
/// with `from_units` claiming their addresses first) and releases those not used: our copy
/// is closed, systemd is told FDSTOREREMOVE=1 with its name, and we wait (sd_notify_barrier,
/// at most 5 s) until systemd has closed its copy too, so that its address can be bound again
/// at once.
TakenBack take_back_stored(std::vector<PassedFd> stored, const std::vector<ListenSpec>& specs,
                           const std::vector<InheritedSocket>& from_units);

/// Hands a duplicate of `fd` to systemd's store under `name` (FDSTORE=1). Throws SysError
/// when the message cannot be sent.
void store_fd(const std::string& name, int fd);

}  // namespace starter
