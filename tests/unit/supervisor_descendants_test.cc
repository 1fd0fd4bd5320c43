// Processes a worker left behind: start_server is their subreaper, so they are adopted into
// their generation, signalled with it and awaited.

#include "supervisor_test.h"

namespace starter {
namespace {

using namespace supervisor_testing;
using namespace std::chrono_literals;

// --- processes a worker left behind (start_server is their subreaper) ---------------------------

class SupervisorDescendants : public SupervisorTest {};

constexpr pid_t kDaemon = 201, kHelper = 202;

TEST_F(SupervisorDescendants, AWorkerThatDaemonizedGoesOnAsItsChild) {
  start(t0);
  spawned(1, kPid1, t0);
  adopted(kDaemon, 1, t0 + 100ms);
  Actions a = exited(kPid1, kExit0, t0 + 100ms);
  EXPECT_TRUE(logged(a, "daemonized"));
  EXPECT_EQ(spawns(a), kNoSpawn);
  a = tick(t0 + 1s);
  EXPECT_EQ(statuses(a), Statuses{live({{1, kDaemon}})});
  EXPECT_EQ(phase(), Phase::kServing);
  a = shutdown(SIGTERM, t0 + 2s);
  EXPECT_EQ(signals(a), (Signals{{kDaemon, SIGUSR2}}));
  EXPECT_TRUE(exits(a).empty());
  EXPECT_EQ(exits(exited(kDaemon, kExit0, t0 + 3s)), std::vector<int>{0});
}

TEST_F(SupervisorDescendants, WhatACrashedWorkerLeftIsSignalledAndAwaited) {
  serve();
  adopted(kHelper, 1, t0 + 5s);
  Actions a = exited(kPid1, kExit1, t0 + 5s);
  EXPECT_EQ(signals(a), (Signals{{kHelper, SIGTERM}}));
  EXPECT_TRUE(logged(a, "left processes 202 behind"));
  EXPECT_EQ(spawns(a), Spawns{2});  // the generation is replaced all the same
  spawned(2, kPid2, t0 + 5s);
  a = shutdown(SIGTERM, t0 + 6s);
  EXPECT_EQ(signals(a), (Signals{{kHelper, SIGUSR2}, {kPid2, SIGUSR2}}));
  exited(kPid2, kExit0, t0 + 6500ms);
  EXPECT_EQ(phase(), Phase::kStopping);  // still waiting for the process left behind
  EXPECT_EQ(exits(exited(kHelper, kExit0, t0 + 7s)), std::vector<int>{0});
}

TEST_F(SupervisorDescendants, WhatAWorkerLeftIsNeverCalledAFailedGeneration) {
  serve();
  adopted(kHelper, 1, t0 + 5s);
  exited(kPid1, kExit1, t0 + 5s);
  Actions a = exited(kHelper, kExit0, t0 + 5500ms);
  EXPECT_TRUE(logged(a, "process 202 left behind by generation 1 exited"));
  EXPECT_FALSE(logged(a, "failed generation"));
}

TEST_F(SupervisorDescendants, SignalsReachEveryProcessOfTheGeneration) {
  TimePoint tH = serve() + 10s;
  adopted(kHelper, 1, tH - 1s);  // e.g. a child of a master that is still alive
  reload(tH);
  Actions a = tick(tH + 1s);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}, {kHelper, SIGUSR1}}));
  a = exited(kHelper, kExit0, tH + 2s);
  EXPECT_TRUE(a.empty() || signals(a).empty());
}

}  // namespace
}  // namespace starter
