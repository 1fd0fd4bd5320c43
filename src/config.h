#pragma once
/// Everything the command line decides, as plain values. No Boost here, so that only
/// options.cc pulls in Boost headers.

#include <chrono>
#include <sys/socket.h>

#include <csignal>
#include <string>
#include <vector>

#include "listen_spec.h"

namespace starter {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

struct Config {
  enum class Mode { kRun, kRestart, kStop, kStatus, kHelp, kVersion };
  Mode mode = Mode::kRun;

  std::vector<ListenSpec> listeners;  ///< every --port in order, then every --path
  int backlog = SOMAXCONN;
  bool listen_fds = false;  ///< also pass systemd's LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID (ours)
  unsigned path_mode = 0777;  ///< permissions of --path socket files (ours; Perl's are 0777)

  Millis interval = Seconds(1);
  int signal_on_hup = SIGTERM;
  int signal_on_term = SIGTERM;
  Millis kill_old_delay{0};
  bool auto_restart = false;
  Millis auto_restart_interval = Seconds(360);

  std::string pid_file;
  std::string status_file;
  std::string log_file;  ///< a path, or "| command" (see log_target.h)
  bool daemonize = false;
  std::string dir;
  std::string envdir;

  Millis restart_timeout = Seconds(60);  ///< how long --restart waits (ours)
  Millis stop_timeout = Seconds(60);     ///< how long --stop waits; 0: for ever (ours)
  bool json = false;  ///< --status and --restart print one JSON object (ours)

  /// What makes a new generation "up" (ours): surviving --interval (Perl), or READY=1 sent
  /// through its own NOTIFY_SOCKET.
  enum class Ready { kInterval, kNotify };
  Ready ready = Ready::kInterval;
  Millis ready_timeout = Seconds(60);  ///< --ready=notify: killed if not ready by then
  Millis drain_timeout{0};             ///< SIGKILL a signalled worker after this; 0: never
  Millis backoff_max = Seconds(60);    ///< cap of the pause between failed starts
  bool reload_retry = true;  ///< after a failed reload keep starting new generations (Perl)
  /// What a respawn after a crash of the serving generation runs (ours; release.h): the
  /// release that generation was deployed from, or whatever the symlinks point to now.
  enum class RespawnRelease { kServing, kLatest };
  RespawnRelease respawn_release = RespawnRelease::kServing;

  /// Variables Perl's start_server exports to workers for the options above
  /// (ENVDIR, ENABLE_AUTO_RESTART, KILL_OLD_DELAY, AUTO_RESTART_INTERVAL).
  std::vector<std::pair<std::string, std::string>> exported_env;

  std::vector<std::string> command;  ///< the worker's argv
  std::string help_text;             ///< filled for Mode::kHelp
};

}  // namespace starter
