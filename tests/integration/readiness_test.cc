// Readiness-gated generations (issue 4, item 5), as a user sees them: with --ready=notify a
// new generation takes over only once it has sent READY=1 to its own NOTIFY_SOCKET; a
// generation that is never ready is killed after --ready-timeout while the old one serves on
// and `--restart` fails with one line; failed first starts are retried with a growing pause;
// a worker that ignores SIGTERM is killed --drain-timeout after it was signalled; a READY=1
// from a foreign process is dropped (and logged once); the worker's STATUS= shows up in
// start_server's own STATUS= line.
//
// Most tests run a small wrapper script as the worker, which execs the fake worker with the
// flags found in a file at the moment start_server spawns it: the command line is the same
// for every generation, so this is how generation 2 is told to misbehave and generation 1
// not.

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <future>

#include <gtest/gtest.h>

#include "harness.h"
#include "notify_receiver.h"
#include "support/notify_send.h"

namespace itest {
namespace {

using starter::testing_support::send_notify;

/// The index (in the report) of the first `word` line of generation `gen`, or -1.
long index_of(const Report& report, std::string_view word, int gen) {
  auto r = report.find(word, gen);
  return r ? static_cast<long>(r->index) : -1;
}

// ---- a generation that becomes ready late ------------------------------------------------

TEST(ReadinessLate, OldGenerationServesAndIsSignalledOnlyOnceTheNewOneIsReady) {
  TempDir dir;
  // --interval=0: surviving is not what counts, READY=1 is.
  GatedDaemon d(dir, {"--interval=0"}, "--ready-after-ms=0 --env=NOTIFY_SOCKET");
  ASSERT_UP(d);
  // Generation 2 accepts nothing and says nothing for 1.5 s, then READY=1 at once.
  d.set_flags("--start-delay-ms=1500 --ready-after-ms=0 --env=NOTIFY_SOCKET");
  Stopwatch watch;
  auto restart = d.restart_async();

  int answered_by_1 = 0;
  std::string other;
  bool notified = wait_until(
      [&] {
        if (d.report.find("notified", 2)) return true;
        std::string reply = request(d.addr, 2s);
        // Generation 2 accepts only after its `notified` line: any other reply before it is wrong.
        if (reply == reply_of(1, d.pid1))
          ++answered_by_1;
        else if (!d.report.find("notified", 2))
          other = reply;
        return false;
      },
      10s);
  long notified_ms = watch.ms();
  ASSERT_TRUE(notified) << d.starter.output();
  EXPECT_GE(notified_ms, 1400) << "generation 2 was ready before its start delay";
  EXPECT_GE(answered_by_1, 5) << "generation 1 did not answer while generation 2 was not ready";
  EXPECT_EQ(other, "") << "a connection got another answer while generation 2 was not ready";

  CommandResult r = restart.get();
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << d.starter.output();
  EXPECT_GE(r.elapsed_ms, 1400) << "--restart returned before generation 2 was ready";
  pid_t pid2 = d.report.find("notified", 2)->pid;
  // Signalled only after generation 2's READY=1 (sent right after its `ready` line, and
  // before its `notified` line, which may come after start_server acted on it), and gone by
  // the time --restart returned.
  EXPECT_EQ(d.report.signals_for(d.pid1), std::vector<std::string>{"TERM"})
      << read_file(d.report.path());
  EXPECT_GT(index_of(d.report, "signal", 1), index_of(d.report, "ready", 2))
      << read_file(d.report.path());
  EXPECT_FALSE(process_alive(d.pid1));
  EXPECT_EQ(read_status_file(d.status), (Status{{2, pid2}}));
  EXPECT_EQ(request(d.addr), reply_of(2, pid2));

  // Each generation has a NOTIFY_SOCKET of its own, in the abstract namespace.
  auto socket1 = d.report.env(1, "NOTIFY_SOCKET");
  auto socket2 = d.report.env(2, "NOTIFY_SOCKET");
  ASSERT_TRUE(socket1 && socket2) << read_file(d.report.path());
  EXPECT_EQ(socket1->rfind("@start_server/", 0), 0u) << *socket1;
  EXPECT_EQ(socket2->rfind("@start_server/", 0), 0u) << *socket2;
  EXPECT_NE(*socket1, *socket2);
}

// ---- a generation that never becomes ready -----------------------------------------------

TEST(ReadinessNever, NewGenerationIsKilledAtTheReadyTimeoutAndTheOldServesOn) {
  TempDir dir;
  // --reload-retry=off: what follows looks at the one failed generation, with no retry after it.
  GatedDaemon d(dir, {"--ready-timeout=2", "--reload-retry=off"}, "--ready-after-ms=0");
  ASSERT_UP(d);
  d.set_flags("");  // generation 2 serves, but never sends READY=1

  CommandResult r = run_starter(d.restart_args({"--restart-timeout=30"}), 35s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 2) << r.text() << "\n" << d.starter.output();
  EXPECT_GE(r.elapsed_ms, 1800) << "the reload failed before --ready-timeout=2";
  EXPECT_LE(r.elapsed_ms, 4500) << "the failure was not reported soon after --ready-timeout=2";
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("generation 2 was not ready within 2s"), std::string::npos) << r.err;

