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

LogTarget LogTarget::open(const std::string& spec, EnvMap env, const SignalMask& mask) {
  LogTarget target;
  if (!is_pipe_spec(spec, &target.command_)) {
    target.fd_.reset(
        ::open(spec.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0666));
    if (!target.fd_) throw SysError("open", spec);
    return target;
  }
  if (target.command_.empty())
    throw UsageError("--log-file: invalid value " + quote(spec) + ": no command after '|'");
  Pipe pipe = Pipe::create();
  target.reader_ = std::move(pipe.read);
  target.fd_ = std::move(pipe.write);
  // Opening the pipe again through /proc gives a new open file description, so O_NONBLOCK
  // is ours alone: setting it on the shared one would hand workers EAGAIN. Without /proc our
  // lines block like the workers' do.
  std::string self = "/proc/self/fd/" + std::to_string(target.fd_.get());
  target.own_.reset(::open(self.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  target.env_ = std::move(env);
  target.start_logger(mask);
  return target;
}

void LogTarget::start_logger(const SignalMask& mask) {
  SpawnRequest request;
  request.argv = {"/bin/sh", "-c", command_};
  request.exec_paths = {"/bin/sh"};
  request.env = env_;
  request.stdin_fd = reader_.get();
  SpawnResult result = spawn_process(request, mask);
  logger_pid_ = result.pid;
  if (result.error) throw SysError(result.failed_step, "", result.error).during("--log-file");
}

void LogTarget::restart_logger(const SignalMask& mask) {
  logger_pid_ = -1;
  start_logger(mask);
}

void LogTarget::redirect_stdout_stderr() {
  if (::dup2(fd_.get(), STDOUT_FILENO) < 0)
    throw SysError("dup2", "").flag("STDOUT_FILENO").during("--log-file");
  if (::dup2(fd_.get(), STDERR_FILENO) < 0)
    throw SysError("dup2", "").flag("STDERR_FILENO").during("--log-file");
  fd_.reset();
}

}  // namespace starter
