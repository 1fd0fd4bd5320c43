#include "processes.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>

#include "report.h"

extern char** environ;

namespace itest {
namespace {

// Variables a test must not inherit by accident from whoever runs the suite.
const char* const kScrubbed[] = {
    "SERVER_STARTER_PORT",
    "SERVER_STARTER_GENERATION",
    "ENVDIR",
    "ENABLE_AUTO_RESTART",
    "KILL_OLD_DELAY",
    "AUTO_RESTART_INTERVAL",
    "NOTIFY_SOCKET",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "LISTEN_PIDFDID",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
};

std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::set<std::string> overridden;
  for (const auto& e : extra) overridden.insert(name_of(e));
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = name_of(entry);
    bool scrub = overridden.count(name) > 0;
    for (const char* s : kScrubbed) scrub = scrub || name == s;
    if (!scrub) out.push_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Orphans (workers of a killed start_server, a daemonized start_server) are reparented to the
// test process, so they can be reaped and never linger as zombies of init.
void become_subreaper() {
  static bool done = false;
  if (!done) {
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1);  // best effort: only tidier cleanup depends on it
    done = true;
  }
}

// In the forked child: fds, cwd, signal state, then exec. Only async-signal-safe calls
// (everything was prepared before fork).
[[noreturn]] void exec_child(int out_fd, int err_fd, const char* cwd, const std::vector<int>& keep,
                             char** argv, char** envp) {
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  // Nothing of the test process leaks into start_server except what a test asks for.
  if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) != 0) {
    for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  for (int fd : keep) fcntl(fd, F_SETFD, 0);
  if (cwd != nullptr && *cwd != '\0' && chdir(cwd) != 0) _exit(126);
  execve(argv[0], argv, envp);
  _exit(127);
}

// STARTER_WRAPPER hook (issue 8, for scripts/valgrind-tests): when set, its words go in
// front of start_server in StarterProcess and run_starter ("/usr/bin/valgrind --log-file=...").
// Only start_server is wrapped, never the workers or other programs. Unset: no effect.
std::vector<std::string> starter_command(const std::string& program) {
  std::vector<std::string> words;
  const char* wrapper = std::getenv("STARTER_WRAPPER");
  if (program == kStarter && wrapper != nullptr) {
    std::istringstream in(wrapper);
    for (std::string word; in >> word;) words.push_back(word);
  }
  words.push_back(program);
  return words;
}

pid_t spawn(const std::vector<std::string>& argv_in, const std::vector<std::string>& env,
            int out_fd, int err_fd, const std::string& cwd, const std::vector<int>& keep) {
  become_subreaper();
  std::vector<std::string> argv_s = argv_in;
  std::vector<std::string> env_s = child_environment(env);
  std::vector<char*> argv = c_strings(argv_s);
  std::vector<char*> envp = c_strings(env_s);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(out_fd, err_fd, cwd.c_str(), keep, argv.data(), envp.data());
  return pid;
}

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// waitpid(WNOHANG) until it exits or `timeout` passes.
std::optional<int> wait_pid(pid_t pid, Millis timeout) {
  std::optional<int> result;  // set by the predicate, so the wait's own result says nothing more
  (void)wait_until(
      [&] {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
          result = decode_wait_status(status);
          return true;
        }
        if (r < 0 && errno != EINTR) {
          result = -1;  // not our child any more (or never was)
          return true;
        }
        return false;
      },
      timeout);
  return result;
}

std::string read_fd_from_start(int fd) {
  std::string out;
  char buf[4096];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

bool runs_a_test_worker(pid_t pid) {
  std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
  return argv0 == kFakeWorker || argv0 == kHelloWorker || argv0 == kHelloC || argv0 == kHelloCxx11;
}

// Terminates a pid that is not (necessarily) our child: TERM, bounded wait, KILL.
void terminate_foreign(pid_t pid) {
  if (!process_alive(pid)) return;
  kill(pid, SIGTERM);
  if (!wait_until([&] { return !process_alive(pid); }, 3s)) kill(pid, SIGKILL);
  // Cleanup, not a check: a pid that survives SIGKILL is beyond the test's reach anyway.
  (void)wait_until([&] { return !process_alive(pid); }, 2s);
  (void)waitpid(pid, nullptr, WNOHANG);  // reaps it if it was reparented to us; ECHILD otherwise
}

}  // namespace

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  char state = stat[paren + 2];
  return state != 'Z' && state != 'X';
}

