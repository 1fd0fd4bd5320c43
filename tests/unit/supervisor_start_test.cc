// The supervisor before its first generation is up (kIdle, kStarting): probation, retries of
// a failed start with a growing pause (back-off), and the settings it starts from.

#include "config.h"
#include "supervisor_test.h"

namespace starter {
namespace {

using namespace supervisor_testing;
using namespace std::chrono_literals;

// === kIdle ====================================================================================

TEST_F(SupervisorIdle, StartSpawnsGenerationOne) {
  Actions a = start(t0);
  EXPECT_EQ(spawns(a), Spawns{1});
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(statuses(a), kNoStatus);  // no status file before a generation is up (Perl)
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
  EXPECT_EQ(deadline(), std::nullopt);  // waiting for the Spawn's outcome, not for time
}

TEST_F(SupervisorIdle, ReloadIsIgnored) {
  Actions a = hup(t0);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kIdle);
}

TEST_F(SupervisorIdle, ShutdownExitsAtOnce) {
  for (int signo : {SIGTERM, SIGINT, SIGQUIT}) {
    SCOPED_TRACE(signo);
    Supervisor fresh(settings);
    Actions a = fresh.handle(event::Shutdown{signo}, t0);
    EXPECT_EQ(signals(a), kNoSignal);
    EXPECT_EQ(notifies(a), Notifies{"STOPPING"});
    EXPECT_EQ(exits(a), std::vector<int>{0});
    EXPECT_EQ(spawns(fresh.handle(event::Start{}, t0)), kNoSpawn);  // too late to start
  }
}

TEST_F(SupervisorIdle, TickDoesNothing) {
  EXPECT_TRUE(tick(t0).empty());
  EXPECT_EQ(deadline(), std::nullopt);
}

TEST_F(SupervisorIdle, ChildExitedOfUnknownPidIsIgnored) {
  EXPECT_TRUE(exited(kStranger, kExit0, t0).empty());
  EXPECT_EQ(phase(), Phase::kIdle);
}

// === kStarting ================================================================================

TEST_F(SupervisorStarting, StartAgainIsIgnored) {
  start(t0);
  EXPECT_EQ(spawns(start(t0)), kNoSpawn);
}

TEST_F(SupervisorStarting, SpawnedBeginsProbation) {
  start(t0);
  Actions a = spawned(1, kPid1, t0);
  EXPECT_EQ(spawns(a), kNoSpawn);
  // Listed as starting, not among the live ones that Perl's readers see.
  EXPECT_EQ(statuses(a), Statuses{with_starting({}, {1, kPid1})});
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_TRUE(logged(a, "starting new worker 101"));
  EXPECT_EQ(phase(), Phase::kStarting);
  EXPECT_EQ(deadline(), t0 + 1s);
}

TEST_F(SupervisorStarting, TickBeforeProbationEndDoesNothing) {
  start(t0);
  spawned(1, kPid1, t0);
  Actions a = tick(t0 + 999ms);
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
  EXPECT_EQ(deadline(), t0 + 1s);
}

TEST_F(SupervisorStarting, TickAtProbationEndPromotes) {
  start(t0);
  spawned(1, kPid1, t0);
  Actions a = tick(t0 + 1s);
  EXPECT_EQ(statuses(a), Statuses{live({{1, kPid1}})});
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(deadline(), std::nullopt);
  auto ready = actions_of<action::Notify>(a);
  ASSERT_FALSE(ready.empty());
  EXPECT_NE(ready.back().status.find("generation 1 (pid 101)"), std::string::npos)
      << ready.back().status;
  ASSERT_EQ(sup().workers().size(), 1u);
  EXPECT_EQ(sup().workers()[0].role, Supervisor::Role::kCurrent);
}

TEST_F(SupervisorStarting, LongerIntervalIsTheProbation) {
  settings.interval = 3s;
  start(t0);
  spawned(1, kPid1, t0);
  EXPECT_EQ(deadline(), t0 + 3s);
  EXPECT_EQ(notifies(tick(t0 + 2s)), kNoNotify);
  EXPECT_EQ(notifies(tick(t0 + 3s)), Notifies{"READY"});
}

TEST_F(SupervisorStarting, IntervalZeroPromotesAtOnce) {
  settings.interval = 0s;
  start(t0);
  Actions a = spawned(1, kPid1, t0);
  EXPECT_EQ(statuses(a), (Statuses{with_starting({}, {1, kPid1}), live({{1, kPid1}})}));
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(deadline(), std::nullopt);
}

TEST_F(SupervisorStarting, WorkerExitDuringProbationRetriesAfterInterval) {
  start(t0);
  spawned(1, kPid1, t0);
  Actions a = exited(kPid1, kExit1, t0 + 200ms);
  EXPECT_EQ(spawns(a), kNoSpawn);  // not at once: no fork loop
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_TRUE(logged(a, "new worker 101 seems to have failed to start"));
  EXPECT_EQ(phase(), Phase::kStarting);
  EXPECT_EQ(deadline(), t0 + 1s);  // interval after the previous spawn
  EXPECT_EQ(spawns(tick(t0 + 999ms)), kNoSpawn);
  EXPECT_EQ(spawns(tick(t0 + 1s)), Spawns{2});
  EXPECT_EQ(deadline(), std::nullopt);
}

TEST_F(SupervisorStarting, RetryWaitsTheLongerInterval) {
  settings.interval = 3s;
  start(t0);
  spawned(1, kPid1, t0);
  exited(kPid1, kExit1, t0 + 500ms);
  EXPECT_EQ(deadline(), t0 + 3s);
  EXPECT_EQ(spawns(tick(t0 + 2999ms)), kNoSpawn);
  EXPECT_EQ(spawns(tick(t0 + 3s)), Spawns{2});
}

TEST_F(SupervisorStarting, RetryWaitsTheLongerMinimumSpacing) {
  settings.min_respawn_spacing = 5s;
  start(t0);
  spawned(1, kPid1, t0);
  exited(kPid1, kExit1, t0 + 500ms);
  EXPECT_EQ(deadline(), t0 + 5s);
  EXPECT_EQ(spawns(tick(t0 + 4999ms)), kNoSpawn);
  EXPECT_EQ(spawns(tick(t0 + 5s)), Spawns{2});
}

TEST_F(SupervisorStarting, SpawnFailedRetriesAfterMinimumSpacingEvenWithIntervalZero) {
  settings.interval = 0s;
  start(t0);
  Actions a = spawn_failed(1, t0);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
  EXPECT_EQ(deadline(), t0 + 1s);
  EXPECT_EQ(spawns(tick(t0 + 999ms)), kNoSpawn);
  EXPECT_EQ(spawns(tick(t0 + 1s)), Spawns{2});
}

TEST_F(SupervisorStarting, ExecErrorFailsTheStartWhenTheChildExits) {
  start(t0);
  Actions a = spawned(1, kPid1, t0, "execve(/srv/app): No such file or directory");
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_TRUE(logged(a, "execve(/srv/app): No such file or directory"));
  a = exited(kPid1, kExit255, t0 + 1ms);
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
  EXPECT_EQ(deadline(), t0 + 1s);
  EXPECT_EQ(spawns(tick(t0 + 1s)), Spawns{2});
}

// With --interval=0 a generation whose exec is already known to have failed
// (Spawned.exec_error) must not be promoted at once: it never ran. Its ChildExited decides,
// as a failed start.
TEST_F(SupervisorStarting, ExecErrorIsNeverPromotedEvenWithIntervalZero) {
  settings.interval = 0s;
  start(t0);
  Actions a = spawned(1, kPid1, t0, "execve(/srv/app): No such file or directory");
  EXPECT_EQ(statuses(a), Statuses{with_starting({}, {1, kPid1})});
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
  a = exited(kPid1, kExit255, t0 + 1ms);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
  EXPECT_EQ(deadline(), t0 + 1s);
}

TEST_F(SupervisorStarting, ReloadDuringProbationIsQueuedUntilUp) {
  start(t0);
  spawned(1, kPid1, t0);
  Actions a = hup(t0 + 500ms);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(spawns(hup(t0 + 600ms)), kNoSpawn);
  a = tick(t0 + 1s);
  EXPECT_EQ(notifies(a), (Notifies{"READY", "RELOADING"}));
  EXPECT_EQ(spawns(a), Spawns{2});
  EXPECT_EQ(phase(), Phase::kReloading);
}

TEST_F(SupervisorStarting, ReloadWhileRespawnIsScheduledSpawnsAtOnce) {
  start(t0);
  spawned(1, kPid1, t0);
  exited(kPid1, kExit1, t0 + 100ms);
  ASSERT_EQ(deadline(), t0 + 1s);
  Actions a = hup(t0 + 200ms);
  EXPECT_EQ(spawns(a), Spawns{2});
  EXPECT_EQ(notifies(a), kNoNotify);  // nothing served yet: no RELOADING
  EXPECT_EQ(deadline(), std::nullopt);
  spawned(2, kPid2, t0 + 200ms);
  EXPECT_EQ(deadline(), t0 + 1200ms);
  EXPECT_EQ(spawns(tick(t0 + 1s)), kNoSpawn);  // the old retry is cancelled
  EXPECT_EQ(notifies(tick(t0 + 1200ms)), Notifies{"READY"});
}

TEST_F(SupervisorStarting, ShutdownSignalsTheWorkerOnProbationAndWaits) {
  start(t0);
  spawned(1, kPid1, t0);
  Actions a = shutdown(SIGTERM, t0 + 500ms);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR2}}));
  EXPECT_EQ(notifies(a), Notifies{"STOPPING"});
  EXPECT_EQ(exits(a), std::vector<int>{});
  EXPECT_EQ(phase(), Phase::kStopping);
  EXPECT_EQ(deadline(), std::nullopt);
  EXPECT_EQ(notifies(tick(t0 + 1s)), kNoNotify);  // never promoted now
  a = exited(kPid1, SIGUSR2, t0 + 1100ms);
  EXPECT_EQ(exits(a), std::vector<int>{0});
}

