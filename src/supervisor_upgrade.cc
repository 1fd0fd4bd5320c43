// The supervisor's part of an upgrade in place (self_exec.h): when SIGUSR2 leads to the
// pre-flight and the exec, and what of its state goes across (upgrade_state.h). Apart from
// supervisor.cc because none of it takes part in the generations' life cycle.
#include <chrono>
#include <stdexcept>

#include "supervisor.h"

namespace starter {

namespace {

// steady_clock is CLOCK_MONOTONIC, which execve leaves running: a deadline means the same after.
MonotonicNs ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
TimePoint at(MonotonicNs n) {
  return TimePoint(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(n)));
}
std::optional<MonotonicNs> ns(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return ns(*t);
}
std::optional<TimePoint> at(const std::optional<MonotonicNs>& n) {
  if (!n) return std::nullopt;
  return at(*n);
}

const char* role_name(Supervisor::Role role) {
  switch (role) {
    case Supervisor::Role::kStarting:
      return "starting";
    case Supervisor::Role::kCurrent:
      return "current";
    case Supervisor::Role::kOld:
      return "old";
    case Supervisor::Role::kFailed:
      return "failed";
  }
  return "starting";
}

Supervisor::Role role_of(const std::string& name) {
  for (auto role : {Supervisor::Role::kStarting, Supervisor::Role::kCurrent, Supervisor::Role::kOld,
                    Supervisor::Role::kFailed})
    if (name == role_name(role)) return role;
  throw std::invalid_argument("unknown role '" + name + "'");
}

SupervisorPhase phase_of(const std::string& name) {
  for (auto phase :
       {SupervisorPhase::kIdle, SupervisorPhase::kStarting, SupervisorPhase::kServing,
        SupervisorPhase::kReloading, SupervisorPhase::kRetiring, SupervisorPhase::kStopping})
    if (name == phase_name(phase)) return phase;
  throw std::invalid_argument("unknown phase '" + name + "'");
}

UpgradeState::Worker saved(const Supervisor::Worker& w) {
  return {w.generation, w.pid,         role_name(w.role), ns(w.spawned), w.signalled, ns(w.kill_at),
          w.killed,     w.last_signal, w.status,          w.descendants, w.release,   w.respawn_of};
}

Supervisor::Worker restored(const UpgradeState::Worker& s) {
  Supervisor::Worker w;
  w.generation = s.generation;
  w.pid = s.pid;
  w.role = role_of(s.role);
  w.spawned = at(s.spawned);
  w.signalled = s.signalled;
  w.kill_at = at(s.kill_at);
  w.killed = s.killed;
  w.last_signal = s.last_signal;
  w.status = s.status;
  w.descendants = s.descendants;
  w.release = s.release;
  w.respawn_of = s.respawn_of;
  return w;
}

}  // namespace

void Supervisor::on(const event::UpgradeRequested&, TimePoint now) {
  if (phase_ == Phase::kIdle || phase_ == Phase::kStopping)
    return log("received USR2 while stopping, ignored");
  if (upgrade_ != Upgrade::kNone)
    return log("received USR2 while an upgrade is under way, ignored");
  upgrade_ = Upgrade::kPreflight;
  ++upgrades_;
  upgrade_requested_ = now;
  last_upgrade_ = UpgradeRecord{upgrades_, ReloadOutcome::kInProgress, {}, now, {}};
  log("received USR2, checking the new binary before upgrading in place");
  out_.push_back(action::Preflight{});
}

void Supervisor::on(const event::PreflightDone& e, TimePoint now) {
  if (upgrade_ != Upgrade::kPreflight) return;
  if (!e.refusal.empty()) return end_upgrade(false, e.refusal, now);
  // A shutdown that came meanwhile wins: the new image would only stop the workers too.
  if (phase_ == Phase::kStopping) return end_upgrade(false, "start_server is stopping", now);
  upgrade_ = Upgrade::kExec;
  out_.push_back(action::ExecUpgrade{});
}

void Supervisor::on(const event::UpgradeEnded& e, TimePoint now) {
  if (upgrade_ == Upgrade::kNone) return;
  end_upgrade(e.ok, e.reason, now);
}

