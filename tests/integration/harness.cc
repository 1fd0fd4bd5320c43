#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace itest {
namespace {

constexpr Millis kPollStep = 5ms;

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

std::string errno_text(const std::string& what) {
  return "ERROR: " + what + ": " + std::strerror(errno);
}

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
  std::optional<int> result;
  wait_until(
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
  return argv0 == kFakeWorker || argv0 == kHelloWorker;
}

// Terminates a pid that is not (necessarily) our child: TERM, bounded wait, KILL.
void terminate_foreign(pid_t pid) {
  if (!process_alive(pid)) return;
  kill(pid, SIGTERM);
  if (!wait_until([&] { return !process_alive(pid); }, 3s)) kill(pid, SIGKILL);
  wait_until([&] { return !process_alive(pid); }, 2s);
  (void)waitpid(pid, nullptr, WNOHANG);  // reaps it if it was reparented to us; ECHILD otherwise
}

struct Endpoint {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string error;
};

Endpoint resolve(const std::string& addr) {
  Endpoint ep;
  if (!addr.empty() && addr[0] == '/') {
    auto* un = reinterpret_cast<sockaddr_un*>(&ep.ss);
    un->sun_family = AF_UNIX;
    if (addr.size() >= sizeof un->sun_path) {
      ep.error = "ERROR: unix path too long: " + addr;
      return ep;
    }
    std::memcpy(un->sun_path, addr.c_str(), addr.size() + 1);
    ep.len = sizeof(sockaddr_un);
    return ep;
  }
  std::string host;
  std::string port;
  if (!addr.empty() && addr[0] == '[') {
    auto close = addr.find("]:");
    if (close == std::string::npos) {
      ep.error = "ERROR: bad address " + addr;
      return ep;
    }
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    auto colon = addr.rfind(':');
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  int port_number = std::atoi(port.c_str());
  if (host.find(':') != std::string::npos) {
    if (host == "::") host = "::1";
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ep.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port_number));
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1)
      ep.error = "ERROR: bad host " + host;
    ep.len = sizeof(sockaddr_in6);
  } else {
    if (host == "0.0.0.0" || host == "localhost") host = "127.0.0.1";
    auto* in = reinterpret_cast<sockaddr_in*>(&ep.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port_number));
    if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) ep.error = "ERROR: bad host " + host;
    ep.len = sizeof(sockaddr_in);
  }
  return ep;
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace

bool wait_until(const std::function<bool()>& pred, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(kPollStep);
  }
  return pred();
}

long long Stopwatch::ms() const {
  return std::chrono::duration_cast<Millis>(Clock::now() - start_).count();
}

// ---- TempDir ----

