#include "supervisor.h"

#include <sys/wait.h>

#include <algorithm>
#include <utility>

#include "quote.h"
#include "signal_names.h"

namespace starter {

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + signal_name(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

std::vector<Action> Supervisor::handle(const Event& event, TimePoint now) {
  return handle(std::vector<Event>{event}, now);
}

std::vector<Action> Supervisor::handle(const std::vector<Event>& events, TimePoint now) {
  out_.clear();
  for (const auto& event : events) std::visit([&](const auto& e) { on(e, now); }, event);
  advance(now);
  if (phase_ != Phase::kIdle && status_line() != last_status_)
    notify(action::Notify::Kind::kStatus);
  return std::move(out_);
}

std::optional<TimePoint> Supervisor::next_deadline() const {
  std::optional<TimePoint> next;
  auto consider = [&](const std::optional<TimePoint>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const auto& t : {probation_end_, respawn_at_, kill_old_at_, auto_restart_due()}) consider(t);
  for (const auto& w : workers_)
    if (!w.killed) consider(w.kill_at);
  return next;
}

// --- events ------------------------------------------------------------------------------

void Supervisor::on(const event::Start&, TimePoint now) {
  if (phase_ != Phase::kIdle) return;
  phase_ = Phase::kStarting;
  spawn(now);
}

void Supervisor::on(const event::Reload&, TimePoint now) {
  switch (phase_) {
    case Phase::kIdle:
    case Phase::kStopping:
      log("received HUP while stopping, ignored");
      return;
    case Phase::kServing:
      perl_log("received HUP, spawning a new worker");
      begin_reload(now);
      return;
    case Phase::kStarting:
    case Phase::kReloading:
      // Nothing on probation, a retry is scheduled: the operator may just have fixed the
      // program, so try now.
      if (respawn_at_ && !find(Role::kStarting)) {
        perl_log("received HUP, spawning a new worker");
        respawn_at_.reset();
        died_serving_.reset();  // a deploy: it runs what is there now
        spawn(now);
        last_reload_ = ReloadRecord{generation_, ReloadOutcome::kInProgress, {}, now};
        return;
      }
      [[fallthrough]];
    case Phase::kRetiring:
      if (!reload_queued_) log("received HUP during a restart, another restart will follow it");
      reload_queued_ = true;
      return;
  }
}

void Supervisor::on(const event::Shutdown& e, TimePoint now) {
  if (phase_ == Phase::kStopping) {
    log("received " + signal_name(e.signo) + " while stopping, still waiting for " +
        std::to_string(workers_.size()) + " worker(s)");
    return;
  }
  phase_ = Phase::kStopping;
  probation_end_.reset();
  respawn_at_.reset();
  kill_old_at_.reset();
  reload_queued_ = false;
  int signo = stop_signal_ = e.signo == SIGTERM ? settings_.signal_on_term : SIGTERM;
  std::string list;
  for (const auto& w : workers_) list += (list.empty() ? "" : ",") + std::to_string(w.pid);
  perl_log("received " + signal_name(e.signo) + ", sending " + signal_name(signo) +
           " to all workers:" + (list.empty() ? "none" : list));
  notify(action::Notify::Kind::kStopping);
  for (auto& w : workers_)
    if (!w.killed) send(w, signo, now);
  exit_if_done();
}

void Supervisor::on(const event::Spawned& e, TimePoint now) {
  spawning_ = false;
  Worker fresh;
  fresh.generation = e.generation;
  fresh.pid = e.pid;
  fresh.role = Role::kStarting;
  fresh.spawned = now;
  fresh.release = e.release;
  fresh.respawn_of = std::exchange(respawn_of_, 0);
  workers_.push_back(fresh);
  starting_error_ = e.exec_error;
  if (!e.exec_error.empty())
    log("generation " + std::to_string(e.generation) + ": " + e.exec_error);
  perl_log("starting new worker " + std::to_string(e.pid));
  if (fresh.respawn_of)
    log("generation " + std::to_string(e.generation) + " respawns " +
        (settings_.respawn_serving_release
             ? "the release of generation " + std::to_string(fresh.respawn_of) +
                   ", the last one serving: "
             : std::string("the latest release (--respawn-release=latest): ")) +
        (e.release.name.empty() ? "unknown" : quote(e.release.name)));
  if (phase_ == Phase::kStopping) {  // a replacement whose spawn was queued behind the stop
    send(workers_.back(), stop_signal_, now);
    return;
  }
  // A child that could not exec is about to exit: its exit, not the clock, decides.
  if (e.exec_error.empty())
    probation_end_ = now + (settings_.ready_notify ? settings_.ready_timeout : settings_.interval);
  write_status();
}

void Supervisor::on(const event::SpawnFailed& e, TimePoint now) {
  spawning_ = false;
  std::string gen = "generation " + std::to_string(e.generation);
  log("failed to start " + gen + ": " + e.reason);
  if (phase_ == Phase::kStopping) return exit_if_done();
  start_failed(e.generation, gen + " could not be started (" + e.reason + ")", now);
}

void Supervisor::on(const event::ChildExited& e, TimePoint now) {
  if (Worker* parent = find_descendant(e.pid)) {
    std::erase(parent->descendants, e.pid);
    return;
  }
  Worker* w = find(e.pid);
  if (!w) return;  // not a worker (the --log-file command): the server deals with it
  if (took_over_by_descendant(*w, e)) return;
  Worker gone = *w;
  workers_.erase(workers_.begin() + (w - workers_.data()));
  std::string pid = std::to_string(gone.pid);
  std::string how =
      "status:" + std::to_string(e.status) + " (" + describe_wait_status(e.status) + ")";
  abandon_descendants(gone, now);

  if (phase_ == Phase::kStopping) {
    perl_log("worker " + pid + " died, " + how);
    write_status();
    return exit_if_done();
  }
  switch (gone.role) {
    case Role::kStarting: {
      probation_end_.reset();
      perl_log("new worker " + pid + " seems to have failed to start, exit " + how);
      std::string reason = starting_error_.empty()
                               ? describe_wait_status(e.status) + " before it was up"
                               : "could not be started (" + starting_error_ + ")";
      start_failed(gone.generation, "generation " + std::to_string(gone.generation) + " " + reason,
                   now);
      return;
    }
    case Role::kCurrent:
      perl_log("worker " + pid + " died unexpectedly with " + how + ", restarting");
      died_serving_ = gone;  // its replacements run its release, not whatever is on disk now
      write_status();
      if (phase_ == Phase::kReloading && (find(Role::kStarting) || spawning_))
        return;  // the generation on probation takes over
      if (phase_ == Phase::kReloading) {
        // A failed reload waits for its next attempt: serve again first, then go on with it.
        respawn_at_.reset();
        reload_queued_ = true;
      }
      kill_old_at_.reset();  // the old generation keeps serving until a replacement is up
      phase_ = Phase::kStarting;
      schedule_respawn(now);
      return;
    case Role::kOld:
      perl_log("old worker " + pid + " died, " + how);
      write_status();
      return;
    case Role::kFailed:
      if (gone.left_behind)
        log("process " + pid + " left behind by generation " + std::to_string(gone.generation) +
            " exited, " + how);
      else
        log("worker " + pid + " of failed generation " + std::to_string(gone.generation) +
            " exited, " + how);
      return;
  }
}

void Supervisor::on(const event::Adopted& e, TimePoint) {
  Worker* w = find_generation(e.generation);
  if (!w || find(e.pid) || find_descendant(e.pid)) return;
  if (w->signalled) send_to(e.pid, w->killed ? SIGKILL : w->last_signal);
  w->descendants.push_back(e.pid);
}

// A worker that daemonized: its first process exited 0 and what it started goes on serving.
bool Supervisor::took_over_by_descendant(Worker& w, const event::ChildExited& e) {
  if (w.descendants.empty() || !WIFEXITED(e.status) || WEXITSTATUS(e.status) != 0 ||
      phase_ == Phase::kStopping)
    return false;
  pid_t next = w.descendants.front();
  w.descendants.erase(w.descendants.begin());
  log("worker " + std::to_string(w.pid) + " (generation " + std::to_string(w.generation) +
      ") exited with status 0 and left process " + std::to_string(next) +
      " running (it daemonized): that process now stands for the generation");
  w.pid = next;
  if (w.role == Role::kCurrent || w.role == Role::kOld) write_status();
  return true;
}

// What a dead worker left running belongs to a generation that is over: it is told to stop
// and awaited (and killed after --drain-timeout), never left to hold the sockets.
void Supervisor::abandon_descendants(const Worker& gone, TimePoint now) {
  if (gone.descendants.empty()) return;
  std::string list;
  for (pid_t pid : gone.descendants) list += (list.empty() ? "" : ",") + std::to_string(pid);
  int signo = phase_ == Phase::kStopping ? stop_signal_ : SIGTERM;
  log("worker " + std::to_string(gone.pid) + " (generation " + std::to_string(gone.generation) +
      ") left processes " + list + " behind, sending " + signal_name(signo));
  for (pid_t pid : gone.descendants) {
    Worker left;
    left.generation = gone.generation;
    left.pid = pid;
    left.role = Role::kFailed;
    left.left_behind = true;
    left.spawned = gone.spawned;
    workers_.push_back(left);
    send(workers_.back(), signo, now);
  }
}

void Supervisor::on(const event::Ready& e, TimePoint now) {
  Worker* w = find_generation(e.generation);
  // Stopping: the worker was told to stop before it said it was ready; it must not bring
  // back serving (and a respawn after it exits).
  if (!settings_.ready_notify || phase_ == Phase::kStopping || !w || w->role != Role::kStarting)
    return;
  log("generation " + std::to_string(e.generation) + " (pid " + std::to_string(w->pid) +
      ") is ready");
  promote(now);
}

void Supervisor::on(const event::WorkerStatus& e, TimePoint) {
  if (Worker* w = find_generation(e.generation)) w->status = e.text;
}

void Supervisor::on(const event::SettingsChanged& e, TimePoint) {
  const SupervisorSettings& was = settings_;
  const SupervisorSettings& is = e.settings;
  std::string changes;
  auto add = [&](const std::string& text) { changes += (changes.empty() ? "" : ", ") + text; };
  auto on_off = [](bool b) { return std::string(b ? "on" : "off"); };
  if (is.auto_restart != was.auto_restart)
    add("auto-restart " + on_off(is.auto_restart) + " (was " + on_off(was.auto_restart) + ")");
  if (is.auto_restart_interval != was.auto_restart_interval)
    add("auto-restart-interval " + duration_text(is.auto_restart_interval) + " (was " +
        duration_text(was.auto_restart_interval) + ")");
  if (is.kill_old_delay != was.kill_old_delay)
    add("kill-old-delay " + duration_text(is.kill_old_delay) + " (was " +
        duration_text(was.kill_old_delay) + ")");
  if (!changes.empty()) log(e.source + ": " + changes);
  settings_ = e.settings;
}

// --- transitions -------------------------------------------------------------------------

void Supervisor::advance(TimePoint now) {
  if (probation_end_ && now >= *probation_end_) {
    if (settings_.ready_notify)
      ready_timed_out(now);
    else
      promote(now);
  }
  for (auto& w : workers_)
    if (w.kill_at && !w.killed && now >= *w.kill_at) {
      log("worker " + std::to_string(w.pid) + " (generation " + std::to_string(w.generation) +
          ") is still running " + duration_text(settings_.drain_timeout) +
          " after it was signalled, sending KILL");
      out_.push_back(action::Signal{w.pid, SIGKILL});
      for (pid_t pid : w.descendants) send_to(pid, SIGKILL);
      w.killed = true;
    }
  if (respawn_at_ && now >= *respawn_at_) {
    respawn_at_.reset();
    spawn(now, /*respawn=*/true);
  }
  if (kill_old_at_ && now >= *kill_old_at_) {
    kill_old_at_.reset();
    perl_log("killing old workers");
    signal_old(now);
    finish_reload(now);
  }
  if (auto t = auto_restart_due(); t && now >= *t) {
    bool forced = count(Role::kOld) > 0;
    perl_log(std::string("autorestart triggered (") + (forced ? "forced, " : "") +
             "interval=" + std::to_string(settings_.auto_restart_interval.count() / 1000) + ")");
    begin_reload(now);
  }
}

// A respawn replaces a serving generation that died (died_serving_); the retries of a first
// start that never came up are deploys, so a fixed program is picked up.
void Supervisor::spawn(TimePoint now, bool respawn) {
  spawning_ = true;
  last_spawn_ = now;
  action::Spawn spawn{++generation_};
  if (respawn && died_serving_) {
    respawn_of_ = died_serving_->generation;
    if (settings_.respawn_serving_release) {
      spawn.release = died_serving_->release;
      spawn.release_of = died_serving_->generation;
    }
  }
  out_.push_back(std::move(spawn));
  // Every generation a reload starts (a retry too) is the reload --status reports.
  if (phase_ == Phase::kReloading)
    last_reload_ = ReloadRecord{generation_, ReloadOutcome::kInProgress, {}, now};
}

void Supervisor::begin_reload(TimePoint now) {
  phase_ = Phase::kReloading;
  died_serving_.reset();  // a deploy: it runs what is there now
  notify(action::Notify::Kind::kReloading);
  spawn(now);
}

void Supervisor::promote(TimePoint now) {
  probation_end_.reset();
  Worker* fresh = find(Role::kStarting);
  if (!fresh) return;
  for (auto& w : workers_)
    if (w.role == Role::kCurrent) w.role = Role::kOld;
  fresh->role = Role::kCurrent;
  last_restart_ = now;
  failures_ = 0;
  failure_.clear();
  retrying_ = false;
  died_serving_.reset();
  if (last_reload_ && last_reload_->generation == fresh->generation)
    *last_reload_ = ReloadRecord{fresh->generation, ReloadOutcome::kOk, {}, now};
  write_status();
  std::string old = pids(Role::kOld, /*unsignalled_only=*/true);
  if (old.empty() && phase_ == Phase::kStarting) {
    log("worker " + std::to_string(fresh->pid) + " (generation " +
        std::to_string(fresh->generation) + ") is up");
    return finish_reload(now);
  }
  perl_log("new worker is now running, sending " + signal_name(settings_.signal_on_hup) +
           " to old workers:" + (old.empty() ? "none" : old));
  if (!old.empty() && settings_.kill_old_delay.count() > 0) {
    // Perl's words: the delay is whole seconds (options.cc, envdir.cc).
    perl_log("sleeping " + std::to_string(settings_.kill_old_delay.count() / 1000) +
             " secs before killing old workers");
    phase_ = Phase::kRetiring;
    kill_old_at_ = now + settings_.kill_old_delay;
    return;
  }
  if (!old.empty()) perl_log("killing old workers");
  signal_old(now);
  finish_reload(now);
}

void Supervisor::signal_old(TimePoint now) {
  for (auto& w : workers_)
    if (w.role == Role::kOld && !w.signalled) send(w, settings_.signal_on_hup, now);
}

void Supervisor::send(Worker& w, int signo, TimePoint now) {
  out_.push_back(action::Signal{w.pid, signo});
  for (pid_t pid : w.descendants) send_to(pid, signo);
  w.signalled = true;
  w.last_signal = signo;
  if (settings_.drain_timeout.count() > 0 && !w.kill_at) w.kill_at = now + settings_.drain_timeout;
}

void Supervisor::ready_timed_out(TimePoint now) {
  probation_end_.reset();
  Worker* w = find(Role::kStarting);
  if (!w) return;
  std::string reason = "generation " + std::to_string(w->generation) + " was not ready within " +
                       duration_text(settings_.ready_timeout);
  log(reason + ", killing worker " + std::to_string(w->pid));
  w->role = Role::kFailed;
  w->signalled = w->killed = true;
  out_.push_back(action::Signal{w->pid, SIGKILL});
  start_failed(w->generation, reason, now);
}

void Supervisor::finish_reload(TimePoint now) {
  phase_ = Phase::kServing;
  notify(action::Notify::Kind::kReady);
  if (reload_queued_) {
    reload_queued_ = false;
    log("starting the restart that was asked for during the last one");
    begin_reload(now);
  }
}

void Supervisor::start_failed(unsigned long generation, const std::string& reason, TimePoint now) {
  if (last_reload_ && last_reload_->generation == generation)
    *last_reload_ = ReloadRecord{generation, ReloadOutcome::kFailed, reason, now};
  bool serving = find(Role::kCurrent) != nullptr;
  if (phase_ == Phase::kReloading && serving) {
    failed_generation_ = generation;
    failure_ = reason;
    Worker* current = find(Role::kCurrent);
    log("restart failed: " + reason + "; generation " + std::to_string(current->generation) +
        " (pid " + std::to_string(current->pid) + ") keeps serving" +
        (settings_.reload_retry ? ", retrying (--reload-retry=off makes a failed reload final)"
                                : ""));
    last_restart_ = now;  // the next automatic restart is one interval away, not now
    if (!settings_.reload_retry) {
      write_status();
      return finish_reload(now);
    }
    // Perl's way: keep starting new generations until one is up. The reload is over for
    // systemd (the serving generation is ready), once, at the first failure.
    retrying_ = true;
    if (++failures_ == 1) notify(action::Notify::Kind::kReady);
    schedule_respawn(now);
    write_status();
    return;
  }
  phase_ = Phase::kStarting;
  ++failures_;
  schedule_respawn(now);
}

// Perl retries at once after every --interval; a program that cannot start then forks for
// ever at that pace. Ours doubles the pause after each failed start in a row, up to
// --backoff-max, and starts over once a generation is up.
void Supervisor::schedule_respawn(TimePoint now) {
  Millis base = std::max(settings_.interval, settings_.min_respawn_spacing);
  Millis spacing = base;
  for (unsigned i = 1; i < failures_ && spacing < settings_.backoff_max; ++i) spacing *= 2;
  spacing = std::max(base, std::min(spacing, settings_.backoff_max));
  if (spacing > base)
    log(std::to_string(failures_) + " failed starts in a row, next attempt in " +
        duration_text(spacing));
  respawn_at_ = std::max(now, last_spawn_ + spacing);
  if (failures_ > 1) write_status();  // the back-off note
}

std::optional<TimePoint> Supervisor::auto_restart_due() const {
  if (!settings_.auto_restart || phase_ != Phase::kServing) return std::nullopt;
  // Perl: after one interval if no old generation is left, after two in any case.
  return last_restart_ + settings_.auto_restart_interval * (count(Role::kOld) ? 2 : 1);
}

void Supervisor::exit_if_done() {
  if (phase_ != Phase::kStopping || !workers_.empty() || spawning_) return;
  perl_log("exiting");
  out_.push_back(action::Exit{0});
}

// --- output ------------------------------------------------------------------------------

void Supervisor::write_status() {
  StatusSnapshot snapshot;
  for (const auto& w : workers_)
    if (w.role == Role::kCurrent || w.role == Role::kOld)
      snapshot.live.push_back({w.generation, w.pid});
  std::sort(
      snapshot.live.begin(), snapshot.live.end(),
      [](const GenerationPid& a, const GenerationPid& b) { return a.generation < b.generation; });
  // Named so that `--restart` sees a reload already under way and waits for its own.
  if (const Worker* w = find(Role::kStarting))
    snapshot.starting = GenerationPid{w->generation, w->pid};
  if (!failure_.empty()) {
    snapshot.failed_generation = failed_generation_;
    snapshot.failure = failure_;
    snapshot.retrying = retrying_;
  }
  if (settings_.ready_notify)
    snapshot.notes.push_back(
        limits_note(settings_.ready_timeout, settings_.drain_timeout, settings_.backoff_max));
  if (respawn_at_ && failures_ > 1) snapshot.notes.push_back(backoff_note(failures_));
  out_.push_back(action::WriteStatus{std::move(snapshot)});
}

void Supervisor::notify(action::Notify::Kind kind) {
  last_status_ = status_line();
  out_.push_back(action::Notify{kind, last_status_});
}

void Supervisor::send_to(pid_t pid, int signo) { out_.push_back(action::Signal{pid, signo}); }

void Supervisor::log(std::string text) { out_.push_back(action::Log{std::move(text)}); }
void Supervisor::perl_log(std::string text) {
  out_.push_back(action::Log{std::move(text), /*perl=*/true});
}

std::string Supervisor::status_line() const {
  StatusLineFacts facts;
  facts.phase = phase_;
  for (const auto& w : workers_) {
    if (w.role == Role::kCurrent) {
      facts.current = GenerationPid{w.generation, w.pid};
      facts.current_status = w.status;
    }
    if (w.role == Role::kStarting) facts.starting = GenerationPid{w.generation, w.pid};
  }
  if (spawning_) facts.spawning = generation_;
  facts.workers = workers_.size();
  facts.old_draining = count(Role::kOld);
  facts.failures = failures_;
  facts.failure = failure_;
  facts.retrying = retrying_;
  return starter::status_line(facts);
}

void Supervisor::describe(StatusDetail& out) const {
  auto ms = [](TimePoint t) {
    return std::chrono::duration_cast<Millis>(t.time_since_epoch()).count();
  };
  out.phase = phase_name(phase_);
  describe_upgrade(out);
  out.generations.clear();
  for (const auto& w : workers_) {
    const char* state = w.role == Role::kStarting                  ? "starting"
                        : w.role == Role::kCurrent && !w.signalled ? "serving"
                                                                   : "retiring";
    out.generations.push_back({w.generation, w.pid, state, ms(w.spawned), w.release.name});
  }
  std::sort(out.generations.begin(), out.generations.end(),
            [](const auto& a, const auto& b) { return a.generation < b.generation; });
  out.last_reload.reset();
  if (last_reload_)
    out.last_reload = StatusDetail::Reload{last_reload_->generation, last_reload_->outcome,
                                           ms(last_reload_->at), last_reload_->reason};
  out.backoff.reset();
  if (respawn_at_) out.backoff = StatusDetail::Backoff{failures_, ms(*respawn_at_)};
}

Supervisor::Worker* Supervisor::find(pid_t pid) {
  for (auto& w : workers_)
    if (w.pid == pid) return &w;
  return nullptr;
}

Supervisor::Worker* Supervisor::find_descendant(pid_t pid) {
  for (auto& w : workers_)
    if (std::find(w.descendants.begin(), w.descendants.end(), pid) != w.descendants.end())
      return &w;
  return nullptr;
}

Supervisor::Worker* Supervisor::find_generation(unsigned long generation) {
  for (auto& w : workers_)
    if (w.generation == generation) return &w;
  return nullptr;
}

Supervisor::Worker* Supervisor::find(Role role) {
  for (auto& w : workers_)
    if (w.role == role) return &w;
  return nullptr;
}

std::size_t Supervisor::count(Role role) const {
  return static_cast<std::size_t>(std::count_if(workers_.begin(), workers_.end(),
                                                [&](const Worker& w) { return w.role == role; }));
}

std::string Supervisor::pids(Role role, bool unsignalled_only) const {
  std::string out;
  for (const auto& w : workers_)
    if (w.role == role && (!unsignalled_only || !w.signalled))
      out += (out.empty() ? "" : ",") + std::to_string(w.pid);
  return out;
}

}  // namespace starter
