#pragma once
/// --log-file: a file opened for append, or "| command" run by /bin/sh with its stdin on a
/// pipe. Once start-up is done, our stdout and stderr (and so the workers') point at it.
///
/// The pipe form is kept alive the daemontools way: we hold the pipe's read end too, so a
/// writer never gets EPIPE (or a worker SIGPIPE) when the command exits, and the command is
/// started again on the same pipe; what was written meanwhile waits in the pipe. Our own
/// lines go through a non-blocking description of the pipe, so a command that stops reading
/// can never block the event loop (workers' writes block, as they would anywhere).

#include <sys/types.h>

#include <string>

#include "fd.h"
#include "signals.h"
#include "spawn.h"

namespace starter {

class LogTarget {
 public:
  /// Opens `spec`; throws SysError naming the file or command. `env` is the logger's
  /// environment, used for the pipe form only.
  static LogTarget open(const std::string& spec, EnvMap env, const SignalMask& mask);

  /// What an upgrade in place hands on: stdout and stderr survive the exec by themselves.
  struct Saved {
    int own_fd = -1;     ///< -1: our lines go to stderr
    int reader_fd = -1;  ///< -1: not the pipe form
    pid_t logger_pid = -1;
  };
  Saved saved() const { return {own_.get(), reader_.get(), logger_pid_}; }
  /// The target an earlier image of this process opened (stdout and stderr already point at
  /// it); takes ownership of the descriptors in `saved`.
  static LogTarget adopt(const std::string& spec, EnvMap env, Saved saved);

  /// dup2 onto stdout and stderr.
  void redirect_stdout_stderr();
  /// Where our own log lines go: the non-blocking description of the pipe, or stderr.
  int own_fd() const { return own_ ? own_.get() : 2; }
  /// The pipe command's pid (a child of ours), or -1.
  pid_t logger_pid() const { return logger_pid_; }
  bool is_pipe() const { return reader_.valid(); }
  /// Starts the pipe command again on the same pipe. Throws SysError.
  void restart_logger(const SignalMask& mask);

 private:
  void start_logger(const SignalMask& mask);

  UniqueFd fd_;      ///< the file, or the pipe's write end
  UniqueFd reader_;  ///< the pipe's read end: the command's stdin, held by us as well
  UniqueFd own_;     ///< a non-blocking description of the pipe's write end
  std::string command_;
  EnvMap env_;
  pid_t logger_pid_ = -1;
};

/// Whether a --log-file value is the pipe form ("| command", spaces allowed around '|').
bool is_pipe_spec(const std::string& spec, std::string* command = nullptr);

}  // namespace starter
