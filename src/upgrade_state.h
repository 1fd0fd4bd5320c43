#pragma once
/// The upgrade state: everything a running start_server hands to the image that replaces it
/// on SIGUSR2 (self_exec.h), as text in a memfd. A later release must read what an earlier
/// one wrote, so the format is versioned, and records and fields may be added without a new
/// version: readers skip what they do not know.
///
/// Format: a first line "start_server-state N" (N the version, 1 today), then one record a
/// line: its name, then NAME=VALUE fields separated by one TAB, in any order; VALUE is
/// escaped as record_text.h says. Unknown records and unknown fields are skipped; a known
/// field with a bad value, a required field missing, or a line that is not a record refuses
/// the whole state, with a one-line reason naming the line. A version this reader does not
/// know is refused (a newer writer may have changed a field's meaning).
///
///     image       path=P exe_fd=FD mask=S,S started=MS  the binary we were started from, an
///                                                       O_PATH fd of the running image, the
///                                                       signals blocked when the first image
///                                                       started (workers get that mask), and
///                                                       when it started (status_detail.h)
///     listener    key=KEY fd=FD name=N owns_path=0|1    one per socket, in order; name is
///                 dev=D ino=I flags=F                   systemd's, the file is ours to remove
///                                                       if it is still (D, I); F its F_GETFL
///     pidfile     path=P fd=FD                          fd holds the flock
///     statusfile  path=P written=0|1                    written: ours to remove at exit
///     detailfile  written=0|1
///     log         own_fd=FD reader_fd=FD logger_pid=PID --log-file's descriptors (-1: none)
///     envdir      name=NAME                             one per variable the envdir has set
///     notify      generation=G fd=FD path=P             --ready=notify's socket of G
///     supervisor  phase=PHASE generation=G last_spawn=T last_restart=T probation_end=T
///                 respawn_at=T kill_old_at=T failures=N reload_queued=0|1 stop_signal=SIG
///                 starting_error=TEXT failed_generation=G retrying=0|1 failure=TEXT
///                 last_status=TEXT respawn_of=G upgrades=N upgrade_requested=T
///                 kill_old_delay_ms=MS auto_restart=0|1 auto_restart_interval_ms=MS
///                                                       (upgrades: how many this process tried,
///                                                       this one included; the last three: the
///                                                       settings in force, --envdir's included)
///     worker      generation=G pid=PID role=ROLE spawned=T signalled=0|1 kill_at=T killed=0|1
///                 last_signal=SIG status=TEXT descendants=PID,PID program=P dir=D
///                 release=NAME respawn_of=G
///     died        (the fields of worker)                the serving generation that died
///     reload      generation=G outcome=OUTCOME at=T reason=TEXT    the last reload
///     refused     reason=TEXT                           set by a new image that gave up
///
/// T is a point of CLOCK_MONOTONIC (std::chrono::steady_clock) in nanoseconds, which execve
/// leaves running, so every deadline means the same after the exec; "-" is none. PHASE is
/// idle starting serving reloading retiring stopping; ROLE starting current old failed;
/// OUTCOME in-progress ok failed; SIG a signal number.
///
///     start_server-state 1
///     image	path=/usr/bin/start_server	exe_fd=5	upgrades=0
///     listener	key=8080	fd=3
///     pidfile	path=/run/app.pid	fd=7
///     supervisor	phase=serving	generation=1	last_spawn=81290011000	...
///     worker	generation=1	pid=4250	role=current	spawned=81290011000	...

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "release.h"
#include "status_detail.h"

namespace starter {

inline constexpr unsigned kUpgradeStateVersion = 1;

/// Nanoseconds of CLOCK_MONOTONIC.
using MonotonicNs = long long;

struct UpgradeState {
  struct Listener {
    std::string key;
    int fd = -1;
    std::string name;        ///< systemd's FileDescriptorName; empty for one we bound
    bool owns_path = false;  ///< a --path socket file we created, removed at exit if still ours
    unsigned long long dev = 0, ino = 0;  ///< that file's identity
    int flags = -1;                       ///< F_GETFL at start, for Listeners::heal
    bool fd_store = false;  ///< systemd's fd store keeps it (absent before fdstore: not kept)
    bool operator==(const Listener&) const = default;
  };
  struct Notify {
    unsigned long generation = 0;
    int fd = -1;
    std::string path;
    bool operator==(const Notify&) const = default;
  };
  struct Worker {
    unsigned long generation = 0;
    pid_t pid = 0;
    std::string role = "starting";
    MonotonicNs spawned = 0;
    bool signalled = false;
    std::optional<MonotonicNs> kill_at;
    bool killed = false;
    int last_signal = 0;
    std::string status;
    std::vector<pid_t> descendants;
    Release release;
    unsigned long respawn_of = 0;
    bool operator==(const Worker&) const = default;
  };
  struct Reload {
    unsigned long generation = 0;
    ReloadOutcome outcome = ReloadOutcome::kInProgress;
    MonotonicNs at = 0;
    std::string reason;
    bool operator==(const Reload&) const = default;
  };
  /// The supervisor's own values (supervisor.h), one for one.
  struct Supervisor {
    std::string phase = "idle";
    unsigned long generation = 0;
    MonotonicNs last_spawn = 0;
    MonotonicNs last_restart = 0;
    std::optional<MonotonicNs> probation_end;
    std::optional<MonotonicNs> respawn_at;
    std::optional<MonotonicNs> kill_old_at;
    unsigned failures = 0;
    bool reload_queued = false;
    int stop_signal = 15;
    std::string starting_error;
    unsigned long failed_generation = 0;
    bool retrying = false;
    std::string failure;
    std::string last_status;
    unsigned long respawn_of = 0;
    unsigned long upgrades = 0;
    std::optional<MonotonicNs> upgrade_requested;  ///< when the SIGUSR2 of this upgrade was read
    /// The settings in force, which --envdir may have changed at run time (envdir.h): a value
    /// the envdir holds that is not a number keeps the one before, which only this knows.
    /// Absent (an image from before them): the new image's command line.
    std::optional<long long> kill_old_delay_ms;
    std::optional<bool> auto_restart;
    std::optional<long long> auto_restart_interval_ms;
    std::vector<Worker> workers;
    std::optional<Worker> died_serving;
    std::optional<Reload> last_reload;
    bool operator==(const Supervisor&) const = default;
  };

  // server.cc's
  std::string exe_path;
  int exe_fd = -1;
  std::vector<int> original_mask;  ///< signal numbers
  long long started_ms = 0;        ///< CLOCK_MONOTONIC milliseconds
  std::vector<Listener> listeners;
  std::string pid_file;
  int pid_file_fd = -1;
  std::string status_file;
  bool status_written = false;
  bool detail_written = false;
  int log_own_fd = -1;
  int log_reader_fd = -1;
  pid_t logger_pid = -1;
  std::vector<std::string> envdir_names;
  std::vector<Notify> notify;
  Supervisor supervisor;
  std::string refused;  ///< not empty: a new image refused this state, and why

  /// Every descriptor named above, which must survive the exec.
  std::vector<int> fds() const;

  bool operator==(const UpgradeState&) const = default;
};

std::string format_upgrade_state(const UpgradeState& state);

/// The state in `text`, or a one-line reason why it is refused ("line 4: worker: bad pid
/// 'x'", "version 7 is newer than this start_server reads (1)").
std::variant<UpgradeState, std::string> parse_upgrade_state(std::string_view text);

}  // namespace starter
