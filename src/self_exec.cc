#include "self_exec.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "error.h"
#include "quote.h"
#include "record_text.h"
#include "spawn.h"
#include "upgrade_state.h"

extern char** environ;

namespace starter {

namespace {

std::string read_all(int fd, const std::string& what) {
  std::string out;
  char buf[4096];
  for (;;) {
    long n = read_some(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN) return out;
      throw SysError("read", what);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

/// Our argv as we were started (the kernel keeps it in /proc/self/cmdline), for the exec.
std::vector<std::string> own_argv() {
  std::string cmdline = read_file("/proc/self/cmdline");
  std::vector<std::string> argv;
  for (std::size_t start = 0; start < cmdline.size();) {
    std::size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    argv.push_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

std::vector<std::string> environment_with(const std::string& entry) {
  std::vector<std::string> env;
  std::string prefix = std::string(kUpgradeStateEnv) + "=";
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).substr(0, prefix.size()) != prefix) env.emplace_back(*e);
  env.push_back(entry);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

bool parse_fd(std::string_view text, int& out) {
  if (text == "-1") {
    out = -1;
    return true;
  }
  if (text.empty() || text.size() > 9) return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

/// A state with a "refused" record added: the old image reads why the new one gave up.
std::string with_refusal(std::string_view state, std::string_view reason) {
  std::string out(state);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + "refused\treason=" + escape_field(reason) + "\n";
}

}  // namespace

SelfImage SelfImage::open() {
  UniqueFd fd(::open("/proc/self/exe", O_PATH | O_CLOEXEC));
  if (!fd) throw SysError("open", "/proc/self/exe");
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n < 0) throw SysError("readlink", "/proc/self/exe");
  return SelfImage(std::string(path, static_cast<std::size_t>(n)), std::move(fd));
}

SelfImage SelfImage::open(std::string path) {
  UniqueFd fd(::open("/proc/self/exe", O_PATH | O_CLOEXEC));
  if (!fd) throw SysError("open", "/proc/self/exe");
  return SelfImage(std::move(path), std::move(fd));
}

std::optional<Handoff> take_handoff() {
  const char* value = ::getenv(kUpgradeStateEnv);
  if (!value) return std::nullopt;
  std::string text = value;
  ::unsetenv(kUpgradeStateEnv);
  std::size_t comma = text.find(',');
  int state_fd = -1, exe_fd = -1;
  if (comma == std::string::npos || !parse_fd(text.substr(0, comma), state_fd) || state_fd < 0 ||
      !parse_fd(text.substr(comma + 1), exe_fd))
    throw UsageError(std::string(kUpgradeStateEnv) + ": malformed value " + quote(text));
  UniqueFd state(state_fd);
  Handoff handoff;
  handoff.exe.reset(exe_fd);
  // The memfd's offset is shared with the writer's description: read from the start.
  if (::lseek(state.get(), 0, SEEK_SET) < 0)
    throw SysError("lseek", std::to_string(state_fd)).during("the upgrade state");
  handoff.state = read_all(state.get(), "the upgrade state");
  return handoff;
}

UniqueFd state_memfd(std::string_view text) {
  UniqueFd fd(::memfd_create("start_server-state", MFD_CLOEXEC));
  if (!fd) throw SysError("memfd_create", "start_server-state");
  write_all(fd.get(), text, "the upgrade state");
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) throw SysError("lseek", "start_server-state");
  return fd;
}

std::variant<Preflight, std::string> Preflight::start(const std::string& path,
                                                      std::string_view state,
                                                      const SignalMask& mask) {
  // What execve would say, said before anything is forked.
  if (::access(path.c_str(), X_OK) < 0)
    return "the new binary " + quote(path) + ": " + errno_text(errno);
  UniqueFd memfd = state_memfd(state);
  Pipe output = Pipe::create();
  SpawnRequest request;
  request.argv = {path, kUpgradeCheckOption};
  request.exec_paths = {path};
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    std::size_t eq = entry.find('=');
    if (eq != std::string::npos) request.env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  request.env[kUpgradeStateEnv] = std::to_string(memfd.get()) + ",-1";
  request.inherit_fds = {memfd.get()};
  request.stdout_fd = output.write.get();
  SpawnResult result = spawn_process(request, mask);
  Preflight p;
  p.path_ = path;
  p.pid_ = result.pid;
  p.output_ = std::move(output.read);
  if (result.error) {
    // It exits 255 at once: reaped here, so the loop never meets a child it does not know.
    int status = 0;
    while (::waitpid(result.pid, &status, 0) < 0 && errno == EINTR) {
    }
    p.pid_ = -1;
    return "the new binary " + quote(path) + ": " + result.failed_step + ": " +
           errno_text(result.error);
  }
  return p;
}

Preflight::~Preflight() {
  if (pid_ <= 0) return;
  (void)::kill(pid_, SIGKILL);  // given up on: a hung check must not outlive the decision
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string Preflight::verdict(int wait_status) {
  pid_ = -1;  // reaped by the caller
  int flags = ::fcntl(output_.get(), F_GETFL);
  if (flags >= 0)
    (void)::fcntl(output_.get(), F_SETFL, flags | O_NONBLOCK);  // a grandchild may hold it open
  std::string printed = read_all(output_.get(), "the pre-flight's output");
  output_.reset();
  std::string line = printed.substr(0, printed.find('\n'));
  std::string refused =
      std::string(kUpgradeCheckLine.substr(0, kUpgradeCheckLine.rfind(' '))) + " refused ";
  if (line.rfind(refused, 0) == 0)
    return "the new binary " + quote(path_) +
           " refuses the state: " + escape_controls(line.substr(refused.size()));
  bool ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  if (ok && line.rfind(kUpgradeCheckLine, 0) == 0) return {};
  std::string how = WIFEXITED(wait_status)
                        ? "exited with status " + std::to_string(WEXITSTATUS(wait_status))
                        : "was killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "the new binary " + quote(path_) +
         " is not a start_server that can upgrade: " + kUpgradeCheckOption + " " + how +
         (line.empty() ? " and printed nothing" : " and printed " + quote(line.substr(0, 80)));
}

int upgrade_check() {
  std::string prefix(kUpgradeCheckLine.substr(0, kUpgradeCheckLine.rfind(' ')));
  auto refuse = [&](const std::string& reason) {
    std::cout << prefix << " refused " << reason << std::endl;
    return 1;
  };
  std::optional<Handoff> handoff;
  try {
    handoff = take_handoff();
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  if (!handoff) return refuse(std::string("no state (") + kUpgradeStateEnv + " is not set)");
  const char* test_refusal = ::getenv(kTestRefuseStateEnv);
  if (test_refusal && std::string_view(test_refusal) == "preflight")
    return refuse(std::string(kTestRefuseStateEnv) + "=preflight is set");
  auto state = parse_upgrade_state(handoff->state);
  if (auto* reason = std::get_if<std::string>(&state)) return refuse(*reason);
  std::cout << kUpgradeCheckLine << " " << kUpgradeStateVersion << " " << STARTER_VERSION
            << std::endl;
  return 0;
}

std::string exec_image(const std::string& path, int exe_fd, std::string_view state,
                       const std::vector<int>& keep) {
  std::vector<std::string> argv_strings;
  UniqueFd memfd;
  try {
    argv_strings = own_argv();
    memfd = state_memfd(state);
  } catch (const SysError& e) {
    return e.what();
  }
  std::string handoff = std::to_string(memfd.get()) + "," + std::to_string(exe_fd);
  std::vector<std::string> env_strings =
      environment_with(std::string(kUpgradeStateEnv) + "=" + handoff);
  std::vector<char*> argv = c_strings(argv_strings), envp = c_strings(env_strings);
  std::vector<int> fds = keep;
  fds.push_back(memfd.get());
  for (int fd : fds)
    (void)::fcntl(fd, F_SETFD, 0);  // an fd that is not open fails the restore, which says so
  if (path.empty())
    ::execveat(exe_fd, "", argv.data(), envp.data(), AT_EMPTY_PATH);
  else
    ::execve(path.c_str(), argv.data(), envp.data());
  int error = errno;
  for (int fd : fds) (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (path.empty())
    return SysError("execveat", std::to_string(exe_fd), error).flag("AT_EMPTY_PATH").what();
  return SysError("execve", path, error).what();
}

namespace {

// The way back, armed from take_handoff until the new image supervises. A crash handler can
// only reach static storage, and it runs once, so everything it needs is built beforehand.
struct FallbackExec {
  int exe_fd = -1;
  std::vector<std::string> argv_strings, env_strings;
  std::vector<char*> argv, envp;
  UniqueFd memfd;
  std::string state;
  std::vector<int> keep;  ///< the descriptors the state names: marked close-on-exec at start
};
FallbackExec* fallback = nullptr;

/// Async-signal-safe: the state's descriptors were marked close-on-exec at start.
void keep_across_exec(const FallbackExec& f, int memfd) {
  for (int fd : f.keep) (void)::fcntl(fd, F_SETFD, 0);
  (void)::fcntl(memfd, F_SETFD, 0);
}

extern "C" void on_crash(int) {
  if (fallback) {
    keep_across_exec(*fallback, fallback->memfd.get());
    ::execveat(fallback->exe_fd, "", fallback->argv.data(), fallback->envp.data(), AT_EMPTY_PATH);
  }
  ::_exit(127);
}

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

}  // namespace

void arm_fallback(int exe_fd, std::string_view state) {
  disarm_fallback();
  // The old image coming back with the new one's refusal has nowhere further to go.
  auto parsed = parse_upgrade_state(state);
  auto* s = std::get_if<UpgradeState>(&parsed);
  if (s && !s->refused.empty()) return;
  auto* f = new FallbackExec;
  if (s) f->keep = s->fds();
  f->exe_fd = exe_fd;
  f->state = state;
  f->memfd = state_memfd(with_refusal(state, "the new binary crashed before it took over"));
  (void)::fcntl(f->memfd.get(), F_SETFD, 0);
  f->argv_strings = own_argv();
  f->env_strings = environment_with(std::string(kUpgradeStateEnv) + "=" +
                                    std::to_string(f->memfd.get()) + "," + std::to_string(exe_fd));
  f->argv = c_strings(f->argv_strings);
  f->envp = c_strings(f->env_strings);
  fallback = f;
  struct sigaction sa {};
  sa.sa_handler = on_crash;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (int signo : kCrashSignals) (void)::sigaction(signo, &sa, nullptr);
}

void disarm_fallback() {
  if (!fallback) return;
  struct sigaction deflt {};
  deflt.sa_handler = SIG_DFL;
  sigemptyset(&deflt.sa_mask);
  for (int signo : kCrashSignals) (void)::sigaction(signo, &deflt, nullptr);
  delete std::exchange(fallback, nullptr);
}

void fall_back(const std::string& reason) {
  if (!fallback) return;
  std::string text = with_refusal(fallback->state, reason);
  try {
    UniqueFd memfd = state_memfd(text);
    keep_across_exec(*fallback, memfd.get());
    std::vector<std::string> env_strings =
        environment_with(std::string(kUpgradeStateEnv) + "=" + std::to_string(memfd.get()) + "," +
                         std::to_string(fallback->exe_fd));
    std::vector<char*> envp = c_strings(env_strings);
    // The crash handler's memfd stays behind, or the old image would inherit it for ever.
    (void)::fcntl(fallback->memfd.get(), F_SETFD, FD_CLOEXEC);
    ::execveat(fallback->exe_fd, "", fallback->argv.data(), envp.data(), AT_EMPTY_PATH);
    (void)::fcntl(fallback->memfd.get(), F_SETFD, 0);
  } catch (const SysError&) {
    // No memory for a new memfd: the prepared one says less, but still goes back.
  }
  on_crash(0);
}

}  // namespace starter
