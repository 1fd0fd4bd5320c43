// Files and modes (issue 2, item 6): --pid-file (content, lock, a second instance refused),
// --status-file (transitions, atomic writes, numeric order), --log-file (file and "| cmd"),
// --daemonize, --dir, --envdir.

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace itest {
namespace {

bool is_locked(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool locked = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  return locked;
}

TEST(PidFile, HoldsOurPidUnderAnExclusiveLockAndIsRemovedAtExit) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  StarterProcess starter(
      dir,
      concat({"--interval=0", "--pid-file=" + pid_file, "--port=127.0.0.1:0"}, worker_args(dir)));
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  EXPECT_EQ(read_file(pid_file), std::to_string(starter.pid()) + "\n");
  EXPECT_TRUE(is_locked(pid_file)) << "no exclusive flock on the pid file";
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0);
  EXPECT_FALSE(file_exists(pid_file));
}

TEST(PidFile, SecondInstanceIsRefusedAndLeavesTheFirstAlone) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  StarterProcess first(dir, concat({"--interval=0", "--pid-file=" + pid_file, "--port=127.0.0.1:0"},
                                   worker_args(dir)));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << first.output();
  std::string content = read_file(pid_file);
  ASSERT_EQ(content, std::to_string(first.pid()) + "\n");

  std::string report2 = dir / "report2";
  Cleanup cleanup;
  cleanup.watch_report(report2);
  auto second =
      run_starter(concat({"--interval=0", "--pid-file=" + pid_file, "--port=127.0.0.1:0", "--"},
                         fake_worker(report2)),
                  5s);
  EXPECT_FALSE(second.timed_out) << "the second start_server blocked on the lock";
  EXPECT_EQ(second.status, 1) << second.text();
  ASSERT_EQ(second.err_lines().size(), 1u) << second.err;
  EXPECT_EQ(second.err_lines()[0].rfind("start_server: ", 0), 0u) << second.err;
  EXPECT_NE(second.err.find(pid_file), std::string::npos) << second.err;
  EXPECT_FALSE(file_exists(report2)) << "the second instance started a worker";
  EXPECT_TRUE(processes_mentioning(report2).empty());

  EXPECT_EQ(read_file(pid_file), content) << "the first instance's pid file was touched";
  EXPECT_TRUE(is_locked(pid_file));
  EXPECT_TRUE(first.running());
  EXPECT_EQ(request(report.addr(1, "127.0.0.1:0")), reply_of(1, *pid1));
}

TEST(StatusFile, GoesFromOneToOneAndTwoToTwo) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status";
  StarterProcess starter(dir, concat({"--interval=0", "--kill-old-delay=1",
                                      "--status-file=" + status, "--port=127.0.0.1:0"},
                                     worker_args(dir)));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << starter.output();
  ASSERT_TRUE(wait_until([&] { return !read_status_file(status).empty(); })) << starter.output();

  // A reader hammers the file for the whole reload: it must never see a half-written file.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::string> torn;
  std::vector<Status> states;
  std::thread reader([&] {
    static const std::regex digit_line(R"(^\d+:\d+$)");
    while (!stop) {
      std::string text = read_file(status);
      // It exists and lists a generation throughout: empty means truncated in place.
      bool ok = !text.empty() && text.back() == '\n';
      for (const auto& line : split_lines(text))
        if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
            !std::regex_match(line, digit_line))
          ok = false;
      if (!ok) torn.push_back(text);
      Status s = parse_status(text);
      if (states.empty() || states.back() != s) states.push_back(s);
      ++reads;
    }
  });
  // The reader has seen the first state (EXPECT, not ASSERT: its thread must be joined).
  EXPECT_TRUE(wait_until([&] { return reads > 0; })) << "the reader never read";
  starter.signal(SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  bool finished = pid2 && wait_until([&] {
                    return !process_alive(*pid1) && read_status_file(status) == Status{{2, *pid2}};
                  });
  // Let the reader take a few more looks, so it has seen the final state too.
  int reads_then = reads;
  EXPECT_TRUE(wait_until([&] { return reads >= reads_then + 3; })) << "the reader stopped reading";
  stop = true;
  reader.join();
  ASSERT_TRUE(pid2) << starter.output();
  ASSERT_TRUE(finished) << show(read_status_file(status)) << "\n" << starter.output();
  EXPECT_TRUE(torn.empty()) << "half-written status file seen: '" << torn.front() << "'";
  std::vector<Status> expected{{{1, *pid1}}, {{1, *pid1}, {2, *pid2}}, {{2, *pid2}}};
  std::string seen;
  for (auto& s : states) seen += "[" + show(s) + "] ";
  EXPECT_EQ(states, expected) << "states seen: " << seen;
}

