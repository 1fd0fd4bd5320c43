#pragma once
/// The control modes: `start_server --restart` and `start_server --stop`, clients of a
/// running start_server found through its pid file (and status file for --restart).

#include <string>

#include "config.h"

namespace starter {

/// Exit statuses of the control modes (1 is a usage error, as everywhere).
enum ControlStatus : int {
  kControlOk = 0,
  kRestartFailed = 2,  ///< the new generation failed; the old one still serves
  kNotRunning = 3,     ///< no start_server holds the pid file, or it exited meanwhile
  kTimedOut = 4,       ///< --restart-timeout or --stop-timeout passed
  kNotOurs = 5,        ///< the pid in the file is not the lock holder as seen from here
};

/// "no running start_server holds the pid file 'FILE'": what --restart, --stop and --status
/// say when nobody holds the lock.
std::string not_running_text(const std::string& pid_file);

/// Sends SIGHUP and waits until a generation newer than the newest one before is the only
/// one left. Never hangs: it returns a ControlStatus and prints one line on failure.
int restart(const Config& config);

/// Sends SIGTERM and waits until start_server has released its pid file (has exited), at
/// most --stop-timeout.
int stop(const Config& config);

}  // namespace starter
