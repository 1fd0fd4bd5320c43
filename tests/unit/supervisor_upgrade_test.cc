// The supervisor's part of an upgrade in place (SIGUSR2), cell by cell: UpgradeRequested in
// every phase, PreflightDone and UpgradeEnded, one upgrade at a time, and the state that goes
// across (snapshot/restore) giving back the same supervisor.

#include <fstream>
#include <sstream>

#include "supervisor_test.h"

namespace starter {
namespace {

using namespace supervisor_testing;
using namespace std::chrono_literals;

class SupervisorUpgrade : public SupervisorRetiring {
 protected:
  Actions usr2(TimePoint at) { return feed(event::UpgradeRequested{}, at); }
  Actions preflight_done(TimePoint at, std::string refusal = {}) {
    return feed(event::PreflightDone{std::move(refusal)}, at);
  }
  Actions ended(TimePoint at, bool ok, std::string reason = {}) {
    return feed(event::UpgradeEnded{ok, std::move(reason)}, at);
  }
  std::optional<StatusDetail::Upgrade> record() {
    StatusDetail d;
    sup().describe(d);
    return d.last_upgrade;
  }
};

std::size_t preflights(const Actions& a) { return actions_of<action::Preflight>(a).size(); }
std::size_t execs(const Actions& a) { return actions_of<action::ExecUpgrade>(a).size(); }

TEST_F(SupervisorUpgrade, IdleIgnoresIt) {
  Actions a = usr2(t0);
  EXPECT_EQ(preflights(a), 0u);
  EXPECT_TRUE(logged(a, "received USR2 while stopping, ignored"));
  EXPECT_EQ(record(), std::nullopt);
}

TEST_F(SupervisorUpgrade, StartingServingReloadingAndRetiringRunThePreflight) {
  start(t0);
  EXPECT_EQ(preflights(usr2(t0 + 1ms)), 1u) << "starting";
  ended(t0 + 2ms, false, "x");
  spawned(1, kPid1, t0);
  tick(t0 + settings.interval);
  ASSERT_EQ(phase(), Phase::kServing);
  EXPECT_EQ(preflights(usr2(t0 + 2s)), 1u) << "serving";
  ended(t0 + 2s, false, "x");
  reload(t0 + 3s);
  EXPECT_EQ(preflights(usr2(t0 + 3s)), 1u) << "reloading";
  ended(t0 + 3s, false, "x");
  tick(t0 + 4s);
  ASSERT_EQ(phase(), Phase::kRetiring);
  EXPECT_EQ(preflights(usr2(t0 + 4s)), 1u) << "retiring";
}

TEST_F(SupervisorUpgrade, ServingRequestSignalsNoWorkerAndRecordsInProgress) {
  TimePoint up = serve();
  Actions a = usr2(up + 1s);
  EXPECT_EQ(preflights(a), 1u);
  EXPECT_EQ(execs(a), 0u);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(spawns(a), kNoSpawn);
  EXPECT_EQ(statuses(a), kNoStatus);
  EXPECT_TRUE(logged(a, "received USR2, checking the new binary"));
  auto r = record();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->number, 1u);
  EXPECT_EQ(r->outcome, ReloadOutcome::kInProgress);
  EXPECT_EQ(phase(), Phase::kServing);
}

TEST_F(SupervisorUpgrade, StoppingIgnoresIt) {
  TimePoint up = serve();
  shutdown(SIGTERM, up + 1s);
  Actions a = usr2(up + 2s);
  EXPECT_EQ(preflights(a), 0u);
  EXPECT_TRUE(logged(a, "received USR2 while stopping, ignored"));
  EXPECT_EQ(record(), std::nullopt);
}

TEST_F(SupervisorUpgrade, OneAtATime) {
  TimePoint up = serve();
  usr2(up + 1s);
  Actions a = usr2(up + 2s);
  EXPECT_EQ(preflights(a), 0u);
  EXPECT_TRUE(logged(a, "received USR2 while an upgrade is under way, ignored"));
  EXPECT_EQ(record()->number, 1u);
}

TEST_F(SupervisorUpgrade, PreflightPassedExecs) {
  TimePoint up = serve();
  usr2(up + 1s);
  Actions a = preflight_done(up + 1s + 30ms);
  EXPECT_EQ(execs(a), 1u);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_EQ(record()->outcome, ReloadOutcome::kInProgress);
}

TEST_F(SupervisorUpgrade, PreflightRefusedIsOneLogLineAndAFailedRecord) {
  TimePoint up = serve();
  usr2(up + 1s);
  Actions a = preflight_done(up + 1s + 30ms, "the new binary '/x': No such file or directory");
  EXPECT_EQ(execs(a), 0u);
  EXPECT_EQ(actions_of<action::Log>(a).size(), 1u);
  EXPECT_TRUE(logged(
      a, "upgrade failed: the new binary '/x': No such file or directory; carrying on as before"));
  auto r = record();
  EXPECT_EQ(r->outcome, ReloadOutcome::kFailed);
  EXPECT_EQ(r->reason, "the new binary '/x': No such file or directory");
  EXPECT_EQ(r->took_us, 30'000);
  EXPECT_EQ(preflights(usr2(up + 2s)), 1u) << "the next one may go";
  EXPECT_EQ(record()->number, 2u);
}

TEST_F(SupervisorUpgrade, AShutdownDuringThePreflightWins) {
  TimePoint up = serve();
  usr2(up + 1s);
  shutdown(SIGTERM, up + 1s + 10ms);
  Actions a = preflight_done(up + 1s + 30ms);
  EXPECT_EQ(execs(a), 0u);
  EXPECT_TRUE(logged(a, "upgrade failed: start_server is stopping"));
}

TEST_F(SupervisorUpgrade, AStrayPreflightVerdictIsIgnored) {
  TimePoint up = serve();
  Actions a = preflight_done(up + 1s);
  EXPECT_EQ(execs(a), 0u);
  EXPECT_TRUE(actions_of<action::Log>(a).empty());
}

TEST_F(SupervisorUpgrade, AFailedExecIsLogged) {
  TimePoint up = serve();
  usr2(up + 1s);
  preflight_done(up + 1s);
  Actions a =
      ended(up + 1s + 2ms, false, "cannot run the new binary: execve('/x'): Exec format error");
  EXPECT_TRUE(logged(a, "upgrade failed: cannot run the new binary"));
  EXPECT_EQ(record()->outcome, ReloadOutcome::kFailed);
}

TEST_F(SupervisorUpgrade, AHupDuringThePreflightReloadsAsUsual) {
  TimePoint up = serve();
  usr2(up + 1s);
  EXPECT_EQ(spawns(hup(up + 2s)), Spawns{2});
  EXPECT_EQ(execs(preflight_done(up + 3s)), 1u);
}

// What goes across: a supervisor restored from the snapshot of another decides the same.
TEST_F(SupervisorUpgrade, RestoredSupervisorIsTheSame) {
  TimePoint up2 = retiring();
  hup(up2 + 1s);  // queued behind the retiring
  usr2(up2 + 2s);
  preflight_done(up2 + 2s);
  UpgradeState::Supervisor saved = sup().snapshot();
  EXPECT_TRUE(saved.reload_queued);
  EXPECT_EQ(saved.upgrades, 1u);

  Supervisor restored(settings);
  restored.restore(saved);
  EXPECT_EQ(restored.snapshot(), saved);
  EXPECT_EQ(restored.phase(), Phase::kRetiring);
  EXPECT_EQ(restored.next_deadline(), sup().next_deadline());
  EXPECT_EQ(restored.status_line(), sup().status_line());

  Actions a = restored.handle(event::UpgradeEnded{true, ""}, up2 + 2s + 5ms);
  EXPECT_TRUE(logged(a, "upgraded in place to start_server"));
  StatusDetail d;
  restored.describe(d);
  ASSERT_TRUE(d.last_upgrade);
  EXPECT_EQ(d.last_upgrade->outcome, ReloadOutcome::kOk);
  EXPECT_EQ(d.last_upgrade->took_us, 5'000);
  // --kill-old-delay's deadline came across: generation 1 gets its signal, then the queued
  // reload starts generation 3.
  a = restored.handle(event::Tick{}, up2 + settings.kill_old_delay);
  EXPECT_EQ(signals(a), (Signals{{kPid1, SIGUSR1}}));
  EXPECT_EQ(spawns(a), Spawns{3});
}

// A state written by version 1 (tests/unit/data) restores into the supervisor it describes.
TEST_F(SupervisorUpgrade, RestoresTheCheckedInVersion1State) {
  std::ifstream in(UNIT_DATA_DIR "/upgrade_state_v1.txt", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parse_upgrade_state(text.str());
  ASSERT_TRUE(std::holds_alternative<UpgradeState>(parsed)) << std::get<std::string>(parsed);
  const UpgradeState::Supervisor& saved = std::get<UpgradeState>(parsed).supervisor;
  Supervisor restored(settings);
  restored.restore(saved);
  // Version 1 as first written has no settings: the command line's stand, and are written on.
  UpgradeState::Supervisor expected = saved;
  expected.kill_old_delay_ms = settings.kill_old_delay.count();
  expected.auto_restart = settings.auto_restart;
  expected.auto_restart_interval_ms = settings.auto_restart_interval.count();
  EXPECT_EQ(restored.snapshot(), expected);
  EXPECT_EQ(restored.settings(), settings);
  EXPECT_EQ(restored.phase(), Phase::kReloading);
  ASSERT_EQ(restored.workers().size(), 2u);
  EXPECT_EQ(restored.workers()[1].descendants, (std::vector<pid_t>{4262, 4263}));
  EXPECT_EQ(restored.next_deadline(), TimePoint(std::chrono::nanoseconds(81'291'011'000'000)));
}

TEST_F(SupervisorUpgrade, RestoreRefusesWhatItDoesNotKnow) {
  serve();
  UpgradeState::Supervisor saved = sup().snapshot();
  saved.workers[0].role = "boss";
  Supervisor restored(settings);
  EXPECT_THROW(restored.restore(saved), std::invalid_argument);
}

}  // namespace
}  // namespace starter
