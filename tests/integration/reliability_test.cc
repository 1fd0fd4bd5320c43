// Reliability and security (issue 8, items 1, 2 and 5), as an operator would see them:
//
//  Storm*   1,000 SIGHUPs as fast as a kill() loop sends them (and 1,000 one millisecond
//           apart) while a client keeps connecting: one generation serves at the end, no
//           zombie, no fd leaked by start_server, the status file names exactly the live
//           workers, no request failed. Each storm prints its figures.
//  Fault*   a crash loop (failed reloads never touch the serving generation; a current
//           generation that keeps crashing is retried with a growing pause and recovers), a
//           worker that ignores SIGTERM (with and without --drain-timeout), fork() failing
//           under RLIMIT_NPROC, a worker out of descriptors (RLIMIT_NOFILE), start_server
//           SIGKILLed and started again on the same ports and files, garbage on the notify
//           socket, malformed LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID.
//  Files*   pid and status files replaced atomically and never through a planted symlink,
//           --path-mode, an unprivileged start_server on a port below 1024 handed over by a
//           socket manager, and no descriptor but the listeners reaching a worker in any mode.
//
// Tests that need another user run start_server as `nobody` through setpriv(1) (root ignores
// RLIMIT_NPROC and may bind any port) and skip, saying why, where that is impossible.

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "activation.h"
#include "harness.h"

namespace itest {
namespace {

using Status = std::vector<std::pair<int, pid_t>>;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
const std::string kSetpriv = "/usr/bin/setpriv";

// ---- small helpers ---------------------------------------------------------------------

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// Every descriptor `pid` has open, as "FD -> target" lines (for failure messages too).
std::vector<std::string> open_fds_of(pid_t pid) {
  std::vector<std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    out.push_back(std::string(e->d_name) + " -> " + fd_identity(pid, std::atoi(e->d_name)));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

/// The state letter of `pid` (R, S, Z, ...), or 0 when it does not exist.
char state_of(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ? 0 : stat[paren + 2];
}

/// Children of `parent` that are zombies (exited, not reaped), found by scanning /proc.
std::vector<pid_t> zombie_children(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (pid > 0 && parent_of(pid) == parent && state_of(pid) == 'Z') out.push_back(pid);
  }
  closedir(d);
  return out;
}

/// The real uid of `pid` (from /proc/PID/status), or -1.
long uid_of(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Uid:", 0) == 0) return std::atol(line.c_str() + 4);
  return -1;
}

/// start_server's own lines, without its "starting now..." banner.
std::vector<std::string> message_lines(const std::string& output) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(output))
    if (line.find(") starting now...") == std::string::npos) out.push_back(line);
  return out;
}

/// Lines of `output` holding every one of `words`.
std::vector<std::string> lines_with(const std::string& output,
                                    const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(output)) {
    bool all = true;
    for (const auto& w : words) all = all && line.find(w) != std::string::npos;
    if (all) out.push_back(line);
  }
  return out;
}

/// A file that may be absent: nullopt then (the harness's read_file cannot tell "" from absent).
std::optional<std::string> read_if_present(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// Sends one datagram to a NOTIFY_SOCKET value ("@abstract" or a path) with `fds` attached as
/// SCM_RIGHTS; "" or the error.
std::string send_datagram(const std::string& socket, const std::string& message,
                          const std::vector<int>& fds = {}) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.empty() || socket.size() >= sizeof addr.sun_path) return "bad socket '" + socket + "'";
  std::memcpy(addr.sun_path, socket.data(), socket.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  iovec iov{const_cast<char*>(message.data()), message.size()};
  msghdr msg{};
  msg.msg_name = &addr;
  msg.msg_namelen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  std::string error = sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 ? std::strerror(errno) : "";
  close(fd);
  return error;
}

/// Writes dir/worker.sh, which execs the fake worker with the flags in dir/flags as they are
/// when start_server spawns it (so generation 2 can be told to misbehave and generation 1
/// not), and dir/flags with `first_flags`; returns the script's path.
std::string flag_file_worker(const TempDir& dir, const std::string& first_flags) {
  write_file(dir / "flags", first_flags + "\n");
  write_file(dir / "worker.sh",
             "#!/bin/sh\nexec " + kFakeWorker + " --report=" + dir.report() + " $(cat " +
                 (dir / "flags") + ")\n",
             0755);
  return dir / "worker.sh";
}

/// start_server --ready=notify with a pid and a status file, running flag_file_worker();
/// generation 1 is awaited until it is ready and listed.
struct Serving {
  Serving(const TempDir& dir, const std::vector<std::string>& options,
          const std::string& first_flags)
      : dir_(dir),
        pid_file(dir / "pid"),
        status(dir / "status"),
        report(dir),
        starter(dir, concat(concat({"--ready=notify", "--port=127.0.0.1:0",
                                    "--pid-file=" + pid_file, "--status-file=" + status},
                                   options),
                            {"--", flag_file_worker(dir, first_flags)})) {
    auto up = report.wait_for("notified", 1);
    if (!up) return;
    pid1 = up->pid;
    listed = wait_until([&] { return read_status_file(status) == Status{{1, pid1}}; });
    addr = report.addr(1, "127.0.0.1:0");
  }
  bool up() const { return pid1 > 0 && listed && !addr.empty(); }
  std::string why() {
    return "start_server said:\n" + starter.output() + "report:\n" + read_file(report.path());
  }
  /// The fake worker's flags for the generations spawned from now on.
  void set_flags(const std::string& flags) const { write_file(dir_ / "flags", flags + "\n"); }
  /// `start_server --restart`, waited for.
  CommandResult restart() const {
    return run_starter(
        {"--restart", "--pid-file=" + pid_file, "--status-file=" + status, "--restart-timeout=20"},
        25s);
  }

  const TempDir& dir_;
  std::string pid_file;
  std::string status;
  Report report;
  StarterProcess starter;
  pid_t pid1 = 0;
  bool listed = false;
  std::string addr;
};

#define ASSERT_UP(s) \
  ASSERT_TRUE((s).up()) << "generation 1 never became ready and listed\n" << (s).why()

// ---- running as another user -------------------------------------------------------------

/// In a forked child: drop to nobody for good (raw syscalls: the child of a threaded process
/// may call nothing that takes glibc's locks).
void become_nobody_in_child() {
  if (syscall(SYS_setgroups, 0, nullptr) != 0 ||
      syscall(SYS_setresgid, kNogroup, kNogroup, kNogroup) != 0 ||
      syscall(SYS_setresuid, kNobody, kNobody, kNobody) != 0)
    _exit(120);
}

/// Runs `body` (async-signal-safe calls only) in a child that is `nobody`; its exit status.
template <typename Body>
int as_nobody(Body body) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    become_nobody_in_child();
    _exit(body());
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Why start_server cannot run as nobody here, or "".
std::string nobody_unavailable() {
  if (geteuid() != 0) return "the test does not run as root, so it cannot become nobody";
  if (access(kSetpriv.c_str(), X_OK) != 0) return kSetpriv + " (util-linux) is missing";
  const char* starter = kStarter.c_str();
  const char* worker = kFakeWorker.c_str();
  int rc =
      as_nobody([&] { return access(starter, X_OK) == 0 && access(worker, X_OK) == 0 ? 0 : 1; });
  if (rc == 120) return "setresuid(nobody) fails here";
  if (rc != 0)
    return "nobody cannot execute " + kStarter + " or " + kFakeWorker +
           " (a directory on the way is private)";
  return "";
}

