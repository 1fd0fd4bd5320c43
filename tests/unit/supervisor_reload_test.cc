// The supervisor during a reload (kReloading): the new generation on probation beside the
// serving one, failed reloads, queued reloads; and a failed reload retried (--reload-retry).

#include "supervisor_test.h"

namespace starter {
namespace {

using namespace supervisor_testing;
using namespace std::chrono_literals;

// === kReloading ===============================================================================

TEST_F(SupervisorReloading, TickBeforeProbationEndDoesNothing) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  EXPECT_EQ(deadline(), tH + 1s);
  Actions a = tick(tH + 999ms);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kReloading);
}

TEST_F(SupervisorReloading, NewGenerationUpThenOldSignalledWithSignalOnHup) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  Actions a = tick(tH + 1s);
  EXPECT_EQ(statuses(a), Statuses{live({{1, kPid1}, {2, kPid2}})});
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_LT(index_of_first<action::WriteStatus>(a), index_of_first<action::Signal>(a));
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(deadline(), std::nullopt);

  a = exited(kPid1, SIGUSR1, tH + 2s);  // the old one leaves
  EXPECT_EQ(statuses(a), Statuses{live({{2, kPid2}})});
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(phase(), Phase::kServing);
}

TEST_F(SupervisorReloading, NotifiesReloadingThenReady) {
  TimePoint tH = serve() + 10s;
  hup(tH);
  spawned(2, kPid2, tH);
  tick(tH + 1s);
  EXPECT_EQ(notifies(history), (Notifies{"RELOADING", "READY"}));
}

TEST_F(SupervisorReloading, FailedReloadKeepsCurrentServingAndReportsIt) {
  TimePoint tH = serve() + 10s;
  hup(tH);
  spawned(2, kPid2, tH);
  Actions a = exited(kPid2, kExit1, tH + 300ms);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(spawns(a), kNoSpawn);
  ASSERT_EQ(statuses(a).size(), 1u);
  StatusSnapshot s = statuses(a)[0];
  EXPECT_EQ(s.live, (std::vector<GenerationPid>{{1, kPid1}}));
  EXPECT_EQ(s.failed_generation, 2u);
  EXPECT_NE(s.failure, "");
  EXPECT_EQ(s.failure.find('\n'), std::string::npos);
  EXPECT_NE(format_status(s).find("reload-failed:generation 2 "), std::string::npos);
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(deadline(), std::nullopt);

  EXPECT_TRUE(tick(tH + 1h).empty());
  EXPECT_EQ(signals(history), kNoSignal);  // the serving generation was never touched
  EXPECT_EQ(notifies(history), (Notifies{"RELOADING", "READY"}));
}

TEST_F(SupervisorReloading, FailedReloadIsClearedByTheNextSuccessfulOne) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  exited(kPid2, kExit1, tH + 300ms);
  reload(tH + 10s, 3, kPid3);
  Actions a = tick(tH + 11s);
  EXPECT_EQ(statuses(a), Statuses{live({{1, kPid1}, {3, kPid3}})});
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
}

TEST_F(SupervisorReloading, FailedReloadByExecErrorNamesTheError) {
  TimePoint tH = serve() + 10s;
  hup(tH);
  spawned(2, kPid2, tH, "execve(/srv/app): Permission denied");
  Actions a = exited(kPid2, kExit255, tH + 1ms);
  EXPECT_EQ(signals(a), kNoSignal);
  ASSERT_EQ(statuses(a).size(), 1u);
  EXPECT_EQ(statuses(a)[0].failed_generation, 2u);
  EXPECT_NE(statuses(a)[0].failure.find("execve(/srv/app): Permission denied"), std::string::npos)
      << statuses(a)[0].failure;
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(phase(), Phase::kServing);
}

