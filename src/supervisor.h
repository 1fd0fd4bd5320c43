#pragma once
/// The supervisor's decisions, as plain code: events in, actions out, with the clock passed
/// in. It makes no system call, so every (state, event) cell is unit-tested without a
/// process. server.cc feeds it events and carries out its actions.
///
/// Phases:
///   kIdle       before Start
///   kStarting   no generation serves yet: one is on probation, or a retry is scheduled
///   kServing    one current generation (old ones may still be draining)
///   kReloading  the current generation serves while a new one is on probation
///   kRetiring   the new generation is up; the old one is signalled after --kill-old-delay
///   kStopping   every worker was signalled; waiting for them to exit
///
/// The (phase, event) table, every cell in one place. Why a table here and not one switch
/// over the phase in each handler: only HUP is decided differently in most phases (on(Reload)
/// is that switch, exhaustive with no `default:` so -Wswitch names a new phase); every other
/// event is decided the same in all phases but kStopping, or by the worker's role, so a switch
/// per handler would repeat five identical arms and hide the one that differs. Each row is
/// on(const event::X&) in supervisor.cc, tested cell by cell in tests/unit/supervisor_*_test.cc.
///
///   event        phase                          decision
///   Start        kIdle                          -> kStarting, spawn generation 1
///                others                         ignored
///   Reload       kServing                       -> kReloading, spawn (a deploy), notify RELOADING
///                kStarting, kReloading          a retry waiting, nothing on probation: spawn now;
///                                               otherwise queued, as in kRetiring
///                kRetiring                      queued: one more reload when this one is over
///                kIdle, kStopping               ignored
///   Shutdown     kStopping                      logged only
///                others                         -> kStopping, every worker gets --signal-on-term
///                                               (SIGTERM) or TERM (INT, QUIT); Exit after the last
///   Spawned      kStopping                      the new worker gets the stop signal
///                others                         on probation (unless it could not exec)
///   SpawnFailed  kStopping                      Exit if it was the last
///                others                         start failed (below)
///   ChildExited  kStopping                      forgotten; Exit after the last
///                others, by the worker's role:  starting: start failed (below)
///                                               current: kReloading with one on probation: that
///                                               one takes over; else -> kStarting, respawn its
///                                               release after the back-off (a reload is queued)
///                                               old, failed: forgotten
///                any: a worker exiting 0 with processes it started still alive: they stand
///                for it; what any other worker left behind gets TERM and is awaited
///   Adopted      any                            joins its generation (signalled as it was)
///   Ready        kStopping                      ignored: the worker was told to stop
///                others, with --ready=notify    its generation on probation is up (promote)
///   WorkerStatus any                            kept; shown in the status line
///   Tick         kStarting, kReloading          probation over: promote; with --ready=notify:
///                                               SIGKILL, start failed. Retry due: spawn
///                kServing                       --auto-restart-interval due: as Reload
///                kRetiring                      --kill-old-delay over: old get --signal-on-hup,
///                                               -> kServing
///                any                            --drain-timeout over: SIGKILL
///   UpgradeRequested kIdle, kStopping            logged only
///                others                         none under way: Preflight (the upgrade is
///                                               under way); otherwise logged only
///   PreflightDone  the pre-flight under way     refused, or kStopping: the upgrade failed;
///                                               else ExecUpgrade. Otherwise ignored
///   UpgradeEnded   an upgrade under way         its outcome, logged; workers are never
///                                               signalled by any of these three (supervisor_
///                                               upgrade.cc)
///   SettingsChanged any                          used from now on, what changed logged: an
///                                               automatic restart is judged by the new
///                                               interval at once; a --kill-old-delay already
///                                               under way keeps its end (Perl sleeps it out)
///
///   start failed   kReloading with a generation serving: the reload failed; it is retried
///                  after the back-off (--reload-retry), or -> kServing; otherwise -> kStarting,
///                  retried after the back-off
///   promote        the old generations get --signal-on-hup now, or after --kill-old-delay
///                  (-> kRetiring); -> kServing, and a queued reload begins
///
/// A generation is "up" when it has survived --interval (Perl's probation) or, with
/// --ready=notify, when it has sent READY=1 (within --ready-timeout, or it is killed). A
/// reload whose new generation fails leaves the current one serving, untouched, and is
/// reported failed; with --reload-retry (Perl's way, the default) new generations keep being
/// started after it, with the same back-off as failed first starts (--interval doubling up
/// to --backoff-max), until one is up. A signalled worker still alive after --drain-timeout
/// gets SIGKILL.
///
/// A worker whose process exits 0 while processes it started live on (it daemonized, so
/// they were reparented to us: event::Adopted) goes on as those processes. When it exits
/// otherwise, what it left behind is signalled and awaited, never left running.
///
/// Releases (release.h): a Spawn is either a deploy (Start, Reload, automatic restart, and
/// retries of a first start that never came up), which the server resolves afresh, or a
/// respawn after the serving generation died, which carries that generation's release so the
/// server runs exactly it again (unless respawn_serving_release is off).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "release.h"
#include "status_detail.h"
#include "status_format.h"
#include "supervisor_settings.h"
#include "upgrade_state.h"