#define SKIP_WITHOUT_NOBODY()                                                      \
  do {                                                                             \
    if (std::string why = nobody_unavailable(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

/// `setpriv ... start_server args...`: argv for a StarterProcess with program kSetpriv.
std::vector<std::string> as_nobody_args(const std::vector<std::string>& starter_args) {
  return concat({"--reuid=" + std::to_string(kNobody), "--regid=" + std::to_string(kNogroup),
                 "--clear-groups", "--", kStarter},
                starter_args);
}

/// A directory inside `dir` that nobody owns (and `dir` opened up for it to be reached).
std::string nobody_dir(const TempDir& dir) {
  chmod(dir.path().c_str(), 0711);
  std::string sub = dir / "nobody";
  make_dir(sub);
  if (chown(sub.c_str(), kNobody, kNogroup) != 0) throw std::runtime_error("chown " + sub);
  return sub;
}

/// Sets the soft limit `resource` of `pid` (keeping its hard limit). Changing another user's
/// limits needs CAP_SYS_RESOURCE, which root in a container may lack: as that user, it needs
/// nothing. 0 or the errno.
int set_soft_limit(pid_t pid, int resource, rlim_t soft, bool as_nobody_user) {
  auto body = [pid, resource, soft]() -> int {
    rlimit old{};
    if (prlimit(pid, static_cast<__rlimit_resource>(resource), nullptr, &old) != 0) return errno;
    rlimit fresh{soft, old.rlim_max};
    return prlimit(pid, static_cast<__rlimit_resource>(resource), &fresh, nullptr) == 0 ? 0 : errno;
  };
  return as_nobody_user ? as_nobody(body) : body();
}

// ---- a launcher that hands sockets over the way a socket manager does ---------------------

/// `bash -c 'exec 3<&100 ...; EXPORTS exec "$@"' argv...`: sockets at 3, 4, ... and whatever
/// `exports` sets (e.g. "export LISTEN_PID=$$ LISTEN_FDS=abc;"), so that each malformed
/// variable can be given exactly. A shell keeps its pid across exec: $$ is start_server's pid.
std::unique_ptr<StarterProcess> launch(const TempDir& dir, const std::vector<int>& sockets,
                                       const std::string& exports,
                                       const std::vector<std::string>& argv) {
  std::string moves, closes;
  std::vector<int> staged;
  for (size_t i = 0; i < sockets.size(); ++i) {
    int fd = fcntl(sockets[i], F_DUPFD_CLOEXEC, 100);
    staged.push_back(fd);
    moves += " " + std::to_string(3 + i) + "<&" + std::to_string(fd);
    closes += " " + std::to_string(fd) + "<&-";
  }
  std::string script = sockets.empty() ? "" : "exec" + moves + closes + " || exit 125; ";
  script += exports + " exec \"$@\"";
  auto process = std::make_unique<StarterProcess>(dir, concat({"-c", script, "launcher"}, argv),
                                                  std::vector<std::string>{}, staged, "/bin/bash");
  for (int fd : staged) close(fd);
  return process;
}

/// Exit 1 with exactly one line of ours naming `words`, and no worker started.
void expect_one_line_refusal(const TempDir& dir, StarterProcess& starter,
                             const std::vector<std::string>& words) {
  auto status = starter.wait_exit();
  ASSERT_TRUE(status.has_value()) << "still running:\n" << starter.output();
  EXPECT_EQ(*status, 1) << starter.output();
  auto lines = message_lines(starter.output());
  ASSERT_EQ(lines.size(), 1u) << joined(lines);
  EXPECT_EQ(lines[0].rfind("start_server: ", 0), 0u) << lines[0];
  for (const auto& w : words) EXPECT_NE(lines[0].find(w), std::string::npos) << lines[0];
  EXPECT_FALSE(file_exists(dir.report())) << "a worker was started:\n" << read_file(dir.report());
}

// ==== 1. Storms ==========================================================================

/// One GEN:PID line, no generation on its way, and it is start_server's only live child.
bool settled(pid_t starter, const std::string& status_file) {
  std::string text = read_file(status_file);
  Status listed = parse_status(text);
  if (listed.size() != 1 || text.find("starting:") != std::string::npos) return false;
  return children_of(starter) == std::vector<pid_t>{listed[0].second} &&
         zombie_children(starter).empty();
}

/// `hups` SIGHUPs, `gap` apart (0: a tight kill() loop), to a start_server whose workers are
/// ready at once, while a client connects again and again.
void storm(const std::string& label, int hups, std::chrono::microseconds gap) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status";
  StarterProcess starter(dir, concat({"--ready=notify", "--port=127.0.0.1:0",
                                      "--status-file=" + status, "--pid-file=" + (dir / "pid")},
                                     worker_args(dir, {"--ready-after-ms=0"})));
  auto up = report.wait_for("notified", 1);
  ASSERT_TRUE(up) << starter.output();
  ASSERT_TRUE(wait_until([&] { return settled(starter.pid(), status); })) << read_file(status);
  std::string addr = report.addr(1, "127.0.0.1:0");
  std::vector<std::string> fds_before = open_fds_of(starter.pid());

  std::atomic<bool> stop{false};
  std::atomic<int> requests{0};
  std::vector<std::string> failures;  // the client thread's only
  static const std::regex answer(R"(^\d+:\d+\n$)");
  std::thread client([&] {
    while (!stop) {
      std::string reply = request(addr, 3s);
      if (!std::regex_match(reply, answer))
        failures.push_back(reply.empty() ? "(empty reply)" : reply);
      ++requests;
      // Thousands a second, yet room left for the tests that ctest runs beside this one.
      std::this_thread::sleep_for(100us);
    }
  });
  wait_until([&] { return requests >= 3; });

  Stopwatch sending;
  int sent = 0;
  for (int i = 0; i < hups; ++i) {
    if (kill(starter.pid(), SIGHUP) == 0) ++sent;
    if (gap.count() > 0) std::this_thread::sleep_for(gap);
  }
  long long send_ms = sending.ms();

  Stopwatch settling;
  // Quiet: settled, with its fds back to where they were, and no new generation for a while
  // (a queued reload starts right after the one before it is done).
  bool quiet = wait_until(
      [&] {
        if (!settled(starter.pid(), status) ||
            open_fds_of(starter.pid()).size() != fds_before.size())
          return false;
        int gens = report.max_gen();
        return !wait_until(
            [&] { return report.max_gen() != gens || !settled(starter.pid(), status); }, 300ms);
      },
      40s);
  long long settle_ms = settling.ms();
  int before = requests;
  wait_until([&] { return requests >= before + 3; });
  stop = true;
  client.join();

  int generations = report.max_gen();
  std::printf(
      "[  STORM   ] %s: %d SIGHUPs sent in %lld ms; %d generations started (generation 1 "
      "and %d during the storm); quiet %lld ms later; %d requests, %zu failed\n",
      label.c_str(), sent, send_ms, generations, generations - 1, settle_ms, requests.load(),
      failures.size());
  testing::Test::RecordProperty("sighups", sent);
  testing::Test::RecordProperty("generations", generations);
  testing::Test::RecordProperty("requests", requests.load());
  testing::Test::RecordProperty("failed_requests", static_cast<int>(failures.size()));

  EXPECT_EQ(sent, hups);
  ASSERT_TRUE(quiet) << "not settled 40 s after the storm; status file:\n"
                     << read_file(status) << "children: " << children_of(starter.pid()).size()
                     << ", zombies: " << zombie_children(starter.pid()).size() << "\nfds before:\n"
                     << joined(fds_before) << "fds now:\n"
                     << joined(open_fds_of(starter.pid()));
  EXPECT_TRUE(starter.running()) << starter.output();
  // Exactly one generation serves, and it is the newest one started.
  Status listed = read_status_file(status);
  ASSERT_EQ(listed.size(), 1u) << read_file(status);
  EXPECT_EQ(listed[0].first, generations) << read_file(status);
  EXPECT_EQ(read_file(status).find("starting:"), std::string::npos) << read_file(status);
  // The status file names exactly the live workers, which are exactly start_server's children.
  EXPECT_EQ(children_of(starter.pid()), std::vector<pid_t>{listed[0].second});
  EXPECT_EQ(zombie_children(starter.pid()), std::vector<pid_t>{});
  EXPECT_EQ(request(addr), reply_of(listed[0].first, listed[0].second));
  // No descriptor leaked: the count and what they are (sockets differ by inode only).
  std::vector<std::string> fds_after = open_fds_of(starter.pid());
  EXPECT_EQ(fds_after.size(), fds_before.size()) << "before:\n"
                                                 << joined(fds_before) << "after:\n"
                                                 << joined(fds_after);
  // Every older generation was told to stop exactly once, and is gone.
  for (int gen = 1; gen < generations; ++gen) {
    auto r = report.find("ready", gen);
    if (!r) continue;  // never got that far (it was retired as soon as it was up)
    EXPECT_FALSE(process_alive(r->pid)) << "generation " << gen;
    EXPECT_LE(report.signals_for(r->pid).size(), 1u) << "generation " << gen << " signalled twice";
  }
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << requests
                                << " requests failed, e.g. " << failures.front();
}

TEST(Storm, ThousandHupsInATightLoopEndWithOneGenerationAndNothingLeaked) {
  storm("tight loop", 1000, std::chrono::microseconds(0));
}

TEST(Storm, ThousandHupsOneMillisecondApartEndWithOneGenerationAndNothingLeaked) {
  storm("1 ms apart", 1000, std::chrono::microseconds(1000));
}

// ==== 2. Faults ==========================================================================

// ---- a crash loop ------------------------------------------------------------------------

TEST(FaultCrashLoop, FailingReloadsNeverTouchTheServingGeneration) {
  TempDir dir;
  std::string fail = dir / "fail";
  Serving s(dir, {}, "--ready-after-ms=0");
  ASSERT_UP(s);
  write_file(fail, "");
  // Generations 2 and 4 exit at once; generation 3 runs for 100 ms, then crashes, never ready.
  const std::vector<std::pair<std::string, std::string>> attempts = {
      {"--ready-after-ms=0 --fail-if-exists=" + fail,
       "generation 2 exited with status 1 before it was up"},
      {"--exit-after-ms=100", "generation 3 exited with status 3 before it was up"},
      {"--ready-after-ms=0 --fail-if-exists=" + fail,
       "generation 4 exited with status 1 before it was up"},
  };
  for (const auto& [flags, reason] : attempts) {
    s.set_flags(flags);
    CommandResult r = s.restart();
    EXPECT_EQ(r.status, 2) << r.text() << "\n" << s.starter.output();
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_NE(r.err.find(reason), std::string::npos) << r.err;
    EXPECT_NE(read_file(s.status).find("reload-failed:" + reason), std::string::npos)
        << read_file(s.status);
    EXPECT_EQ(read_status_file(s.status), (Status{{1, s.pid1}}));
    EXPECT_EQ(request(s.addr), reply_of(1, s.pid1));
  }
  // A failed reload is not retried by itself: nothing is spawned until the next SIGHUP.
  EXPECT_FALSE(wait_until([&] { return s.report.max_gen() > 4; }, 1500ms)) << s.starter.output();
  EXPECT_EQ(s.report.signals_for(s.pid1), std::vector<std::string>{})
      << "generation 1 was signalled";

  // Fixed: the next reload replaces generation 1, which is signalled once, only now.
  unlink(fail.c_str());
  s.set_flags("--ready-after-ms=0");
  CommandResult r = s.restart();
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << s.starter.output();
  auto up5 = s.report.find("notified", 5);
  ASSERT_TRUE(up5) << s.why();
  EXPECT_TRUE(s.report.wait_for_signal(s.pid1, "TERM", kTimeout)) << s.why();
  EXPECT_EQ(s.report.signals_for(s.pid1), std::vector<std::string>{"TERM"});
  EXPECT_EQ(read_status_file(s.status), (Status{{5, up5->pid}}));
  EXPECT_EQ(read_file(s.status).find("reload-failed:"), std::string::npos) << read_file(s.status);
  EXPECT_EQ(request(s.addr), reply_of(5, up5->pid));
}

TEST(FaultCrashLoop, CurrentGenerationThatKeepsCrashingIsRetriedWithAGrowingPauseAndRecovers) {
  TempDir dir;
  std::string fail = dir / "fail";
  // Generation 1 is up, then crashes after 700 ms; its successors cannot start while `fail`
  // exists.
  Serving s(dir, {}, "--ready-after-ms=0 --exit-after-ms=700");
  ASSERT_UP(s);
  write_file(fail, "");
  s.set_flags("--ready-after-ms=0 --fail-if-exists=" + fail);
  EXPECT_TRUE(wait_until(
      [&] {
        return s.starter.output().find("worker " + std::to_string(s.pid1) + " died unexpectedly") !=
               std::string::npos;
      },
      kTimeout))
      << s.starter.output();
  auto fail2 = s.report.wait_for("fail", 2, kTimeout);
  Stopwatch since2;
  ASSERT_TRUE(fail2) << s.why();
  ASSERT_TRUE(s.report.wait_for("fail", 3, kTimeout)) << s.why();
  long long gap23 = since2.ms();
  Stopwatch since3;
  EXPECT_GE(gap23, 800) << "retried sooner than a second after a failed start";
  EXPECT_TRUE(wait_until(
      [&] {
        return s.starter.output().find("2 failed starts in a row, next attempt in 2s") !=
                   std::string::npos &&
               read_file(s.status).find("backoff:2 failed starts in a row\n") != std::string::npos;
      },
      kTimeout))
      << s.starter.output() << "status:\n"
      << read_file(s.status);
  EXPECT_EQ(read_status_file(s.status), Status{}) << "a dead generation is listed:\n"
                                                  << read_file(s.status);
  EXPECT_TRUE(s.starter.running());

  // The operator fixes the program: the next scheduled attempt (2 s after the last) serves.
  unlink(fail.c_str());
  s.set_flags("--ready-after-ms=0");
  auto up4 = s.report.wait_for("notified", 4, kTimeout);
  ASSERT_TRUE(up4) << s.why();
  EXPECT_GE(since3.ms(), 1700) << "the pause after two failures in a row was not doubled";
  EXPECT_FALSE(s.report.find("ready", 5)) << "more generations than needed";
  EXPECT_TRUE(wait_until(
      [&] {
        return read_status_file(s.status) == Status{{4, up4->pid}};
      },
      kTimeout))
      << read_file(s.status);
  EXPECT_TRUE(wait_until([&] { return read_file(s.status).find("backoff:") == std::string::npos; },
                         kTimeout))
      << read_file(s.status);
  EXPECT_EQ(request(s.addr), reply_of(4, up4->pid));
}

// ---- a worker that ignores SIGTERM ---------------------------------------------------------

TEST(FaultIgnoresTerm, WithoutDrainTimeoutItIsLeftRunningListedAndWaitedFor) {
  TempDir dir;
  Serving s(dir, {}, "--ready-after-ms=0 --ignore-term");
  ASSERT_UP(s);
  // `--restart` reports success once the new generation serves alone: never, here.
  CommandResult r = run_starter(
      {"--restart", "--pid-file=" + s.pid_file, "--status-file=" + s.status, "--restart-timeout=1"},
      10s);
  auto up2 = s.report.find("notified", 2);
  ASSERT_TRUE(up2) << s.why();
  EXPECT_EQ(r.status, 4) << r.text();
  EXPECT_NE(r.err.find("generations alive: 1:" + std::to_string(s.pid1) +
                       " 2:" + std::to_string(up2->pid)),
            std::string::npos)
      << r.err;
  ASSERT_TRUE(s.report.wait_for_signal(s.pid1, "TERM ignored", kTimeout)) << s.why();
  // Perl's behaviour without --drain-timeout: never SIGKILL. It stays, listed as live.
  EXPECT_FALSE(wait_until([&] { return !process_alive(s.pid1); }, 1s)) << "generation 1 was killed";
  EXPECT_EQ(read_status_file(s.status), (Status{{1, s.pid1}, {2, up2->pid}}));
  // Another reload signals generation 2, not generation 1 again.
  ASSERT_EQ(kill(s.starter.pid(), SIGHUP), 0);
  auto up3 = s.report.wait_for("notified", 3);
  ASSERT_TRUE(up3) << s.why();
  ASSERT_TRUE(s.report.wait_for_signal(up2->pid, "TERM ignored", kTimeout)) << s.why();
  EXPECT_EQ(s.report.signals_for(s.pid1), std::vector<std::string>{"TERM ignored"});
  // All three still accept connections on the shared socket.
  std::set<std::string> answers{reply_of(1, s.pid1), reply_of(2, up2->pid), reply_of(3, up3->pid)};
  EXPECT_EQ(answers.count(request(s.addr)), 1u);

  // Shutdown: every worker gets TERM, and start_server waits for them, however long.
  s.starter.signal(SIGTERM);
  ASSERT_TRUE(wait_until([&] { return s.report.signals_for(up3->pid).size() == 1; }, kTimeout))
      << s.why();
  EXPECT_FALSE(s.starter.wait_exit(1500ms)) << "start_server exited with its workers still running";
  EXPECT_TRUE(process_alive(s.pid1) && process_alive(up2->pid) && process_alive(up3->pid));
  // Once they are gone (the operator's KILL), it exits at once, files removed.
  for (pid_t p : {s.pid1, up2->pid, up3->pid}) kill(p, SIGKILL);
  EXPECT_EQ(s.starter.wait_exit(kTimeout), 0) << s.starter.output();
  EXPECT_FALSE(file_exists(s.pid_file));
  EXPECT_FALSE(file_exists(s.status));
}

TEST(FaultIgnoresTerm, WithDrainTimeoutItIsKilledAtReloadAndAtShutdown) {
  TempDir dir;
  Serving s(dir, {"--drain-timeout=1"}, "--ready-after-ms=0 --ignore-term");
  ASSERT_UP(s);
  ASSERT_EQ(kill(s.starter.pid(), SIGHUP), 0);
  ASSERT_TRUE(s.report.wait_for_signal(s.pid1, "TERM ignored", kTimeout)) << s.why();
  Stopwatch since_term;
  ASSERT_TRUE(wait_until([&] { return !process_alive(s.pid1); }, kTimeout))
      << "generation 1 still runs";
  EXPECT_GE(since_term.ms(), 600) << "killed before --drain-timeout=1";
  auto up2 = s.report.find("notified", 2);
  ASSERT_TRUE(up2);
  EXPECT_TRUE(wait_until(
      [&] {
        return read_status_file(s.status) == Status{{2, up2->pid}};
      },
      kTimeout));

  Stopwatch stopping;
  s.starter.signal(SIGTERM);
  EXPECT_EQ(s.starter.wait_exit(kTimeout), 0) << s.starter.output();
  EXPECT_GE(stopping.ms(), 700) << "exited before --drain-timeout=1";
  EXPECT_FALSE(process_alive(up2->pid));
  EXPECT_EQ(count_of(s.starter.output(), "sending KILL"), 2u) << s.starter.output();
}

// ---- fork() failing ----------------------------------------------------------------------

TEST(FaultFork, ForkFailingUnderRlimitNprocKeepsTheWorkingGenerationAndRecovers) {
  SKIP_WITHOUT_NOBODY();
  TempDir dir;
  std::string home = nobody_dir(dir);
  std::string report_path = home + "/report";
  std::string pid_file = home + "/pid";
  std::string status = home + "/status";
  Report report(report_path);
  StarterProcess starter(
      dir,
      as_nobody_args({"--ready=notify", "--port=127.0.0.1:0", "--pid-file=" + pid_file,
                      "--status-file=" + status, "--", kFakeWorker, "--report=" + report_path,
                      "--ready-after-ms=0"}),
      {}, {}, kSetpriv);
  starter.watch_report(report_path);
  auto up = report.wait_for("notified", 1);
  ASSERT_TRUE(up) << starter.output();
  ASSERT_EQ(uid_of(starter.pid()), kNobody) << "start_server does not run as nobody";
  ASSERT_TRUE(wait_until([&] { return read_status_file(status) == Status{{1, up->pid}}; }));
  std::string addr = report.addr(1, "127.0.0.1:0");
  size_t fds_before = open_fds_of(starter.pid()).size();
  auto restart = [&] {
    return run_starter(
        {"--restart", "--pid-file=" + pid_file, "--status-file=" + status, "--restart-timeout=10"},
        15s);
  };

  // nobody may now have 1 process: start_server's next fork() fails with EAGAIN.
  ASSERT_EQ(set_soft_limit(starter.pid(), RLIMIT_NPROC, 1, true), 0);
  for (int gen = 2; gen <= 4; ++gen) {
    CommandResult r = restart();
    EXPECT_EQ(r.status, 2) << r.text() << "\n" << starter.output();
    EXPECT_NE(r.err.find("generation " + std::to_string(gen) + " could not be started (fork("),
              std::string::npos)
        << r.err;
  }
  // Each failed fork is logged with the call and errno's text (and then summed up in a
  // "restart failed: ..." line, as any failed reload is).
  for (int gen = 2; gen <= 4; ++gen)
    EXPECT_EQ(
        lines_with(starter.output(), {"failed to start generation " + std::to_string(gen) +
                                      ": fork(" + kFakeWorker + "): " + std::strerror(EAGAIN)})
            .size(),
        1u)
        << starter.output();
  EXPECT_FALSE(report.find("ready", 2)) << "a worker started after all";
  EXPECT_TRUE(starter.running());
  EXPECT_EQ(report.signals_for(up->pid), std::vector<std::string>{})
      << "generation 1 was signalled";
  EXPECT_EQ(read_status_file(status), (Status{{1, up->pid}}));
  EXPECT_EQ(request(addr), reply_of(1, up->pid));
  EXPECT_EQ(open_fds_of(starter.pid()).size(), fds_before) << joined(open_fds_of(starter.pid()));

  // The limit lifts: the next reload works.
  rlimit ours{};
  getrlimit(RLIMIT_NPROC, &ours);
  ASSERT_EQ(set_soft_limit(starter.pid(), RLIMIT_NPROC, ours.rlim_cur, true), 0);
  CommandResult r = restart();
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << starter.output();
  auto up5 = report.find("notified", 5);
  ASSERT_TRUE(up5) << starter.output();
  EXPECT_TRUE(report.wait_for_signal(up->pid, "TERM", kTimeout));
  EXPECT_EQ(read_status_file(status), (Status{{5, up5->pid}}));
  EXPECT_EQ(request(addr), reply_of(5, up5->pid));
}

// ---- a worker out of descriptors ---------------------------------------------------------

/// The lowest descriptor number `pid` does not use: where its next accept() would land.
int lowest_free_fd(pid_t pid) {
  std::set<int> used;
  for (const auto& line : open_fds_of(pid)) used.insert(std::atoi(line.c_str()));
  int fd = 0;
  while (used.count(fd)) ++fd;
  return fd;
}

// RLIMIT_NOFILE is lowered on the worker only (start_server's own limits are what a new
// generation inherits). What this shows: a worker's fd exhaustion stays the worker's
// problem; start_server neither notices nor suffers, and a reload recovers the service.
TEST(FaultAcceptEmfile, WorkerOutOfDescriptorsLeavesStartServerUnaffectedAndAReloadRecovers) {
  TempDir dir;
  Serving s(dir, {}, "--ready-after-ms=0");
  ASSERT_UP(s);
  ASSERT_EQ(request(s.addr), reply_of(1, s.pid1));
  size_t starter_fds = open_fds_of(s.starter.pid()).size();
  std::string output_before = s.starter.output();
  rlimit original{};
  ASSERT_EQ(prlimit(s.pid1, RLIMIT_NOFILE, nullptr, &original), 0) << std::strerror(errno);

  // Its next accept() fails with EMFILE: connections wait in the backlog, unanswered.
  ASSERT_EQ(set_soft_limit(s.pid1, RLIMIT_NOFILE, lowest_free_fd(s.pid1), false), 0);
  std::string reply = request(s.addr, 1s);
  EXPECT_EQ(reply.rfind("ERROR: no reply", 0), 0u) << "the fault did not happen: " << reply;
  // start_server is unaffected: running, same descriptors, generation 1 still listed.
  EXPECT_TRUE(s.starter.running());
  EXPECT_EQ(open_fds_of(s.starter.pid()).size(), starter_fds);
  EXPECT_EQ(read_status_file(s.status), (Status{{1, s.pid1}}));
  EXPECT_EQ(s.starter.output(), output_before) << "start_server reacted to a worker's own trouble";
  // Lifted, the worker serves again by itself.
  ASSERT_EQ(set_soft_limit(s.pid1, RLIMIT_NOFILE, original.rlim_cur, false), 0);
  EXPECT_EQ(request(s.addr), reply_of(1, s.pid1));

  // Exhausted again, a reload recovers: generation 2 has start_server's limits.
  ASSERT_EQ(set_soft_limit(s.pid1, RLIMIT_NOFILE, lowest_free_fd(s.pid1), false), 0);
  EXPECT_EQ(request(s.addr, 1s).rfind("ERROR: no reply", 0), 0u);
  CommandResult r = s.restart();
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << s.starter.output();
  auto up2 = s.report.find("notified", 2);
  ASSERT_TRUE(up2) << s.why();
  // Generation 1 cannot even open its report file now, but it obeys TERM and leaves.
  EXPECT_TRUE(wait_until([&] { return !process_alive(s.pid1); }, kTimeout))
      << "generation 1 did not stop";
  EXPECT_EQ(request(s.addr), reply_of(2, up2->pid));
  EXPECT_EQ(read_status_file(s.status), (Status{{2, up2->pid}}));
  EXPECT_EQ(open_fds_of(s.starter.pid()).size(), starter_fds);
}

// ---- start_server SIGKILLed, then started again ------------------------------------------

// The contract: the workers of a SIGKILLed start_server are orphans that go on serving on the
// sockets they inherited; nothing stops them (under systemd, KillMode=mixed or control-group
// does). While they listen, a new start_server cannot bind the same TCP port (SO_REUSEADDR
// allows a re-bind only when no listener is left) and refuses, in one line, before touching
// any file; a live socket file is not taken either. Once the orphans are gone, the same
// command takes over the stale (unlocked) pid file, replaces the stale socket file (and says
// so) and serves on the same port.
TEST(FaultSigkill, RestartedOnTheSamePortsAndFilesAfterTheOrphansAreGone) {
  TempDir dir;
  int port = free_port();
  std::string addr = "127.0.0.1:" + std::to_string(port);
  std::string sock = dir / "app.sock";
  std::string pid_file = dir / "pid";
  std::string status = dir / "status";
  auto args = [&](const std::string& report) {
    return concat({"--ready=notify", "--port=" + addr, "--path=" + sock, "--pid-file=" + pid_file,
                   "--status-file=" + status, "--"},
                  fake_worker(report, {"--ready-after-ms=0"}));
  };
  Report first_report(dir);
  auto first = std::make_unique<StarterProcess>(dir, args(dir.report()));
  auto orphan = first_report.wait_for("notified", 1);
  ASSERT_TRUE(orphan) << first->output();
  ASSERT_TRUE(wait_until([&] { return read_status_file(status) == Status{{1, orphan->pid}}; }));

  // A second start_server while the first one lives: refused in one line, nothing touched.
  std::string report2 = dir / "report2";
  Cleanup cleanup;
  cleanup.watch_report(report2);
  CommandResult live = run_starter(args(report2), 10s);
  EXPECT_EQ(live.status, 1) << live.text();
  ASSERT_EQ(live.err_lines().size(), 1u) << live.err;
  EXPECT_NE(live.err.find("pid file " + pid_file + " is held by a running start_server"),
            std::string::npos)
      << live.err;
  EXPECT_FALSE(file_exists(report2));
  EXPECT_EQ(read_file(pid_file), std::to_string(first->pid()) + "\n");

  // SIGKILL: no cleanup at all. The worker is orphaned and serves on.
  pid_t killed = first->pid();
  first->signal(SIGKILL);  // (its scope guard would kill the orphan: it stays until the end)
  ASSERT_EQ(first->wait_exit(), 128 + SIGKILL);
  EXPECT_TRUE(process_alive(orphan->pid));
  EXPECT_EQ(read_file(pid_file), std::to_string(killed) + "\n") << "the stale pid file";
  EXPECT_TRUE(is_socket_file(sock)) << "the stale socket file";
  EXPECT_EQ(request(addr), reply_of(1, orphan->pid));

  // The same command while the orphan listens: one line naming the port, nothing touched.
  CommandResult busy = run_starter(args(report2), 10s);
  EXPECT_EQ(busy.status, 1) << busy.text();
  ASSERT_EQ(busy.err_lines().size(), 1u) << busy.err;
  EXPECT_NE(busy.err.find("bind(" + addr + "): " + std::strerror(EADDRINUSE)), std::string::npos)
      << busy.err;
  EXPECT_FALSE(file_exists(report2));
  EXPECT_EQ(read_file(pid_file), std::to_string(killed) + "\n");
  EXPECT_EQ(request(sock), reply_of(1, orphan->pid)) << "the orphan's socket file was replaced";
  // The unix path alone is refused too: its socket is live.
  CommandResult busy_path =
      run_starter(concat({"--path=" + sock, "--"}, fake_worker(report2)), 10s);
  EXPECT_EQ(busy_path.status, 1) << busy_path.text();
  ASSERT_EQ(busy_path.err_lines().size(), 1u) << busy_path.err;
  EXPECT_NE(busy_path.err.find("'" + sock + "' is in use by another process"), std::string::npos)
      << busy_path.err;

  // The operator stops the orphan (by pid); the same command now takes everything over.
  kill(orphan->pid, SIGTERM);
  ASSERT_TRUE(wait_until([&] { return !process_alive(orphan->pid); }, kTimeout));
  (void)waitpid(orphan->pid, nullptr, WNOHANG);  // reparented to us, the subreaper
  Report second_report(report2);
  StarterProcess second(dir, args(report2));
  second.watch_report(report2);
  auto up = second_report.wait_for("notified", 1);
  ASSERT_TRUE(up) << second.output();
  EXPECT_EQ(read_file(pid_file), std::to_string(second.pid()) + "\n");
  EXPECT_TRUE(wait_until([&] { return read_status_file(status) == Status{{1, up->pid}}; }));
  EXPECT_EQ(count_of(second.output(), "removing stale socket file " + sock), 1u) << second.output();
  EXPECT_EQ(request(addr), reply_of(1, up->pid));
  EXPECT_EQ(request(sock), reply_of(1, up->pid));
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait_exit(), 0) << second.output();
  EXPECT_FALSE(file_exists(pid_file));
  EXPECT_FALSE(file_exists(sock));
}

// ---- garbage on the notify socket --------------------------------------------------------

/// What a stranger sends: a forged READY=1, an oversized datagram, binary bytes, and 20
/// descriptors of ours. "" or the first error.
std::string send_foreign_garbage(const std::string& socket, int rounds) {
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) fds.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  std::string error;
  for (int i = 0; i < rounds && error.empty(); ++i) {
    for (const std::string& message :
         {std::string("READY=1\nSTATUS=forged\n"), "READY=1\n" + std::string(6000, 'y'),
          std::string("\x01\x02\xff\xfe", 4)}) {
      error = send_datagram(socket, message);
      if (!error.empty()) break;
    }
    if (error.empty()) error = send_datagram(socket, "X=1\n", fds);
  }
  for (int fd : fds) close(fd);
  return error;
}

