// The supervisor's cells for releases (which release a Spawn runs) and for what it reports to
// `--status` (Supervisor::describe): deploys resolve afresh, respawns after a crash of the
// serving generation run its release, and the last reload is recorded with its outcome.
// Same method as the supervisor_*_test.cc files: a fake clock, one event at a time, every
// action checked.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "supervisor.h"

namespace starter {
namespace {

using namespace std::chrono_literals;
using Actions = std::vector<Action>;
using Phase = Supervisor::Phase;

const TimePoint t0 = TimePoint{} + 1000s;
constexpr pid_t kPid1 = 101, kPid2 = 102, kPid3 = 103;
constexpr int kExit1 = 1 << 8;

const Release kA{"/srv/app/releases/A/app", "", "/srv/app/releases/A/app"};
const Release kB{"/srv/app/releases/B/app", "", "/srv/app/releases/B/app"};

std::vector<action::Spawn> spawn_actions(const Actions& actions) {
  std::vector<action::Spawn> out;
  for (const auto& a : actions)
    if (const auto* s = std::get_if<action::Spawn>(&a)) out.push_back(*s);
  return out;
}

bool logged(const Actions& actions, const std::string& fragment) {
  for (const auto& a : actions)
    if (const auto* l = std::get_if<action::Log>(&a);
        l && l->text.find(fragment) != std::string::npos)
      return true;
  return false;
}

long long ms(TimePoint t) {
  return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
}

class SupervisorRelease : public testing::Test {
 protected:
  // A failed reload is final here, so that a crash afterwards is the only spawn.
  SupervisorRelease() { settings.reload_retry = false; }
  Supervisor& sup() {
    if (!sup_) sup_.emplace(settings);
    return *sup_;
  }
  Actions feed(const Event& e, TimePoint at) { return sup().handle(e, at); }
  Actions spawned(unsigned long gen, pid_t pid, TimePoint at, const Release& release) {
    return feed(event::Spawned{gen, pid, {}, release}, at);
  }
  StatusDetail describe() {
    StatusDetail d;
    sup().describe(d);
    return d;
  }
  /// Generation 1 (release A) serving from t0 + 1s.
  TimePoint serve_a() {
    EXPECT_EQ(spawn_actions(feed(event::Start{}, t0)).at(0).release, std::nullopt);  // a deploy
    spawned(1, kPid1, t0, kA);
    feed(event::Tick{}, t0 + 1s);
    EXPECT_EQ(sup().phase(), Phase::kServing);
    return t0 + 1s;
  }
  /// SIGHUP at `at`: generation 2 runs release B and fails at once; A keeps serving.
  TimePoint fail_reload_to_b(TimePoint at) {
    auto s = spawn_actions(feed(event::Reload{}, at));
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(s.at(0).release, std::nullopt);  // a deploy resolves afresh
    spawned(2, kPid2, at, kB);
    feed(event::ChildExited{kPid2, kExit1}, at + 100ms);
    EXPECT_EQ(sup().phase(), Phase::kServing);
    return at + 100ms;
  }

  SupervisorSettings settings;

 private:
  std::optional<Supervisor> sup_;
};

TEST_F(SupervisorRelease, RespawnAfterTheServingGenerationDiedRunsItsRelease) {
  TimePoint t = fail_reload_to_b(serve_a() + 10s);
  Actions a = feed(event::ChildExited{kPid1, kExit1}, t + 10s);
  auto s = spawn_actions(a);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].generation, 3u);
  EXPECT_EQ(s[0].release, kA);
  EXPECT_EQ(s[0].release_of, 1u);
  a = spawned(3, kPid3, t + 10s, kA);
  EXPECT_TRUE(logged(a,
                     "generation 3 respawns the release of generation 1, the last one serving: "
                     "'/srv/app/releases/A/app'"));
}

TEST_F(SupervisorRelease, RespawnWithLatestResolvesAfreshAndSaysSo) {
  settings.respawn_serving_release = false;
  TimePoint t = fail_reload_to_b(serve_a() + 10s);
  auto s = spawn_actions(feed(event::ChildExited{kPid1, kExit1}, t + 10s));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].release, std::nullopt);
  Actions a = spawned(3, kPid3, t + 10s, kB);
  EXPECT_TRUE(logged(a,
                     "generation 3 respawns the latest release (--respawn-release=latest): "
                     "'/srv/app/releases/B/app'"));
}

TEST_F(SupervisorRelease, FailedRespawnsKeepRunningTheServingRelease) {
  TimePoint t = serve_a() + 10s;
  spawn_actions(feed(event::ChildExited{kPid1, kExit1}, t));
  spawned(2, kPid2, t, kA);
  feed(event::ChildExited{kPid2, kExit1}, t + 100ms);  // the respawn failed too
  auto s = spawn_actions(feed(event::Tick{}, t + 1h));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].generation, 3u);
  EXPECT_EQ(s[0].release, kA);
}

TEST_F(SupervisorRelease, HupWhileARespawnIsScheduledIsADeploy) {
  settings.interval = 0s;  // the respawn waits for the minimum spacing: a HUP can come first
  feed(event::Start{}, t0);
  spawned(1, kPid1, t0, kA);
  ASSERT_EQ(sup().phase(), Phase::kServing);
  EXPECT_TRUE(spawn_actions(feed(event::ChildExited{kPid1, kExit1}, t0 + 100ms)).empty());
  auto s = spawn_actions(feed(event::Reload{}, t0 + 200ms));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].release, std::nullopt);
}

TEST_F(SupervisorRelease, RetriesOfAFirstStartThatNeverCameUpAreDeploys) {
  feed(event::Start{}, t0);
  spawned(1, kPid1, t0, kB);
  feed(event::ChildExited{kPid1, kExit1}, t0 + 100ms);
  auto s = spawn_actions(feed(event::Tick{}, t0 + 1h));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].release, std::nullopt);
}