  auto started2 = d.report.find("ready", 2);
  ASSERT_TRUE(started2) << "generation 2 never started\n" << d.starter.output();
  pid_t pid2 = started2->pid;
  EXPECT_TRUE(wait_until([&] { return !process_alive(pid2); }, 2s))
      << "generation 2 is still running";
  // KILL cannot be caught: a worker that was sent TERM would have said so.
  EXPECT_TRUE(d.report.signals_for(pid2).empty()) << read_file(d.report.path());
  EXPECT_FALSE(d.report.find("notified", 2));
  EXPECT_NE(d.starter.output().find("generation 2 was not ready within 2s, killing worker " +
                                    std::to_string(pid2)),
            std::string::npos)
      << d.starter.output();

  EXPECT_TRUE(d.report.signals_for(d.pid1).empty()) << "generation 1 was signalled";
  EXPECT_EQ(request(d.addr), reply_of(1, d.pid1));
  // The killed generation is not listed (once it is reaped, at the latest).
  EXPECT_TRUE(wait_until(
      [&] {
        return read_status_file(d.status) == Status{{1, d.pid1}};
      },
      2s))
      << "generation 2 is dead but still listed:\n"
      << read_file(d.status);
  std::string status = read_file(d.status);
  EXPECT_NE(status.find("reload-failed:generation 2 was not ready within 2s\n"), std::string::npos)
      << status;
  EXPECT_NE(status.find("limits:ready=notify ready-timeout=2s"), std::string::npos) << status;
  EXPECT_TRUE(d.starter.running());
}

// ---- a first start that crashes before it is ready ----------------------------------------

TEST(ReadinessBackoff, FailedFirstStartsAreRetriedWithAGrowingPause) {
  TempDir dir;
  std::string fail = dir / "fail";
  write_file(fail, "");
  std::string status_file = dir / "status";
  FakeNotifySocket notify(dir);
  Report report(dir);
  StarterProcess starter(
      dir,
      concat({"--ready=notify", "--interval=0", "--backoff-max=60", "--port=127.0.0.1:0",
              "--status-file=" + status_file},
             worker_args(dir, {"--fail-if-exists=" + fail, "--ready-after-ms=0"})),
      {notify.env()});
  Stopwatch watch;
  ASSERT_TRUE(report.wait_for("fail", 1, 5s)) << starter.output();
  long failed1 = watch.ms();
  ASSERT_TRUE(report.wait_for("fail", 2, 5s)) << starter.output();
  long failed2 = watch.ms();
  // The minimum spacing (1 s, even with --interval=0), then twice that.
  EXPECT_GE(failed2 - failed1, 800) << "the first retry came too soon";
  EXPECT_TRUE(wait_until(
      [&] {
        return starter.output().find("2 failed starts in a row, next attempt in 2s") !=
               std::string::npos;
      },
      2s))
      << starter.output();
  EXPECT_NE(starter.output().find("exited with status 1"), std::string::npos)
      << "the log does not give the exit status\n"
      << starter.output();
  EXPECT_TRUE(wait_until(
      [&] {
        return read_file(status_file).find("backoff:2 failed starts in a row\n") !=
               std::string::npos;
      },
      2s))
      << read_file(status_file);
  EXPECT_TRUE(notify.wait_for_message(
      [](const NotifyMessage& m) {
        return m.field("STATUS").find("2 failed starts in a row") != std::string::npos;
      },
      2s))
      << notify.dump();
  EXPECT_FALSE(notify.wait_for("READY=1", 0ms))
      << "READY=1 while nothing serves: " << notify.dump();

  // The operator fixes the problem: the next scheduled attempt comes up by itself.
  unlink(fail.c_str());
  auto up = report.wait_for("notified", 3, 5s);
  ASSERT_TRUE(up) << starter.output();
  long ready3 = watch.ms();
  EXPECT_GE(ready3 - failed2, 1800) << "the second pause was not doubled";
  EXPECT_FALSE(report.find("ready", 4));
  EXPECT_TRUE(notify.wait_for("READY=1", 3s)) << notify.dump();
  EXPECT_TRUE(wait_until(
      [&] {
        return read_status_file(status_file) == Status{{3, up->pid}};
      },
      3s))
      << read_file(status_file);
  EXPECT_TRUE(
      wait_until([&] { return read_file(status_file).find("backoff:") == std::string::npos; }, 3s))
      << "the back-off note outlived the recovery:\n"
      << read_file(status_file);
  EXPECT_EQ(request(report.addr(3, "127.0.0.1:0")), reply_of(3, up->pid));
}

// ---- a worker that ignores SIGTERM ----------------------------------------------------------

TEST(ReadinessDrain, OldGenerationIgnoringTermIsKilledAfterTheDrainTimeout) {
  TempDir dir;
  GatedDaemon d(dir, {"--drain-timeout=1"}, "--ignore-term --ready-after-ms=0");
  ASSERT_UP(d);
  d.set_flags("--ready-after-ms=0");
  auto restart = d.restart_async();
  ASSERT_TRUE(d.report.wait_for_signal(d.pid1, "TERM ignored", 5s)) << d.starter.output();
  Stopwatch since_term;
  ASSERT_TRUE(wait_until([&] { return !process_alive(d.pid1); }, 5s))
      << "generation 1 is still running";
  EXPECT_GE(since_term.ms(), 700) << "killed before --drain-timeout=1";
  EXPECT_LE(since_term.ms(), 3000) << "not killed soon after --drain-timeout=1";
  EXPECT_NE(d.starter.output().find(
                "worker " + std::to_string(d.pid1) +
                " (generation 1) is still running 1s after it was signalled, sending KILL"),
            std::string::npos)
      << d.starter.output();

  CommandResult r = restart.get();
  EXPECT_EQ(r.status, 0) << r.text() << "\n" << d.starter.output();
  auto ready2 = d.report.find("notified", 2);
  ASSERT_TRUE(ready2);
  EXPECT_EQ(read_status_file(d.status), (Status{{2, ready2->pid}}));
  EXPECT_EQ(request(d.addr), reply_of(2, ready2->pid));
}

TEST(ReadinessDrain, ShutdownKillsAWorkerIgnoringTermAfterTheDrainTimeout) {
  TempDir dir;
  Report report(dir);
  StarterProcess starter(dir, concat({"--ready=notify", "--drain-timeout=1", "--port=127.0.0.1:0"},
                                     worker_args(dir, {"--ignore-term", "--ready-after-ms=0"})));
  auto up = report.wait_for("notified", 1);
  ASSERT_TRUE(up) << starter.output();
  Stopwatch watch;
  starter.signal(SIGTERM);
  EXPECT_TRUE(report.wait_for_signal(up->pid, "TERM ignored", 3s)) << read_file(report.path());
  EXPECT_EQ(starter.wait_exit(6s), 0) << starter.output();
  EXPECT_GE(watch.ms(), 700) << "exited before --drain-timeout=1";
  EXPECT_LE(watch.ms(), 4000) << "did not exit soon after --drain-timeout=1";
  EXPECT_FALSE(process_alive(up->pid));
  EXPECT_NE(starter.output().find("sending KILL"), std::string::npos) << starter.output();
  EXPECT_EQ(processes_mentioning(dir.path()), std::vector<pid_t>{}) << "left behind";
}

// ---- notifications from a foreign process -------------------------------------------------

TEST(ReadinessForeign, ReadyFromAnotherProcessIsIgnoredAndLoggedOnce) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  GatedDaemon d(dir, {}, "--ready-after-ms=0", {notify.env()});
  ASSERT_UP(d);
  // Generation 2 says READY=1 itself only after 2 s; we (not one of its processes) say it first.
  d.set_flags("--ready-after-ms=2000 --env=NOTIFY_SOCKET");
  Stopwatch watch;
  d.starter.signal(SIGHUP);
  ASSERT_TRUE(d.report.wait_for("env", 2, 3s)) << d.starter.output();
  auto socket = d.report.env(2, "NOTIFY_SOCKET");
  ASSERT_TRUE(socket) << read_file(d.report.path());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(send_notify(*socket, "READY=1\nSTATUS=forged by the test\n"), "");
  std::string ignoring =
      "ignoring notifications to generation 2 from pid " + std::to_string(getpid());
  EXPECT_TRUE(
      wait_until([&] { return d.starter.output().find(ignoring) != std::string::npos; }, 1s))
      << d.starter.output();
  // Nothing happened: generation 1 is not signalled, and is still the only one listed.
  EXPECT_FALSE(d.report.wait_for_signal(d.pid1, "TERM", 500ms))
      << "generation 1 was retired by a forged READY=1";
  EXPECT_FALSE(d.report.find("notified", 2)) << "too slow to tell: generation 2 is ready already";
  EXPECT_EQ(read_status_file(d.status), (Status{{1, d.pid1}}));