TEST(FaultNotifyGarbage, GarbageIsLoggedOncePerGenerationAndKindAndReadyStillCounts) {
  TempDir dir;
  // Each generation sends its garbage, then (after 400 ms) a proper READY=1; the test, a
  // stranger, sends its own in between.
  Serving s(dir, {}, "--notify-garbage --ready-after-ms=400 --env=NOTIFY_SOCKET");
  ASSERT_UP(s);
  ASSERT_TRUE(s.report.find("garbage", 1)) << s.why();
  EXPECT_EQ(s.report.find("garbage", 1)->field("sent"), "4") << s.why();
  size_t fds_settled = open_fds_of(s.starter.pid()).size();
  std::string me = std::to_string(getpid());

  // Generation 2: its own garbage, and 50 rounds of a stranger's (1,000 descriptors passed).
  ASSERT_EQ(kill(s.starter.pid(), SIGHUP), 0);
  ASSERT_TRUE(s.report.wait_for("env", 2, kTimeout)) << s.why();
  auto socket2 = s.report.env(2, "NOTIFY_SOCKET");
  ASSERT_TRUE(socket2) << s.why();
  EXPECT_EQ(send_foreign_garbage(*socket2, 50), "");
  auto up2 = s.report.wait_for("notified", 2, kTimeout);
  ASSERT_TRUE(up2) << s.why();
  ASSERT_TRUE(wait_until(
      [&] {
        return read_status_file(s.status) == Status{{2, up2->pid}};
      },
      kTimeout))
      << s.why();
  // READY=1 came after the garbage, so every datagram of it was read by now.
  EXPECT_TRUE(wait_until([&] { return !process_alive(s.pid1); }, kTimeout));
  std::string out = s.starter.output();
  EXPECT_TRUE(s.starter.running()) << out;
  EXPECT_NE(out.find("generation 2 (pid " + std::to_string(up2->pid) + ") is ready"),
            std::string::npos)
      << out;
  for (int gen : {1, 2}) {
    std::string g = std::to_string(gen);
    EXPECT_EQ(count_of(out, "generation " + g + " sent a malformed notification"), 1u) << out;
  }
  EXPECT_EQ(count_of(out, "ignoring notifications to generation 2 from pid " + me), 1u) << out;
  EXPECT_EQ(count_of(out, "ignoring notifications"), 1u) << out;
  EXPECT_EQ(count_of(out, "malformed"), 2u) << out;
  // Every passed descriptor was closed: start_server holds as many as before.
  EXPECT_TRUE(
      wait_until([&] { return open_fds_of(s.starter.pid()).size() == fds_settled; }, kTimeout))
      << fds_settled << " before, now:\n"
      << joined(open_fds_of(s.starter.pid()));
  EXPECT_EQ(request(s.addr), reply_of(2, up2->pid));
}

