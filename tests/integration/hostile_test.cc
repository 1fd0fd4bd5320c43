// Hostile environments (issue 11): start_server started with its standard fds closed or
// its signals ignored, a pinned fd over its own log, a log command that exits or stops
// reading, a READY=1 read late, an envdir file too big to read, a pid file shared with
// another pid namespace, workers that daemonize or break the shared listener, and a status
// file that cannot be replaced. Each test fails without its fix.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness.h"

namespace itest {
namespace {

/// Runs start_server through /bin/sh, so a test can close fds or ignore signals first:
/// `prelude` is shell code run before `exec start_server ARGS`, `redirs` follows the exec.
std::vector<std::string> via_shell(const std::string& prelude, const std::vector<std::string>& args,
                                   const std::string& redirs = "") {
  std::string script = prelude + " exec \"$0\"";
  for (std::size_t i = 0; i < args.size(); ++i) script += " \"${" + std::to_string(i + 1) + "}\"";
  script += " " + redirs;
  std::vector<std::string> argv{"-c", script, kStarter};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string fd_target(pid_t pid, int fd) {
  char buf[256];
  std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

pid_t read_pid(const std::string& path) {
  std::string text = read_file(path);
  return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
}

// --- item 1: fds 0, 1 and 2 closed at start --------------------------------------------------

TEST(Hostile, ClosedStandardFdsWithLogFileKeepTheSocketAndThePidFileLock) {
  TempDir dir;
  Report report(dir);
  std::string log = dir / "log", pid_file = dir / "pid";
  StarterProcess starter(
      dir,
      via_shell("",
                concat({"--port=127.0.0.1:0", "--pid-file=" + pid_file, "--log-file=" + log},
                       worker_args(dir)),
                "<&- >&- 2>&-"),
      {}, {}, "/bin/sh");
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << read_file(log);
  EXPECT_EQ(request(report.addr(1, "127.0.0.1:0")), reply_of(1, *pid1));
  // The worker may answer before start_server's line about it reaches the file.
  EXPECT_TRUE(wait_until([&] {
    return read_file(log).find("starting new worker") != std::string::npos;
  })) << read_file(log);
  ASSERT_TRUE(wait_until([&] { return read_pid(pid_file) > 0; }));
  // The lock is still held: --stop finds the daemon and waits for it.
  CommandResult stop = run_starter({"--stop", "--pid-file=" + pid_file});
  EXPECT_EQ(stop.status, 0) << stop.text();
  EXPECT_EQ(starter.wait_exit(), 0);
}

TEST(Hostile, ClosedStandardFdsWithoutLogFileNeverWriteIntoThePidFile) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  StarterProcess starter(
      dir,
      via_shell("", concat({"--port=127.0.0.1:0", "--pid-file=" + pid_file}, worker_args(dir)),
                "<&- >&- 2>&-"),
      {}, {}, "/bin/sh");
  ASSERT_TRUE(report.wait_for_ready(1));
  starter.signal(SIGHUP);  // more log lines
  ASSERT_TRUE(report.wait_for_ready(2));
  std::string text = read_file(pid_file);
  EXPECT_EQ(text, std::to_string(starter.pid()) + "\n");
  EXPECT_EQ(fd_target(starter.pid(), 1), "/dev/null");
  EXPECT_EQ(fd_target(starter.pid(), 2), "/dev/null");
}

TEST(Hostile, DaemonizeWithStdinClosedGivesTheDaemonDevNull) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid", log = dir / "log";
  CommandResult launch = run_command(
      concat({"/bin/sh"}, via_shell("",
                                    concat({"--daemonize", "--port=127.0.0.1:0",
                                            "--pid-file=" + pid_file, "--log-file=" + log},
                                           worker_args(dir)),
                                    "<&-")));
  ASSERT_EQ(launch.status, 0) << launch.text();
  Cleanup cleanup;
  cleanup.watch_report(dir.report());
  ASSERT_TRUE(wait_until([&] { return read_pid(pid_file) > 0; })) << read_file(log);
  pid_t daemon = read_pid(pid_file);
  cleanup.adopt(daemon);
  EXPECT_EQ(fd_target(daemon, 0), "/dev/null");
  ASSERT_TRUE(report.wait_for_ready(1)) << read_file(log);
  EXPECT_EQ(run_starter({"--stop", "--pid-file=" + pid_file}).status, 0);
}

// --- item 2: a pinned fd never takes the place of our own --------------------------------------

TEST(Hostile, PortPinnedAtFd3WithLogFileLeavesTheLogAlone) {
  TempDir dir;
  Report report(dir);
  std::string log = dir / "log";
  StarterProcess starter(dir,
                         concat({"--port=127.0.0.1:0=3", "--log-file=" + log}, worker_args(dir)));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << starter.output() << read_file(log);
  ASSERT_EQ(report.listens(1).size(), 1u);
  EXPECT_EQ(report.listens(1)[0].field("fd"), "3");
  EXPECT_EQ(request(report.addr(1, "127.0.0.1:0")), reply_of(1, *pid1));
  EXPECT_TRUE(wait_until([&] {
    return read_file(log).find("starting new worker") != std::string::npos;
  })) << "log: "
      << read_file(log) << "\noutput: " << starter.output();
  EXPECT_EQ(fd_target(starter.pid(), 1).rfind("socket:", 0), std::string::npos)
      << "stdout became the listener";
}

// --- item 3: a log command that exits or stops reading ----------------------------------------

// The worker writes a line to stdout five times a second; the log command reads three lines
// and exits. Its successors must be started on the same pipe, and the worker must never see
// EPIPE or SIGPIPE.
TEST(Hostile, LogCommandThatExitsIsStartedAgainAndWorkersSurvive) {
  TempDir dir;
  std::string log = dir / "log", starts = dir / "starts";
  std::string worker = "echo \"$$ $SERVER_STARTER_GENERATION\" >> " + starts +
                       "; while :; do echo tick || exit 7; sleep 0.2; done";
  StarterProcess starter(dir, {"--port=127.0.0.1:0", "--log-file=| head -n 3 >> " + log, "--",
                               "/bin/sh", "-c", worker});
  EXPECT_TRUE(wait_until([&] { return split_lines(read_file(log)).size() >= 9; }, 15s))
      << "the log command was not started again: " << read_file(log);
  EXPECT_EQ(split_lines(read_file(starts)).size(), 1u) << "the worker died:\n"
                                                       << read_file(starts) << read_file(log);
  EXPECT_TRUE(starter.running());
}

// The log command stops reading (SIGSTOP) and the pipe fills: start_server must go on, and
// still handle a reload and a TERM.
TEST(Hostile, LogCommandThatStopsReadingNeverBlocksTheLoop) {
  TempDir dir;
  Report report(dir);
  std::string logger_pid = dir / "logger.pid";
  StarterProcess starter(
      dir, concat({"--port=127.0.0.1:0",
                   "--log-file=| echo $$ > " + logger_pid + "; kill -STOP $$; exec cat >/dev/null"},
                  worker_args(dir)));
  Cleanup cleanup;
  ASSERT_TRUE(wait_until([&] { return read_pid(logger_pid) > 0; }));
  cleanup.adopt(read_pid(logger_pid));
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  // Fill the pipe through a description of our own, as a chatty worker would.
  std::string self = "/proc/" + std::to_string(starter.pid()) + "/fd/2";
  int fill = open(self.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fill, 0) << strerror(errno);
  std::string chunk(4096, 'x');
  while (write(fill, chunk.data(), chunk.size()) > 0) {
  }
  EXPECT_EQ(errno, EAGAIN);
  close(fill);
  starter.signal(SIGHUP);
  EXPECT_TRUE(report.wait_for_ready(2)) << "the reload never happened";
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0);
}

// --- item 4: started with its signals ignored ----------------------------------------------

// `sleep` keeps whatever dispositions it was given: with TERM ignored, it never leaves.
TEST(Hostile, WorkersOfAStarterStartedWithSignalsIgnoredGetDefaultDispositions) {
  TempDir dir;
  std::string starts = dir / "starts";
  std::string worker = "echo \"$$ $SERVER_STARTER_GENERATION\" >> " + starts + "; exec sleep 600";
  StarterProcess starter(dir,
                         via_shell("trap '' TERM INT QUIT;", {"--port=127.0.0.1:0", "--interval=1",
                                                              "--", "/bin/sh", "-c", worker}),
                         {}, {}, "/bin/sh");
  ASSERT_TRUE(wait_until([&] { return split_lines(read_file(starts)).size() == 1; }))
      << starter.output();
  pid_t gen1 = std::stoi(split_lines(read_file(starts))[0]);
  starter.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return split_lines(read_file(starts)).size() == 2; }))
      << starter.output();
  EXPECT_TRUE(wait_until([&] { return !process_alive(gen1); }))
      << "generation 1 ignored --signal-on-hup";
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
}

