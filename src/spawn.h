#pragma once
/// Starting and reaping child processes. Everything a child needs (argv, envp, candidate
/// paths) is built before fork, so the child runs only async-signal-safe calls. What a worker
/// gets is decided by worker_launch.h; here it is only carried out.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "signals.h"

namespace starter {

/// A process's environment, by name.
using EnvMap = std::map<std::string, std::string>;

/// `name`'s value in `env`, or "" when it is not set.
std::string env_value(const EnvMap& env, const std::string& name);

struct SpawnRequest {
  std::vector<std::string> argv;
  std::vector<std::string> exec_paths;  ///< execve candidates in order (a PATH search, done early)
  EnvMap env;                           ///< the whole environment
  std::vector<int> inherit_fds;         ///< lose close-on-exec in the child: the listeners
  std::string dir;                      ///< chdir here first, if not empty
  int stdin_fd = -1;                    ///< becomes the child's stdin, if >= 0
  bool listen_pid = false;              ///< add LISTEN_PID=<the child's own pid> to env
};

struct SpawnResult {
  pid_t pid = -1;
  int error = 0;  ///< errno of the step that failed in the child; 0 once exec succeeded
  std::string
      failed_step;  ///< "chdir('DIR')" or "execve('PROG')" (call_text); the child then exits 255
};

/// Forks and execs. The parent learns through a close-on-exec pipe whether exec succeeded
/// (the h2o/skalibs errno-pipe pattern). Throws SysError when fork itself fails.
SpawnResult spawn_process(const SpawnRequest& request, const SignalMask& mask);

struct ChildExit {
  pid_t pid;
  int status;  ///< raw wait status, as Perl logs it
};

/// waitpid(-1, WNOHANG) until nothing is left to reap.
std::vector<ChildExit> reap_children();

/// Where execvp would look for `program` given PATH (a program with a '/' is used as is).
std::vector<std::string> exec_candidates(const std::string& program, const std::string& path_env);

/// Throws UsageError unless `program` names an executable file, looked up as the worker
/// will (relative to `dir` when it has a '/', else along PATH).
void check_executable(const std::string& program, const std::string& path_env,
                      const std::string& dir);

}  // namespace starter