TEST_F(SupervisorStarting, ShutdownWhileRespawnIsScheduledExitsAtOnce) {
  start(t0);
  spawned(1, kPid1, t0);
  exited(kPid1, kExit1, t0 + 100ms);
  Actions a = shutdown(SIGTERM, t0 + 200ms);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(exits(a), std::vector<int>{0});
  EXPECT_EQ(deadline(), std::nullopt);
  EXPECT_EQ(spawns(tick(t0 + 1s)), kNoSpawn);
}

TEST_F(SupervisorStarting, ShutdownWhileSpawnIsOutWaitsForItsOutcome) {
  start(t0);
  Actions a = shutdown(SIGINT, t0);
  EXPECT_EQ(exits(a), std::vector<int>{});
  a = spawned(1, kPid1, t0);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGTERM}}));
  EXPECT_EQ(exits(a), std::vector<int>{});
  EXPECT_EQ(exits(exited(kPid1, SIGTERM, t0 + 10ms)), std::vector<int>{0});
}

TEST_F(SupervisorStarting, ShutdownWhileSpawnIsOutExitsWhenForkFailed) {
  start(t0);
  EXPECT_EQ(exits(shutdown(SIGTERM, t0)), std::vector<int>{});
  EXPECT_EQ(exits(spawn_failed(1, t0)), std::vector<int>{0});
}

