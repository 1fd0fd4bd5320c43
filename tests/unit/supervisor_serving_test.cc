// The supervisor with one generation serving (kServing), and auto restart
// (ENABLE_AUTO_RESTART / --enable-auto-restart).

#include "supervisor_test.h"

namespace starter {
namespace {

using namespace supervisor_testing;
using namespace std::chrono_literals;

// === kServing =================================================================================

TEST_F(SupervisorServing, ReloadSpawnsTheNextGeneration) {
  TimePoint up = serve();
  Actions a = hup(up + 10s);
  EXPECT_EQ(notifies(a), Notifies{"RELOADING"});
  EXPECT_EQ(spawns(a), Spawns{2});
  EXPECT_EQ(signals(a), kNoSignal);  // the old one is signalled only once the new one is up
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(phase(), Phase::kReloading);
  EXPECT_EQ(deadline(), std::nullopt);
}

TEST_F(SupervisorServing, ShutdownTermSendsSignalOnTermAndWaits) {
  TimePoint up = serve();
  Actions a = shutdown(SIGTERM, up + 10s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR2}}));
  EXPECT_EQ(notifies(a), Notifies{"STOPPING"});
  EXPECT_EQ(exits(a), std::vector<int>{});
  EXPECT_EQ(phase(), Phase::kStopping);
  a = exited(kPid1, SIGUSR2, up + 11s);
  EXPECT_EQ(statuses(a), Statuses{StatusSnapshot{}});
  EXPECT_EQ(exits(a), std::vector<int>{0});
}

TEST_F(SupervisorServing, ShutdownIntSendsTerm) {
  TimePoint up = serve();
  Actions a = shutdown(SIGINT, up + 10s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGTERM}}));
  EXPECT_EQ(notifies(a), Notifies{"STOPPING"});
}

TEST_F(SupervisorServing, ShutdownQuitSendsTerm) {
  TimePoint up = serve();
  Actions a = shutdown(SIGQUIT, up + 10s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGTERM}}));
  EXPECT_EQ(notifies(a), Notifies{"STOPPING"});
}

TEST_F(SupervisorServing, CurrentWorkerDiedIsReplaced) {
  TimePoint up = serve();
  Actions a = exited(kPid1, kExit1, up + 60s);
  EXPECT_EQ(statuses(a), Statuses{StatusSnapshot{}});
  EXPECT_EQ(spawns(a), Spawns{2});  // its spawn is long past: at once
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_TRUE(logged(a, "worker 101 died unexpectedly"));
  EXPECT_EQ(phase(), Phase::kStarting);
  spawned(2, kPid2, up + 60s);
  a = tick(up + 61s);
  EXPECT_EQ(statuses(a), Statuses{live({{2, kPid2}})});
  EXPECT_EQ(phase(), Phase::kServing);
}

// server.cc queues events FIFO, so when one wake-up brings both the current worker's exit
// and SIGTERM, the replacement's Spawned is handled after the Shutdown. That worker must get
// --signal-on-term like every other (the contract: TERM sends it to all workers).
TEST_F(SupervisorServing, ShutdownTermWhileAReplacementSpawnIsOutSendsSignalOnTerm) {
  TimePoint up = serve();
  ASSERT_EQ(spawns(exited(kPid1, kExit1, up + 60s)), Spawns{2});  // Spawn{2} is out
  Actions a = shutdown(SIGTERM, up + 60s);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(exits(a), std::vector<int>{});  // the spawn's outcome is still to come
  a = spawned(2, kPid2, up + 60s);
  EXPECT_EQ(signals(a), (Signals{{kPid2, SIGUSR2}}));
  EXPECT_EQ(exits(exited(kPid2, SIGUSR2, up + 61s)), std::vector<int>{0});
}