// --- item 5: READY=1 sent in time, read late -------------------------------------------------

TEST(Hostile, ReadySentInTimeButReadAfterTheTimeoutCounts) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status";
  StarterProcess starter(dir, concat({"--port=127.0.0.1:0", "--ready=notify", "--ready-timeout=1",
                                      "--status-file=" + status},
                                     worker_args(dir, {"--ready-after-ms=300"})));
  // Descheduled from the worker's start until well after the timeout: the datagram (READY=1
  // with a STATUS=) waits in the socket.
  ASSERT_TRUE(report.wait_for("ready", 1)) << starter.output();
  Stopwatch since_ready;
  starter.signal(SIGSTOP);
  ASSERT_TRUE(report.wait_for("notified", 1));
  // What is awaited here is time itself: the 1 s deadline passing while start_server is stopped.
  ASSERT_TRUE(wait_until([&] { return since_ready.ms() > 1800; }, 3s));
  starter.signal(SIGCONT);
  auto pid1 = report.find("ready", 1)->pid;
  EXPECT_TRUE(wait_until([&] {
    return read_status_file(status) == std::vector<std::pair<int, pid_t>>{{1, pid1}};
  })) << starter.output();
  EXPECT_TRUE(process_alive(pid1)) << starter.output();
  EXPECT_EQ(starter.output().find("was not ready within"), std::string::npos) << starter.output();
}

