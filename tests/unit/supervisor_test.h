#pragma once
/// The supervisor's action table, cell by cell (s6-supervise's actions[state][event]): each
/// test puts the state machine in one phase with a fake clock, feeds it one event and checks
/// every action it emits. No process, no sleep: time is a TimePoint we construct.
///
/// This header holds what every supervisor_*_test.cc shares: the fixture (SupervisorTest and
/// one subclass per phase), scenario helpers that bring the supervisor into a phase, and
/// extractors that pick one kind of action out of a handle() result. One file per phase:
///   supervisor_start_test.cc      kIdle, kStarting, back-off; SupervisorSettings
///   supervisor_serving_test.cc    kServing, auto restart
///   supervisor_reload_test.cc     kReloading, a failed reload retried (--reload-retry)
///   supervisor_retiring_test.cc   kRetiring (--kill-old-delay), kStopping, --drain-timeout
///   supervisor_notify_test.cc     --ready=notify, events read late
///   supervisor_descendants_test.cc processes a worker left behind
///   supervisor_release_test.cc    releases and --status (its own fixture)

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

#include "status_print.h"
#include "supervisor.h"

namespace starter {

/// Everything the supervisor tests share; each test file says `using namespace
/// supervisor_testing` inside its anonymous namespace.
namespace supervisor_testing {

using namespace std::chrono_literals;
using Actions = std::vector<Action>;
using Phase = Supervisor::Phase;
using Signals = std::vector<std::pair<pid_t, int>>;
using Notifies = std::vector<std::string>;
using Statuses = std::vector<StatusSnapshot>;
using Spawns = std::vector<unsigned long>;

inline const TimePoint t0 = TimePoint{} + 1000s;
inline constexpr pid_t kPid1 = 101, kPid2 = 102, kPid3 = 103, kStranger = 999;
inline constexpr int kExit0 = 0;           // raw wait status of exit(0)
inline constexpr int kExit1 = 1 << 8;      // exit(1)
inline constexpr int kExit255 = 255 << 8;  // exit(255): what a child whose exec failed reports

// --- extracting actions ---------------------------------------------------------------------

/// Every action of type T in `actions`, in order.
template <typename T>
inline std::vector<T> actions_of(const Actions& actions) {
  std::vector<T> out;
  for (const auto& a : actions)
    if (const T* t = std::get_if<T>(&a)) out.push_back(*t);
  return out;
}

inline Spawns spawns(const Actions& a) {
  Spawns out;
  for (const auto& s : actions_of<action::Spawn>(a)) out.push_back(s.generation);
  return out;
}

inline Signals signals(const Actions& a) {
  Signals out;
  for (const auto& s : actions_of<action::Signal>(a)) out.emplace_back(s.pid, s.signo);
  return out;
}

inline Statuses statuses(const Actions& a) {
  Statuses out;
  for (const auto& w : actions_of<action::WriteStatus>(a)) out.push_back(w.status);
  return out;
}

/// READY / RELOADING / STOPPING in order; the STATUS= updates are left out.
inline Notifies notifies(const Actions& a) {
  using Kind = action::Notify::Kind;
  Notifies out;
  for (const auto& n : actions_of<action::Notify>(a)) {
    if (n.kind == Kind::kReady) out.push_back("READY");
    if (n.kind == Kind::kReloading) out.push_back("RELOADING");
    if (n.kind == Kind::kStopping) out.push_back("STOPPING");
  }
  return out;
}

inline std::vector<int> exits(const Actions& a) {
  std::vector<int> out;
  for (const auto& e : actions_of<action::Exit>(a)) out.push_back(e.code);
  return out;
}

inline bool logged(const Actions& a, const std::string& fragment) {
  for (const auto& l : actions_of<action::Log>(a))
    if (l.text.find(fragment) != std::string::npos) return true;
  return false;
}

template <typename T>
inline std::ptrdiff_t index_of_first(const Actions& a) {
  auto it = std::find_if(a.begin(), a.end(),
                         [](const Action& x) { return std::holds_alternative<T>(x); });
  return it == a.end() ? -1 : it - a.begin();
}

inline StatusSnapshot live(std::vector<GenerationPid> gens) {
  StatusSnapshot s;
  s.live = std::move(gens);
  return s;
}

/// A snapshot whose generation on probation is `starting` (a "starting:GEN:PID" line).
inline StatusSnapshot with_starting(std::vector<GenerationPid> gens, GenerationPid starting) {
  StatusSnapshot s = live(std::move(gens));
  s.starting = starting;
  return s;
}

inline const Statuses kNoStatus{};
inline const Signals kNoSignal{};
inline const Notifies kNoNotify{};
inline const Spawns kNoSpawn{};

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
  Actions adopted(pid_t pid, unsigned long gen, TimePoint at) {
    return feed(event::Adopted{pid, gen}, at);
  }
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

}  // namespace supervisor_testing
}  // namespace starter
