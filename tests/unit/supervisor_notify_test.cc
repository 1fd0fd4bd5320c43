// Readiness (--ready=notify): a generation is up when it sends READY=1, not when it survived
// --interval; and notifications read late are judged before the deadlines.

#include "supervisor_test.h"

namespace starter {
namespace {

using namespace supervisor_testing;
using namespace std::chrono_literals;

class SupervisorNotify : public SupervisorTest {
 protected:
  SupervisorNotify() {
    settings.ready_notify = true;
    settings.ready_timeout = 10s;
  }
  /// Generation 1 up (READY=1 at t0 + 200 ms).
  TimePoint serve() {
    start(t0);
    spawned(1, kPid1, t0);
    ready(1, t0 + 200ms);
    return t0 + 200ms;
  }
  Actions ready(unsigned long gen, TimePoint at) { return feed(event::Ready{gen}, at); }
};

TEST_F(SupervisorNotify, SurvivingTheIntervalIsNotEnough) {
  start(t0);
  spawned(1, kPid1, t0);
  EXPECT_EQ(deadline(), t0 + 10s);  // the ready timeout, not --interval
  Actions a = tick(t0 + 5s);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
}

TEST_F(SupervisorNotify, ReadyMakesTheFirstGenerationUp) {
  start(t0);
  spawned(1, kPid1, t0);
  Actions a = ready(1, t0 + 200ms);
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  ASSERT_EQ(statuses(a).size(), 1u);
  EXPECT_EQ(statuses(a)[0].live, (std::vector<GenerationPid>{{1, kPid1}}));
  EXPECT_EQ(statuses(a)[0].notes,
            std::vector<std::string>{
                "limits:ready=notify ready-timeout=10s drain-timeout=0s backoff-max=60s"});
  EXPECT_EQ(phase(), Phase::kServing);
}

TEST_F(SupervisorNotify, OldGenerationIsSignalledOnlyWhenTheNewOneIsReady) {
  serve();
  hup(t0 + 1s);
  spawned(2, kPid2, t0 + 1s);
  EXPECT_EQ(signals(tick(t0 + 4s)), kNoSignal);  // late: gen 1 keeps serving meanwhile
  Actions a = ready(2, t0 + 5s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(notifies(a), Notifies{"READY"});
}

TEST_F(SupervisorNotify, ReadyAfterShutdownNeitherServesAgainNorRespawns) {
  TimePoint up = serve();
  hup(up + 1s);
  spawned(2, kPid2, up + 1s);
  shutdown(SIGTERM, up + 2s);
  Actions a = ready(2, up + 3s);  // sent before it saw its SIGTERM
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(phase(), Phase::kStopping);
  EXPECT_TRUE(spawns(exited(kPid2, kExit0, up + 4s)).empty());
  EXPECT_EQ(exits(exited(kPid1, kExit0, up + 5s)), std::vector<int>{0});
}

TEST_F(SupervisorNotify, ReadyOfAnotherGenerationChangesNothing) {
  serve();
  hup(t0 + 1s);
  spawned(2, kPid2, t0 + 1s);
  Actions a = ready(1, t0 + 2s);  // the serving one says READY again
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(phase(), Phase::kReloading);
}

TEST_F(SupervisorNotify, NotReadyInTimeIsKilledAndTheReloadFails) {
  serve();
  hup(t0 + 1s);
  spawned(2, kPid2, t0 + 1s);
  Actions a = tick(t0 + 11s);
  EXPECT_EQ(signals(a), (Signals{{kPid2, SIGKILL}}));
  EXPECT_EQ(notifies(a), Notifies{"READY"});
  ASSERT_EQ(statuses(a).size(), 1u);
  EXPECT_EQ(statuses(a)[0].failed_generation, 2u);
  EXPECT_EQ(statuses(a)[0].failure, "generation 2 was not ready within 10s");
  EXPECT_EQ(phase(), Phase::kServing);
  // Its exit later changes nothing; generation 1 was never signalled.
  Actions gone = exited(kPid2, SIGKILL, t0 + 11s + 5ms);
  EXPECT_EQ(signals(gone), kNoSignal);
  EXPECT_EQ(spawns(gone), kNoSpawn);
  for (const auto& s : signals(history)) EXPECT_NE(s.first, kPid1);
}

TEST_F(SupervisorNotify, WorkerStatusIsFoldedIntoTheStatusLine) {
  serve();
  feed(event::WorkerStatus{1, "accepting connections"}, t0 + 1s);
  EXPECT_EQ(sup().status_line(), "generation 1 (pid 101) serving (worker: accepting connections)");
}

TEST_F(SupervisorTest, ReadyIsIgnoredInIntervalMode) {
  start(t0);
  spawned(1, kPid1, t0);
  Actions a = feed(event::Ready{1}, t0 + 10ms);
  EXPECT_EQ(notifies(a), kNoNotify);
  EXPECT_EQ(phase(), Phase::kStarting);
}

// --- events read late: handled before the deadlines ---------------------------------------------

class SupervisorReadyNotify : public SupervisorTest {
 protected:
  SupervisorReadyNotify() {
    settings.ready_notify = true;
    settings.ready_timeout = 5s;
  }
};

// sd_notify("READY=1\nSTATUS=...") sent in time, read after the ready timeout because we were
// not scheduled: the datagram's STATUS and READY come in one batch, before the deadline.
TEST_F(SupervisorReadyNotify, ReadyReceivedInTimeButReadLateCounts) {
  start(t0);
  spawned(1, kPid1, t0);
  batch({event::Ready{1}}, t0 + 1s);
  TimePoint tH = t0 + 10s;
  reload(tH);
  Actions a = batch({event::WorkerStatus{2, "listening"}, event::Ready{2}, event::Tick{}}, tH + 7s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));  // gen 2 up, gen 1 retired; no SIGKILL
  EXPECT_EQ(statuses(a).back().live, (std::vector<GenerationPid>{{1, kPid1}, {2, kPid2}}));
  EXPECT_EQ(phase(), Phase::kServing);
}

TEST_F(SupervisorReadyNotify, TimeoutWithNothingReceivedStillKills) {
  start(t0);
  spawned(1, kPid1, t0);
  batch({event::Ready{1}}, t0 + 1s);
  TimePoint tH = t0 + 10s;
  reload(tH);
  Actions a = batch({event::WorkerStatus{2, "warming up"}, event::Tick{}}, tH + 7s);
  EXPECT_EQ(signals(a), (Signals{{kPid2, SIGKILL}}));
}

}  // namespace
}  // namespace starter
