// Reliability and security (issue 8, items 1, 2 and 5), as an operator would see them:
//
//  Fault*   a crash loop (failed reloads never touch the serving generation; a current
//           generation that keeps crashing is retried with a growing pause and recovers), a
//           worker that ignores SIGTERM (with and without --drain-timeout), fork() failing
//           under RLIMIT_NPROC, a worker out of descriptors (RLIMIT_NOFILE), start_server
//           SIGKILLed and started again on the same ports and files, garbage on the notify
//           socket, malformed LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID.
//
// Tests that need another user run start_server as `nobody` through setpriv(1) (root ignores
// RLIMIT_NPROC and may bind any port) and skip, saying why, where that is impossible.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "activation.h"
#include "harness.h"
#include "reliability_support.h"
#include "support/notify_send.h"

namespace itest {
namespace {

using starter::testing_support::send_notify;

// ---- small helpers ---------------------------------------------------------------------

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

// ---- running as another user -------------------------------------------------------------

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

// ==== 2. Faults ==========================================================================

// ---- a crash loop ------------------------------------------------------------------------

TEST(FaultCrashLoop, FailingReloadsNeverTouchTheServingGeneration) {
  TempDir dir;
  std::string fail = dir / "fail";
  // --reload-retry=off: every attempt below is one --restart's (the default retries between).
  GatedDaemon s(dir, {"--reload-retry=off"}, "--ready-after-ms=0");
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
  GatedDaemon s(dir, {}, "--ready-after-ms=0 --exit-after-ms=700");
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
  GatedDaemon s(dir, {}, "--ready-after-ms=0 --ignore-term");
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
  GatedDaemon s(dir, {"--drain-timeout=1"}, "--ready-after-ms=0 --ignore-term");
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
      // --reload-retry=off: each failed fork is one --restart's, never a background retry's.
      as_nobody_args({"--ready=notify", "--port=127.0.0.1:0", "--pid-file=" + pid_file,
                      "--status-file=" + status, "--reload-retry=off", "--", kFakeWorker,
                      "--report=" + report_path, "--ready-after-ms=0"}),
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
    EXPECT_NE(r.err.find("generation " + std::to_string(gen) + " could not be started (fork('"),
              std::string::npos)
        << r.err;
  }
  // Each failed fork is logged with the call and errno's text (and then summed up in a
  // "restart failed: ..." line, as any failed reload is).
  for (int gen = 2; gen <= 4; ++gen)
    EXPECT_EQ(
        lines_with(starter.output(), {"failed to start generation " + std::to_string(gen) +
                                      ": fork('" + kFakeWorker + "'): " + std::strerror(EAGAIN)})
            .size(),
        1u)
        << starter.output();
  EXPECT_FALSE(report.find("ready", 2)) << "a worker started after all";
  EXPECT_TRUE(starter.running());
  EXPECT_EQ(report.signals_for(up->pid), std::vector<std::string>{})
      << "generation 1 was signalled";
  EXPECT_EQ(read_status_file(status), (Status{{1, up->pid}}));
  EXPECT_EQ(request(addr), reply_of(1, up->pid));
  // <=: a status file being replaced this instant holds a descriptor; a leak only adds.
  EXPECT_TRUE(wait_until([&] { return open_fds_of(starter.pid()).size() <= fds_before; }))
      << joined(open_fds_of(starter.pid()));

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
  GatedDaemon s(dir, {}, "--ready-after-ms=0");
  ASSERT_UP(s);
  ASSERT_EQ(request(s.addr), reply_of(1, s.pid1));
  // Compared with <=: start_server may hold a descriptor for a moment (a /proc read, a file
  // being replaced) when this is taken; a leak only ever adds.
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
  EXPECT_TRUE(wait_until([&] { return open_fds_of(s.starter.pid()).size() <= starter_fds; }))
      << joined(open_fds_of(s.starter.pid()));
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
  EXPECT_TRUE(wait_until([&] { return open_fds_of(s.starter.pid()).size() <= starter_fds; }))
      << joined(open_fds_of(s.starter.pid()));
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
  EXPECT_NE(live.err.find("pid file '" + pid_file + "' is held by a running start_server"),
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
  EXPECT_NE(busy.err.find("bind('" + addr + "'): " + std::strerror(EADDRINUSE)), std::string::npos)
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
  EXPECT_EQ(count_of(second.output(), "removing stale socket file '" + sock + "'"), 1u)
      << second.output();
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
      error = send_notify(socket, message);
      if (!error.empty()) break;
    }
    if (error.empty()) error = send_notify(socket, "X=1\n", fds);
  }
  for (int fd : fds) close(fd);
  return error;
}

TEST(FaultNotifyGarbage, GarbageIsLoggedOncePerGenerationAndKindAndReadyStillCounts) {
  TempDir dir;
  // Each generation sends its garbage, then (after 400 ms) a proper READY=1; the test, a
  // stranger, sends its own in between.
  GatedDaemon s(dir, {}, "--notify-garbage --ready-after-ms=400 --env=NOTIFY_SOCKET");
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
  // Every passed descriptor was closed: start_server holds no more than before (fewer once
  // generation 1's notify socket is gone with it).
  EXPECT_TRUE(
      wait_until([&] { return open_fds_of(s.starter.pid()).size() <= fds_settled; }, kTimeout))
      << fds_settled << " before, now:\n"
      << joined(open_fds_of(s.starter.pid()));
  EXPECT_EQ(request(s.addr), reply_of(2, up2->pid));
}

// systemd drops a datagram too large for its buffer as a whole; a READY=1 at its start does
// not count, nor does one inside a line of binary bytes, nor a stranger's.
TEST(FaultNotifyGarbage, GarbageAloneNeverMakesAGenerationReady) {
  TempDir dir;
  GatedDaemon s(dir, {"--ready-timeout=2", "--reload-retry=off"}, "--ready-after-ms=0");
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

}  // namespace
}  // namespace itest