// systemd drops a datagram too large for its buffer as a whole; a READY=1 at its start does
// not count, nor does one inside a line of binary bytes, nor a stranger's.
TEST(FaultNotifyGarbage, GarbageAloneNeverMakesAGenerationReady) {
  TempDir dir;
  Serving s(dir, {"--ready-timeout=2"}, "--ready-after-ms=0");
  ASSERT_UP(s);
  s.set_flags("--notify-garbage --env=NOTIFY_SOCKET");  // garbage only, never a proper READY=1
  ASSERT_EQ(kill(s.starter.pid(), SIGHUP), 0);
  ASSERT_TRUE(s.report.wait_for("env", 2, kTimeout)) << s.why();
  auto socket2 = s.report.env(2, "NOTIFY_SOCKET");
  ASSERT_TRUE(socket2);
  EXPECT_EQ(send_foreign_garbage(*socket2, 1), "");
  EXPECT_TRUE(s.report.wait_for("garbage", 2, kTimeout)) << s.why();
  EXPECT_TRUE(wait_until(
      [&] {
        return read_file(s.status).find("reload-failed:generation 2 was not ready within 2s") !=
               std::string::npos;
      },
      kTimeout))
      << s.why() << "status:\n"
      << read_file(s.status);
  EXPECT_EQ(s.report.signals_for(s.pid1), std::vector<std::string>{})
      << "generation 1 was retired by garbage";
  EXPECT_EQ(read_status_file(s.status), (Status{{1, s.pid1}}));
  EXPECT_EQ(request(s.addr), reply_of(1, s.pid1));
  EXPECT_EQ(s.starter.output().find("generation 2 (pid"), std::string::npos)
      << "generation 2 was taken for ready:\n"
      << s.starter.output();
}

