#pragma once
/// Status file (Perl's format, read by `start_server --restart` and by other tools):
///
///     GEN:PID                  one line per live generation, current and old, by generation
///
/// and lines of ours, each "NAME:TEXT" with exactly one ':' and NAME not a number:
///
///     starting:generation GEN pid PID   the generation on probation (not up yet), if any
///     reload-failed:generation GEN ...  while the last reload failed, and why
///     reload-retrying:yes               after it: new generations are still being tried
///     limits:ready=notify ready-timeout=60s drain-timeout=0s backoff-max=60s
///                                       with --ready=notify (limits_note)
///     backoff:N failed starts in a row  while a retry waits longer than --interval (backoff_note)
///
/// for example
///
///     1:4242
///     2:4250
///     starting:generation 3 pid 4261
///
/// Readers in the wild: Perl's `--restart` matches /^(\d+):/; ruby-server-starter's
/// UnicornListener.slow_start does `readlines.map { split(':') }.to_h`, which raises on a line
/// with two colons, hence the one-colon rule (colons in a reason become ';').
/// It is rewritten whenever the set changes, atomically (state_files.h).

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace starter {

struct GenerationPid {
  unsigned long generation = 0;
  pid_t pid = 0;
  bool operator==(const GenerationPid&) const = default;
};

struct StatusSnapshot {
  std::vector<GenerationPid> live;  ///< increasing generation
  unsigned long failed_generation = 0;
  std::string failure;    ///< why, "generation GEN ..."; empty: the last reload did not fail
  bool retrying = false;  ///< with a failure: start_server keeps trying new generations
  std::optional<GenerationPid> starting;  ///< on probation
  std::vector<std::string> notes;         ///< "NAME:TEXT" lines; NAME never starts with a digit
  bool operator==(const StatusSnapshot&) const = default;
};

std::string format_status(const StatusSnapshot& status);

/// The "limits:" note. Perl's file holds GEN:PID lines only; the notes appear where ours
/// behaves differently (--ready=notify).
std::string limits_note(std::chrono::milliseconds ready_timeout,
                        std::chrono::milliseconds drain_timeout,
                        std::chrono::milliseconds backoff_max);
/// The "backoff:" note: `failures` failed starts in a row, the next attempt later than --interval.
std::string backoff_note(unsigned failures);

/// The supervisor's phase (supervisor.h says what each means).
enum class SupervisorPhase { kIdle, kStarting, kServing, kReloading, kRetiring, kStopping };

/// "idle", "starting", ...: the phase as --status names it.
const char* phase_name(SupervisorPhase phase);

/// What the one-line status says, as plain values (Supervisor::status_line gathers them).
struct StatusLineFacts {
  SupervisorPhase phase = SupervisorPhase::kIdle;
  std::optional<GenerationPid> current;   ///< the serving generation
  std::string current_status;             ///< its last STATUS= (--ready=notify)
  std::optional<GenerationPid> starting;  ///< on probation
  std::optional<unsigned long> spawning;  ///< a Spawn of this generation is out
  std::size_t workers = 0;                ///< live processes
  std::size_t old_draining = 0;           ///< old generations not yet exited
  unsigned failures = 0;                  ///< failed starts in a row
  std::string failure;                    ///< why the last restart failed; empty: it did not
  bool retrying = false;                  ///< with a failure: new generations are still tried
};

/// One line for systemd's STATUS= and the logs, e.g. "generation 2 (pid 4250) serving, 1 old
/// draining".
std::string status_line(const StatusLineFacts& facts);

/// "5s", or "1500ms" when not whole seconds: a duration in the status file and the logs.
std::string duration_text(std::chrono::milliseconds duration);
/// Reads what format_status writes, and Perl's files (any order, unknown lines skipped).
StatusSnapshot parse_status(std::string_view text);

/// Strict decimal: digits only, the whole text, no sign or space (pids, generations); an
/// out-parameter form of parse_integer (number.h).
bool parse_number(std::string_view text, unsigned long& out);

/// A pid: strict decimal from 1 to INT_MAX. Anything larger would wrap to a negative pid_t,
/// and kill(-1, ...) signals every process we may signal.
bool parse_pid(std::string_view text, pid_t& out);

}  // namespace starter
