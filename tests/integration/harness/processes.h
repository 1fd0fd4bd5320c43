#pragma once
/// Processes for the integration tests: start_server (or another program) in the background
/// or run to completion, always with a scrubbed environment and a bounded wait, and cleanup
/// that leaves nothing behind: TERM, then KILL, then reap, then KILL any worker pid that a
/// report file names and that still runs a test worker (pids we know, never a name).

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"
#include "files.h"

namespace itest {

/// Whether `pid` exists and is not a zombie.
bool process_alive(pid_t pid);
/// The parent of `pid` (from /proc/PID/stat), or 0.
pid_t parent_of(pid_t pid);
/// The live children of `pid` (from /proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);
/// Pids (other than ours) whose command line contains `needle`, e.g. a TempDir path.
std::vector<pid_t> processes_mentioning(std::string_view needle);
/// What /proc/PID/fd/FD links to ("socket:[INODE]" for a socket), "" when unreadable.
std::string fd_identity(pid_t pid, int fd);
/// Every descriptor `pid` has open, with fd_identity() of each; empty when unreadable.
std::map<int, std::string> fds_of(pid_t pid);

/// Scope guard for processes a test did not start itself: at scope exit each adopted pid gets
/// TERM, then KILL after a bounded wait; then every worker pid named in a watched report file
/// that still runs a test worker gets KILL (pids we know, never a name-based kill).
class Cleanup {
 public:
  Cleanup() = default;
  ~Cleanup();
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;

  void watch_report(const std::string& path) { reports_.push_back(path); }
  void adopt(pid_t pid) { adopted_.push_back(pid); }

 private:
  std::vector<std::string> reports_;
  std::vector<pid_t> adopted_;
};

/// start_server (or any program, when `program` is given) running in the background, with
/// stdout+stderr in a file of the TempDir, cwd = the TempDir, stdin = /dev/null, and an
/// environment without any SERVER_STARTER_* / ENVDIR / auto-restart / systemd variables except
/// those passed in `env` ("NAME=VALUE").
class StarterProcess {
 public:
  StarterProcess(const TempDir& dir, const std::vector<std::string>& args,
                 const std::vector<std::string>& env = {}, const std::vector<int>& inherit_fds = {},
                 const std::string& program = kStarter);
  ~StarterProcess();
  StarterProcess(const StarterProcess&) = delete;
  StarterProcess& operator=(const StarterProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  /// The exit status (128+N when killed by signal N) once it exited, or nullopt after timeout.
  std::optional<int> wait_exit(Millis timeout = kTimeout);
  bool running();
  /// stdout+stderr so far.
  std::string output() const;
  std::string stderr_text() const { return output(); }
  /// Also clean up the workers named in this report file (the TempDir's report is watched
  /// already).
  void watch_report(const std::string& path) { cleanup_.watch_report(path); }
  /// Another pid to terminate at cleanup (e.g. the daemonized start_server).
  void adopt(pid_t pid) { cleanup_.adopt(pid); }

 private:
  Cleanup cleanup_;  // runs after the destructor's body has stopped start_server itself
  std::string output_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct CommandResult {
  int status = -1;  ///< exit status, 128+N when killed by N, -1 on timeout (then killed)
  bool timed_out = false;
  long long elapsed_ms = 0;
  std::string out;
  std::string err;

  std::string text() const { return out + err; }
  std::vector<std::string> err_lines() const { return split_lines(err); }
};

/// Runs argv to completion (SIGKILL at `timeout`) with the same environment rules as
/// StarterProcess; stdout and stderr are captured separately.
CommandResult run_command(const std::vector<std::string>& argv, Millis timeout = kTimeout,
                          const std::vector<std::string>& env = {}, const std::string& cwd = "");
/// run_command with STARTER_BINARY prepended.
CommandResult run_starter(const std::vector<std::string>& args, Millis timeout = kTimeout,
                          const std::vector<std::string>& env = {}, const std::string& cwd = "");

}  // namespace itest