// With --interval=0 a new generation whose exec failed (Spawned.exec_error) must not be
// promoted: the serving generation would be sent --signal-on-hup and nothing would be left to
// serve when the failed child exits. A failed reload leaves the current one untouched.
TEST_F(SupervisorReloading, ExecErrorWithIntervalZeroNeverReplacesCurrent) {
  settings.interval = 0s;
  TimePoint tH = serve() + 10s;
  hup(tH);
  Actions a = spawned(2, kPid2, tH, "execve(/srv/app): No such file or directory");
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(statuses(a), Statuses{with_starting({{1, kPid1}}, {2, kPid2})});
  a = exited(kPid2, kExit255, tH + 1ms);
  EXPECT_EQ(signals(history), kNoSignal);
  ASSERT_EQ(statuses(a).size(), 1u);
  EXPECT_EQ(statuses(a)[0].live, (std::vector<GenerationPid>{{1, kPid1}}));
  EXPECT_EQ(statuses(a)[0].failed_generation, 2u);
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(notifies(history), (Notifies{"RELOADING", "READY"}));
}

TEST_F(SupervisorReloading, SpawnFailedIsAFailedReload) {
  TimePoint tH = serve() + 10s;
  hup(tH);
  Actions a = spawn_failed(2, tH);
  EXPECT_EQ(signals(a), kNoSignal);
  ASSERT_EQ(statuses(a).size(), 1u);
  EXPECT_EQ(statuses(a)[0].live, (std::vector<GenerationPid>{{1, kPid1}}));
  EXPECT_EQ(statuses(a)[0].failed_generation, 2u);
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(spawns(hup(tH + 10s)), Spawns{3});  // generation numbers keep counting
}

TEST_F(SupervisorReloading, SeveralReloadsDuringAReloadQueueExactlyOne) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  for (auto d : {100ms, 200ms, 300ms}) {
    Actions a = hup(tH + d);
    EXPECT_EQ(spawns(a), kNoSpawn);
    EXPECT_EQ(notifies(a), kNoNotify);
  }
  Actions a = tick(tH + 1s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(notifies(a), (Notifies{"READY", "RELOADING"}));
  EXPECT_EQ(spawns(a), Spawns{3});
  EXPECT_EQ(phase(), Phase::kReloading);
  spawned(3, kPid3, tH + 1s);
  a = tick(tH + 2s);
  EXPECT_EQ(signals(a), (Signals{{kPid2, SIGUSR1}}));  // 101 was signalled already
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(spawns(tick(tH + 1h)), kNoSpawn);
}

TEST_F(SupervisorReloading, QueuedReloadFollowsAFailedReload) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  hup(tH + 100ms);
  Actions a = exited(kPid2, kExit1, tH + 200ms);
  EXPECT_EQ(notifies(a), (Notifies{"READY", "RELOADING"}));
  EXPECT_EQ(spawns(a), Spawns{3});
  EXPECT_EQ(signals(a), kNoSignal);
}

TEST_F(SupervisorReloading, CurrentDiedLetsTheNewGenerationTakeOver) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  Actions a = exited(kPid1, kExit1, tH + 500ms);
  EXPECT_EQ(statuses(a), Statuses{with_starting({}, {2, kPid2})});  // 102 is still on probation
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(phase(), Phase::kReloading);
  EXPECT_EQ(deadline(), tH + 1s);
  a = tick(tH + 1s);
  EXPECT_EQ(statuses(a), Statuses{live({{2, kPid2}})});
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  EXPECT_EQ(phase(), Phase::kServing);
}

TEST_F(SupervisorReloading, OldWorkerExitedIsDroppedFromStatus) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  tick(tH + 1s);               // 101 old (signalled, still draining), 102 current
  reload(tH + 10s, 3, kPid3);  // 103 on probation
  Actions a = exited(kPid1, SIGUSR1, tH + 10500ms);
  EXPECT_EQ(statuses(a), Statuses{with_starting({{2, kPid2}}, {3, kPid3})});  // 103: on probation
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(phase(), Phase::kReloading);
  EXPECT_EQ(deadline(), tH + 11s);
}

TEST_F(SupervisorReloading, StatusListsCurrentAndOldByGeneration) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  tick(tH + 1s);
  reload(tH + 10s, 3, kPid3);
  Actions a = tick(tH + 11s);  // 101 and 102 draining, 103 current
  EXPECT_EQ(statuses(a), Statuses{live({{1, kPid1}, {2, kPid2}, {3, kPid3}})});
  EXPECT_EQ(signals(a), (Signals{{kPid2, SIGUSR1}}));  // each old worker is signalled once
}