// ---- malformed LISTEN_FDS / LISTEN_FDNAMES / LISTEN_PID ----------------------------------

struct ListenCase {
  const char* name;
  int sockets;                     ///< listening sockets placed at 3, 4, ...
  bool dev_null_at_3;              ///< fd 3 is /dev/null instead
  std::string exports;             ///< shell exports before exec
  std::vector<std::string> words;  ///< the one line must hold these; empty: not refused
};

void PrintTo(const ListenCase& c, std::ostream* os) { *os << c.name; }

class ListenVariables : public testing::TestWithParam<ListenCase> {};

// What libsystemd 252's sd_listen_fds_with_names() makes of each, and so what we do: an error
// from it is one line and exit 1 (the variables are malformed); LISTEN_PID naming another
// process, or missing, means the sockets are not for us (0 sockets, variables unset):
// start_server binds its own, and the passed descriptor reaches no worker.
TEST_P(ListenVariables, OneLineAndExit1OrIgnoredAsLibsystemdDoes) {
  const ListenCase& c = GetParam();
  TempDir dir;
  std::vector<TestSocket> sockets;
  std::vector<int> fds;
  for (int i = 0; i < c.sockets; ++i) {
    sockets.push_back(TestSocket::inet("127.0.0.1"));
    fds.push_back(sockets.back().fd());
  }
  int null_fd = -1;
  if (c.dev_null_at_3) fds.push_back(null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto starter = launch(dir, fds, c.exports,
                        concat({kStarter, "--port=127.0.0.1:0"},
                               worker_args(dir, {"--env=LISTEN_FDS", "--env=LISTEN_PID"})));
  if (null_fd >= 0) close(null_fd);
  if (!c.words.empty()) {
    expect_one_line_refusal(dir, *starter, c.words);
    return;
  }
  Report report(dir);
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << starter->output();
  EXPECT_EQ(starter->output().find("systemd"), std::string::npos) << starter->output();
  auto listens = report.listens(1);
  ASSERT_EQ(listens.size(), 1u) << read_file(report.path());
  int fd = std::atoi(listens[0].field("fd").c_str());
  for (const auto& s : sockets)
    EXPECT_NE(fd_identity(*pid, fd), s.identity())
        << "the worker got the socket that was not for us";
  EXPECT_EQ(report.fds(1), (std::vector<int>{0, 1, 2, fd}))
      << "the passed descriptor leaked to the worker";
  EXPECT_TRUE(report.env_unset(1, "LISTEN_FDS")) << read_file(report.path());
  EXPECT_TRUE(report.env_unset(1, "LISTEN_PID")) << read_file(report.path());
  EXPECT_EQ(request(listens[0].field("addr")), reply_of(1, *pid));
}

const std::string kEinval = std::strerror(EINVAL);

INSTANTIATE_TEST_SUITE_P(
    FaultListenFds, ListenVariables,
    testing::Values(
        ListenCase{"FdsNotANumber",
                   1,
                   false,
                   "export LISTEN_PID=$$ LISTEN_FDS=abc;",
                   {"LISTEN_FDS", kEinval}},
        ListenCase{
            "FdsZero", 1, false, "export LISTEN_PID=$$ LISTEN_FDS=0;", {"LISTEN_FDS", kEinval}},
        ListenCase{"FdsNegative",
                   1,
                   false,
                   "export LISTEN_PID=$$ LISTEN_FDS=-1;",
                   {"LISTEN_FDS", kEinval}},
        ListenCase{"FdsOverflow",
                   1,
                   false,
                   "export LISTEN_PID=$$ LISTEN_FDS=99999999999;",
                   {"LISTEN_FDS", std::strerror(ERANGE)}},
        ListenCase{"FdsMoreThanOpen",
                   1,
                   false,
                   "export LISTEN_PID=$$ LISTEN_FDS=2;",
                   {"LISTEN_FDS", std::strerror(EBADF)}},
        ListenCase{"FdnamesTooFew",
                   2,
                   false,
                   "export LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=web;",
                   {"LISTEN_FDNAMES", kEinval}},
        ListenCase{"FdnamesTooMany",
                   1,
                   false,
                   "export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=a:b:c;",
                   {"LISTEN_FDNAMES", kEinval}},
        ListenCase{"PidNotANumber",
                   1,
                   false,
                   "export LISTEN_PID=abc LISTEN_FDS=1;",
                   {"LISTEN_FDS", kEinval}},
        ListenCase{"FdIsNotASocket",
                   0,
                   true,
                   "export LISTEN_PID=$$ LISTEN_FDS=1;",
                   {"fd 3", "not a socket"}},
        ListenCase{"PidOfAnotherProcess", 1, false, "export LISTEN_PID=1 LISTEN_FDS=1;", {}},
        ListenCase{"PidMissing", 1, false, "export LISTEN_FDS=1;", {}}),
    [](const testing::TestParamInfo<ListenCase>& p) { return std::string(p.param.name); });

// ==== 5. Files and privileges ============================================================

// ---- atomic pid and status files -----------------------------------------------------------

TEST(FilesAtomic, PidAndStatusFilesAreNeverSeenHalfWrittenThroughManyReloads) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  std::string status = dir / "status";
  // The reader starts before start_server does, so it also watches the files appear.
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<pid_t> expected_pid{0};
  std::atomic<bool> stopping{false};  // from then on, the list of generations may empty
  std::vector<std::string> torn;      // the reader's only, until joined
  bool seen_serving = false;
  std::thread reader([&] {
    static const std::regex pid_re(R"(^[1-9]\d*\n$)");
    static const std::regex line_re(R"(^(\d+:\d+|[a-z-]+:[^:\n]*)$)");
    while (!stop) {
      if (auto text = read_if_present(pid_file)) {
        if (!std::regex_match(*text, pid_re) ||
            (expected_pid && *text != std::to_string(expected_pid.load()) + "\n"))
          torn.push_back("pid file: '" + *text + "'");
      }
      if (auto text = read_if_present(status)) {
        bool ok = !text->empty() && text->back() == '\n';
        for (const auto& line : split_lines(*text)) ok = ok && std::regex_match(line, line_re);
        // Once a generation served, one always does: an empty list means a torn file.
        bool serving = !parse_status(*text).empty();
        if (seen_serving && !serving && !stopping) ok = false;
        seen_serving = seen_serving || serving;
        if (!ok) torn.push_back("status file: '" + *text + "'");
      }
      ++reads;
    }
  });
  StarterProcess starter(dir, concat({"--ready=notify", "--port=127.0.0.1:0",
                                      "--pid-file=" + pid_file, "--status-file=" + status},
                                     worker_args(dir, {"--ready-after-ms=0"})));
  expected_pid = starter.pid();
  const int kReloads = 40;
  bool all = report.wait_for("notified", 1).has_value();
  for (int gen = 2; all && gen <= kReloads + 1; ++gen) {
    starter.signal(SIGHUP);
    auto up = report.wait_for("notified", gen, kTimeout);
    all = up && wait_until(
                    [&] {
                      return read_status_file(status) == Status{{gen, up->pid}};
                    },
                    kTimeout);
  }
  long reads_then = reads;
  wait_until([&] { return reads >= reads_then + 3; }, 1s);
  stopping = true;
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0);
  stop = true;
  reader.join();
  std::printf("[  FILES   ] %d reloads, %ld reads of the pid and status files\n", kReloads,
              reads.load());
  ASSERT_TRUE(all) << starter.output();
  EXPECT_TRUE(torn.empty()) << torn.size() << " torn reads, e.g. " << torn.front();
  EXPECT_FALSE(file_exists(pid_file));
  EXPECT_FALSE(file_exists(status));
  // Nothing left of the temporary files either.
  EXPECT_EQ(processes_mentioning(dir.path()), std::vector<pid_t>{});
  DIR* d = opendir(dir.path().c_str());
  while (dirent* e = readdir(d))
    EXPECT_EQ(std::string(e->d_name).find(".tmp."), std::string::npos) << e->d_name;
  closedir(d);
}

