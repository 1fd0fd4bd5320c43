#pragma once
/// --log-file: a file opened for append, or "| command" run by /bin/sh with its stdin on a
/// pipe. Once start-up is done, our stdout and stderr (and so the workers') point at it.

#include <sys/types.h>

#include <string>

#include "fd.h"
#include "signals.h"

namespace starter {

class LogTarget {
 public:
  /// Opens `spec`; throws SysError naming the file or command. `env` is the logger's
  /// environment (NAME=VALUE), used for the pipe form only.
  static LogTarget open(const std::string& spec, const std::vector<std::string>& env, const SignalMask& mask);

  /// dup2 onto stdout and stderr; the original descriptor is closed.
  void redirect_stdout_stderr();
  /// The pipe command's pid (a child of ours), or -1.
  pid_t logger_pid() const { return logger_pid_; }

 private:
  UniqueFd fd_;
  pid_t logger_pid_ = -1;
};

/// Whether a --log-file value is the pipe form ("| command", spaces allowed around '|').
bool is_pipe_spec(const std::string& spec, std::string* command = nullptr);

}  // namespace starter