TEST_F(SupervisorReloading, ShutdownSignalsCurrentAndNewAndWaitsForBoth) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  Actions a = shutdown(SIGTERM, tH + 500ms);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR2}, {kPid2, SIGUSR2}}));
  EXPECT_EQ(notifies(a), Notifies{"STOPPING"});
  EXPECT_EQ(exits(a), std::vector<int>{});
  EXPECT_EQ(deadline(), std::nullopt);
  a = tick(tH + 1s);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(exits(exited(kPid2, SIGUSR2, tH + 1100ms)), std::vector<int>{});
  EXPECT_EQ(exits(exited(kPid1, SIGUSR2, tH + 1200ms)), std::vector<int>{0});
}

TEST_F(SupervisorReloading, ChildExitedOfUnknownPidIsIgnored) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  Actions a = exited(kStranger, kExit0, tH + 100ms);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kReloading);
  EXPECT_EQ(deadline(), tH + 1s);
}

// --- a failed reload is retried (--reload-retry=on, the default: Perl's t/02-startfail.t) --------

class SupervisorReloadRetry : public SupervisorTest {
 protected:
  SupervisorReloadRetry() { settings.reload_retry = true; }
};

TEST_F(SupervisorReloadRetry, IsTheDefault) { EXPECT_TRUE(SupervisorSettings{}.reload_retry); }

TEST_F(SupervisorReloadRetry, FailedReloadIsRetriedUntilAGenerationIsUp) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  Actions a = exited(kPid2, kExit1, tH + 300ms);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(notifies(a), Notifies{"READY"});  // for systemd, the reload is over: gen 1 serves
  ASSERT_FALSE(statuses(a).empty());
  EXPECT_EQ(statuses(a).back().failed_generation, 2u);
  EXPECT_TRUE(statuses(a).back().retrying);
  EXPECT_NE(format_status(statuses(a).back()).find("reload-retrying:yes\n"), std::string::npos);
  EXPECT_EQ(phase(), Phase::kReloading);
  EXPECT_EQ(deadline(), tH + 1s);  // one --interval after the last attempt started

  a = tick(tH + 1s);
  EXPECT_EQ(spawns(a), Spawns{3});  // every attempt is a generation
  spawned(3, kPid3, tH + 1s);
  a = exited(kPid3, kExit1, tH + 1100ms);  // the second failure in a row: the pause doubles
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(deadline(), tH + 3s);
  a = tick(tH + 3s);
  EXPECT_EQ(spawns(a), Spawns{4});
  spawned(4, 104, tH + 3s);
  a = tick(tH + 4s);  // up at last: gen 1 retires and the failure is gone
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(statuses(a).back(), live({{1, kPid1}, {4, 104}}));
  EXPECT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(signals(history), (Signals{{kPid1, SIGUSR1}}));  // nothing else was ever signalled
}

TEST_F(SupervisorReloadRetry, HupWhileWaitingForTheNextAttemptTriesAtOnce) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  exited(kPid2, kExit1, tH + 300ms);
  Actions a = hup(tH + 500ms);
  EXPECT_EQ(spawns(a), Spawns{3});
}

TEST_F(SupervisorReloadRetry, CurrentDyingWhileWaitingIsReplacedFirstThenTheReloadGoesOn) {
  TimePoint tH = serve() + 10s;
  reload(tH);
  exited(kPid2, kExit1, tH + 300ms);
  Actions a = exited(kPid1, kExit1, tH + 500ms);
  EXPECT_EQ(phase(), Phase::kStarting);
  a = tick(tH + 2s);
  ASSERT_EQ(spawns(a), Spawns{3});
  spawned(3, kPid3, tH + 2s);
  a = tick(tH + 3s);  // serving again, and the deploy is attempted once more
  EXPECT_EQ(spawns(a), Spawns{4});
  EXPECT_EQ(phase(), Phase::kReloading);
}

}  // namespace
}  // namespace starter
