#include "control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <iostream>
#include <thread>

#include "error.h"
#include "fd.h"
#include "json.h"
#include "lock_holder.h"
#include "log.h"
#include "state_files.h"

namespace starter {

namespace {

/// The status file as it is now; an absent file reads as empty (start_server may not have
/// written it yet, or removed it while exiting).
StatusSnapshot read_status(const std::string& path) {
  try {
    return parse_status(read_file(path));
  } catch (const SysError& e) {
    if (e.code().value() == ENOENT) return {};
    throw;
  }
}

/// The newest generation the file mentions, serving, starting or failed: the one our HUP
/// brings is newer (a reload already under way queues ours behind it), and a failure
/// already there before it is not ours to report.
unsigned long newest_generation(const StatusSnapshot& status) {
  unsigned long newest =
      std::max(status.live.empty() ? 0 : status.live.back().generation, status.failed_generation);
  return std::max(newest, status.starting ? status.starting->generation : 0);
}

}  // namespace

std::string not_running_text(const std::string& pid_file) {
  return "no running start_server holds the pid file " + quote(pid_file);
}

namespace {

int not_running(const std::string& pid_file) {
  log_line(not_running_text(pid_file));
  return kNotRunning;
}

/// Sets `pid` to the running start_server of `pid_file`, once proven to be the process
/// holding the file's lock as this pid namespace sees it, and returns kControlOk; otherwise
/// says why and returns the exit status.
/// A pid file shared with a container holds the daemon's pid inside it (often 1): signalling
/// that number out here would hit another process, perhaps our own init.
int find_daemon(const std::string& pid_file, pid_t& pid, std::string& reason) {
  if (!PidFile::is_locked(pid_file)) {
    reason = not_running_text(pid_file);
    log_line(reason);
    return kNotRunning;
  }
  pid = PidFile::read_pid(pid_file);
  std::optional<pid_t> holder = flock_holder(pid_file);
  if (holder == pid) return kControlOk;
  reason = "pid file " + quote(pid_file) + " names pid " + std::to_string(pid) +
           ", but its lock is held by " +
           (!holder || *holder == 0
                ? std::string("a process outside this pid namespace (/proc/locks hides it)")
                : "pid " + std::to_string(*holder)) +
           "; not signalling it";
  log_line(reason);
  return kNotOurs;
}

/// Wakes up when the status file's directory changes: start_server replaces the file by
/// rename, which a watch on the file itself would lose. Without inotify it just sleeps a
/// little, and the caller polls.
class StatusWatch {
 public:
  explicit StatusWatch(const std::string& status_file)
      : fd_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {
    std::string dir = status_file.substr(0, status_file.rfind('/') + 1);
    if (fd_ && ::inotify_add_watch(fd_.get(), dir.empty() ? "." : dir.c_str(),
                                   IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE) < 0)
      fd_.reset();
  }

  void wait(std::chrono::milliseconds at_most) {
    if (!fd_) {
      std::this_thread::sleep_for(std::min(at_most, std::chrono::milliseconds(20)));
      return;
    }
    pollfd pfd{fd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(at_most.count())) <= 0) return;
    char events[4096];
    while (read_some(fd_.get(), events, sizeof events) > 0) {
    }
  }

 private:
  UniqueFd fd_;
};

/// How --restart ended, for --json: {"outcome", "generation", "pids", "reason"} on stdout.
struct RestartReport {
  static const char* outcome_of(int code) {
    switch (code) {
      case kControlOk:
        return "ok";
      case kNotRunning:
        return "not-running";
      case kTimedOut:
        return "timeout";
      default:
        return "failed";  // kRestartFailed, and any status that signalled nothing
    }
  }