// --- item 6: an envdir file too large to read whole --------------------------------------------

TEST(Hostile, HugeEnvdirFileIsReadOnlyAsFarAsItsFirstLine) {
#if defined(STARTER_PROGRAMS_SANITIZED)
  GTEST_SKIP() << "an address-space limit and AddressSanitizer's shadow memory do not mix";
#endif
  TempDir dir;
  Report report(dir);
  std::string envdir = dir / "env";
  make_dir(envdir);
  write_file(envdir + "/SMALL", "1\n");
  StarterProcess starter(
      dir,
      via_shell("ulimit -v 1048576;", concat({"--port=127.0.0.1:0", "--envdir=" + envdir},
                                             worker_args(dir, {"--env=HUGE"}))),
      {}, {}, "/bin/sh");
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  // 8 GiB, almost all of it a hole: reading it whole needs more memory than the limit.
  std::string huge = envdir + "/HUGE";
  write_file(huge, "first line\n");
  ASSERT_EQ(truncate(huge.c_str(), 8LL << 30), 0);
  starter.signal(SIGHUP);
  ASSERT_TRUE(report.wait_for_ready(2)) << starter.output();
  EXPECT_EQ(report.env(2, "HUGE"), "first line");
  EXPECT_TRUE(starter.running());
}

TEST(Hostile, EnvdirValueCutAtANulByteIsSaid) {
  TempDir dir;
  Report report(dir);
  std::string envdir = dir / "env";
  make_dir(envdir);
  write_file(envdir + "/CUT", std::string("before\0after\n", 13));
  // A name with a newline in it is quoted: the note stays one line.
  write_file(envdir + "/TWO\nLINES", std::string("a\0b\n", 4));
  StarterProcess starter(
      dir, concat({"--port=127.0.0.1:0", "--envdir=" + envdir}, worker_args(dir, {"--env=CUT"})));
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  EXPECT_EQ(report.env(1, "CUT"), "before");
  EXPECT_NE(starter.output().find("holds a NUL byte"), std::string::npos) << starter.output();
  EXPECT_NE(starter.output().find("start_server: --envdir: the value of 'TWO\\x0aLINES' in '" +
                                  envdir + "/TWO\\x0aLINES' holds a NUL byte; it is cut there\n"),
            std::string::npos)
      << starter.output();
}