void Supervisor::end_upgrade(bool ok, const std::string& reason, TimePoint now) {
  upgrade_ = Upgrade::kNone;
  auto took = upgrade_requested_ ? now - *upgrade_requested_ : Clock::duration{};
  upgrade_requested_.reset();
  last_upgrade_ = UpgradeRecord{upgrades_, ok ? ReloadOutcome::kOk : ReloadOutcome::kFailed, reason,
                                now, std::chrono::duration_cast<std::chrono::microseconds>(took)};
  if (!ok) return log("upgrade failed: " + reason + "; carrying on as before");
  auto us = last_upgrade_->took.count();
  log("upgraded in place to start_server " STARTER_VERSION " in " + std::to_string(us / 1000) +
      "." + std::to_string(us / 100 % 10) + " ms");
}

void Supervisor::describe_upgrade(StatusDetail& out) const {
  out.last_upgrade.reset();
  if (!last_upgrade_) return;
  const auto& u = *last_upgrade_;
  out.last_upgrade = StatusDetail::Upgrade{
      u.number, u.outcome, std::chrono::duration_cast<Millis>(u.at.time_since_epoch()).count(),
      u.took.count(), u.reason};
}

UpgradeState::Supervisor Supervisor::snapshot() const {
  UpgradeState::Supervisor s;
  s.phase = phase_name(phase_);
  s.generation = generation_;
  s.last_spawn = ns(last_spawn_);
  s.last_restart = ns(last_restart_);
  s.probation_end = ns(probation_end_);
  s.respawn_at = ns(respawn_at_);
  s.kill_old_at = ns(kill_old_at_);
  s.failures = failures_;
  s.reload_queued = reload_queued_;
  s.stop_signal = stop_signal_;
  s.starting_error = starting_error_;
  s.failed_generation = failed_generation_;
  s.retrying = retrying_;
  s.failure = failure_;
  s.last_status = last_status_;
  s.respawn_of = respawn_of_;
  s.upgrades = upgrades_;
  s.upgrade_requested = ns(upgrade_requested_);
  s.kill_old_delay_ms = settings_.kill_old_delay.count();
  s.auto_restart = settings_.auto_restart;
  s.auto_restart_interval_ms = settings_.auto_restart_interval.count();
  for (const auto& w : workers_) s.workers.push_back(saved(w));
  if (died_serving_) s.died_serving = saved(*died_serving_);
  if (last_reload_)
    s.last_reload = UpgradeState::Reload{last_reload_->generation, last_reload_->outcome,
                                         ns(last_reload_->at), last_reload_->reason};
  return s;
}

void Supervisor::restore(const UpgradeState::Supervisor& s) {
  phase_ = phase_of(s.phase);
  generation_ = s.generation;
  last_spawn_ = at(s.last_spawn);
  last_restart_ = at(s.last_restart);
  probation_end_ = at(s.probation_end);
  respawn_at_ = at(s.respawn_at);
  kill_old_at_ = at(s.kill_old_at);
  failures_ = s.failures;
  reload_queued_ = s.reload_queued;
  stop_signal_ = s.stop_signal;
  starting_error_ = s.starting_error;
  failed_generation_ = s.failed_generation;
  retrying_ = s.retrying;
  failure_ = s.failure;
  last_status_ = s.last_status;
  respawn_of_ = s.respawn_of;
  upgrades_ = s.upgrades;
  upgrade_requested_ = at(s.upgrade_requested);
  // What --envdir changed goes on; the new image's first turn reads the envdir again.
  if (s.kill_old_delay_ms) settings_.kill_old_delay = Millis(*s.kill_old_delay_ms);
  if (s.auto_restart) settings_.auto_restart = *s.auto_restart;
  if (s.auto_restart_interval_ms)
    settings_.auto_restart_interval = Millis(*s.auto_restart_interval_ms);
  workers_.clear();
  for (const auto& w : s.workers) workers_.push_back(restored(w));
  died_serving_.reset();
  if (s.died_serving) died_serving_ = restored(*s.died_serving);
  last_reload_.reset();
  if (s.last_reload)
    last_reload_ = ReloadRecord{s.last_reload->generation, s.last_reload->outcome,
                                s.last_reload->reason, at(s.last_reload->at)};
  // The state was saved at the exec: the upgrade is still under way until event::UpgradeEnded.
  spawning_ = false;
  upgrade_ = upgrade_requested_ ? Upgrade::kExec : Upgrade::kNone;
  last_upgrade_.reset();
  if (upgrade_requested_)
    last_upgrade_ =
        UpgradeRecord{upgrades_, ReloadOutcome::kInProgress, {}, *upgrade_requested_, {}};
}

}  // namespace starter
