// Control modes (issue 2, item 7): `start_server --restart` returns 0 once exactly one newer
// generation is listed, and non-zero with one line, never hanging, when the new generation
// fails, start_server is not running or dies, or the timeout passes; `--stop` returns 0 once
// start_server has exited.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness.h"

namespace itest {
namespace {

void expect_one_line_failure(const CommandResult& r) {
  EXPECT_FALSE(r.timed_out) << "it hung";
  EXPECT_NE(r.status, 0) << r.text();
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  if (!r.err_lines().empty()) {
    EXPECT_EQ(r.err_lines()[0].rfind("start_server: ", 0), 0u) << r.err;
  }
}

TEST(Restart, ReturnsZeroOnceTheNewGenerationAloneIsListed) {
  TempDir dir;
  Daemon d(dir, {"--interval=1"}, worker_args(dir));
  ASSERT_UP(d);
  std::string addr = d.report.addr(1, "127.0.0.1:0");
  auto r = run_starter(d.restart_args(), 15s);
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << d.starter.output();
  auto pid2 = d.report.find("ready", 2);
  ASSERT_TRUE(pid2) << d.starter.output();
  // By the time it returns, the status file says only generation 2, and 1 is gone.
  EXPECT_EQ(read_status_file(d.status), (Status{{2, pid2->pid}}));
  EXPECT_FALSE(process_alive(d.pid1));
  EXPECT_GE(r.elapsed_ms, 800) << "returned before the new generation passed --interval=1";
  EXPECT_EQ(request(addr), reply_of(2, pid2->pid));
  EXPECT_TRUE(d.starter.running());
}

TEST(Restart, IsQuickWithZeroInterval) {
  TempDir dir;
  Daemon d(dir, {"--interval=0"}, worker_args(dir));
  ASSERT_UP(d);
  for (int gen = 2; gen <= 3; ++gen) {
    auto r = run_starter(d.restart_args(), 10s);
    EXPECT_EQ(r.status, 0) << r.text();
    EXPECT_LT(r.elapsed_ms, 900) << "--restart polls with a 1-second floor (ours must not)";
    // With --interval=0 a generation is up the moment it is spawned, so --restart may
    // rightly return before the worker has written its report: wait for that, not for time.
    auto ready = d.report.wait_for("ready", gen);
    ASSERT_TRUE(ready) << d.starter.output();
    EXPECT_EQ(read_status_file(d.status), (Status{{gen, ready->pid}}));
  }
}

TEST(Restart, FailsQuicklyWhenTheNewGenerationFailsAndTheOldKeepsServing) {
  TempDir dir;
  std::string fail = dir / "fail";
  Daemon d(dir, {"--interval=1"}, worker_args(dir, {"--fail-if-exists=" + fail}));
  ASSERT_UP(d);
  std::string addr = d.report.addr(1, "127.0.0.1:0");
  write_file(fail, "");
  auto r = run_starter(d.restart_args({"--restart-timeout=30"}), 35s);
  expect_one_line_failure(r);
  EXPECT_LT(r.elapsed_ms, 6000) << "it waited for the timeout instead of noticing the failure";
  EXPECT_TRUE(d.report.find("fail", 2)) << d.starter.output();
  EXPECT_TRUE(d.report.signals_for(d.pid1).empty());
  EXPECT_EQ(request(addr), reply_of(1, d.pid1));
  EXPECT_EQ(read_status_file(d.status), (Status{{1, d.pid1}}));
  EXPECT_TRUE(d.starter.running());
}

TEST(Restart, SucceedsAfterAnEarlierFailedReload) {
  // Perl hangs here: the target generation is not max+1 any more.
  TempDir dir;
  std::string fail = dir / "fail";
  Daemon d(dir, {"--interval=1"}, worker_args(dir, {"--fail-if-exists=" + fail}));
  ASSERT_UP(d);
  write_file(fail, "");
  auto failed = run_starter(d.restart_args({"--restart-timeout=20"}), 25s);
  EXPECT_NE(failed.status, 0) << failed.text();
  unlink(fail.c_str());
  auto r = run_starter(d.restart_args({"--restart-timeout=20"}), 25s);
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << d.starter.output();
  auto ready3 = d.report.find("ready", 3);
  ASSERT_TRUE(ready3) << d.starter.output();
  EXPECT_EQ(read_status_file(d.status), (Status{{3, ready3->pid}}));
}

TEST(Restart, FailsWhenStartServerIsNotRunning) {
  TempDir dir;
  std::string pid_file = dir / "pid";
  std::string status = dir / "status";
  // A pid that certainly exited: a child of ours, reaped.
  pid_t gone = fork();
  if (gone == 0) _exit(0);
  waitpid(gone, nullptr, 0);
  write_file(pid_file, std::to_string(gone) + "\n");
  write_file(status, "1:" + std::to_string(gone) + "\n");
  auto r = run_starter({"--restart", "--pid-file=" + pid_file, "--status-file=" + status}, 10s);
  expect_one_line_failure(r);
  EXPECT_LT(r.elapsed_ms, 3000);
}

TEST(Restart, FailsWhenThePidFileIsMissing) {
  TempDir dir;
  std::string pid_file = dir / "pid";
  std::string status = dir / "status";
  auto r = run_starter({"--restart", "--pid-file=" + pid_file, "--status-file=" + status}, 10s);
  expect_one_line_failure(r);
  EXPECT_NE(r.err.find(pid_file), std::string::npos) << r.err;
}

TEST(Restart, FailsWhenStartServerDiesMeanwhile) {
  TempDir dir;
  Daemon d(dir, {"--interval=3"}, worker_args(dir));
  ASSERT_UP(d);
  // --restart in the background; the new generation is on probation for 3 s.
  StarterProcess restart(dir, d.restart_args({"--restart-timeout=30"}));
  ASSERT_TRUE(d.report.wait_for_ready(2)) << d.starter.output();
  d.starter.signal(SIGKILL);
  ASSERT_TRUE(d.starter.wait_exit());
  auto status = restart.wait_exit(10s);
  ASSERT_TRUE(status) << "--restart hung after start_server died";
  EXPECT_NE(*status, 0);
  EXPECT_EQ(split_lines(restart.output()).size(), 1u) << restart.output();
}

TEST(Restart, GivesUpAtTheTimeout) {
  TempDir dir;
  Daemon d(dir, {"--interval=2"}, worker_args(dir));
  // Each generation needs 2 s to count as started.
  ASSERT_TRUE(d.pid1 > 0) << d.starter.output();
  ASSERT_TRUE(wait_until([&] {
    return read_status_file(d.status) == Status{{1, d.pid1}};
  })) << d.starter.output();
  auto r = run_starter(d.restart_args({"--restart-timeout=1"}), 10s);
  expect_one_line_failure(r);
  EXPECT_GE(r.elapsed_ms, 900);
  EXPECT_LT(r.elapsed_ms, 3500) << "the timeout was not honoured";
  EXPECT_TRUE(d.starter.running());
}

TEST(Restart, RequiresPidAndStatusFiles) {
  TempDir dir;
  auto no_status = run_starter({"--restart", "--pid-file=" + (dir / "pid")});
  expect_one_line_failure(no_status);
  EXPECT_EQ(no_status.status, 1);
  EXPECT_NE(no_status.err.find("status-file"), std::string::npos) << no_status.err;
  auto no_pid = run_starter({"--restart", "--status-file=" + (dir / "status")});
  expect_one_line_failure(no_pid);
  EXPECT_EQ(no_pid.status, 1);
  EXPECT_NE(no_pid.err.find("pid-file"), std::string::npos) << no_pid.err;
}

TEST(Stop, ReturnsOnceStartServerHasExited) {
  TempDir dir;
  Daemon d(dir, {"--interval=0"}, worker_args(dir));
  ASSERT_UP(d);
  auto r = run_starter({"--stop", "--pid-file=" + d.pid_file}, 10s);
  EXPECT_EQ(r.status, 0) << r.text();
  EXPECT_FALSE(file_exists(d.pid_file)) << "--stop returned while the pid file still exists";
  EXPECT_FALSE(file_exists(d.status));
  EXPECT_EQ(d.starter.wait_exit(2s), 0) << d.starter.output();
  EXPECT_EQ(d.report.signals_for(d.pid1), std::vector<std::string>{"TERM"});
  EXPECT_FALSE(process_alive(d.pid1));
}

TEST(Stop, FailsWhenThePidFileIsMissing) {
  TempDir dir;
  std::string pid_file = dir / "pid";
  auto r = run_starter({"--stop", "--pid-file=" + pid_file}, 10s);
  expect_one_line_failure(r);
  EXPECT_NE(r.err.find(pid_file), std::string::npos) << r.err;
}

TEST(Stop, RequiresAPidFile) {
  auto r = run_starter({"--stop"});
  expect_one_line_failure(r);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("pid-file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace itest
