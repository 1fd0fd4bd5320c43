#pragma once
/// Everything a generation's worker is handed, built in one place: its argv and where its
/// program is looked for, its whole environment (start_server's own, the variables Perl exports
/// for its options, the envdir's values, SERVER_STARTER_PORT/GENERATION, and with
/// --listen-fds or --ready=notify systemd's LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID and
/// NOTIFY_SOCKET), the listening descriptors it inherits and its working directory.
///
/// Pure: the caller reads the envdir, opens the sockets and the notify socket, and carries
/// the result out (spawn.h forks and execs it). Reading this file and worker_launch_test.cc
/// tells what each mode hands a worker.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "listeners.h"
#include "release.h"
#include "spawn.h"

namespace starter {

/// Variables addressed to start_server itself that must never reach a worker: systemd's
/// notification, watchdog, socket-activation and fd store (FDSTORE) variables.
bool is_private_variable(const std::string& name);

/// environ as a map, without the private variables.
EnvMap inherited_environment(char** environ);

/// `inherited` plus the variables Perl's start_server exports for its options: what every
/// generation starts from before the envdir, and what the --log-file command runs with.
EnvMap base_environment(const Config& config, EnvMap inherited);

/// What a generation's launch depends on besides the configuration.
struct LaunchInputs {
  unsigned long generation = 0;
  EnvMap inherited;  ///< inherited_environment() at start
  /// The envdir as read for this generation, and every name it has set so far, these
  /// included: a name it set once and no longer sets is unset (Perl brings back its start-up
  /// value instead).
  EnvMap envdir;
  std::set<std::string> envdir_names;
  std::vector<ExportedListener> listeners;  ///< in order
  std::string notify_socket;  ///< NOTIFY_SOCKET's value with --ready=notify; else empty
  /// A respawn runs its kept release exactly (release.h): its program by real path and its
  /// directory, whatever the symlinks point to now. Empty parts change nothing.
  std::optional<Release> release;
};

/// The launch of generation `in.generation`, as spawn_process carries it out. LISTEN_PID,
/// the worker's own pid, is written in the child (SpawnRequest::listen_pid).
SpawnRequest build_worker_launch(const Config& config, const LaunchInputs& in);

}  // namespace starter
