#include "log_target.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>

#include "error.h"
#include "spawn.h"

namespace starter {

bool is_pipe_spec(const std::string& spec, std::string* command) {
  std::size_t i = 0;
  while (i < spec.size() && std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
  if (i == spec.size() || spec[i] != '|') return false;
  ++i;
  while (i < spec.size() && std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
  if (command) *command = spec.substr(i);
  return true;
}

LogTarget LogTarget::open(const std::string& spec, const std::vector<std::string>& env, const SignalMask& mask) {
  LogTarget target;
  std::string command;
  if (!is_pipe_spec(spec, &command)) {
    target.fd_.reset(::open(spec.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0666));
    if (!target.fd_) throw SysError("open", spec);
    return target;
  }
  if (command.empty()) throw UsageError("--log-file: no command after '|'");
  Pipe pipe = Pipe::create();
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c", command};
  request.exec_paths = {"/bin/sh"};
  request.env = env;
  request.stdin_fd = pipe.read.get();
  SpawnResult result = spawn_process(request, mask);
  if (result.error) throw SysError(result.failed_step, "--log-file", result.error);
  target.logger_pid_ = result.pid;
  target.fd_ = std::move(pipe.write);
  return target;
}

void LogTarget::redirect_stdout_stderr() {
  if (::dup2(fd_.get(), STDOUT_FILENO) < 0) throw SysError("dup2", "--log-file to stdout");
  if (::dup2(fd_.get(), STDERR_FILENO) < 0) throw SysError("dup2", "--log-file to stderr");
  fd_.reset();
}

}  // namespace starter
