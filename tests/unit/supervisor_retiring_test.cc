// How old generations end: kRetiring (--kill-old-delay), kStopping (shutdown), and
// --drain-timeout's KILL for a worker that ignores its signal.

#include "supervisor_test.h"

namespace starter {
namespace {

using namespace supervisor_testing;
using namespace std::chrono_literals;

// === kRetiring (--kill-old-delay=5) ===========================================================

TEST_F(SupervisorRetiring, NewGenerationUpWaitsKillOldDelay) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  Actions a = tick(tH + 1s);
  EXPECT_EQ(statuses(a), Statuses{live({{1, kPid1}, {2, kPid2}})});
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(notifies(a), kNoNotify);  // READY only when the reload is over
  EXPECT_EQ(phase(), Phase::kRetiring);
  EXPECT_EQ(deadline(), tH + 6s);
}

TEST_F(SupervisorRetiring, TickBeforeKillOldDelayDoesNothing) {
  TimePoint up2 = retiring();
  Actions a = tick(up2 + 4999ms);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kRetiring);
}

TEST_F(SupervisorRetiring, TickAtKillOldDelaySignalsOld) {
  TimePoint up2 = retiring();
  Actions a = tick(up2 + 5s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(deadline(), std::nullopt);
}

TEST_F(SupervisorRetiring, ReloadIsQueuedUntilOldSignalled) {
  TimePoint up2 = retiring();
  Actions a = hup(up2 + 1s);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(signals(a), kNoSignal);
  hup(up2 + 2s);
  a = tick(up2 + 5s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(notifies(a), (Notifies{"READY", "RELOADING"}));
  EXPECT_EQ(spawns(a), Spawns{3});
}

TEST_F(SupervisorRetiring, OldExitedEarlyIsNotSignalled) {
  TimePoint up2 = retiring();
  Actions a = exited(kPid1, kExit0, up2 + 1s);
  EXPECT_EQ(statuses(a), Statuses{live({{2, kPid2}})});
  EXPECT_EQ(phase(), Phase::kRetiring);
  a = tick(up2 + 5s);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(phase(), Phase::kServing);
}

TEST_F(SupervisorRetiring, CurrentDiedKeepsOldServingUntilAReplacementIsUp) {
  TimePoint up2 = retiring();
  Actions a = exited(kPid2, kExit1, up2 + 2s);
  EXPECT_EQ(statuses(a), Statuses{live({{1, kPid1}})});
  EXPECT_EQ(spawns(a), Spawns{3});
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(phase(), Phase::kStarting);
  spawned(3, kPid3, up2 + 2s);
  EXPECT_EQ(signals(tick(up2 + 2500ms)), kNoSignal);
  a = tick(up2 + 3s);  // gen 3 up: the old one waits --kill-old-delay again
  EXPECT_EQ(statuses(a), Statuses{live({{1, kPid1}, {3, kPid3}})});
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(phase(), Phase::kRetiring);
  EXPECT_EQ(deadline(), up2 + 8s);
  EXPECT_EQ(signals(tick(up2 + 5s)), kNoSignal);  // the cancelled deadline does not fire
  a = tick(up2 + 8s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(notifies(a), Notifies{"READY"});
}

TEST_F(SupervisorRetiring, ShutdownSignalsAllWithSignalOnTerm) {
  TimePoint up2 = retiring();
  Actions a = shutdown(SIGTERM, up2 + 1s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR2}, {kPid2, SIGUSR2}}));
  EXPECT_EQ(notifies(a), Notifies{"STOPPING"});
  EXPECT_EQ(deadline(), std::nullopt);
  EXPECT_EQ(signals(tick(up2 + 5s)), kNoSignal);
}

TEST_F(SupervisorRetiring, ChildExitedOfUnknownPidIsIgnored) {
  TimePoint up2 = retiring();
  Actions a = exited(kStranger, kExit0, up2 + 1s);
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(phase(), Phase::kRetiring);
  EXPECT_EQ(deadline(), up2 + 5s);
}

// === kStopping ================================================================================

TEST_F(SupervisorStopping, ReloadIsIgnored) {
  TimePoint at = stopping();
  Actions a = hup(at + 1s);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(phase(), Phase::kStopping);
}

TEST_F(SupervisorStopping, AnotherShutdownSendsNothingMore) {
  TimePoint at = stopping();
  for (int signo : {SIGTERM, SIGINT, SIGQUIT}) {
    Actions a = shutdown(signo, at + 1s);
    EXPECT_EQ(signals(a), kNoSignal);
    EXPECT_EQ(notifies(a), kNoNotify);
    EXPECT_EQ(exits(a), std::vector<int>{});
  }
}

TEST_F(SupervisorStopping, ExitsOnceEveryWorkerIsGone) {
  TimePoint at = stopping();
  Actions a = exited(kPid2, SIGUSR2, at + 1s);
  EXPECT_EQ(statuses(a), Statuses{live({{1, kPid1}})});
  EXPECT_EQ(exits(a), std::vector<int>{});
  EXPECT_EQ(spawns(a), kNoSpawn);  // the current one dying is not replaced now
  a = exited(kPid1, SIGUSR2, at + 2s);
  EXPECT_EQ(statuses(a), Statuses{StatusSnapshot{}});
  EXPECT_EQ(exits(a), std::vector<int>{0});
}

TEST_F(SupervisorStopping, ChildExitedOfUnknownPidDoesNotCount) {
  TimePoint at = stopping();
  Actions a = exited(kStranger, kExit0, at + 1s);
  EXPECT_EQ(exits(a), std::vector<int>{});
  EXPECT_EQ(statuses(a), kNoStatus);
}

TEST_F(SupervisorStopping, TickDoesNothing) {
  TimePoint at = stopping();
  Actions a = tick(at + 1h);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(exits(a), std::vector<int>{});
  EXPECT_EQ(deadline(), std::nullopt);
}

// === --drain-timeout ==========================================================================

TEST_F(SupervisorTest, DrainTimeoutKillsAnOldWorkerThatIgnoresItsSignal) {
  settings.drain_timeout = 5s;
  start(t0);
  spawned(1, kPid1, t0);
  tick(t0 + 1s);
  hup(t0 + 2s);
  spawned(2, kPid2, t0 + 2s);
  EXPECT_EQ(signals(tick(t0 + 3s)), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(deadline(), t0 + 8s);
  EXPECT_EQ(signals(tick(t0 + 8s - 1ms)), kNoSignal);
  Actions a = tick(t0 + 8s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGKILL}}));
  EXPECT_TRUE(logged(a, "sending KILL"));
  EXPECT_EQ(signals(tick(t0 + 20s)), kNoSignal);  // once
}

TEST_F(SupervisorTest, DrainTimeoutBoundsTheShutdownToo) {
  settings.drain_timeout = 5s;
  start(t0);
  spawned(1, kPid1, t0);
  tick(t0 + 1s);
  shutdown(SIGTERM, t0 + 2s);
  Actions a = tick(t0 + 7s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGKILL}}));
  EXPECT_EQ(exits(exited(kPid1, SIGKILL, t0 + 7s + 1ms)), std::vector<int>{0});
}

TEST_F(SupervisorTest, WithoutDrainTimeoutNobodyIsEverKilled) {
  start(t0);
  spawned(1, kPid1, t0);
  tick(t0 + 1s);
  shutdown(SIGTERM, t0 + 2s);
  EXPECT_EQ(deadline(), std::nullopt);
  EXPECT_EQ(signals(tick(t0 + 1000s)), kNoSignal);
}

}  // namespace
}  // namespace starter