// A fault no input can cause: poll(2) fails (EINVAL once RLIMIT_NOFILE is below its count
// of descriptors). start_server must not exit and orphan the workers: it stops them, says
// why, and exits 1 with its files removed.
TEST(Hostile, FatalErrorInTheLoopStopsTheWorkersAndSaysWhy) {
#if defined(STARTER_PROGRAMS_SANITIZED)
  GTEST_SKIP() << "LeakSanitizer needs descriptors at exit, which RLIMIT_NOFILE=1 takes away";
#endif
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  StarterProcess starter(dir,
                         concat({"--port=127.0.0.1:0", "--ready=notify", "--pid-file=" + pid_file},
                                worker_args(dir, {"--ready-after-ms=0"})));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << starter.output();
  ASSERT_TRUE(report.wait_for("notified", 1));
  rlimit limit{};
  ASSERT_EQ(prlimit(starter.pid(), RLIMIT_NOFILE, nullptr, &limit), 0) << strerror(errno);
  limit.rlim_cur = 1;
  ASSERT_EQ(prlimit(starter.pid(), RLIMIT_NOFILE, &limit, nullptr), 0) << strerror(errno);
  starter.signal(SIGHUP);  // wakes the loop; its next poll(2) fails
  EXPECT_EQ(starter.wait_exit(), 1) << starter.output();
  EXPECT_NE(starter.output().find("fatal error: poll: Invalid argument; stopping every worker"),
            std::string::npos)
      << starter.output();
  EXPECT_TRUE(wait_until([&] { return !process_alive(*pid1); })) << "the worker was orphaned";
  EXPECT_FALSE(file_exists(pid_file));
}

// --- item 7: --stop across pid namespaces ---------------------------------------------------

bool can_unshare_pid() {
  return run_command({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "true"}, 5s).status ==
         0;
}

// start_server is PID 1 of its own pid namespace, its pid file on a shared directory says
// "1". `--stop` from another namespace must not signal its own PID 1: here it runs as PID 1
// of a third namespace, so a wrong kill would only hit itself, and then wait for ever.
TEST(Hostile, StopFromAnotherPidNamespaceSignalsNobodyAndSaysWhy) {
  if (geteuid() != 0 || !can_unshare_pid())
    GTEST_SKIP() << "needs root and pid namespaces (unshare --pid)";
  TempDir dir;
  // Its workers' pids are those of the inner namespace: a report nobody cleans up by pid.
  // They die with the namespace when start_server, its PID 1, exits.
  std::string inner_report = dir / "inner-report";
  Report report(inner_report);
  std::string pid_file = dir / "pid";
  StarterProcess starter(
      dir,
      {"--pid", "--fork", "--mount-proc", "--kill-child=TERM", kStarter, "--port=127.0.0.1:0",
       "--pid-file=" + pid_file, "--", kFakeWorker, "--report=" + inner_report},
      {}, {}, "/usr/bin/unshare");
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  ASSERT_EQ(read_file(pid_file), "1\n");
  for (const char* mode : {"--stop", "--restart"}) {
    CommandResult r =
        run_command({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", kStarter, mode,
                     "--pid-file=" + pid_file, "--status-file=" + (dir / "status")},
                    8s);
    EXPECT_FALSE(r.timed_out) << mode;
    EXPECT_EQ(r.status, 5) << mode << ": " << r.text();
    EXPECT_NE(r.err.find("outside this pid namespace"), std::string::npos) << r.err;
    EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  }
  EXPECT_TRUE(starter.running());
  EXPECT_EQ(report.max_gen(), 1);
}