TEST(StatusFile, GenerationsAreInNumericOrder) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status";
  // Old workers ignore the reload's TERM, so generations 1..11 all stay alive and listed;
  // shutdown uses USR1, which they obey.
  StarterProcess starter(dir, concat({"--interval=0", "--signal-on-term=USR1",
                                      "--status-file=" + status, "--port=127.0.0.1:0"},
                                     worker_args(dir, {"--ignore-term"})));
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  for (int gen = 2; gen <= 11; ++gen) {
    starter.signal(SIGHUP);
    ASSERT_TRUE(report.wait_for_ready(gen)) << starter.output();
  }
  Status expected;
  for (int gen = 1; gen <= 11; ++gen) expected.emplace_back(gen, report.find("ready", gen)->pid);
  EXPECT_TRUE(wait_until([&] { return read_status_file(status) == expected; }))
      << "got " << show(read_status_file(status));
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  for (auto& [gen, pid] : expected) EXPECT_FALSE(process_alive(pid)) << "generation " << gen;
}

TEST(LogFile, AppendsOurOutputAndTheWorkers) {
  TempDir dir;
  Report report(dir);
  std::string log = dir / "log";
  write_file(log, "an older line\n");
  // The worker says something on stdout and on stderr before it becomes the fake worker.
  std::string script = "echo worker-stdout; echo worker-stderr >&2; exec \"$0\" \"$@\"";
  StarterProcess starter(dir, concat({"--interval=0", "--log-file=" + log, "--port=127.0.0.1:0",
                                      "--", "/bin/sh", "-c", script},
                                     fake_worker(dir.report())));
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  EXPECT_TRUE(wait_until([&] {
    std::string text = read_file(log);
    return text.find("worker-stdout") != std::string::npos &&
           text.find("worker-stderr") != std::string::npos;
  })) << read_file(log);
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0);
  std::string text = read_file(log);
  EXPECT_EQ(text.rfind("an older line\n", 0), 0u) << "the log was truncated:\n" << text;
  EXPECT_NE(text.find("\nstart_server: "), std::string::npos) << "no log line of ours:\n" << text;
  EXPECT_EQ(starter.output().find("worker-stdout"), std::string::npos);
}

TEST(LogFile, PipesToACommand) {
  TempDir dir;
  Report report(dir);
  std::string piped = dir / "piped";
  std::string script = "echo worker-stdout; exec \"$0\" \"$@\"";
  StarterProcess starter(dir, concat({"--interval=0", "--log-file=| tee -a " + piped,
                                      "--port=127.0.0.1:0", "--", "/bin/sh", "-c", script},
                                     fake_worker(dir.report())));
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  EXPECT_TRUE(wait_until([&] {
    return read_file(piped).find("worker-stdout") != std::string::npos;
  })) << "piped:\n"
      << read_file(piped) << "\nstart_server:\n"
      << starter.output();
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0);
  EXPECT_TRUE(wait_until([&] {
    return read_file(piped).find("start_server: ") != std::string::npos;
  })) << read_file(piped);
}

TEST(Daemonize, DetachesAndKeepsServingUntilStopped) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  std::string log = dir / "log";
  Cleanup cleanup;  // learns the daemon's pid below, whatever happens after that
  cleanup.watch_report(dir.report());
  auto launch = run_starter(concat({"--daemonize", "--interval=0", "--log-file=" + log,
                                    "--pid-file=" + pid_file, "--port=127.0.0.1:0"},
                                   worker_args(dir)),
                            5s);
  ASSERT_EQ(launch.status, 0) << launch.text();
  // Callers poll for the pid file: the first complete one they see must name the daemon.
  std::string first_seen;
  bool complete = wait_until([&] {
    first_seen = read_file(pid_file);
    return !first_seen.empty() && first_seen.back() == '\n';
  });
  auto pid1 = report.wait_for_ready(1);
  pid_t daemon = pid1 ? parent_of(*pid1) : 0;
  if (daemon > 1) cleanup.adopt(daemon);
  ASSERT_TRUE(complete) << read_file(log);
  ASSERT_TRUE(pid1) << read_file(log);
  EXPECT_EQ(first_seen, std::to_string(daemon) + "\n")
      << "the pid file first named another process than the daemon (pid " << daemon << ")";
  EXPECT_TRUE(wait_until([&] { return read_file(pid_file) == std::to_string(daemon) + "\n"; }));
  EXPECT_NE(getsid(daemon), getsid(0)) << "the daemon did not leave our session";
  EXPECT_NE(getsid(daemon), daemon) << "fork, setsid, fork: the daemon is not a session leader";
  EXPECT_EQ(request(report.addr(1, "127.0.0.1:0")), reply_of(1, *pid1));

  auto stop = run_starter({"--stop", "--pid-file=" + pid_file});
  EXPECT_EQ(stop.status, 0) << stop.text();
  EXPECT_FALSE(file_exists(pid_file));
  EXPECT_TRUE(wait_until([&] { return !process_alive(daemon); }));
  EXPECT_EQ(report.signals_for(*pid1), std::vector<std::string>{"TERM"});
}

TEST(Dir, WorkerRunsInIt) {
  TempDir dir;
  std::string work = dir / "work";
  make_dir(work);
  // A relative --report lands in the worker's cwd.
  StarterProcess starter(dir, {"--interval=0", "--dir=" + work, "--port=127.0.0.1:0", "--",
                               kFakeWorker, "--report=relative-report"});
  starter.watch_report(work + "/relative-report");
  Report report(work + "/relative-report");
  EXPECT_TRUE(report.wait_for_ready(1)) << starter.output();
  EXPECT_FALSE(file_exists(dir / "relative-report")) << "start_server's own cwd was used";
}

