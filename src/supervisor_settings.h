#pragma once
/// What the command line tells the supervisor, each default written here and nowhere else:
/// Config carries these settings (config.h), options.cc fills them and prints these defaults
/// in --help, and the Supervisor decides by them. A plain struct with no dependency, so that
/// config.h stays free of the supervisor.

#include <chrono>
#include <csignal>

namespace starter {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

struct SupervisorSettings {
  Millis interval = Seconds(1);  ///< --interval: probation, and the pause between start attempts
  Millis kill_old_delay{0};      ///< --kill-old-delay
  /// --kill-old-delay when it is not given but --enable-auto-restart is (Perl's).
  static constexpr Millis kAutoRestartKillOldDelay = Seconds(5);
  bool auto_restart = false;                    ///< --enable-auto-restart
  Millis auto_restart_interval = Seconds(360);  ///< --auto-restart-interval
  int signal_on_hup = SIGTERM;                  ///< --signal-on-hup: what retires an old generation
  int signal_on_term = SIGTERM;                 ///< --signal-on-term: what our SIGTERM sends on
  /// Automatic respawns (after a failed start or a crash) are at least this far apart, so a
  /// worker that dies at once cannot make us fork in a tight loop, even with --interval=0.
  Millis min_respawn_spacing = Seconds(1);
  bool ready_notify = false;  ///< --ready=notify: READY=1, not survival, makes a generation up
  Millis ready_timeout = Seconds(60);  ///< --ready-timeout, with --ready=notify only
  Millis drain_timeout{0};             ///< --drain-timeout; 0: never SIGKILL (Perl)
  Millis backoff_max = Seconds(60);    ///< --backoff-max: cap of the pause between failed starts
  /// --reload-retry: a failed reload is retried (Perl); off: it is final until the next HUP.
  bool reload_retry = true;
  /// --respawn-release=serving (release.h): a respawn after a crash of the serving generation
  /// runs the release it was deployed from; false (latest): whatever the symlinks point to now.
  bool respawn_serving_release = true;

  bool operator==(const SupervisorSettings&) const = default;
};

}  // namespace starter