// ---- symlinks planted at the pid file, the status file and their temporary names ---------

// The temporary name is PATH.tmp.PID. The launcher tells its pid (which start_server keeps,
// exec after exec) and waits until the test has planted its symlinks there.
TEST(FilesSymlink, PlantedSymlinksAreReplacedNeverFollowed) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  std::string status = dir / "status";
  std::string fifo = dir / "go";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::map<std::string, std::string> victims;
  for (const char* name :
       {"victim-pid", "victim-status", "victim-pid-tmp", "victim-status-tmp", "victim-later"}) {
    victims[name] = dir / name;
    write_file(dir / name, std::string("precious ") + name + "\n");
  }
  std::string never = dir / "never-created";
  ASSERT_EQ(symlink(victims["victim-pid"].c_str(), pid_file.c_str()), 0);
  ASSERT_EQ(symlink(victims["victim-status"].c_str(), status.c_str()), 0);

  StarterProcess starter(
      dir,
      concat({"-c", "echo $$ > " + (dir / "launcher.pid") + "; read go < " + fifo + "; exec \"$@\"",
              "launcher", kStarter, "--ready=notify", "--port=127.0.0.1:0",
              "--pid-file=" + pid_file, "--status-file=" + status},
             worker_args(dir, {"--ready-after-ms=0"})),
      {}, {}, "/bin/bash");
  ASSERT_TRUE(wait_until([&] {
    return read_file(dir / "launcher.pid") == std::to_string(starter.pid()) + "\n";
  })) << starter.output();
  std::string tmp_suffix = ".tmp." + std::to_string(starter.pid());
  ASSERT_EQ(symlink(victims["victim-pid-tmp"].c_str(), (pid_file + tmp_suffix).c_str()), 0);
  ASSERT_EQ(symlink(never.c_str(), (status + tmp_suffix).c_str()),
            0);  // dangling: O_CREAT would make it
  write_file(fifo, "go\n");

  auto up = report.wait_for("notified", 1);
  ASSERT_TRUE(up) << starter.output();
  ASSERT_TRUE(wait_until([&] {
    return read_status_file(status) == Status{{1, up->pid}};
  })) << read_file(status);
  EXPECT_TRUE(is_regular_file(pid_file)) << "the pid file is still a symlink";
  EXPECT_TRUE(is_regular_file(status)) << "the status file is still a symlink";
  EXPECT_EQ(read_file(pid_file), std::to_string(starter.pid()) + "\n");
  EXPECT_FALSE(file_exists(never))
      << "a file was created through the symlink at the temporary name";
  EXPECT_FALSE(file_exists(pid_file + tmp_suffix));
  EXPECT_FALSE(file_exists(status + tmp_suffix));

  // While it runs: symlinks planted again at the status file and its temporary name.
  ASSERT_EQ(symlink(victims["victim-status-tmp"].c_str(), (status + tmp_suffix).c_str()), 0);
  ASSERT_EQ(unlink(status.c_str()), 0);
  ASSERT_EQ(symlink(victims["victim-later"].c_str(), status.c_str()), 0);
  starter.signal(SIGHUP);
  auto up2 = report.wait_for("notified", 2);
  ASSERT_TRUE(up2) << starter.output();
  EXPECT_TRUE(wait_until([&] {
    return is_regular_file(status) && read_status_file(status) == Status{{2, up2->pid}};
  })) << read_file(status);
  EXPECT_FALSE(file_exists(status + tmp_suffix));

  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_FALSE(file_exists(pid_file));
  EXPECT_FALSE(file_exists(status));
  for (const auto& [name, path] : victims)
    EXPECT_EQ(read_file(path), "precious " + name + "\n") << path;
}