TempDir::TempDir() {
  char tmpl[] = "/tmp/start_server_it.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests chmod things; make sure removal is not stopped by a mode.
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::operator/(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

// ---- files ----

bool file_exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

bool is_socket_file(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string read_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

void write_file(const std::string& path, std::string_view content, unsigned mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<size_t>(n);
  }
  fchmod(fd, mode);
  close(fd);
}

void make_dir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    throw std::runtime_error("mkdir " + path + ": " + std::strerror(errno));
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> fake_worker(const std::string& report,
                                     const std::vector<std::string>& flags) {
  return concat({kFakeWorker, "--report=" + report}, flags);
}

std::vector<std::string> worker_args(const TempDir& dir, const std::vector<std::string>& flags) {
  return concat({"--"}, fake_worker(dir.report(), flags));
}

// ---- Report ----

std::string Record::field(const std::string& key) const {
  auto it = fields.find(key);
  return it == fields.end() ? "" : it->second;
}

std::vector<Record> Report::records() const {
  std::string text = read_file(path_);
  // A line without its '\n' may still be being written: ignore it.
  auto last_nl = text.rfind('\n');
  text = last_nl == std::string::npos ? "" : text.substr(0, last_nl + 1);
  std::vector<Record> out;
  for (const std::string& line : split_lines(text)) {
    Record r;
    r.line = line;
    r.index = out.size();
    std::istringstream in(line);
    std::string token;
    in >> r.word;
    int seen = 0;
    while (in >> token) {
      if (seen < 2 && token.rfind("pid=", 0) == 0) {
        r.pid = static_cast<pid_t>(std::atol(token.c_str() + 4));
        ++seen;
      } else if (seen < 2 && token.rfind("gen=", 0) == 0) {
        r.gen = std::atoi(token.c_str() + 4);
        ++seen;
      } else {
        auto eq = token.find('=');
        if (eq == std::string::npos)
          r.flags.push_back(token);
        else
          r.fields.emplace(token.substr(0, eq), token.substr(eq + 1));
      }
    }
    auto gen_pos = line.find(" gen=");
    if (gen_pos != std::string::npos) {
      auto after = line.find(' ', gen_pos + 1);
      r.rest = after == std::string::npos ? "" : line.substr(after + 1);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Record> Report::records(std::string_view word) const {
  std::vector<Record> out;
  for (auto& r : records())
    if (r.word == word) out.push_back(r);
  return out;
}

std::optional<Record> Report::find(std::string_view word, int gen) const {
  for (auto& r : records())
    if (r.word == word && r.gen == gen) return r;
  return std::nullopt;
}

std::optional<Record> Report::wait_for(std::string_view word, int gen, Millis timeout) const {
  std::optional<Record> found;
  wait_until([&] { return (found = find(word, gen)).has_value(); }, timeout);
  return found;
}

std::optional<pid_t> Report::wait_for_ready(int gen, Millis timeout) const {
  auto r = wait_for("ready", gen, timeout);
  if (!r) return std::nullopt;
  return r->pid;
}

std::vector<Record> Report::ready_workers() const { return records("ready"); }

std::vector<std::string> Report::signals_for(pid_t pid) const {
  std::vector<std::string> out;
  for (auto& r : records("signal")) {
    if (r.pid != pid) continue;
    std::string name = r.field("name");
    if (std::find(r.flags.begin(), r.flags.end(), "ignored") != r.flags.end()) name += " ignored";
    out.push_back(name);
  }
  return out;
}

bool Report::wait_for_signal(pid_t pid, std::string_view name, Millis timeout) const {
  return wait_until(
      [&] {
        auto s = signals_for(pid);
        return std::find(s.begin(), s.end(), name) != s.end();
      },
      timeout);
}

std::vector<Record> Report::listens(int gen) const {
  std::vector<Record> out;
  for (auto& r : records("listen"))
    if (r.gen == gen) out.push_back(r);
  return out;
}

std::string Report::addr(int gen, std::string_view key) const {
  for (auto& r : listens(gen))
    if (r.field("key") == key) return r.field("addr");
  return "";
}

std::optional<std::string> Report::env(int gen, std::string_view name) const {
  std::string prefix = std::string(name) + "=";
  for (auto& r : records("env")) {
    if (r.gen != gen) continue;
    if (r.rest.rfind(prefix, 0) == 0) return r.rest.substr(prefix.size());
  }
  return std::nullopt;
}

bool Report::env_unset(int gen, std::string_view name) const {
  std::string expected = std::string(name) + " unset";
  for (auto& r : records("env"))
    if (r.gen == gen && r.rest == expected) return true;
  return false;
}

std::vector<int> Report::fds(int gen) const {
  auto r = find("fds", gen);
  std::vector<int> out;
  if (!r) return out;
  std::stringstream list(r->field("list"));
  std::string item;
  while (std::getline(list, item, ','))
    if (!item.empty()) out.push_back(std::atoi(item.c_str()));
  std::sort(out.begin(), out.end());
  return out;
}

int Report::max_gen() const {
  int g = 0;
  for (auto& r : records()) g = std::max(g, r.gen);
  return g;
}

std::vector<pid_t> Report::pids() const {
  std::set<pid_t> s;
  for (auto& r : records())
    if (r.pid > 0) s.insert(r.pid);
  return {s.begin(), s.end()};
}

// ---- processes ----

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

Cleanup::~Cleanup() {
  for (pid_t p : adopted_) terminate_foreign(p);
  // Workers left behind (e.g. start_server was SIGKILLed): only pids a report named, and only
  // while they still run a test worker (a pid may have been reused since).
  for (const auto& path : reports_) {
    for (pid_t p : Report(path).pids()) {
      if (process_alive(p) && runs_a_test_worker(p)) {
        kill(p, SIGKILL);
        wait_until([&] { return !process_alive(p); }, 2s);
      }
      (void)waitpid(p, nullptr, WNOHANG);  // reparented to us (subreaper) or ECHILD
    }
  }
}

namespace {
std::atomic<int> output_counter{0};
}

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

// ---- network ----

std::string request(const std::string& addr, Millis timeout, std::string_view send) {
  Endpoint ep = resolve(addr);
  if (!ep.error.empty()) return ep.error;
  auto deadline = Clock::now() + timeout;
  int fd = socket(ep.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_text("socket");
  std::string reply;
  int r = connect(fd, reinterpret_cast<sockaddr*>(&ep.ss), ep.len);
  if (r != 0 && errno != EINPROGRESS && errno != EAGAIN) {
    reply = errno_text("connect(" + addr + ")");
    close(fd);
    return reply;
  }
  if (r != 0) {
    if (!wait_fd(fd, POLLOUT, deadline)) {
      close(fd);
      return "ERROR: connect(" + addr + ") timed out";
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      close(fd);
      return "ERROR: connect(" + addr + "): " + std::strerror(so_error);
    }
  }
  size_t sent = 0;
  while (sent < send.size()) {
    ssize_t n = ::send(fd, send.data() + sent, send.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline)) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      reply = errno_text("send(" + addr + ")");
      close(fd);
      return reply;
    }
    sent += static_cast<size_t>(n);
  }
  char buf[4096];
  for (;;) {
    if (!wait_fd(fd, POLLIN, deadline)) {
      reply = "ERROR: no reply from " + addr + " (got '" + reply + "')";
      break;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      reply = errno_text("read(" + addr + ")");
      break;
    }
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

std::string udp_request(const std::string& addr, Millis timeout) {
  Endpoint ep = resolve(addr);
  if (!ep.error.empty()) return ep.error;
  auto deadline = Clock::now() + timeout;
  int fd = socket(ep.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_text("socket");
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&ep.ss), ep.len) != 0) {
    reply = errno_text("connect(" + addr + ")");
  } else if (send(fd, "ping", 4, 0) != 4) {
    reply = errno_text("send(" + addr + ")");
  } else if (!wait_fd(fd, POLLIN, deadline)) {
    reply = "ERROR: no datagram from " + addr;
  } else {
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    reply = n < 0 ? errno_text("recv(" + addr + ")") : std::string(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

std::string reply_of(int gen, pid_t pid) {
  return std::to_string(gen) + ":" + std::to_string(pid) + "\n";
}

int port_of(const std::string& addr) {
  auto colon = addr.rfind(':');
  return colon == std::string::npos ? -1 : std::atoi(addr.c_str() + colon + 1);
}

bool ipv6_available() {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// ---- status file ----

std::vector<std::pair<int, pid_t>> read_status_file(const std::string& path) {
  return parse_status(read_file(path));
}

std::vector<std::pair<int, pid_t>> parse_status(std::string_view text) {
  static const std::regex line_re(R"(^(\d+):(\d+)$)");
  std::vector<std::pair<int, pid_t>> out;
  for (const auto& line : split_lines(text)) {
    std::smatch m;
    if (std::regex_match(line, m, line_re))
      out.emplace_back(std::stoi(m[1]), static_cast<pid_t>(std::stol(m[2])));
  }
  return out;
}

}  // namespace itest
