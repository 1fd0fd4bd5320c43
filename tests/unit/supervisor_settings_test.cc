// event::SettingsChanged: --envdir changes our own settings at run time, as Perl's
// start_server reads KILL_OLD_DELAY, ENABLE_AUTO_RESTART and AUTO_RESTART_INTERVAL from its
// environment at each turn of its loop. Cell by cell: what changes at once, what waits.

#include "supervisor_test.h"

namespace starter {
namespace {

using namespace supervisor_testing;
using namespace std::chrono_literals;

class SupervisorSettingsChanged : public SupervisorTest {
 protected:
  Actions change(TimePoint at, const SupervisorSettings& s) {
    return feed(event::SettingsChanged{s, "--envdir '/etc/app/env'"}, at);
  }
};

TEST_F(SupervisorSettingsChanged, SaysWhatChangedAndNothingWhenNothingDid) {
  TimePoint up = serve();
  SupervisorSettings s = settings;
  s.kill_old_delay = 3s;
  Actions a = change(up + 1s, s);
  auto logs = actions_of<action::Log>(a);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].text, "--envdir '/etc/app/env': kill-old-delay 3s (was 0s)");
  EXPECT_EQ(sup().settings(), s);
  EXPECT_TRUE(actions_of<action::Log>(change(up + 2s, s)).empty());
  EXPECT_EQ(signals(history), kNoSignal);
  EXPECT_EQ(spawns(history), kNoSpawn);
}

// Perl reads KILL_OLD_DELAY at the restart; ours when the new generation is up.
TEST_F(SupervisorSettingsChanged, ANewKillOldDelayCountsAtTheNextReload) {
  TimePoint up = serve();
  SupervisorSettings s = settings;
  s.kill_old_delay = 3s;
  change(up + 1s, s);
  TimePoint tH = up + 10s;
  reload(tH);
  TimePoint up2 = tH + settings.interval;
  Actions a = tick(up2);
  EXPECT_EQ(signals(a), kNoSignal);
  EXPECT_TRUE(logged(a, "sleeping 3 secs before killing old workers"));
  EXPECT_EQ(phase(), Phase::kRetiring);
  EXPECT_EQ(deadline(), up2 + 3s);
  EXPECT_EQ(signals(tick(up2 + 3s)), (Signals{{kPid1, SIGUSR1}}));
}

// Perl sleeps the delay out; a change while it runs is for the next one.
TEST_F(SupervisorSettingsChanged, AKillOldDelayUnderWayKeepsItsEnd) {
  settings.kill_old_delay = 5s;
  TimePoint up = serve();
  reload(up + 10s);
  TimePoint up2 = up + 10s + settings.interval;
  tick(up2);
  ASSERT_EQ(phase(), Phase::kRetiring);
  SupervisorSettings s = settings;
  s.kill_old_delay = 0s;
  EXPECT_EQ(signals(change(up2 + 1s, s)), kNoSignal);
  EXPECT_EQ(deadline(), up2 + 5s);
  EXPECT_EQ(signals(tick(up2 + 5s)), (Signals{{kPid1, SIGUSR1}}));
}

// Perl: once ENABLE_AUTO_RESTART is on, `time - $last_restart_time >= interval` restarts at
// that very turn.
TEST_F(SupervisorSettingsChanged, AutoRestartTurnedOnWhenOverdueRestartsAtOnce) {
  TimePoint up = serve();
  EXPECT_EQ(deadline(), std::nullopt);
  SupervisorSettings s = settings;
  s.auto_restart = true;
  s.auto_restart_interval = 60s;
  EXPECT_EQ(spawns(change(up + 30s, s)), kNoSpawn);
  EXPECT_EQ(deadline(), up + 60s);
  s.auto_restart_interval = 20s;
  Actions a = change(up + 31s, s);
  EXPECT_EQ(spawns(a), Spawns{2});
  EXPECT_TRUE(logged(a, "autorestart triggered (interval=20)"));
  EXPECT_EQ(phase(), Phase::kReloading);
}

TEST_F(SupervisorSettingsChanged, AutoRestartTurnedOffCancelsTheNextOne) {
  settings.auto_restart = true;
  settings.auto_restart_interval = 60s;
  TimePoint up = serve();
  EXPECT_EQ(deadline(), up + 60s);
  SupervisorSettings s = settings;
  s.auto_restart = false;
  Actions a = change(up + 1s, s);
  EXPECT_TRUE(logged(a, "auto-restart off (was on)"));
  EXPECT_EQ(deadline(), std::nullopt);
  EXPECT_EQ(spawns(tick(up + 60s)), kNoSpawn);
}

TEST_F(SupervisorSettingsChanged, WhileStoppingNothingIsStarted) {
  TimePoint up = serve();
  shutdown(SIGTERM, up + 1s);
  SupervisorSettings s = settings;
  s.auto_restart = true;
  s.auto_restart_interval = 1s;
  EXPECT_EQ(spawns(change(up + 100s, s)), kNoSpawn);
  EXPECT_EQ(phase(), Phase::kStopping);
}

// Across an upgrade in place: a value the envdir holds that is not a number keeps the one
// before, which only the running image knows.
TEST_F(SupervisorSettingsChanged, SettingsGoAcrossAnUpgrade) {
  TimePoint up = serve();
  SupervisorSettings s = settings;
  s.kill_old_delay = 7s;
  s.auto_restart = true;
  s.auto_restart_interval = 90s;
  change(up + 1s, s);
  UpgradeState::Supervisor saved = sup().snapshot();
  EXPECT_EQ(saved.kill_old_delay_ms, 7000);
  EXPECT_EQ(saved.auto_restart, true);
  EXPECT_EQ(saved.auto_restart_interval_ms, 90000);
  Supervisor restored(settings);  // the new image's command line
  restored.restore(saved);
  EXPECT_EQ(restored.settings(), s);
  EXPECT_EQ(restored.next_deadline(), up + 90s);

  saved.kill_old_delay_ms.reset();  // from an image before these fields: the command line's
  saved.auto_restart.reset();
  saved.auto_restart_interval_ms.reset();
  Supervisor older(settings);
  older.restore(saved);
  EXPECT_EQ(older.settings(), settings);
}

}  // namespace
}  // namespace starter
