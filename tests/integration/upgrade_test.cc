// Upgrade in place (issue 13): SIGUSR2 and `start_server --upgrade`. The daemon runs from a
// copy of the built start_server in the test's directory, the "installed" binary that each
// test replaces, breaks or removes as a package upgrade (or an accident) would; a client loop
// hits the listener all along and must never fail. After an upgrade the daemon has the same
// pid, the same listening socket at the same descriptor, the same workers (no signal seen)
// and the same generation counter; when the new binary cannot take over, it carries on as it
// was and says why in one line.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "harness.h"

namespace itest {
namespace {

/// Requests to `addr` in a loop from a thread, counting what failed, until destroyed.
class ClientLoad {
 public:
  explicit ClientLoad(std::string addr) : addr_(std::move(addr)), thread_([this] { run(); }) {}
  ~ClientLoad() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  std::string first_failure() const { return first_failure_; }

 private:
  void run() {
    while (!stop_) {
      std::string reply = request(addr_, 3s);
      if (reply.rfind("ERROR", 0) == 0 || reply.empty()) {
        if (failed_++ == 0) first_failure_ = reply;
      } else {
        ++ok_;
      }
    }
  }
  std::string addr_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::string first_failure_;
  std::thread thread_;
};

/// Puts a copy of the built start_server at `path` the way dpkg installs a file: written
/// beside it, then renamed over it, so a running image of the old file keeps its inode.
void install_starter(const std::string& path) {
  std::string tmp = path + ".dpkg-new";
  std::filesystem::copy_file(kStarter, tmp, std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(::chmod(tmp.c_str(), 0755), 0);
  ASSERT_EQ(::rename(tmp.c_str(), path.c_str()), 0);
}

/// What /proc/PID/exe names: the running image's file, " (deleted)" once it was replaced.
std::string exe_of(pid_t pid) {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
}

/// start_server run from dir/bin/start_server with a pid file and a status file, generation
/// 1 of the fake worker up, and a client load on its listener.
struct Installed {
  explicit Installed(const TempDir& dir, const std::vector<std::string>& options = {},
                     const std::vector<std::string>& env = {})
      : binary(dir / "bin/start_server"),
        pid_file(dir / "pid"),
        status(dir / "status"),
        report(dir) {
    make_dir(dir / "bin");
    install_starter(binary);
    starter.emplace(dir,
                    concat(concat({"--pid-file=" + pid_file, "--status-file=" + status,
                                   "--port=127.0.0.1:0", "--interval=0"},
                                  options),
                           worker_args(dir)),
                    env, std::vector<int>{}, binary);
    if (auto ready = report.wait_for_ready(1)) pid1 = *ready;
    addr = report.addr(1, "127.0.0.1:0");
    up = pid1 > 0 && !addr.empty() && wait_until([&] { return file_exists(pid_file + ".detail"); });
    if (up) load.emplace(addr);
  }

  CommandResult upgrade() const {
    return run_starter({"--upgrade", "--pid-file=" + pid_file, "--restart-timeout=20"}, 25s);
  }
  /// The listener's socket as the daemon holds it: "socket:[INODE]" at its descriptor.
  std::map<int, std::string> sockets() const {
    std::map<int, std::string> out;
    for (const auto& [fd, what] : fds_of(starter->pid()))
      if (what.rfind("socket:", 0) == 0) out[fd] = what;
    return out;
  }
  /// Everything is as before: same pid serving, generation 1 untouched, no failed request.
  void expect_carried_on(const std::string& context) {
    ASSERT_TRUE(load);
    load->stop();
    EXPECT_TRUE(starter->running()) << context << "\n" << starter->output();
    EXPECT_EQ(load->failed(), 0) << context << ": " << load->first_failure();
    EXPECT_GT(load->ok(), 0) << context;
    EXPECT_TRUE(process_alive(pid1)) << context;
    EXPECT_TRUE(report.signals_for(pid1).empty()) << context;
    EXPECT_EQ(request(addr), reply_of(1, pid1)) << context;
    EXPECT_EQ(read_status_file(status), (Status{{1, pid1}})) << context;
  }

  std::string binary, pid_file, status;
  Report report;
  std::optional<StarterProcess> starter;
  pid_t pid1 = 0;
  std::string addr;
  bool up = false;
  std::optional<ClientLoad> load;
};

#define ASSERT_INSTALLED(i) ASSERT_TRUE((i).up) << (i).starter->output()

TEST(Upgrade, ANewBinaryTakesOverWithTheSamePidSocketsAndWorkers) {
  TempDir dir;
  Installed d(dir);
  ASSERT_INSTALLED(d);
  auto sockets = d.sockets();
  install_starter(d.binary);  // the package upgrade: the running image's file is gone
  ASSERT_NE(exe_of(d.starter->pid()).find("(deleted)"), std::string::npos)
      << exe_of(d.starter->pid());

  auto r = d.upgrade();
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << d.starter->output();
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(exe_of(d.starter->pid()), d.binary) << "the new file runs now";
  EXPECT_EQ(d.sockets(), sockets) << "the same sockets at the same descriptors, nothing more";
  d.expect_carried_on("after the upgrade");
  EXPECT_EQ(count_of(d.starter->output(), "upgraded in place"), 1u) << d.starter->output();

  // The generation counter went across: the next reload starts generation 2, on the same socket.
  auto restart =
      run_starter({"--restart", "--pid-file=" + d.pid_file, "--status-file=" + d.status}, 15s);
  EXPECT_EQ(restart.status, 0) << restart.text() << "\n" << d.starter->output();
  auto pid2 = d.report.wait_for_ready(2);
  ASSERT_TRUE(pid2) << d.starter->output();
  EXPECT_EQ(request(d.addr), reply_of(2, *pid2));
  EXPECT_TRUE(wait_until([&] { return !process_alive(d.pid1); }))
      << "the restored supervisor retires generation 1";
}

TEST(Upgrade, TwiceInARowAndStopRemovesEverything) {
  TempDir dir;
  Installed d(dir);
  ASSERT_INSTALLED(d);
  for (int i = 0; i < 2; ++i) {
    auto r = d.upgrade();
    EXPECT_EQ(r.status, 0) << r.text() << "\n" << d.starter->output();
  }
  d.expect_carried_on("after two upgrades");
  auto stop = run_starter({"--stop", "--pid-file=" + d.pid_file}, 15s);
  EXPECT_EQ(stop.status, 0) << stop.text();
  EXPECT_EQ(d.starter->wait_exit(), 0) << d.starter->output();
  EXPECT_FALSE(file_exists(d.pid_file));
  EXPECT_FALSE(file_exists(d.pid_file + ".detail"));
  EXPECT_FALSE(file_exists(d.status));
}

// A HUP queued behind a reload still under way (--kill-old-delay) goes across: the upgraded
// start_server starts the next generation once the first reload is over.
TEST(Upgrade, AQueuedReloadGoesAcross) {
  TempDir dir;
  Installed d(dir, {"--kill-old-delay=2"});
  ASSERT_INSTALLED(d);
  d.starter->signal(SIGHUP);
  ASSERT_TRUE(d.report.wait_for_ready(2)) << d.starter->output();
  d.starter->signal(SIGHUP);  // retiring generation 1: queued
  auto r = d.upgrade();
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << d.starter->output();
  EXPECT_TRUE(d.report.wait_for_ready(3, 15s)) << d.starter->output();
  EXPECT_TRUE(wait_until([&] { return read_status_file(d.status).size() == 1; }, 15s))
      << d.starter->output();
}

// A worker that exits while start_server is between its two images (the old one has saved
// its state, the new one is not yet supervising) is reaped and accounted for by the new
// image: its SIGCHLD stays pending across the exec (blocked, and execve keeps pending
// signals), so the new image's signalfd sees it. The test kills the worker as soon as
// /proc/PID/exe shows the new file, which is inside that window or just after it; either way
// the death must be logged once and the generation replaced, the upgrade still ok.
TEST(Upgrade, AWorkerThatExitsDuringTheExecIsReapedByTheNewImage) {
  TempDir dir;
  Installed d(dir);
  ASSERT_INSTALLED(d);
  d.load->stop();  // the worker is killed on purpose: requests to it may fail
  install_starter(d.binary);
  pid_t pid = d.starter->pid();
  ASSERT_EQ(::kill(pid, SIGUSR2), 0);
  // A busy wait, bounded: the window lasts milliseconds, wait_until's step would miss it.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (exe_of(pid) != d.binary && std::chrono::steady_clock::now() < deadline) {
  }
  ASSERT_EQ(exe_of(pid), d.binary) << d.starter->output();
  ASSERT_EQ(::kill(d.pid1, SIGKILL), 0);

  auto pid2 = d.report.wait_for_ready(2, 15s);
  ASSERT_TRUE(pid2) << d.starter->output();
  EXPECT_TRUE(wait_until([&] { return count_of(d.starter->output(), "upgraded in place") == 1; }))
      << d.starter->output();
  EXPECT_EQ(count_of(d.starter->output(), "worker " + std::to_string(d.pid1) + " died"), 1u)
      << d.starter->output();
  EXPECT_NE(d.starter->output().find("killed by signal KILL"), std::string::npos)
      << d.starter->output();
  EXPECT_TRUE(wait_until([&] {
    return read_status_file(d.status) == Status{{2, *pid2}};
  })) << d.starter->output();
  EXPECT_EQ(request(d.addr), reply_of(2, *pid2));
  EXPECT_EQ(d.starter->pid(), pid);
  EXPECT_TRUE(d.starter->running());
  // Nothing left unreaped: the killed worker is not a zombie child of start_server.
  EXPECT_TRUE(wait_until([&] { return !process_alive(d.pid1); })) << "pid " << d.pid1;
}

void expect_refused(Installed& d, const std::string& reason_part) {
  auto r = d.upgrade();
  EXPECT_EQ(r.status, 2) << r.text() << "\n" << d.starter->output();
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_EQ(r.err_lines()[0].rfind("start_server: upgrade failed: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(reason_part), std::string::npos) << r.err;
  // The daemon's log reaches us through a pipe, possibly after --upgrade has returned.
  EXPECT_TRUE(wait_until([&] { return count_of(d.starter->output(), "upgrade failed") >= 1; }))
      << d.starter->output();
  EXPECT_EQ(count_of(d.starter->output(), "upgrade failed"), 1u) << d.starter->output();
  d.expect_carried_on(reason_part);
}

TEST(UpgradeRollback, MissingBinary) {
  TempDir dir;
  Installed d(dir);
  ASSERT_INSTALLED(d);
  ASSERT_EQ(::unlink(d.binary.c_str()), 0);
  expect_refused(d, "'" + d.binary + "': No such file or directory");
}

TEST(UpgradeRollback, NotExecutable) {
  TempDir dir;
  Installed d(dir);
  ASSERT_INSTALLED(d);
  ASSERT_EQ(::chmod(d.binary.c_str(), 0644), 0);
  expect_refused(d, "'" + d.binary + "': Permission denied");
}

TEST(UpgradeRollback, NotAStartServer) {
  TempDir dir;
  Installed d(dir);
  ASSERT_INSTALLED(d);
  write_file(d.binary + ".new", "#!/bin/sh\nexit 0\n", 0755);
  ASSERT_EQ(::rename((d.binary + ".new").c_str(), d.binary.c_str()), 0);
  expect_refused(d, "is not a start_server that can upgrade");
}

TEST(UpgradeRollback, PreflightRefusesTheState) {
  TempDir dir;
  Installed d(dir, {}, {"START_SERVER_TEST_REFUSE_STATE=preflight"});
  ASSERT_INSTALLED(d);
  expect_refused(d, "refuses the state: START_SERVER_TEST_REFUSE_STATE=preflight is set");
}

// The new image refuses the state after the exec, and the old file is gone by then: the way
// back is the descriptor of the running image kept since the start.
TEST(UpgradeRollback, RefusedAfterTheExecWithTheOldFileReplaced) {
  TempDir dir;
  Installed d(dir, {}, {"START_SERVER_TEST_REFUSE_STATE=1"});
  ASSERT_INSTALLED(d);
  auto sockets = d.sockets();
  install_starter(d.binary);
  expect_refused(d, "START_SERVER_TEST_REFUSE_STATE=1 is set");
  EXPECT_NE(exe_of(d.starter->pid()).find("(deleted)"), std::string::npos)
      << "the old image runs again: " << exe_of(d.starter->pid());
  EXPECT_EQ(d.sockets(), sockets);
}

// The new image dies before it supervises: its crash handler goes back to the old image.
TEST(UpgradeRollback, TheNewImageCrashes) {
  TempDir dir;
  Installed d(dir, {}, {"START_SERVER_TEST_REFUSE_STATE=crash"});
  ASSERT_INSTALLED(d);
  expect_refused(d, "the new binary crashed before it took over");
}

// --status says which image runs and how the last upgrade went, the way it says how the last
// reload went; --status --json carries the same.
TEST(UpgradeStatus, StatusShowsTheImageAndTheLastUpgrade) {
  TempDir dir;
  Installed d(dir);
  ASSERT_INSTALLED(d);
  auto status = [&](bool json) {
    std::vector<std::string> args{"--status", "--pid-file=" + d.pid_file};
    if (json) args.push_back("--json");
    auto r = run_starter(args);
    EXPECT_EQ(r.status, 0) << r.text();
    return r.out;
  };
  std::string table = status(false);
  EXPECT_NE(table.find("image:        " + d.binary + " (start_server "), std::string::npos)
      << table;
  EXPECT_NE(table.find("last upgrade: none\n"), std::string::npos) << table;
  EXPECT_NE(status(true).find("\"upgrades\":0,\"last_upgrade\":null}"), std::string::npos);

  install_starter(d.binary);
  auto r = d.upgrade();
  ASSERT_EQ(r.status, 0) << r.text() << "\n" << d.starter->output();
  table = status(false);
  EXPECT_NE(table.find("image:        " + d.binary + " (start_server "), std::string::npos)
      << table;
  EXPECT_NE(table.find("last upgrade: upgrade 1 ok at "), std::string::npos) << table;
  EXPECT_NE(table.find(" ms\n"), std::string::npos) << "how long it took: " << table;
  std::string json = status(true);
  EXPECT_NE(json.find("\"image\":{\"path\":\"" + d.binary + "\",\"version\":\""), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"upgrades\":1,\"last_upgrade\":{\"number\":1,\"outcome\":\"ok\","
                      "\"reason\":null,"),
            std::string::npos)
      << json;

  // A failed one is counted too, with its reason; the image is still the same file.
  ASSERT_EQ(::unlink(d.binary.c_str()), 0);
  r = d.upgrade();
  EXPECT_EQ(r.status, 2) << r.text() << "\n" << d.starter->output();
  table = status(false);
  EXPECT_NE(table.find("last upgrade: upgrade 2 failed at "), std::string::npos) << table;
  EXPECT_NE(table.find(": No such file or directory"), std::string::npos) << table;
  json = status(true);
  EXPECT_NE(json.find("\"upgrades\":2,\"last_upgrade\":{\"number\":2,\"outcome\":\"failed\","
                      "\"reason\":\""),
            std::string::npos)
      << json;
  d.expect_carried_on("after --status");
}

TEST(UpgradeControl, NotRunning) {
  TempDir dir;
  auto r = run_starter({"--upgrade", "--pid-file=" + dir / "pid"});
  EXPECT_EQ(r.status, 3) << r.text();
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
}

}  // namespace
}  // namespace itest