pid_t parent_of(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(paren + 1));
  std::string state;
  pid_t ppid = 0;
  in >> state >> ppid;
  return ppid;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(task_dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::istringstream in(read_file(task_dir + "/" + e->d_name + "/children"));
    pid_t child = 0;
    while (in >> child)
      if (process_alive(child)) out.push_back(child);
  }
  closedir(d);
  return out;
}

std::vector<pid_t> processes_mentioning(std::string_view needle) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (pid <= 0 || pid == getpid()) continue;
    std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos && process_alive(pid)) out.push_back(pid);
  }
  closedir(d);
  return out;
}

std::string fd_identity(pid_t pid, int fd) {
  std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  char buf[256];
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

std::map<int, std::string> fds_of(pid_t pid) {
  std::map<int, std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    out.emplace(fd, fd_identity(pid, fd));
  }
  closedir(d);
  return out;
}

Cleanup::~Cleanup() {
  for (pid_t p : adopted_) terminate_foreign(p);
  // Workers left behind (e.g. start_server was SIGKILLed): only pids a report named, and only
  // while they still run a test worker (a pid may have been reused since).
  for (const auto& path : reports_) {
    for (pid_t p : Report(path).pids()) {
      if (process_alive(p) && runs_a_test_worker(p)) {
        kill(p, SIGKILL);
        (void)wait_until([&] { return !process_alive(p); }, 2s);  // cleanup, as above
      }
      (void)waitpid(p, nullptr, WNOHANG);  // reparented to us (subreaper) or ECHILD
    }
  }
}

namespace {
std::atomic<int> output_counter{0};
}  // namespace

StarterProcess::StarterProcess(const TempDir& dir, const std::vector<std::string>& args,
                               const std::vector<std::string>& env,
                               const std::vector<int>& inherit_fds, const std::string& program)
    : output_path_(dir / ("starter-output-" + std::to_string(output_counter++))) {
  cleanup_.watch_report(dir.report());
  int fd = open(output_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + output_path_ + ": " + std::strerror(errno));
  pid_ = spawn(concat(starter_command(program), args), env, fd, fd, dir.path(), inherit_fds);
  close(fd);
}

StarterProcess::~StarterProcess() {
  if (!status_ && pid_ > 0) {
    kill(pid_, SIGTERM);
    if (!wait_exit(5s)) {
      kill(pid_, SIGKILL);
      wait_exit(5s);
    }
  }
}

void StarterProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) kill(pid_, sig);
}

std::optional<int> StarterProcess::wait_exit(Millis timeout) {
  if (!status_) status_ = wait_pid(pid_, timeout);
  return status_;
}

bool StarterProcess::running() { return !wait_exit(0ms).has_value(); }

std::string StarterProcess::output() const { return read_file(output_path_); }

CommandResult run_command(const std::vector<std::string>& argv, Millis timeout,
                          const std::vector<std::string>& env, const std::string& cwd) {
  CommandResult result;
  int out_fd = memfd_create("stdout", MFD_CLOEXEC);
  int err_fd = memfd_create("stderr", MFD_CLOEXEC);
  if (out_fd < 0 || err_fd < 0) throw std::runtime_error("memfd_create failed");
  Stopwatch watch;
  pid_t pid = spawn(argv, env, out_fd, err_fd, cwd, {});
  auto status = wait_pid(pid, timeout);
  if (!status) {
    result.timed_out = true;
    kill(pid, SIGKILL);
    wait_pid(pid, 5s);
  } else {
    result.status = *status;
  }
  result.elapsed_ms = watch.ms();
  result.out = read_fd_from_start(out_fd);
  result.err = read_fd_from_start(err_fd);
  close(out_fd);
  close(err_fd);
  return result;
}

CommandResult run_starter(const std::vector<std::string>& args, Millis timeout,
                          const std::vector<std::string>& env, const std::string& cwd) {
  return run_command(concat(starter_command(kStarter), args), timeout, env, cwd);
}

}  // namespace itest