namespace starter {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

namespace event {
struct Start {};
struct Reload {};  ///< SIGHUP
struct Shutdown {
  int signo;
};                ///< SIGTERM, SIGINT or SIGQUIT
struct Spawned {  ///< the Spawn action's outcome
  unsigned long generation;
  pid_t pid;
  std::string exec_error;  ///< not empty: the child could not exec and will exit
  Release release{};       ///< what it runs
};
struct SpawnFailed {
  unsigned long generation;
  std::string reason;
};  ///< fork failed
struct ChildExited {
  pid_t pid;
  int status;
};
/// A process of `generation` whose parent exited was reparented to us (we are a subreaper).
struct Adopted {
  pid_t pid;
  unsigned long generation;
};
struct Ready {
  unsigned long generation;
};  ///< READY=1 from it
struct WorkerStatus {
  unsigned long generation;
  std::string text;
};                           ///< STATUS= from it
struct Tick {};              ///< time passed (a deadline may be due)
struct UpgradeRequested {};  ///< SIGUSR2: upgrade in place (self_exec.h)
/// The pre-flight's verdict on the new binary: empty, it can take over; else why not.
struct PreflightDone {
  std::string refusal;
};
/// How the upgrade ended: the exec failed (in the old image), or, in the image that runs after
/// it, the new image took over (ok) or the old one came back with the new one's refusal.
struct UpgradeEnded {
  bool ok;
  std::string reason;
};
/// The settings from now on: --envdir changed what Perl's start_server reads from its own
/// environment (envdir.h). `source` names where they come from, for the log.
struct SettingsChanged {
  SupervisorSettings settings;
  std::string source;
};
}  // namespace event

using Event =
    std::variant<event::Start, event::Reload, event::Shutdown, event::Spawned, event::SpawnFailed,
                 event::ChildExited, event::Adopted, event::Ready, event::WorkerStatus, event::Tick,
                 event::UpgradeRequested, event::PreflightDone, event::UpgradeEnded,
                 event::SettingsChanged>;

namespace action {
struct Spawn {
  unsigned long generation;
  /// nullopt: a deploy, resolve the release afresh. Otherwise a respawn: run exactly this
  /// release, the one generation `release_of` ran when it died serving.
  std::optional<Release> release{};
  unsigned long release_of = 0;
};
struct Signal {
  pid_t pid;
  int signo;
};
struct WriteStatus {
  StatusSnapshot status;
};
struct Notify {
  enum class Kind { kReady, kReloading, kStopping, kStatus };
  Kind kind;
  std::string status;  ///< the STATUS= line
};
struct Log {
  std::string text;
  /// A line Perl's start_server prints too, worded as it is (its first part at least): it is
  /// printed bare, as Perl prints it, so that a log parser written for Perl's (anchored at
  /// ^) reads ours. Lines of ours carry "start_server: " (log.h).
  bool perl = false;
};
struct Exit {
  int code;
};
struct Preflight {};    ///< run the new binary's --upgrade-check on a copy of the state
struct ExecUpgrade {};  ///< exec the new binary with the state, once this turn's events are handled
}  // namespace action

using Action = std::variant<action::Spawn, action::Signal, action::WriteStatus, action::Notify,
                            action::Log, action::Exit, action::Preflight, action::ExecUpgrade>;

class Supervisor {
 public:
  using Phase = SupervisorPhase;  ///< status_format.h, where the phases get their names
  /// kFailed: not up in time and sent SIGKILL, or left behind by a worker that died (see
  /// left_behind); only its exit is awaited.
  enum class Role { kStarting, kCurrent, kOld, kFailed };

  struct Worker {
    unsigned long generation = 0;
    pid_t pid = 0;
    Role role = Role::kStarting;
    TimePoint spawned{};
    bool signalled = false;
    std::optional<TimePoint> kill_at;  ///< when a signalled worker gets SIGKILL (--drain-timeout)
    bool killed = false;
    int last_signal = 0;             ///< what it was sent, for processes of its adopted later
    std::string status;              ///< its last STATUS= (--ready=notify)
    std::vector<pid_t> descendants;  ///< its processes adopted by us (event::Adopted)
    Release release;
    unsigned long respawn_of = 0;  ///< not 0: it respawns the release of this generation
    bool left_behind = false;      ///< a process of a dead worker's generation, of any role
  };

  /// The last reload (SIGHUP, --restart, automatic restart): which generation, and how it went.
  struct ReloadRecord {
    unsigned long generation = 0;
    ReloadOutcome outcome = ReloadOutcome::kInProgress;
    std::string reason;  ///< why it failed
    TimePoint at{};      ///< when it began, or ended
  };

  explicit Supervisor(SupervisorSettings settings) : settings_(settings) {}

  /// Handles one event at `now` and every deadline due by then.
  std::vector<Action> handle(const Event& event, TimePoint now);
  /// Handles every event of `events`, in order, and only then the deadlines due by `now`: a
  /// READY=1 that was received in time but read late (we were not scheduled) still counts.
  std::vector<Action> handle(const std::vector<Event>& events, TimePoint now);

