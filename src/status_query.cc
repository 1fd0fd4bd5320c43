#include "status_query.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <thread>

#include "control.h"
#include "error.h"
#include "fd.h"
#include "log.h"
#include "state_files.h"
#include "status_detail.h"
#include "status_report.h"

namespace starter {

namespace {

using namespace std::chrono;

long long ms_of(auto time_point) {
  return duration_cast<milliseconds>(time_point.time_since_epoch()).count();
}

/// The detail file of `pid`, or nullopt when it is absent, stale or not ours. Throws
/// SysError when it exists but cannot be read (permissions).
std::optional<StatusDetail> read_detail(const std::string& path, pid_t pid) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const SysError& e) {
    if (e.code().value() == ENOENT) return std::nullopt;
    throw;
  }
  auto detail = parse_detail(text);
  if (!detail || detail->pid != pid) return std::nullopt;
  return detail;
}

}  // namespace

int status(const Config& config) {
  // A pid file we may not read says nothing about whether start_server runs: say so.
  if (::access(config.pid_file.c_str(), R_OK) < 0 && errno != ENOENT)
    throw SysError("access", config.pid_file);
  if (!PidFile::is_locked(config.pid_file)) {
    log_line(not_running_text(config.pid_file));
    return kNotRunning;
  }
  pid_t pid = PidFile::read_pid(config.pid_file);
  std::string path = detail_path(config.pid_file);
  // start_server writes the file just after the pid file, as its loop starts: a query in
  // between waits for it, briefly.
  auto deadline = steady_clock::now() + seconds(2);
  std::optional<StatusDetail> detail;
  while (!(detail = read_detail(path, pid)) && steady_clock::now() < deadline) {
    if (!PidFile::is_locked(config.pid_file)) {
      log_line(not_running_text(config.pid_file));
      return kNotRunning;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (!detail) {
    log_line("start_server (pid " + std::to_string(pid) + ") keeps no status in " + quote(path) +
             " (Perl's start_server, or an older one?)");
    return 1;
  }
  long long now = ms_of(steady_clock::now()), unix_now = ms_of(system_clock::now());
  std::cout << (config.json ? status_json(*detail, now, unix_now)
                            : status_table(*detail, now, unix_now))
            << std::flush;
  return kControlOk;
}

}  // namespace starter