TEST(EnvDir, IsReadForEveryGenerationAndRemovedFilesUnset) {
  TempDir dir;
  Report report(dir);
  std::string env = dir / "env";
  make_dir(env);
  write_file(env + "/FOO", "first\nsecond line ignored\n");
  write_file(env + "/BAR", "bar\n");
  write_file(env + "/.HIDDEN", "x\n");
  StarterProcess starter(
      dir, concat({"--interval=0", "--envdir=" + env, "--port=127.0.0.1:0"},
                  worker_args(dir, {"--env=FOO", "--env=BAR", "--env=BAZ", "--env=.HIDDEN"})));
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  EXPECT_EQ(report.env(1, "FOO"), "first");
  EXPECT_EQ(report.env(1, "BAR"), "bar");
  EXPECT_TRUE(report.env_unset(1, "BAZ"));
  EXPECT_TRUE(report.env_unset(1, ".HIDDEN")) << "dot files are skipped";

  write_file(env + "/FOO", "changed\n");
  unlink((env + "/BAR").c_str());
  write_file(env + "/BAZ", "baz\n");
  starter.signal(SIGHUP);
  ASSERT_TRUE(report.wait_for_ready(2)) << starter.output();
  EXPECT_EQ(report.env(2, "FOO"), "changed");
  EXPECT_TRUE(report.env_unset(2, "BAR")) << "a removed file must unset the variable (ours)";
  EXPECT_EQ(report.env(2, "BAZ"), "baz");
}

// Perl's start_server reads the envdir into its own environment too, at each turn of its
// loop: KILL_OLD_DELAY there changes how long the old generation lives after a HUP. Costs about
// 2.5 s: two reloads wait the 1 s delay.
TEST(EnvDir, KillOldDelayInItChangesTheRunningStarter) {
  TempDir dir;
  Report report(dir);
  std::string env = dir / "env";
  make_dir(env);
  StarterProcess starter(
      dir, concat({"--interval=0", "--envdir=" + env, "--port=127.0.0.1:0"}, worker_args(dir)));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << starter.output();

  write_file(env + "/KILL_OLD_DELAY", "1\n");  // after the start: read at run time
  starter.signal(SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  ASSERT_TRUE(pid2) << starter.output();
  Stopwatch since_ready2;
  ASSERT_TRUE(report.wait_for_signal(*pid1, "TERM")) << starter.output();
  EXPECT_GE(since_ready2.ms(), 800) << "old worker signalled before KILL_OLD_DELAY=1 passed";
  EXPECT_NE(
      starter.output().find("start_server: --envdir '" + env + "': kill-old-delay 1s (was 0s)\n"),
      std::string::npos)
      << starter.output();

  // Not a number: said once, and the delay stays.
  write_file(env + "/KILL_OLD_DELAY", "2s\n");
  starter.signal(SIGHUP);
  auto pid3 = report.wait_for_ready(3);
  ASSERT_TRUE(pid3) << starter.output();
  ASSERT_TRUE(report.wait_for_signal(*pid2, "TERM")) << starter.output();
  EXPECT_NE(starter.output().find("start_server: --envdir: KILL_OLD_DELAY: invalid value '2s' (a "
                                  "whole number of seconds, at least 0, expected); the setting "
                                  "stays as it was\n"),
            std::string::npos)
      << starter.output();

  // Removed: back to the command line's (none: 0), as without an envdir.
  ASSERT_EQ(::unlink((env + "/KILL_OLD_DELAY").c_str()), 0);
  starter.signal(SIGHUP);
  ASSERT_TRUE(report.wait_for_ready(4)) << starter.output();
  ASSERT_TRUE(report.wait_for_signal(*pid3, "TERM")) << starter.output();
  std::string out = starter.output();
  EXPECT_NE(out.find("kill-old-delay 0s (was 1s)"), std::string::npos) << out;
  std::size_t sleeps = 0;
  const std::string sleeping = "\nsleeping 1 secs before killing old workers\n";  // bare, as Perl's
  for (std::size_t at = 0; (at = out.find(sleeping, at)) != std::string::npos; ++at) ++sleeps;
  EXPECT_EQ(sleeps, 2u) << out;
  EXPECT_EQ(out.find("invalid value '2s'"), out.rfind("invalid value '2s'")) << "said twice:\n"
                                                                             << out;
}

TEST(EnvDir, TakenFromTheEnvdirVariable) {
  TempDir dir;
  Report report(dir);
  std::string env = dir / "env";
  make_dir(env);
  write_file(env + "/FOO", "from-envdir\n");
  StarterProcess starter(
      dir, concat({"--interval=0", "--port=127.0.0.1:0"}, worker_args(dir, {"--env=FOO"})),
      {"ENVDIR=" + env});
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  EXPECT_EQ(report.env(1, "FOO"), "from-envdir");
}

}  // namespace
}  // namespace itest
