#pragma once
/// The status detail file: what `start_server --status` shows, kept by the daemon beside its
/// pid file as `PIDFILE.detail` (the status file stays Perl's, see status_format.h). It is
/// written whenever something in it changes, atomically (state_files.h), readable by anyone
/// who may read the pid file, and removed at exit. Readers check that its pid is the one in
/// the locked pid file, so a file left by a start_server that was SIGKILLed is never believed.
///
/// Format: a first line "start_server-detail 1" (the format's version), then one record per
/// line, fields separated by one TAB, in this order:
///
///     pid         PID                          start_server's pid
///     version     VERSION                      start_server's version
///     started     MS                           when it started
///     phase       PHASE                        idle starting serving reloading retiring stopping
///     listener    KEY  FD                      one per socket, as in SERVER_STARTER_PORT
///     generation  GEN  PID  STATE  MS  RELEASE one per live generation, increasing GEN;
///                                              STATE starting, serving or retiring; MS its spawn
///     reload      GEN  OUTCOME  MS  REASON     the last reload: in-progress, ok or failed, and
///                                              when it began (in-progress) or ended
///     backoff     FAILURES  MS                 a start is retried at MS after FAILURES failures
///     limits      NAME=VALUE ...               interval ready ready_timeout drain_timeout
///                                              backoff_max kill_old_delay auto_restart_interval
///                                              (ms; 0 off) respawn_release
///
/// MS are milliseconds of CLOCK_MONOTONIC (std::chrono::steady_clock), which every process of
/// the host shares, so a reader turns them into ages and wall-clock times with its own clock.
/// Text fields are escaped: a backslash is written as two, TAB as backslash-t, LF backslash-n,
/// CR backslash-r and any other byte below 0x20 or 0x7f as backslash-xHH (two hex digits).
/// An empty RELEASE or REASON means none. Readers skip records they do not know, so
/// fields and records may be added at the end without a new version; anything else changed
/// means a new version number.
///
///     start_server-detail 1
///     pid	4242
///     version	0.1.0
///     started	81234567
///     phase	serving
///     listener	8080	3
///     generation	2	4250	serving	81290011	/srv/app/releases/2
///     reload	3	failed	81301200	generation 3 exited with status 1 before it was up
///     limits	interval=1000	ready=interval	ready_timeout=60000	...

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace starter {

enum class ReloadOutcome { kInProgress, kOk, kFailed };

struct StatusDetail {
  struct Listener {
    std::string key;
    int fd = -1;
    bool operator==(const Listener&) const = default;
  };
  struct Generation {
    unsigned long generation = 0;
    pid_t pid = 0;
    std::string state;  ///< "starting", "serving" or "retiring"
    long long spawned_ms = 0;
    std::string release;  ///< empty: unknown
    bool operator==(const Generation&) const = default;
  };
  struct Reload {
    unsigned long generation = 0;
    ReloadOutcome outcome = ReloadOutcome::kInProgress;
    long long at_ms = 0;
    std::string reason;  ///< empty: none
    bool operator==(const Reload&) const = default;
  };
  struct Backoff {
    unsigned long failures = 0;
    long long next_attempt_ms = 0;
    bool operator==(const Backoff&) const = default;
  };
  struct Limits {
    long long interval_ms = 0;
    std::string ready = "interval";  ///< "interval" or "notify"
    long long ready_timeout_ms = 0;
    long long drain_timeout_ms = 0;
    long long backoff_max_ms = 0;
    long long kill_old_delay_ms = 0;
    long long auto_restart_interval_ms = 0;   ///< 0: no automatic restarts
    std::string respawn_release = "serving";  ///< "serving" or "latest"
    bool operator==(const Limits&) const = default;
  };

  // start_server's own (server.cc)
  pid_t pid = 0;
  std::string version;
  long long started_ms = 0;
  std::vector<Listener> listeners;
  Limits limits;
  // the supervisor's (Supervisor::describe)
  std::string phase;
  std::vector<Generation> generations;
  std::optional<Reload> last_reload;
  std::optional<Backoff> backoff;

  bool operator==(const StatusDetail&) const = default;
};

std::string_view outcome_name(ReloadOutcome outcome);  ///< "in-progress", "ok", "failed"

std::string format_detail(const StatusDetail& detail);
/// Reads what format_detail writes; nullopt when the text is not that (another format
/// version, a malformed record, no pid).
std::optional<StatusDetail> parse_detail(std::string_view text);

/// The detail file of the start_server whose pid file is `pid_file`.
inline std::string detail_path(const std::string& pid_file) { return pid_file + ".detail"; }

}  // namespace starter
