#pragma once
/// Who holds the flock of a file, as this process's pid namespace sees it (/proc/locks).
/// A pid file on a volume shared with a container names the daemon by its pid inside the
/// container, often 1: only the lock's owner, translated into our namespace by the kernel,
/// proves which process that is here.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace starter {

/// The pid owning a granted FLOCK on the file (`dev`, `ino`) in a /proc/locks text, nullopt
/// when no such lock is listed. An owner outside our pid namespace is not listed at all by
/// current kernels, and as pid 0 by older ones. Lines are "N: FLOCK  ADVISORY  WRITE PID
/// MAJ:MIN:INODE START END", with the device numbers in hex; waiters ("N: -> FLOCK ...") are
/// skipped.
std::optional<pid_t> parse_flock_holder(std::string_view proc_locks, dev_t dev, ino_t ino);

/// parse_flock_holder on /proc/locks for the file at `path`; nullopt when the file or
/// /proc/locks cannot be read, or no flock on it is listed.
std::optional<pid_t> flock_holder(const std::string& path);

}  // namespace starter
