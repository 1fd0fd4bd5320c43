#pragma once
/// Status file (Perl's format, read by `start_server --restart` and by other tools):
///
///     GEN:PID              one line per live generation, current and old, by generation
///     reload-failed:GEN:REASON
///                          (ours) present while the last reload failed; GEN is the
///                          generation that failed, REASON one line.
///     starting:GEN:PID     (ours) the generation on probation (not up yet), if any
///     NAME:TEXT            (ours) other notes, e.g. "limits:..." with --ready=notify and
///                          "backoff:..." while failed starts are being retried.
///
/// Perl's readers match /^(\d+):/ and skip the lines of ours.
///
///     1:4242
///     2:4250
///
/// It is rewritten whenever the set changes, atomically (state_files.h).

#include <sys/types.h>

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
  std::string failure;  ///< empty: the last reload did not fail
  std::optional<GenerationPid> starting;  ///< on probation: "starting:GEN:PID"
  std::vector<std::string> notes;  ///< "NAME:TEXT" lines; NAME never starts with a digit
  bool operator==(const StatusSnapshot&) const = default;
};

std::string format_status(const StatusSnapshot& status);
/// Reads what format_status writes, and Perl's files (any order, unknown lines skipped).
StatusSnapshot parse_status(std::string_view text);

}  // namespace starter
