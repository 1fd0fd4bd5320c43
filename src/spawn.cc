#include "spawn.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.h"

namespace starter {

namespace {

struct ChildFailure {
  int step;  // 1: chdir, 2: execve, 3: dup2 of stdin
  int error;
};

[[noreturn]] void fail_in_child(int report_fd, int step, int error) {
  ChildFailure failure{step, error};
  (void)!::write(report_fd, &failure, sizeof failure);  // the parent sees EOF if this fails
  ::_exit(255);
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

/// Writes `pid` in decimal over the placeholder digits after "LISTEN_PID=". Async-signal-safe.
void write_pid(char* digits, pid_t pid) {
  char reversed[16];
  int n = 0;
  do {
    reversed[n++] = static_cast<char>('0' + pid % 10);
    pid /= 10;
  } while (pid > 0);
  while (n > 0) *digits++ = reversed[--n];
  *digits = '\0';
}

constexpr const char* kListenPid = "LISTEN_PID=";
constexpr std::size_t kListenPidLength = 11;

}  // namespace

std::string env_value(const EnvMap& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

SpawnResult spawn_process(const SpawnRequest& request, const SignalMask& mask) {
  std::vector<char*> argv = c_strings(request.argv);
  std::vector<std::string> env;
  env.reserve(request.env.size() + 1);
  for (const auto& [name, value] : request.env) env.push_back(name + "=" + value);
  // The child's pid is known only in the child: reserve room for it now.
  if (request.listen_pid) env.push_back(std::string(kListenPid) + std::string(16, '0'));
  std::vector<char*> envp = c_strings(env);
  Pipe report = Pipe::create();

  pid_t pid = ::fork();
  if (pid < 0) throw SysError("fork", request.argv.empty() ? "" : request.argv[0]);
  if (pid == 0) {
    // Only async-signal-safe calls from here on; never return into the daemon's code.
    mask.restore_in_child();
    if (request.listen_pid) write_pid(envp[env.size() - 1] + kListenPidLength, ::getpid());
    if (request.stdin_fd >= 0 && ::dup2(request.stdin_fd, STDIN_FILENO) < 0)
      fail_in_child(report.write.get(), 3, errno);
    for (int fd : request.inherit_fds) ::fcntl(fd, F_SETFD, 0);
    if (!request.dir.empty() && ::chdir(request.dir.c_str()) < 0)
      fail_in_child(report.write.get(), 1, errno);
    int error = ENOENT;
    for (const auto& path : request.exec_paths) {
      ::execve(path.c_str(), argv.data(), envp.data());
      // As execvp: keep looking after ENOENT/ENOTDIR, remember EACCES, stop at anything else.
      if (errno == EACCES)
        error = EACCES;
      else if (errno != ENOENT && errno != ENOTDIR) {
        error = errno;
        break;
      }
    }
    fail_in_child(report.write.get(), 2, error);
  }

  report.write.reset();
  SpawnResult result;
  result.pid = pid;
  ChildFailure failure{};
  if (read_some(report.read.get(), &failure, sizeof failure) == static_cast<long>(sizeof failure)) {
    result.error = failure.error;
    result.failed_step = failure.step == 1   ? call_text("chdir", request.dir)
                         : failure.step == 3 ? call_text("dup2", "", "STDIN_FILENO")
                                             : call_text("execve", request.argv[0]);
  }
  return result;
}

std::vector<ChildExit> reap_children() {
  std::vector<ChildExit> out;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      out.push_back({pid, status});
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    return out;  // 0: children left but none exited; ECHILD: no children
  }
}

std::vector<std::string> exec_candidates(const std::string& program, const std::string& path_env) {
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> out;
  std::string path = path_env.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_env;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = path.find(':', start);
    std::string dir =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    out.push_back((dir.empty() ? std::string(".") : dir) + "/" + program);
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

void check_executable(const std::string& program, const std::string& path_env,
                      const std::string& dir) {
  int error = ENOENT;
  for (std::string candidate : exec_candidates(program, path_env)) {
    if (candidate.front() != '/' && !dir.empty()) candidate = dir + "/" + candidate;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) < 0) continue;
    if (S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) return;
    error = EACCES;
  }
  throw UsageError("server program " + quote(program) + ": " + errno_text(error));
}

}  // namespace starter
