// The supervisor's action table, cell by cell (s6-supervise's actions[state][event]): each
// test puts the state machine in one phase with a fake clock, feeds it one event and checks
// every action it emits. No process, no sleep: time is a TimePoint we construct.

#include "supervisor.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace starter {

// Readable failure output for EXPECT_EQ on snapshots (found by ADL; internal linkage so other
// test files may have their own).
[[maybe_unused]] static void PrintTo(const StatusSnapshot& s, std::ostream* os) {
  *os << "StatusSnapshot{\"" << format_status(s) << "\"}";
}

namespace {

using namespace std::chrono_literals;
using Actions = std::vector<Action>;
using Phase = Supervisor::Phase;
using Signals = std::vector<std::pair<pid_t, int>>;
using Notifies = std::vector<std::string>;
using Statuses = std::vector<StatusSnapshot>;
using Spawns = std::vector<unsigned long>;

const TimePoint t0 = TimePoint{} + 1000s;
constexpr pid_t kPid1 = 101, kPid2 = 102, kPid3 = 103, kStranger = 999;
constexpr int kExit0 = 0;           // raw wait status of exit(0)
constexpr int kExit1 = 1 << 8;      // exit(1)
constexpr int kExit255 = 255 << 8;  // exit(255): what a child whose exec failed reports

// --- extracting actions ---------------------------------------------------------------------

/// Every action of type T in `actions`, in order.
template <typename T>
std::vector<T> actions_of(const Actions& actions) {
  std::vector<T> out;
  for (const auto& a : actions)
    if (const T* t = std::get_if<T>(&a)) out.push_back(*t);
  return out;
}

Spawns spawns(const Actions& a) {
  Spawns out;
  for (const auto& s : actions_of<action::Spawn>(a)) out.push_back(s.generation);
  return out;
}

Signals signals(const Actions& a) {
  Signals out;
  for (const auto& s : actions_of<action::Signal>(a)) out.emplace_back(s.pid, s.signo);
  return out;
}

Statuses statuses(const Actions& a) {
  Statuses out;
  for (const auto& w : actions_of<action::WriteStatus>(a)) out.push_back(w.status);
  return out;
}

/// READY / RELOADING / STOPPING in order; the STATUS= updates are left out.
Notifies notifies(const Actions& a) {
  using Kind = action::Notify::Kind;
  Notifies out;
  for (const auto& n : actions_of<action::Notify>(a)) {
    if (n.kind == Kind::kReady) out.push_back("READY");
    if (n.kind == Kind::kReloading) out.push_back("RELOADING");
    if (n.kind == Kind::kStopping) out.push_back("STOPPING");
  }
  return out;
}

std::vector<int> exits(const Actions& a) {
  std::vector<int> out;
  for (const auto& e : actions_of<action::Exit>(a)) out.push_back(e.code);
  return out;
}

bool logged(const Actions& a, const std::string& fragment) {
  for (const auto& l : actions_of<action::Log>(a))
    if (l.text.find(fragment) != std::string::npos) return true;
  return false;
}

template <typename T>
std::ptrdiff_t index_of_first(const Actions& a) {
  auto it = std::find_if(a.begin(), a.end(),
                         [](const Action& x) { return std::holds_alternative<T>(x); });
  return it == a.end() ? -1 : it - a.begin();
}

StatusSnapshot live(std::vector<GenerationPid> gens) {
  StatusSnapshot s;
  s.live = std::move(gens);
  return s;
}

/// A snapshot whose generation on probation is `starting` (a "starting:GEN:PID" line).
StatusSnapshot with_starting(std::vector<GenerationPid> gens, GenerationPid starting) {
  StatusSnapshot s = live(std::move(gens));
  s.starting = starting;
  return s;
}

const Statuses kNoStatus{};
const Signals kNoSignal{};
const Notifies kNoNotify{};
const Spawns kNoSpawn{};

// --- the fixture ------------------------------------------------------------------------------

class SupervisorTest : public testing::Test {
 protected:
  SupervisorTest() {
    // Not the defaults, so every test sees which of the two was sent.
    settings.signal_on_hup = SIGUSR1;
    settings.signal_on_term = SIGUSR2;
    // A failed reload is final here; SupervisorReloadRetry covers the default, Perl's retry.
    settings.reload_retry = false;
  }