  // Generation 2's own READY=1 is what retires generation 1.
  ASSERT_TRUE(d.report.wait_for_signal(d.pid1, "TERM", 5s)) << d.starter.output();
  EXPECT_GE(watch.ms(), 1900) << "generation 1 was signalled before generation 2 sent READY=1";
  EXPECT_TRUE(d.report.wait_for("notified", 2, 2s));
  EXPECT_EQ(count_of(d.starter.output(), "ignoring notifications"), 1u) << d.starter.output();
  for (const auto& m : notify.messages())
    EXPECT_EQ(m.text.find("forged"), std::string::npos)
        << "a forged STATUS reached systemd: " << m.text;
}

TEST(ReadinessForeign, ReadyFromADescendantOfTheWorkerCounts) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  Report report(dir);
  // A wrapper that forks the real worker and passes TERM on to it.
  write_file(dir / "wrapper.sh",
             "#!/bin/sh\n" + kFakeWorker + " --report=" + dir.report() +
                 " --ready-after-ms=0 &\n"
                 "child=$!\n"
                 "trap 'kill -TERM $child; wait $child; exit 0' TERM\n"
                 "wait $child\n",
             0755);
  StarterProcess starter(dir, {"--ready=notify", "--port=127.0.0.1:0", "--", dir / "wrapper.sh"},
                         {notify.env()});
  auto up = report.wait_for("notified", 1);
  ASSERT_TRUE(up) << starter.output();
  pid_t shell = parent_of(up->pid);
  ASSERT_NE(shell, starter.pid());
  EXPECT_TRUE(notify.wait_for("READY=1", 3s)) << notify.dump() << starter.output();
  EXPECT_NE(starter.output().find("generation 1 (pid " + std::to_string(shell) + ") is ready"),
            std::string::npos)
      << starter.output();
  EXPECT_EQ(starter.output().find("ignoring notifications"), std::string::npos) << starter.output();
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_TRUE(report.wait_for_signal(up->pid, "TERM", 3s));
}

// ---- the worker's STATUS= in start_server's own -------------------------------------------

TEST(ReadinessStatus, WorkerStatusIsFoldedIntoTheStatusSentToSystemd) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  Report report(dir);
  StarterProcess starter(dir,
                         concat({"--ready=notify", "--interval=0", "--port=127.0.0.1:0"},
                                worker_args(dir, {"--ready-after-ms=700"})),
                         {notify.env()});
  auto started = report.wait_for("ready", 1);
  ASSERT_TRUE(started) << starter.output();
  Stopwatch watch;
  // Not before the worker's own READY=1, however long it survives.
  EXPECT_FALSE(notify.wait_for("READY=1", 0ms)) << notify.dump();
  auto ready = notify.wait_for("READY=1", 5s);
  ASSERT_TRUE(ready) << notify.dump() << starter.output();
  EXPECT_GE(watch.ms(), 500) << "READY=1 before the worker was ready";
  std::string status = notify.at(*ready).field("STATUS");
  EXPECT_NE(status.find("generation 1 (pid " + std::to_string(started->pid) + ") serving"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find(" (worker: fake worker serving)"), std::string::npos) << status;
}

}  // namespace
}  // namespace itest