  bool json = false;
  int finish(int code, const StatusSnapshot& status, unsigned long generation,
             const std::string& reason) const {
    if (!json) return code;
    std::string pids;
    for (const auto& g : status.live) pids += (pids.empty() ? "" : ",") + std::to_string(g.pid);
    std::cout << "{\"outcome\":\"" << outcome_of(code)
              << "\",\"generation\":" << (generation ? std::to_string(generation) : "null")
              << ",\"pids\":[" << pids << "],\"reason\":" << json_string_or_null(reason)
              << ",\"retrying\":" << (status.retrying ? "true" : "false") << "}\n"
              << std::flush;
    return code;
  }
};

}  // namespace

int restart(const Config& config) {
  using namespace std::chrono;
  RestartReport report{config.json};
  pid_t pid = 0;
  std::string refused;
  if (int status = find_daemon(config.pid_file, pid, refused); status != kControlOk)
    return report.finish(status, {}, 0, refused);
  unsigned long before = newest_generation(read_status(config.status_file));

  StatusWatch watch(config.status_file);  // before the HUP, so that no change is missed
  if (::kill(pid, SIGHUP) < 0) {
    std::string reason = "failed to send SIGHUP to start_server (pid " + std::to_string(pid) +
                         "): " + errno_text(errno);
    log_line(reason);
    return report.finish(kNotRunning, {}, 0, reason);
  }
  auto deadline = steady_clock::now() + config.restart_timeout;
  for (;;) {
    StatusSnapshot status = read_status(config.status_file);
    if (status.live.size() == 1 && status.live.front().generation > before)
      return report.finish(kControlOk, status, status.live.front().generation, {});
    if (!status.failure.empty() && status.failed_generation > before) {
      log_line("restart failed: " + status.failure +
               (status.retrying ? "; start_server keeps starting new generations until one is up"
                                : "; the serving generation stays until the next restart"));
      return report.finish(kRestartFailed, status, status.failed_generation, status.failure);
    }
    if (!PidFile::is_locked(config.pid_file)) {
      std::string reason =
          "start_server (pid " + std::to_string(pid) + ") exited during the restart";
      log_line(reason);
      return report.finish(kNotRunning, {}, 0, reason);
    }
    auto now = steady_clock::now();
    if (now >= deadline) {
      std::string serving;
      for (const auto& g : status.live)
        serving += " " + std::to_string(g.generation) + ":" + std::to_string(g.pid);
      std::string reason = "restart timed out after " +
                           std::to_string(duration_cast<seconds>(config.restart_timeout).count()) +
                           "s; generations alive:" + (serving.empty() ? " none" : serving);
      log_line(reason);
      return report.finish(kTimedOut, status, status.starting ? status.starting->generation : 0,
                           reason);
    }
    // A dying start_server changes no file: look again at least every 100 ms.
    watch.wait(
        std::min(duration_cast<milliseconds>(deadline - now) + milliseconds(1), milliseconds(100)));
  }
}

int stop(const Config& config) {
  using namespace std::chrono;
  UniqueFd fd(::open(config.pid_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) return not_running(config.pid_file);
  pid_t pid = 0;
  std::string refused;
  if (int status = find_daemon(config.pid_file, pid, refused); status != kControlOk) return status;
  log_raw("stop_server (pid:" + std::to_string(::getpid()) +
          ") stopping now (pid:" + std::to_string(pid) + ")...");
  if (::kill(pid, SIGTERM) < 0) {
    log_line("failed to send SIGTERM to start_server (pid " + std::to_string(pid) +
             "): " + errno_text(errno));
    return kNotRunning;
  }
  // The lock is released when start_server exits, after it removed the pid file. A stop
  // waits for the workers to drain, which can take long: --stop-timeout bounds the wait, and
  // the stop goes on after we give up.
  auto deadline = steady_clock::now() + config.stop_timeout;
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return kControlOk;
    if (errno != EWOULDBLOCK && errno != EINTR) throw SysError("flock", config.pid_file);
    if (config.stop_timeout.count() > 0 && steady_clock::now() >= deadline) {
      log_line("stop timed out after " +
               std::to_string(duration_cast<seconds>(config.stop_timeout).count()) +
               "s; start_server (pid " + std::to_string(pid) + ") is still stopping");
      return kTimedOut;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

}  // namespace starter