  Supervisor& sup() {
    if (!sup_) sup_.emplace(settings);
    return *sup_;
  }
  Actions feed(const Event& e, TimePoint at) {
    Actions a = sup().handle(e, at);
    history.insert(history.end(), a.begin(), a.end());
    return a;
  }
  Actions start(TimePoint at) { return feed(event::Start{}, at); }
  Actions hup(TimePoint at) { return feed(event::Reload{}, at); }
  Actions shutdown(int signo, TimePoint at) { return feed(event::Shutdown{signo}, at); }
  Actions spawned(unsigned long gen, pid_t pid, TimePoint at, std::string exec_error = {}) {
    return feed(event::Spawned{gen, pid, std::move(exec_error)}, at);
  }
  Actions spawn_failed(unsigned long gen, TimePoint at) {
    return feed(event::SpawnFailed{gen, "fork(app): Resource temporarily unavailable"}, at);
  }
  Actions exited(pid_t pid, int status, TimePoint at) {
    return feed(event::ChildExited{pid, status}, at);
  }
  Actions adopted(pid_t pid, unsigned long gen, TimePoint at) { return feed(event::Adopted{pid, gen}, at); }
  /// Several events received together: all handled before any deadline.
  Actions batch(const std::vector<Event>& events, TimePoint at) {
    Actions a = sup().handle(events, at);
    history.insert(history.end(), a.begin(), a.end());
    return a;
  }
  Actions tick(TimePoint at) { return feed(event::Tick{}, at); }

  Phase phase() { return sup().phase(); }
  std::optional<TimePoint> deadline() { return sup().next_deadline(); }

  /// Generation 1 (pid 101) spawned at t0 and up after the probation; returns when it came up.
  TimePoint serve() {
    start(t0);
    spawned(1, kPid1, t0);
    TimePoint up = t0 + settings.interval;
    tick(up);
    EXPECT_EQ(phase(), Phase::kServing);
    history.clear();
    return up;
  }
  /// From serving: HUP at `at`, generation `gen` (pid `pid`) on probation from `at`.
  void reload(TimePoint at, unsigned long gen = 2, pid_t pid = kPid2) {
    EXPECT_EQ(spawns(hup(at)), Spawns{gen});
    spawned(gen, pid, at);
    EXPECT_EQ(phase(), Phase::kReloading);
    history.clear();
  }

  SupervisorSettings settings;
  Actions history;  ///< every action since the last scenario helper

 private:
  std::optional<Supervisor> sup_;
};

class SupervisorIdle : public SupervisorTest {};
class SupervisorStarting : public SupervisorTest {};
class SupervisorServing : public SupervisorTest {};
class SupervisorReloading : public SupervisorTest {};
class SupervisorRetiring : public SupervisorTest {
 protected:
  SupervisorRetiring() { settings.kill_old_delay = 5s; }
  /// Serving gen 1, reloaded at tH; gen 2 is up at the returned time and gen 1 waits for
  /// --kill-old-delay.
  TimePoint retiring() {
    TimePoint up1 = serve();
    TimePoint tH = up1 + 10s;
    reload(tH);
    TimePoint up2 = tH + settings.interval;
    tick(up2);
    EXPECT_EQ(phase(), Phase::kRetiring);
    history.clear();
    return up2;
  }
};
class SupervisorStopping : public SupervisorTest {
 protected:
  /// Gen 1 (old, already signalled with signal_on_hup but still draining) and gen 2 (current),
  /// then SIGTERM at the returned time.
  TimePoint stopping() {
    TimePoint up1 = serve();
    reload(up1 + 10s);
    tick(up1 + 11s);
    TimePoint at = up1 + 20s;
    EXPECT_EQ(signals(shutdown(SIGTERM, at)), (Signals{{kPid1, SIGUSR2}, {kPid2, SIGUSR2}}));
    EXPECT_EQ(phase(), Phase::kStopping);
    history.clear();
    return at;
  }
};
class SupervisorAutoRestart : public SupervisorTest {
 protected:
  SupervisorAutoRestart() {
    settings.auto_restart = true;
    settings.auto_restart_interval = 360s;
    settings.kill_old_delay = 5s;  // what options derive with auto restart
  }
};

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

// === helpers of the module ===================================================================

TEST(SupervisorSettings, FromConfigCopiesTheValues) {
  Config config;
  config.interval = 3s;
  config.kill_old_delay = 5s;
  config.auto_restart = true;
  config.auto_restart_interval = 100s;
  config.signal_on_hup = SIGUSR1;
  config.signal_on_term = SIGINT;
  SupervisorSettings s = SupervisorSettings::from(config);
  EXPECT_EQ(s.interval, 3s);
  EXPECT_EQ(s.kill_old_delay, 5s);
  EXPECT_TRUE(s.auto_restart);
  EXPECT_EQ(s.auto_restart_interval, 100s);
  EXPECT_EQ(s.signal_on_hup, SIGUSR1);
  EXPECT_EQ(s.signal_on_term, SIGINT);
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

// --- back-off, readiness (--ready=notify), drain deadline ------------------------------------

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
            std::vector<std::string>{"limits:ready=notify ready-timeout=10s drain-timeout=0s backoff-max=60s"});
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

namespace starter {
namespace {

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