TEST_F(SupervisorStarting, ChildExitedOfUnknownPidIsIgnored) {
  start(t0);
  spawned(1, kPid1, t0);
  Actions a = exited(kStranger, kExit1, t0 + 100ms);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
  EXPECT_EQ(deadline(), t0 + 1s);
}

TEST_F(SupervisorStarting, GenerationsCountEverySpawnAttempt) {
  EXPECT_EQ(spawns(start(t0)), Spawns{1});
  spawned(1, kPid1, t0);
  exited(kPid1, kExit1, t0 + 100ms);  // gen 1 failed
  EXPECT_EQ(spawns(tick(t0 + 1s)), Spawns{2});
  spawn_failed(2, t0 + 1s);  // gen 2 could not even fork: the second failure in a row
  EXPECT_EQ(spawns(tick(t0 + 2s)), kNoSpawn);  // backed off to 2 s after the last spawn
  EXPECT_EQ(spawns(tick(t0 + 3s)), Spawns{3});
  spawned(3, kPid3, t0 + 3s);
  EXPECT_EQ(statuses(tick(t0 + 4s)), Statuses{live({{3, kPid3}})});
  EXPECT_EQ(spawns(hup(t0 + 5s)), Spawns{4});
}

// --- back-off ---------------------------------------------------------------------------------