// ---- --path-mode -------------------------------------------------------------------------

struct ModeCase {
  const char* name;
  std::vector<std::string> option;
  unsigned mode;
};

void PrintTo(const ModeCase& c, std::ostream* os) { *os << c.name; }

class PathMode : public testing::TestWithParam<ModeCase> {};

// Under a umask of 077, so the mode is the one asked for, whatever the umask.
TEST_P(PathMode, UnixSocketFileHasTheModeAskedFor) {
  TempDir dir;
  Report report(dir);
  std::string sock = dir / "app.sock";
  StarterProcess starter(
      dir,
      concat(concat({"-c", "umask 077; exec \"$@\"", "launcher", kStarter, "--path=" + sock},
                    GetParam().option),
             worker_args(dir)),
      {}, {}, "/bin/bash");
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << starter.output();
  struct stat st {};
  ASSERT_EQ(lstat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, GetParam().mode) << std::oct << (st.st_mode & 07777);
  EXPECT_EQ(request(sock), reply_of(1, *pid));
}

INSTANTIATE_TEST_SUITE_P(FilesSocketMode, PathMode,
                         testing::Values(ModeCase{"Default0777", {}, 0777},
                                         ModeCase{"Mode0600", {"--path-mode=0600"}, 0600},
                                         ModeCase{"Mode0660", {"--path-mode=0660"}, 0660}),
                         [](const testing::TestParamInfo<ModeCase>& p) {
                           return std::string(p.param.name);
                         });