TEST(Hostile, StopGivesUpAfterStopTimeout) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  StarterProcess starter(dir, concat({"--port=127.0.0.1:0", "--pid-file=" + pid_file},
                                     worker_args(dir, {"--ignore-term"})));
  ASSERT_TRUE(report.wait_for_ready(1));
  CommandResult r = run_starter({"--stop", "--stop-timeout=1", "--pid-file=" + pid_file}, 5s);
  EXPECT_EQ(r.status, 4) << r.text();
  EXPECT_NE(r.err.find("still stopping"), std::string::npos) << r.err;
  EXPECT_TRUE(starter.running());
}

// --- Perl's t/02-startfail.t: a failed reload is retried ---------------------------------------

TEST(Hostile, FailedReloadIsRetriedUntilTheProgramCanStart) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status", pid_file = dir / "pid", broken = dir / "broken";
  StarterProcess starter(dir, concat({"--port=127.0.0.1:0", "--interval=1",
                                      "--status-file=" + status, "--pid-file=" + pid_file},
                                     worker_args(dir, {"--fail-if-exists=" + broken})));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1);
  write_file(broken, "");
  CommandResult r =
      run_starter({"--restart", "--pid-file=" + pid_file, "--status-file=" + status}, 15s);
  EXPECT_EQ(r.status, 2) << r.text();
  EXPECT_NE(r.err.find("keeps starting new generations"), std::string::npos) << r.err;
  ASSERT_TRUE(wait_until([&] { return report.records("fail").size() >= 2; })) << "no retry:\n"
                                                                              << starter.output();
  unlink(broken.c_str());  // the missing dependency appears: the deploy goes live by itself
  ASSERT_TRUE(wait_until([&] { return report.ready_workers().size() == 2; }, 20s))
      << starter.output();
  int gen = report.ready_workers().back().gen;
  EXPECT_GE(gen, 4);  // every attempt counted
  EXPECT_TRUE(wait_until([&] {
    auto live = read_status_file(status);
    return live.size() == 1 && live[0].first == gen;
  })) << read_file(status);
  EXPECT_TRUE(wait_until([&] { return !process_alive(*pid1); })) << "generation 1 was not retired";
}

TEST(Hostile, ReloadRetryOffKeepsAFailedReloadFinal) {
  TempDir dir;
  Report report(dir);
  std::string broken = dir / "broken";
  StarterProcess starter(dir, concat({"--port=127.0.0.1:0", "--interval=1", "--reload-retry=off"},
                                     worker_args(dir, {"--fail-if-exists=" + broken})));
  ASSERT_TRUE(report.wait_for_ready(1));
  write_file(broken, "");
  starter.signal(SIGHUP);
  ASSERT_TRUE(report.wait_for("fail", 2));
  EXPECT_FALSE(wait_until([&] { return report.max_gen() > 2; }, 2500ms)) << starter.output();
}

// --- workers that daemonize or break the listener ------------------------------------------

TEST(Hostile, WorkerThatDaemonizesIsFollowedNotRespawned) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status";
  StarterProcess starter(dir,
                         concat({"--port=127.0.0.1:0", "--interval=1", "--status-file=" + status},
                                worker_args(dir, {"--daemonize"})));
  auto child = report.wait_for_ready(1);
  ASSERT_TRUE(child) << starter.output();
  EXPECT_TRUE(wait_until([&] {
    return read_status_file(status) == std::vector<std::pair<int, pid_t>>{{1, *child}};
  })) << read_file(status)
      << starter.output();
  EXPECT_FALSE(wait_until([&] { return report.max_gen() > 1; }, 2500ms)) << starter.output();
  EXPECT_NE(starter.output().find("daemonized"), std::string::npos) << starter.output();
  std::string addr = report.addr(1, "127.0.0.1:0");
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_FALSE(process_alive(*child)) << "the daemonized worker outlived start_server";
  EXPECT_EQ(request(addr).rfind("ERROR", 0), 0u) << "the port is still served";
}

