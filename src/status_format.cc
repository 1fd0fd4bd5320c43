#include "status_format.h"

#include <algorithm>
#include <climits>
#include <optional>

#include "number.h"

namespace starter {

bool parse_number(std::string_view text, unsigned long& out) {
  std::optional<unsigned long> n = parse_integer<unsigned long>(text);
  if (n) out = *n;
  return n.has_value();
}

namespace {

/// One line, one ':' at most per line of ours (see the header).
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r')
      c = ' ';
    else if (c == ':')
      c = ';';
  return text;
}

/// Parses "generation N..." at the start of `text`; 0 when it is not there.
unsigned long generation_prefix(std::string_view text, std::string_view* rest = nullptr) {
  constexpr std::string_view kGeneration = "generation ";
  if (text.substr(0, kGeneration.size()) != kGeneration) return 0;
  text.remove_prefix(kGeneration.size());
  std::size_t end = text.find(' ');
  unsigned long gen = 0;
  if (!parse_number(text.substr(0, end), gen)) return 0;
  if (rest) *rest = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  return gen;
}

}  // namespace

bool parse_pid(std::string_view text, pid_t& out) {
  std::optional<pid_t> pid = parse_integer<pid_t>(text, 1, INT_MAX);
  if (pid) out = *pid;
  return pid.has_value();
}

std::string format_status(const StatusSnapshot& status) {
  std::string out;
  for (const auto& g : status.live)
    out += std::to_string(g.generation) + ":" + std::to_string(g.pid) + "\n";
  if (status.starting)
    out += "starting:generation " + std::to_string(status.starting->generation) + " pid " +
           std::to_string(status.starting->pid) + "\n";
  if (!status.failure.empty()) {
    std::string failure = one_line(status.failure);
    if (generation_prefix(failure) != status.failed_generation)
      failure = "generation " + std::to_string(status.failed_generation) + " " + failure;
    out += "reload-failed:" + failure + "\n";
    if (status.retrying) out += "reload-retrying:yes\n";
  }
  for (const auto& note : status.notes) {
    std::size_t colon = note.find(':');
    out += note.substr(0, colon + 1) +
           one_line(colon == std::string::npos ? "" : note.substr(colon + 1)) + "\n";
  }
  return out;
}

const char* phase_name(SupervisorPhase phase) {
  // A switch, not an array indexed by the enum: -Wswitch names a phase added without a name.
  switch (phase) {
    case SupervisorPhase::kIdle:
      return "idle";
    case SupervisorPhase::kStarting:
      return "starting";
    case SupervisorPhase::kServing:
      return "serving";
    case SupervisorPhase::kReloading:
      return "reloading";
    case SupervisorPhase::kRetiring:
      return "retiring";
    case SupervisorPhase::kStopping:
      return "stopping";
  }
  return "unknown";  // not reached: the cases cover the enum
}

namespace {

std::string describe(const GenerationPid& g) {
  return "generation " + std::to_string(g.generation) + " (pid " + std::to_string(g.pid) + ")";
}

}  // namespace

std::string status_line(const StatusLineFacts& f) {
  std::string line;
  switch (f.phase) {
    case SupervisorPhase::kIdle:
      return "idle";
    case SupervisorPhase::kStopping:
      if (f.workers == 0) return "stopped";
      return "stopping, waiting for " + std::to_string(f.workers) + " worker(s) to exit";
    case SupervisorPhase::kStarting:
      if (f.starting)
        line = "starting " + describe(*f.starting);
      else if (f.spawning)
        line = "starting generation " + std::to_string(*f.spawning);
      else
        line = "no generation serving, retrying shortly";
      break;
    case SupervisorPhase::kReloading:
      line =
          (f.current ? describe(*f.current) + " serving" : std::string("no generation serving")) +
          (f.starting ? ", starting " + describe(*f.starting)
                      : std::string(", starting a new generation"));
      break;
    case SupervisorPhase::kServing:
    case SupervisorPhase::kRetiring:
      line = f.current ? describe(*f.current) + " serving" : "no generation serving";
      break;
  }
  if (f.current && !f.current_status.empty()) line += " (worker: " + f.current_status + ")";
  if (f.phase == SupervisorPhase::kStarting && !f.starting && f.failures > 1)
    line += ", " + std::to_string(f.failures) + " failed starts in a row";
  if (f.old_draining) line += ", " + std::to_string(f.old_draining) + " old draining";
  if (f.phase == SupervisorPhase::kRetiring) line += ", old ones signalled after --kill-old-delay";
  if (!f.failure.empty())
    line += "; last restart failed: " + f.failure + (f.retrying ? ", retrying" : "");
  return line;
}

std::string duration_text(std::chrono::milliseconds duration) {
  auto ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string limits_note(std::chrono::milliseconds ready_timeout,
                        std::chrono::milliseconds drain_timeout,
                        std::chrono::milliseconds backoff_max) {
  return "limits:ready=notify ready-timeout=" + duration_text(ready_timeout) +
         " drain-timeout=" + duration_text(drain_timeout) +
         " backoff-max=" + duration_text(backoff_max);
}

std::string backoff_note(unsigned failures) {
  return "backoff:" + std::to_string(failures) + " failed starts in a row";
}

StatusSnapshot parse_status(std::string_view text) {
  StatusSnapshot status;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    unsigned long gen = 0;
    pid_t pid = 0;
    if (name == "starting") {
      std::string_view rest;
      gen = generation_prefix(value, &rest);
      if (gen && rest.substr(0, 4) == "pid " && parse_pid(rest.substr(4), pid))
        status.starting = GenerationPid{gen, pid};
    } else if (name == "reload-failed") {
      if ((gen = generation_prefix(value))) {
        status.failed_generation = gen;
        status.failure = std::string(value);
      }
    } else if (name == "reload-retrying") {
      status.retrying = value == "yes";
    } else if (parse_number(name, gen) && parse_pid(value, pid)) {
      status.live.push_back({gen, pid});
    }
  }
  std::sort(
      status.live.begin(), status.live.end(),
      [](const GenerationPid& a, const GenerationPid& b) { return a.generation < b.generation; });
  return status;
}

}  // namespace starter