TEST_F(SupervisorRelease, AfterARespawnCameUpTheNextCrashRespawnsItsRelease) {
  TimePoint t = serve_a() + 10s;
  feed(event::ChildExited{kPid1, kExit1}, t);
  spawned(2, kPid2, t, kA);
  feed(event::Tick{}, t + 1s);
  ASSERT_EQ(sup().phase(), Phase::kServing);
  auto s = spawn_actions(feed(event::ChildExited{kPid2, kExit1}, t + 1h));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].release, kA);
  EXPECT_EQ(s[0].release_of, 2u);
}

TEST_F(SupervisorRelease, ASuccessfulReloadMakesItsReleaseTheOneRespawned) {
  TimePoint t = serve_a() + 10s;
  feed(event::Reload{}, t);
  spawned(2, kPid2, t, kB);
  feed(event::Tick{}, t + 1s);
  feed(event::ChildExited{kPid1, 15}, t + 1s + 10ms);  // the old one went on its TERM
  auto s = spawn_actions(feed(event::ChildExited{kPid2, kExit1}, t + 1h));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].release, kB);
}

TEST_F(SupervisorRelease, ServingDiedDuringAReloadThatFailsRespawnsTheServingRelease) {
  TimePoint t = serve_a() + 10s;
  feed(event::Reload{}, t);
  spawned(2, kPid2, t, kB);
  feed(event::ChildExited{kPid1, kExit1}, t + 100ms);  // the serving one crashes meanwhile
  feed(event::ChildExited{kPid2, kExit1}, t + 200ms);  // and B fails
  auto s = spawn_actions(feed(event::Tick{}, t + 1h));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].release, kA);
}

TEST_F(SupervisorRelease, AutoRestartIsADeploy) {
  settings.auto_restart = true;
  settings.auto_restart_interval = 60s;
  TimePoint up = serve_a();
  auto s = spawn_actions(feed(event::Tick{}, up + 60s));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].release, std::nullopt);
}

// --- describe(): what --status shows ---------------------------------------------------------

TEST_F(SupervisorRelease, DescribeListsGenerationsWithStateAgeAndRelease) {
  TimePoint t = serve_a() + 10s;
  feed(event::Reload{}, t);
  spawned(2, kPid2, t, kB);
  StatusDetail d = describe();
  EXPECT_EQ(d.phase, "reloading");
  ASSERT_EQ(d.generations.size(), 2u);
  EXPECT_EQ(d.generations[0], (StatusDetail::Generation{1, kPid1, "serving", ms(t0), kA.name}));
  EXPECT_EQ(d.generations[1], (StatusDetail::Generation{2, kPid2, "starting", ms(t), kB.name}));
  ASSERT_TRUE(d.last_reload);
  EXPECT_EQ(*d.last_reload, (StatusDetail::Reload{2, ReloadOutcome::kInProgress, ms(t), ""}));

  feed(event::Tick{}, t + 1s);  // 2 is up, 1 is signalled
  d = describe();
  EXPECT_EQ(d.phase, "serving");
  EXPECT_EQ(d.generations[0].state, "retiring");
  EXPECT_EQ(d.generations[1].state, "serving");
  EXPECT_EQ(*d.last_reload, (StatusDetail::Reload{2, ReloadOutcome::kOk, ms(t + 1s), ""}));
  EXPECT_EQ(d.backoff, std::nullopt);
}

TEST_F(SupervisorRelease, DescribeRecordsAFailedReloadAndWhy) {
  TimePoint t = fail_reload_to_b(serve_a() + 10s);
  StatusDetail d = describe();
  ASSERT_TRUE(d.last_reload);
  EXPECT_EQ(d.last_reload->generation, 2u);
  EXPECT_EQ(d.last_reload->outcome, ReloadOutcome::kFailed);
  EXPECT_EQ(d.last_reload->at_ms, ms(t));
  EXPECT_EQ(d.last_reload->reason, "generation 2 exited with status 1 before it was up");
  ASSERT_EQ(d.generations.size(), 1u);
  EXPECT_EQ(d.generations[0].generation, 1u);
}

TEST_F(SupervisorRelease, DescribeHasNoReloadBeforeTheFirstAndShowsTheBackOff) {
  feed(event::Start{}, t0);
  spawned(1, kPid1, t0, kB);
  feed(event::ChildExited{kPid1, kExit1}, t0 + 100ms);
  StatusDetail d = describe();
  EXPECT_EQ(d.last_reload, std::nullopt);
  EXPECT_EQ(d.phase, "starting");
  EXPECT_TRUE(d.generations.empty());
  ASSERT_TRUE(d.backoff);
  EXPECT_EQ(d.backoff->failures, 1u);
  EXPECT_EQ(d.backoff->next_attempt_ms, ms(t0 + 1s));
}

TEST_F(SupervisorRelease, DescribeCountsAHupWhileARespawnIsScheduledAsAReload) {
  settings.interval = 0s;
  feed(event::Start{}, t0);
  spawned(1, kPid1, t0, kA);
  feed(event::ChildExited{kPid1, kExit1}, t0 + 100ms);
  feed(event::Reload{}, t0 + 200ms);
  spawned(2, kPid2, t0 + 200ms, kB);
  StatusDetail d = describe();
  ASSERT_TRUE(d.last_reload);
  EXPECT_EQ(d.last_reload->generation, 2u);
  EXPECT_EQ(d.last_reload->outcome, ReloadOutcome::kOk);  // --interval=0: up at once
}

}  // namespace
}  // namespace starter
