// Reliability and security (issue 8, items 1, 2 and 5), as an operator would see them:
//
//  Files*   pid and status files replaced atomically and never through a planted symlink,
//           --path-mode, an unprivileged start_server on a port below 1024 handed over by a
//           socket manager, and no descriptor but the listeners reaching a worker in any mode.
//
// Tests that need another user run start_server as `nobody` through setpriv(1) (root ignores
// RLIMIT_NPROC and may bind any port) and skip, saying why, where that is impossible.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "activation.h"
#include "harness.h"
#include "reliability_support.h"

namespace itest {
namespace {

// ---- small helpers ---------------------------------------------------------------------

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

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
  // The reader takes a few more looks after the last reload (its thread still runs, so no
  // ASSERT here).
  EXPECT_TRUE(wait_until([&] { return reads >= reads_then + 3; })) << "the reader stopped reading";
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
  EXPECT_NE(alone.err.find("bind('" + socket->addr() + "'): " + std::strerror(EACCES)),
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