/// Generation 1 runs the fake worker with `flag`; the later ones run it plainly.
std::vector<std::string> first_generation_with(const TempDir& dir, const std::string& flag) {
  std::string worker = kFakeWorker + " --report=" + dir.report();
  return {"--", "/bin/sh", "-c",
          "if [ \"$SERVER_STARTER_GENERATION\" = 1 ]; then exec " + worker + " " + flag +
              "; else exec " + worker + "; fi"};
}

TEST(Hostile, ListenerShutDownByAWorkerListensAgainForTheNext) {
  TempDir dir;
  Report report(dir);
  StarterProcess starter(dir, concat({"--port=127.0.0.1:0", "--interval=1"},
                                     first_generation_with(dir, "--break-listener=shutdown")));
  ASSERT_TRUE(report.wait_for("broke", 1)) << starter.output();
  EXPECT_EQ(report.find("broke", 1)->field("error"), "");
  starter.signal(SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  ASSERT_TRUE(pid2) << starter.output();
  EXPECT_NE(starter.output().find("listening again"), std::string::npos) << starter.output();
  EXPECT_EQ(request(report.addr(2, "127.0.0.1:0")), reply_of(2, *pid2));
}

TEST(Hostile, NonBlockingFlagSetByAWorkerIsClearedForTheNext) {
  TempDir dir;
  Report report(dir);
  StarterProcess starter(dir, concat({"--port=127.0.0.1:0", "--interval=1"},
                                     first_generation_with(dir, "--break-listener=nonblock")));
  ASSERT_TRUE(report.wait_for("broke", 1)) << starter.output();
  starter.signal(SIGHUP);
  ASSERT_TRUE(report.wait_for("listen", 2)) << starter.output();
  EXPECT_EQ(report.listens(2)[0].field("nonblock"), "0") << starter.output();
  EXPECT_NE(starter.output().find("made non-blocking by a worker; set back"), std::string::npos)
      << starter.output();
}

// --- the status file, --dir ------------------------------------------------------------

// A directory planted where start_server writes its temporary status file makes every
// atomic replacement fail: the file must still tell the truth, so --restart succeeds.
TEST(Hostile, StatusFileThatCannotBeReplacedIsRewrittenInPlace) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status", pid_file = dir / "pid";
  StarterProcess starter(
      dir, concat({"--port=127.0.0.1:0", "--status-file=" + status, "--pid-file=" + pid_file},
                  worker_args(dir)));
  ASSERT_TRUE(report.wait_for_ready(1));
  ASSERT_TRUE(wait_until([&] { return read_status_file(status).size() == 1; }));
  make_dir(status + ".tmp." + std::to_string(starter.pid()));
  CommandResult r = run_starter(
      {"--restart", "--restart-timeout=5", "--pid-file=" + pid_file, "--status-file=" + status},
      10s);
  EXPECT_EQ(r.status, 0) << r.text() << starter.output();
  auto gen2 = report.find("ready", 2);
  ASSERT_TRUE(gen2);
  EXPECT_TRUE(wait_until([&] {
    return read_status_file(status) == std::vector<std::pair<int, pid_t>>{{2, gen2->pid}};
  }));
  EXPECT_NE(starter.output().find("rewrote it in place"), std::string::npos) << starter.output();
}

TEST(Hostile, MissingDirIsAOneLineErrorAtStart) {
  TempDir dir;
  std::string pid_file = dir / "pid";
  CommandResult r = run_starter(
      concat({"--port=127.0.0.1:0", "--dir=" + (dir / "nope"), "--pid-file=" + pid_file},
             worker_args(dir)));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--dir: '" + (dir / "nope") + "': No such file or directory"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(file_exists(pid_file));
  EXPECT_FALSE(file_exists(dir.report()));
}

}  // namespace
}  // namespace itest