// ---- an unprivileged start_server on a privileged port -------------------------------------

/// A TCP socket bound by us (root) on 127.0.0.1 at a free port in 900..1000, or nullopt.
std::optional<TestSocket> privileged_socket() {
  for (int port = 900; port <= 1000; ++port) {
    try {
      return TestSocket::inet("127.0.0.1", SOCK_STREAM, port);
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

TEST(FilesNonRoot, ServesOnAPortBelow1024FromASocketManagerAndCannotBindItAlone) {
  SKIP_WITHOUT_NOBODY();
  auto socket = privileged_socket();
  if (!socket) GTEST_SKIP() << "no free port in 900..1000 on 127.0.0.1";
  TempDir dir;
  std::string home = nobody_dir(dir);
  std::string report_path = home + "/report";
  Report report(report_path);
  std::string port = "--port=" + socket->addr();
  // The manager (we, root) binds; start_server and its workers never run as root.
  auto starter =
      launch(dir, {socket->fd()}, "export LISTEN_PID=$$ LISTEN_FDS=1;",
             concat({kSetpriv}, as_nobody_args({"--interval=0", port, "--pid-file=" + home + "/pid",
                                                "--status-file=" + home + "/status", "--",
                                                kFakeWorker, "--report=" + report_path})));
  starter->watch_report(report_path);
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << starter->output();
  EXPECT_EQ(uid_of(starter->pid()), kNobody);
  EXPECT_EQ(uid_of(*pid), kNobody);
  auto listens = report.listens(1);
  ASSERT_EQ(listens.size(), 1u) << read_file(report_path);
  EXPECT_EQ(listens[0].field("key"), socket->addr());
  EXPECT_EQ(fd_identity(*pid, std::atoi(listens[0].field("fd").c_str())), socket->identity());
  EXPECT_EQ(request(socket->addr()), reply_of(1, *pid));
  // And across a reload, still without any privilege.
  starter->signal(SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  ASSERT_TRUE(pid2) << starter->output();
  EXPECT_TRUE(wait_until([&] { return !process_alive(*pid); }));
  EXPECT_EQ(request(socket->addr()), reply_of(2, *pid2));
  starter->signal(SIGTERM);
  EXPECT_EQ(starter->wait_exit(), 0) << starter->output();

  // The same command as nobody without the socket: binding a port below 1024 is refused.
  std::string unprivileged_start = read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  if (std::atoi(unprivileged_start.c_str()) <= socket->port())
    GTEST_SKIP() << "ports from " << unprivileged_start << " on are not privileged here";
  CommandResult alone = run_command(
      concat({kSetpriv}, as_nobody_args({port, "--", kFakeWorker, "--report=" + report_path})), 10s,
      {}, home);
  EXPECT_EQ(alone.status, 1) << alone.text();
  ASSERT_EQ(alone.err_lines().size(), 1u) << alone.err;
  EXPECT_NE(alone.err.find("bind(" + socket->addr() + "): " + std::strerror(EACCES)),
            std::string::npos)
      << alone.err;
}

// ---- no descriptor but the listeners reaches a worker ---------------------------------------

struct FdMode {
  const char* name;
  std::vector<std::string> options;  ///< besides the listeners; "DIR" is replaced by the TempDir
  std::vector<std::string> worker_flags;
  bool activated = false;  ///< the listeners come from a socket manager
  bool daemonize = false;
};

void PrintTo(const FdMode& m, std::ostream* os) { *os << m.name; }

class WorkerFds : public testing::TestWithParam<FdMode> {};

std::vector<std::string> with_dir(std::vector<std::string> v, const TempDir& dir) {
  for (auto& s : v)
    if (auto at = s.find("DIR"); at != std::string::npos) s.replace(at, 3, dir.path());
  return v;
}

TEST_P(WorkerFds, OnlyTheListenersAndStdioReachEveryGeneration) {
  const FdMode& m = GetParam();
  TempDir dir;
  Report report(dir);
  std::string sock = dir / "app.sock";
  std::optional<TestSocket> tcp, unix_socket;
  std::vector<std::string> listeners = {"--interval=0", "--port=127.0.0.1:0", "--path=" + sock};
  if (m.activated) {
    tcp.emplace(TestSocket::inet("127.0.0.1"));
    unix_socket.emplace(TestSocket::unix_stream(sock));
    listeners = {"--interval=0", "--port=" + tcp->addr(), "--path=" + sock};
  }
  auto args = concat(concat(listeners, with_dir(m.options, dir)), worker_args(dir, m.worker_flags));
  std::unique_ptr<StarterProcess> starter;
  std::unique_ptr<ActivatedStarter> activated;
  Cleanup cleanup;
  cleanup.watch_report(dir.report());
  pid_t daemon = 0;
  if (m.activated) {
    activated = std::make_unique<ActivatedStarter>(
        dir, std::vector<const TestSocket*>{&*tcp, &*unix_socket}, args);
  } else if (m.daemonize) {
    CommandResult r = run_starter(args, kTimeout);
    ASSERT_EQ(r.status, 0) << r.text();
  } else {
    starter = std::make_unique<StarterProcess>(dir, args);
  }
  auto output = [&] {
    return starter     ? starter->output()
           : activated ? activated->process().output()
                       : read_file(dir / "log");
  };
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << output();
  pid_t parent = parent_of(*pid);
  if (m.daemonize) cleanup.adopt(daemon = parent);
  auto expected = [&](int gen) {
    std::vector<int> fds{0, 1, 2};
    for (const auto& l : report.listens(gen)) fds.push_back(std::atoi(l.field("fd").c_str()));
    std::sort(fds.begin(), fds.end());
    return fds;
  };
  EXPECT_EQ(report.listens(1).size(), 2u) << read_file(report.path());
  EXPECT_EQ(report.fds(1), expected(1))
      << "generation 1 of start_server " << parent << ", which holds:\n"
      << joined(open_fds_of(parent));
  // A generation spawned by the running loop, not at start-up, inherits nothing more either.
  kill(parent, SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  ASSERT_TRUE(pid2) << output();
  EXPECT_EQ(report.fds(2), expected(2)) << "start_server holds:\n" << joined(open_fds_of(parent));
  if (m.daemonize) {
    CommandResult stop = run_starter({"--stop", "--pid-file=" + (dir / "pid")});
    EXPECT_EQ(stop.status, 0) << stop.text();
    EXPECT_TRUE(wait_until([&] { return !process_alive(daemon); }));
  }
}

INSTANTIATE_TEST_SUITE_P(
    FilesFds, WorkerFds,
    testing::Values(
        FdMode{"Default", {}, {}},
        FdMode{"ReadyNotify", {"--ready=notify"}, {"--ready-after-ms=0"}},
        FdMode{"ListenFds", {"--listen-fds"}, {}}, FdMode{"LogFile", {"--log-file=DIR/log"}, {}},
        FdMode{"LogPipe", {"--log-file=| cat >> DIR/log"}, {}},
        FdMode{"PidAndStatusFiles", {"--pid-file=DIR/pid", "--status-file=DIR/status"}, {}},
        FdMode{"Daemonize",
               {"--daemonize", "--log-file=DIR/log", "--pid-file=DIR/pid"},
               {},
               false,
               true},
        FdMode{"SocketActivated", {}, {}, true},
        FdMode{"Everything",
               {"--ready=notify", "--listen-fds", "--log-file=| cat >> DIR/log",
                "--pid-file=DIR/pid", "--status-file=DIR/status", "--drain-timeout=5"},
               {"--ready-after-ms=0"},
               true}),
    [](const testing::TestParamInfo<FdMode>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace itest