TEST_F(SupervisorServing, CurrentWorkerDyingSoonIsReplacedAfterMinimumSpacing) {
  settings.interval = 0s;
  start(t0);
  spawned(1, kPid1, t0);  // up at once
  ASSERT_EQ(phase(), Phase::kServing);
  Actions a = exited(kPid1, kExit1, t0 + 100ms);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(deadline(), t0 + 1s);
  EXPECT_EQ(spawns(tick(t0 + 999ms)), kNoSpawn);
  EXPECT_EQ(spawns(tick(t0 + 1s)), Spawns{2});
}

TEST_F(SupervisorServing, ChildExitedOfUnknownPidIsIgnored) {
  TimePoint up = serve();
  EXPECT_TRUE(exited(kStranger, kExit1, up + 1s).empty());
  EXPECT_EQ(phase(), Phase::kServing);
}

TEST_F(SupervisorServing, TickDoesNothingWithoutAutoRestart) {
  TimePoint up = serve();
  EXPECT_TRUE(tick(up + 24h).empty());
  EXPECT_EQ(deadline(), std::nullopt);
}

// === auto restart =============================================================================

TEST_F(SupervisorAutoRestart, FiresOneIntervalAfterTheGenerationCameUp) {
  TimePoint up = serve();
  EXPECT_EQ(deadline(), up + 360s);
  EXPECT_EQ(spawns(tick(up + 359s)), kNoSpawn);
  Actions a = tick(up + 360s);
  EXPECT_EQ(notifies(a), Notifies{"RELOADING"});
  EXPECT_EQ(spawns(a), Spawns{2});
  EXPECT_EQ(phase(), Phase::kReloading);
}

TEST_F(SupervisorAutoRestart, NextOneCountsFromTheNewGenerationOnceNoOldRemains) {
  TimePoint up = serve();
  TimePoint tA = up + 360s;
  tick(tA);
  spawned(2, kPid2, tA);
  tick(tA + 1s);  // gen 2 up
  EXPECT_EQ(phase(), Phase::kRetiring);
  EXPECT_EQ(signals(tick(tA + 6s)), (Signals{{kPid1, SIGUSR1}}));
  exited(kPid1, SIGUSR1, tA + 7s);
  EXPECT_EQ(deadline(), tA + 1s + 360s);
  EXPECT_EQ(spawns(tick(tA + 1s + 360s)), Spawns{3});
}

TEST_F(SupervisorAutoRestart, ForcedAfterTwiceTheIntervalWhileOldLives) {
  TimePoint up = serve();
  TimePoint tA = up + 360s;
  tick(tA);
  spawned(2, kPid2, tA);
  TimePoint up2 = tA + 1s;
  tick(up2);
  tick(up2 + 5s);  // 101 signalled but it does not leave
  EXPECT_EQ(deadline(), up2 + 720s);
  EXPECT_EQ(spawns(tick(up2 + 360s)), kNoSpawn);
  Actions a = tick(up2 + 720s);
  EXPECT_EQ(spawns(a), Spawns{3});
  EXPECT_EQ(notifies(a), Notifies{"RELOADING"});
  EXPECT_TRUE(logged(a, "forced"));
}

TEST_F(SupervisorAutoRestart, FailedAutoRestartWaitsAnotherInterval) {
  TimePoint up = serve();
  TimePoint tA = up + 360s;
  tick(tA);
  spawned(2, kPid2, tA);
  exited(kPid2, kExit1, tA + 500ms);
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(deadline(), tA + 500ms + 360s);
  EXPECT_EQ(signals(history), kNoSignal);
}

TEST_F(SupervisorAutoRestart, NoDeadlineWhileStarting) {
  start(t0);
  spawned(1, kPid1, t0);
  EXPECT_EQ(deadline(), t0 + 1s);  // the probation, not an auto restart
  exited(kPid1, kExit1, t0 + 100ms);
  EXPECT_EQ(deadline(), t0 + 1s);  // the retry
}

}  // namespace
}  // namespace starter
