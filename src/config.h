#pragma once
/// Everything the command line decides, as plain values. No Boost here, so that only
/// options.cc pulls in Boost headers.

#include <sys/socket.h>
#include <chrono>

#include <csignal>
#include <string>
#include <vector>

#include "listen_spec.h"
#include "supervisor_settings.h"

namespace starter {

struct Config {
  enum class Mode { kRun, kRestart, kStop, kStatus, kHelp, kVersion };
  Mode mode = Mode::kRun;

  std::vector<ListenSpec> listeners;  ///< every --port in order, then every --path
  int backlog = SOMAXCONN;
  bool listen_fds = false;    ///< also pass systemd's LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID (ours)
  unsigned path_mode = 0777;  ///< permissions of --path socket files (ours; Perl's are 0777)

  /// --interval, --ready, the timeouts, the signals, the restart options: what the
  /// supervisor decides by, with their defaults (supervisor_settings.h).
  SupervisorSettings supervisor;

  std::string pid_file;
  std::string status_file;
  std::string log_file;  ///< a path, or "| command" (see log_target.h)
  bool daemonize = false;
  std::string dir;
  std::string envdir;

  Millis restart_timeout = Seconds(60);  ///< how long --restart waits (ours)
  Millis stop_timeout = Seconds(60);     ///< how long --stop waits; 0: for ever (ours)
  bool json = false;                     ///< --status and --restart print one JSON object (ours)

  /// Variables Perl's start_server exports to workers for the options above
  /// (ENVDIR, ENABLE_AUTO_RESTART, KILL_OLD_DELAY, AUTO_RESTART_INTERVAL).
  std::vector<std::pair<std::string, std::string>> exported_env;

  std::vector<std::string> command;  ///< the worker's argv
  std::string help_text;             ///< filled for Mode::kHelp
};

}  // namespace starter