  /// When handle(Tick) must be called next; nullopt: only an event can change anything.
  std::optional<TimePoint> next_deadline() const;

  Phase phase() const { return phase_; }
  const SupervisorSettings& settings() const { return settings_; }
  const std::vector<Worker>& workers() const { return workers_; }
  /// One line for systemd's STATUS= and the logs (its text: status_format's status_line).
  std::string status_line() const;
  /// Fills the supervisor's part of `--status` (phase, generations, last reload, back-off).
  void describe(StatusDetail& out) const;

  /// What goes across an upgrade in place (upgrade_state.h), and taking it back in the new
  /// image, where the upgrade stays under way until event::UpgradeEnded. restore throws
  /// std::invalid_argument for a phase or role it does not know.
  UpgradeState::Supervisor snapshot() const;
  void restore(const UpgradeState::Supervisor& saved);

 private:
  void on(const event::Start&, TimePoint now);
  void on(const event::Reload&, TimePoint now);
  void on(const event::Shutdown&, TimePoint now);
  void on(const event::Spawned&, TimePoint now);
  void on(const event::SpawnFailed&, TimePoint now);
  void on(const event::ChildExited&, TimePoint now);
  void on(const event::Adopted& e, TimePoint now);
  void on(const event::Ready& e, TimePoint now);
  void on(const event::WorkerStatus& e, TimePoint now);
  void on(const event::Tick&, TimePoint) {}
  void on(const event::SettingsChanged& e, TimePoint now);
  // supervisor_upgrade.cc
  void on(const event::UpgradeRequested&, TimePoint now);
  void on(const event::PreflightDone& e, TimePoint now);
  void on(const event::UpgradeEnded& e, TimePoint now);
  void end_upgrade(bool ok, const std::string& reason, TimePoint now);
  void describe_upgrade(StatusDetail& out) const;

  void advance(TimePoint now);
  void spawn(TimePoint now, bool respawn = false);
  void begin_reload(TimePoint now);
  void promote(TimePoint now);
  void signal_old(TimePoint now);
  void send(Worker& w, int signo, TimePoint now);
  void send_to(pid_t pid, int signo);
  void ready_timed_out(TimePoint now);
  void finish_reload(TimePoint now);
  void start_failed(unsigned long generation, const std::string& reason, TimePoint now);
  void schedule_respawn(TimePoint now);
  std::optional<TimePoint> auto_restart_due() const;
  void write_status();
  void notify(action::Notify::Kind kind);
  void log(std::string text);
  void perl_log(std::string text);  ///< action::Log::perl
  void exit_if_done();
  bool took_over_by_descendant(Worker& w, const event::ChildExited& e);
  void abandon_descendants(const Worker& gone, TimePoint now);

  Worker* find(pid_t pid);
  Worker* find_descendant(pid_t pid);
  Worker* find_generation(unsigned long generation);
  Worker* find(Role role);
  std::size_t count(Role role) const;
  std::string pids(Role role, bool unsignalled_only) const;

  SupervisorSettings settings_;
  Phase phase_ = Phase::kIdle;
  std::vector<Worker> workers_;  ///< live processes, by generation
  unsigned long generation_ = 0;
  TimePoint last_spawn_{};
  TimePoint last_restart_{};
  std::optional<TimePoint> probation_end_;
  std::optional<TimePoint> respawn_at_;
  std::optional<TimePoint> kill_old_at_;
  unsigned failures_ = 0;  ///< failed starts in a row, for the back-off
  bool reload_queued_ = false;
  int stop_signal_ = SIGTERM;   ///< what the shutdown sends, for a worker spawned after it
  bool spawning_ = false;       ///< a Spawn action is out and its outcome not yet back
  std::string starting_error_;  ///< exec error of the generation on probation
  unsigned long failed_generation_ = 0;
  bool retrying_ = false;  ///< a failed reload is being retried (--reload-retry)
  std::string failure_;
  std::string last_status_;
  /// Set when the serving generation dies: what the respawns run, until a deploy.
  std::optional<Worker> died_serving_;
  unsigned long respawn_of_ = 0;  ///< the Spawn out is a respawn of this generation's release
  std::optional<ReloadRecord> last_reload_;
  enum class Upgrade { kNone, kPreflight, kExec };
  struct UpgradeRecord {
    unsigned long number = 0;
    ReloadOutcome outcome = ReloadOutcome::kInProgress;
    std::string reason;
    TimePoint at{};  ///< when it was asked for, or ended
    std::chrono::microseconds took{};
  };
  Upgrade upgrade_ = Upgrade::kNone;
  unsigned long upgrades_ = 0;  ///< how many were asked for (not refused at once)
  std::optional<TimePoint> upgrade_requested_;
  std::optional<UpgradeRecord> last_upgrade_;
  std::vector<Action> out_;
};

/// "exited with status 1", "killed by signal KILL".
std::string describe_wait_status(int status);

}  // namespace starter
