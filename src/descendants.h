#pragma once
/// The processes a worker leaves behind. start_server is a child subreaper
/// (PR_SET_CHILD_SUBREAPER), so when a worker's process exits, what it started is reparented
/// to us instead of to init: a worker that daemonizes, or a master that dies before its
/// children, can then still be signalled and reaped with its generation.

#include <sys/types.h>

#include <optional>
#include <vector>

namespace starter {

/// Makes us the reaper of our workers' orphaned descendants. Throws SysError.
void become_subreaper();

/// Our children now (/proc/self/task/*/children); empty where the kernel does not list them.
std::vector<pid_t> own_children();

/// SERVER_STARTER_GENERATION as `pid` inherited it (/proc/PID/environ), if it can be read.
std::optional<unsigned long> generation_of(pid_t pid);

}  // namespace starter