TEST_F(SupervisorStarting, FailedStartsInARowBackOffExponentiallyUpToTheCap) {
  settings.backoff_max = 4s;
  start(t0);
  TimePoint at = t0;
  unsigned long gen = 1;
  // Pause after each failed start: 1 s, 2 s, 4 s, then capped at 4 s.
  for (Millis pause : {1000ms, 2000ms, 4000ms, 4000ms}) {
    pid_t pid = static_cast<pid_t>(500 + gen);
    spawned(gen, pid, at);
    exited(pid, kExit1, at + 10ms);
    EXPECT_EQ(deadline(), at + pause);
    EXPECT_EQ(spawns(tick(at + pause - 1ms)), kNoSpawn);
    EXPECT_EQ(spawns(tick(at + pause)), Spawns{++gen});
    at += pause;
  }
}

TEST_F(SupervisorStarting, BackOffIsVisibleInTheStatusFileAndLineAndLogged) {
  start(t0);
  spawned(1, kPid1, t0);
  exited(kPid1, kExit1, t0 + 10ms);
  tick(t0 + 1s);
  spawned(2, kPid2, t0 + 1s);
  Actions a = exited(kPid2, kExit1, t0 + 1s + 10ms);
  EXPECT_TRUE(logged(a, "2 failed starts in a row, next attempt in 2s"));
  ASSERT_EQ(statuses(a).size(), 1u);
  EXPECT_EQ(statuses(a)[0].notes, std::vector<std::string>{"backoff:2 failed starts in a row"});
  EXPECT_NE(sup().status_line().find("2 failed starts in a row"), std::string::npos);
}

TEST_F(SupervisorStarting, AGenerationThatComesUpResetsTheBackOff) {
  start(t0);
  spawned(1, kPid1, t0);
  exited(kPid1, kExit1, t0 + 10ms);
  tick(t0 + 1s);
  spawned(2, kPid2, t0 + 1s);
  tick(t0 + 2s);  // gen 2 is up
  EXPECT_EQ(phase(), Phase::kServing);
  Actions a = exited(kPid2, kExit1, t0 + 10s);  // crashes long after: replaced at once
  EXPECT_EQ(spawns(a), Spawns{3});
}

// === helpers of the module ===================================================================

TEST(SupervisorSettings, ConfigCarriesThem) {
  // Config holds the supervisor's settings themselves (no copy to keep in step); the spacing
  // of automatic respawns is not an option.
  Config config;
  config.supervisor.interval = 3s;
  SupervisorSettings s = config.supervisor;
  EXPECT_EQ(s.interval, 3s);
  EXPECT_EQ(s.min_respawn_spacing, 1s);
}

TEST(DescribeWaitStatus, Exited) {
  EXPECT_EQ(describe_wait_status(kExit0), "exited with status 0");
  EXPECT_EQ(describe_wait_status(kExit1), "exited with status 1");
  EXPECT_EQ(describe_wait_status(kExit255), "exited with status 255");
}

TEST(DescribeWaitStatus, KilledAsDocumented) {
  EXPECT_EQ(describe_wait_status(SIGKILL), "killed by signal KILL");
}

}  // namespace
}  // namespace starter
