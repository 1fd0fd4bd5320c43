#include "server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <map>
#include <optional>
#include <set>

#include "daemon.h"
#include "descendants.h"
#include "envdir.h"
#include "error.h"
#include "fd_store.h"
#include "fd_store_plan.h"
#include "listeners.h"
#include "log.h"
#include "log_target.h"
#include "resolve_release.h"
#include "signal_names.h"
#include "signals.h"
#include "socket_activation.h"
#include "spawn.h"
#include "state_files.h"
#include "status_detail.h"
#include "supervisor.h"
#include "systemd_notify.h"
#include "upgrade_state.h"
#include "worker_launch.h"
#include "worker_notify_socket.h"

extern char** environ;

namespace starter {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

int poll_timeout(std::optional<TimePoint> deadline, TimePoint now) {
  if (!deadline) return -1;
  if (*deadline <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

/// Throws UsageError unless `dir` (--dir) is a directory we can enter: a worker could never
/// start otherwise, and would be retried for ever.
void check_dir(const std::string& dir) {
  if (dir.empty()) return;
  struct stat st {};
  int error = ::stat(dir.c_str(), &st) < 0      ? errno
              : !S_ISDIR(st.st_mode)            ? ENOTDIR
              : ::access(dir.c_str(), X_OK) < 0 ? errno
                                                : 0;
  if (error) throw UsageError("--dir: " + quote(dir) + ": " + errno_text(error));
}

/// How long the pre-flight of an upgrade may take: a new binary that hangs is refused.
constexpr Seconds kPreflightTimeout{10};

class Server {
 public:
  /// `restored`: the state an earlier image of this process handed over (self_exec.h).
  Server(const Config& config, std::optional<UpgradeState> restored);
  int run();

 private:
  /// One turn of the loop: handle what was received, then wait for the next event or deadline.
  void turn();
  /// An exception escaped the loop: the workers are stopped, never orphaned, and we exit 1.
  void on_fatal(const std::string& what);
  void execute(std::vector<Action> actions);
  void carry_out(const action::Spawn& a);
  void carry_out(const action::Signal& a);
  void carry_out(const action::WriteStatus& a);
  void carry_out(const action::Notify& a);
  void carry_out(const action::Log& a) { a.perl ? log_raw(a.text) : log_line(a.text); }
  void carry_out(const action::Exit& a) { exit_code_ = a.code; }
  void carry_out(const action::Preflight&);
  void carry_out(const action::ExecUpgrade&) { exec_due_ = true; }
  /// Takes over what `state` names instead of starting afresh; on failure goes back to the
  /// image before us (fall_back), which carries on.
  void take_over(const UpgradeState& state);
  /// Everything an upgrade in place hands on.
  UpgradeState save() const;
  /// execs the new image; returns only when that failed.
  void exec_upgrade();
  void check_preflight_timeout();
  void on_signals();
  void on_child_exits(const std::vector<ChildExit>& exits);
  void on_notifications(unsigned long generation);
  bool from_generation(pid_t sender, unsigned long generation) const;
  /// Drops the notify sockets of generations that have no process left.
  void prune_notify_sockets();
  void restart_logger_if_due();
  /// Hands the listeners we bound to systemd's fd store, when the unit has one (fd_store.h).
  void store_listeners();
  std::map<std::string, std::string> envdir_now();
  /// --envdir's part in our own settings (envdir.h), read at each turn of the loop as Perl
  /// reads it at each turn of its own: a change is handed to the supervisor before anything
  /// else of the turn.
  void reread_envdir();
  /// WATCHDOG=1 from the loop itself, so a wedged loop is what systemd notices.
  void ping_watchdog();
  void feed(const Event& event) { pending_.push_back(event); }
  /// Rewrites the detail file for --status when what it says has changed.
  void write_detail();

  const Config& config_;
  SignalMask mask_;
  EnvMap inherited_env_ = inherited_environment(environ);  ///< ours at start, for every generation
  /// Every name the envdir has set so far: one it stops setting is unset (worker_launch.h).
  std::set<std::string> envdir_names_;
  /// --kill-old-delay or KILL_OLD_DELAY was given: without it, the delay follows auto-restart.
  bool kill_old_delay_given_ = false;
  std::vector<std::string> envdir_problems_;  ///< the last ones logged, said again once changed
  std::optional<TimePoint> envdir_reread_at_;
  std::optional<StatusFile> status_file_;
  std::optional<LogTarget> log_;
  Listeners listeners_;
  std::optional<PidFile> pid_file_;
  std::optional<SignalFd> signals_;
  Supervisor supervisor_;
  SystemdNotifier notifier_;
  std::optional<Millis> watchdog_period_ = SystemdNotifier::watchdog_period();
  TimePoint next_watchdog_{};
  std::optional<TimePoint> logger_restart_at_;
  TimePoint logger_started_{};
  std::vector<Event> pending_;

  /// --ready=notify: each generation's own NOTIFY_SOCKET, until its last process is reaped.
  struct GenerationNotify {
    NotifySocket socket;
    bool warned_foreign = false;
    bool warned_malformed = false;
  };
  std::map<unsigned long, GenerationNotify> notify_;
  std::optional<int> exit_code_;
  bool fatal_ = false;
  std::optional<DetailFile> detail_file_;  ///< PIDFILE.detail, with --pid-file
  bool detail_inherited_ = false;   ///< an earlier image of this process wrote the detail file
  std::optional<SelfImage> image_;  ///< where SIGUSR2 looks for the new binary, and the way back
  std::string image_error_;         ///< why there is no image_
  std::optional<Preflight> preflight_;
  TimePoint preflight_deadline_{};
  bool exec_due_ = false;  ///< action::ExecUpgrade: once the events of this turn are handled
  std::optional<UpgradeState> restored_;  ///< what this image took over, until run() begins
  StatusDetail detail_;
  std::string detail_written_;
};

// Members are initialised in the order the contract needs: checks that leave nothing
// behind first, then the sockets, the log and the pid file. The sockets come first of all our
// descriptors, so that a pinned "=FD" can only take the place of one we inherited, never of
// the log or the pid file's lock.
// After an upgrade in place, everything was set up by an earlier image: take_over() adopts it.
// The workers must get back the mask the first image started with, not the blocked one this
// image inherited.
Server::Server(const Config& config, std::optional<UpgradeState> restored)
    : config_(config),
      mask_((cloexec_inherited_fds(), restored ? SignalMask::block_handled(restored->original_mask)
                                               : SignalMask::block_handled())),
      supervisor_(config.supervisor) {
  for (const auto& [name, value] : config.exported_env)
    kill_old_delay_given_ |= name == "KILL_OLD_DELAY";
  if (restored) {
    take_over(*restored);
    restored_ = std::move(restored);
    return;
  }
  if (!config.envdir.empty()) {
    auto values = read_envdir(config.envdir);
    for (const auto& [name, value] : values) envdir_names_.insert(name);
    // A value that is not a number is refused at start, as the same variable in our
    // environment is; at run time it is only said (reread_envdir).
    std::vector<std::string> problems;
    (void)settings_with_envdir(config.supervisor, kill_old_delay_given_, config.supervisor,
                               values, problems);
    if (!problems.empty()) throw UsageError(problems.front());
  }
  check_dir(config.dir);
  std::string path = env_value(base_environment(config, inherited_env_), "PATH");
  check_executable(config.command.front(), path, config.dir);
  if (!config.pid_file.empty()) PidFile::check_not_running(config.pid_file);
  if (!config.status_file.empty()) status_file_.emplace(config.status_file);

  SystemdFds passed = take_systemd_fds();
  TakenBack back = take_back_stored(std::move(passed.stored), config.listeners, passed.sockets);
  for (auto& socket : back.kept) passed.sockets.push_back(std::move(socket));
  listeners_ = Listeners::open(config.listeners, config.backlog, std::move(passed.sockets),
                               config.path_mode);
  for (const auto& note : listeners_.take_notes()) {
    // Perl prints this one bare (action::Log::perl says why); our other notes are ours.
    bool perl = note.rfind("socket is duplicated to file descriptor ", 0) == 0;
    perl ? log_raw(note) : log_line(note);
  }
  if (config.listen_fds) listeners_.place_from_3();
  if (!config.log_file.empty()) {
    log_ = LogTarget::open(config.log_file, base_environment(config, inherited_env_), mask_);
    logger_started_ = Clock::now();
  }
  if (!config.pid_file.empty() && !config.daemonize) pid_file_ = PidFile::create(config.pid_file);
  signals_.emplace(mask_.handled());
  // After every check, so that bad input is exactly one line (Perl prints this first).
  log_raw("start_server (pid:" + std::to_string(::getpid()) + ") starting now...");
  for (const auto& line : back.released) log_line(line);
  if (!back.used.empty()) log_line("took back from systemd's fd store: " + join(back.used));

  if (log_) {
    log_->redirect_stdout_stderr();
    log_to(log_->own_fd());
  }
  if (config.daemonize) {
    bool keep_stdin = false;
    for (int fd : listeners_.fds()) keep_stdin |= fd == STDIN_FILENO;
    daemonize(keep_stdin);
    // Written only now, as Perl does: callers poll for it, and it must name the daemon.
    if (!config.pid_file.empty()) pid_file_ = PidFile::create(config.pid_file);
  }
  become_subreaper();  // after --daemonize: fork(2) does not pass it on
  try {
    image_ = SelfImage::open();
  } catch (const SysError& e) {
    image_error_ = e.what();  // said when an upgrade is asked for
  }
  store_listeners();  // from the pid systemd knows as the main process, after --daemonize
}

void Server::take_over(const UpgradeState& s) {
  try {
    // Test only: a new image that refuses the state, or crashes (the image that comes back
    // never does either).
    const char* refuse = ::getenv(kTestRefuseStateEnv);
    if (s.refused.empty() && refuse && std::string_view(refuse) == "crash") ::raise(SIGSEGV);
    if (s.refused.empty() && refuse && std::string_view(refuse) == "1")
      throw std::runtime_error(std::string(kTestRefuseStateEnv) + "=1 is set");
    image_.emplace(s.exe_path, UniqueFd(s.exe_fd));
    listeners_ = Listeners::adopt(config_.listeners, config_.backlog, s.listeners);
    if (!config_.log_file.empty()) {
      log_ = LogTarget::adopt(config_.log_file, base_environment(config_, inherited_env_),
                              {s.log_own_fd, s.log_reader_fd, s.logger_pid});
      log_to(log_->own_fd());
      logger_started_ = Clock::now();
    }
    if (!s.pid_file.empty()) pid_file_ = PidFile::adopt(s.pid_file, UniqueFd(s.pid_file_fd));
    if (!s.status_file.empty()) status_file_.emplace(s.status_file, s.status_written);
    detail_inherited_ = s.detail_written;
    envdir_names_.insert(s.envdir_names.begin(), s.envdir_names.end());
    for (const auto& n : s.notify)
      notify_.emplace(n.generation, GenerationNotify{NotifySocket(UniqueFd(n.fd), n.path)});
    supervisor_.restore(s.supervisor);
    signals_.emplace(mask_.handled());
    become_subreaper();
    store_listeners();  // an image from before the fd store kept none there
  } catch (const std::exception& e) {
    // Before any destructor runs: the pid file, the sockets and the workers go back as they
    // were, to the image before us, which says why. When that image is us (it refused our
    // own state back), there is nowhere to go: main() says why and we exit.
    for (int fd : s.fds()) (void)::fcntl(fd, F_SETFD, 0);
    fall_back(e.what());
    throw;
  }
}

UpgradeState Server::save() const {
  UpgradeState s;
  s.exe_path = image_->path();
  s.exe_fd = image_->fd();
  s.original_mask = mask_.original_signals();
  s.started_ms = detail_.started_ms;
  s.listeners = listeners_.saved();
  if (pid_file_) {
    s.pid_file = pid_file_->path();
    s.pid_file_fd = pid_file_->fd();
  }
  if (status_file_) {
    s.status_file = status_file_->path();
    s.status_written = status_file_->written();
  }
  s.detail_written = detail_file_ && detail_file_->written();
  if (log_) {
    LogTarget::Saved l = log_->saved();
    s.log_own_fd = l.own_fd;
    s.log_reader_fd = l.reader_fd;
    s.logger_pid = l.logger_pid;
  }
  s.envdir_names.assign(envdir_names_.begin(), envdir_names_.end());
  for (const auto& [generation, n] : notify_)
    s.notify.push_back({generation, n.socket.fd(), n.socket.address()});
  s.supervisor = supervisor_.snapshot();
  return s;
}

void Server::carry_out(const action::Preflight&) {
  std::string refusal = image_ ? std::string() : "cannot upgrade in place: " + image_error_;
  if (image_) {
    try {
      auto started = Preflight::start(image_->path(), format_upgrade_state(save()), mask_);
      if (auto* p = std::get_if<Preflight>(&started)) {
        preflight_.emplace(std::move(*p));
        preflight_deadline_ = Clock::now() + kPreflightTimeout;
        return;
      }
      refusal = std::get<std::string>(started);
    } catch (const std::exception& e) {  // fork, a pipe or the memfd failed
      refusal = e.what();
    }
  }
  feed(event::PreflightDone{refusal});
}

void Server::check_preflight_timeout() {
  if (!preflight_ || Clock::now() < preflight_deadline_) return;
  preflight_.reset();  // killed and reaped
  feed(event::PreflightDone{"the new binary " + quote(image_->path()) + " did not answer " +
                            kUpgradeCheckOption + " within " +
                            std::to_string(kPreflightTimeout.count()) + "s"});
}

void Server::exec_upgrade() {
  UpgradeState state = save();
  write_detail();  // "in-progress", for whoever reads it while the exec runs
  std::string failure =
      exec_image(image_->path(), image_->fd(), format_upgrade_state(state), state.fds());
  feed(event::UpgradeEnded{false, "cannot run the new binary: " + failure});
}

// Each listener we bound goes to systemd's fd store as soon as it exists, so that a crash of
// ours from here on refuses no connection.
void Server::store_listeners() {
  std::string problem;
  unsigned capacity = fd_store_capacity(problem);
  if (!problem.empty()) log_line(problem);
  if (capacity == 0) return;
  std::size_t used = listeners_.in_store_count();
  std::vector<std::string> stored;
  listeners_.store_own([&](const Listener& l) {
    std::string what = quote(l.spec().describe());
    auto name = fd_store_name(l.spec().key());
    if (!name) {
      log_line("socket " + what +
               " is not kept in systemd's fd store: its name would exceed 255 characters");
      return false;
    }
    if (used >= capacity) {
      log_line("socket " + what + " is not kept in systemd's fd store: FileDescriptorStoreMax=" +
               std::to_string(capacity) + " is full");
      return false;
    }
    try {
      store_fd(*name, l.fd());
    } catch (const SysError& e) {
      log_line(std::string("socket ") + what + " is not kept in systemd's fd store: " + e.what());
      return false;
    }
    ++used;
    stored.push_back(what);
    return true;
  });
  if (!stored.empty()) log_line("systemd's fd store keeps " + join(stored));
}

/// The settings in force, --envdir's included (they may change at run time).
StatusDetail::Limits limits_of(const SupervisorSettings& s) {
  StatusDetail::Limits l;
  l.interval_ms = s.interval.count();
  l.ready = s.ready_notify ? "notify" : "interval";
  l.ready_timeout_ms = s.ready_timeout.count();
  l.drain_timeout_ms = s.drain_timeout.count();
  l.backoff_max_ms = s.backoff_max.count();
  l.kill_old_delay_ms = s.kill_old_delay.count();
  l.auto_restart_interval_ms = s.auto_restart ? s.auto_restart_interval.count() : 0;
  l.respawn_release = s.respawn_serving_release ? "serving" : "latest";
  return l;
}

void Server::write_detail() {
  if (!detail_file_) return;
  supervisor_.describe(detail_);
  detail_.limits = limits_of(supervisor_.settings());
  std::string text = format_detail(detail_);
  if (text == detail_written_) return;
  try {
    detail_file_->write(text);
    detail_written_ = std::move(text);
  } catch (const SysError& e) {
    log_line(std::string("cannot write the status detail file: ") + e.what());
    detail_written_ = std::move(text);  // said once; tried again at the next change
  }
}

int Server::run() {
  if (!config_.pid_file.empty()) {
    // Here, after --daemonize: the pid in it is the daemon's.
    detail_file_.emplace(detail_path(config_.pid_file), detail_inherited_);
    detail_.pid = ::getpid();
    detail_.version = STARTER_VERSION;
    detail_.started_ms =
        restored_ ? restored_->started_ms
                  : std::chrono::duration_cast<Millis>(Clock::now().time_since_epoch()).count();
    for (const auto& entry : listeners_.port_entries())
      detail_.listeners.push_back({entry.key, entry.fd});
  }
  if (image_) detail_.image = image_->path();
  ping_watchdog();
  if (restored_) {
    // Supervising from here on: a crash now is ours, not the upgrade's.
    disarm_fallback();
    // The way back of the next upgrade is this image, not the one we replaced.
    if (restored_->refused.empty()) {
      try {
        image_ = SelfImage::open(image_->path());
      } catch (const SysError& e) {
        log_line(std::string("keeping the image before this upgrade as the way back: ") + e.what());
      }
    }
    feed(event::UpgradeEnded{restored_->refused.empty(), restored_->refused});
    restored_.reset();
  } else {
    feed(event::Start{});
  }
  while (!exit_code_) {
    try {
      turn();
    } catch (const std::exception& e) {
      on_fatal(e.what());
    }
  }
  return fatal_ ? 1 : *exit_code_;
}

void Server::turn() {
  reread_envdir();
  // Whatever was received is handled before any deadline is judged (Supervisor::handle): a
  // READY=1 sent in time counts even when we were not scheduled until after the timeout.
  for (;;) {
    while (!pending_.empty() && !exit_code_) {
      std::vector<Event> batch = std::move(pending_);
      pending_.clear();
      std::vector<Action> actions = supervisor_.handle(batch, Clock::now());
      // Before the status file changes: whoever sees it change (--restart) and then asks
      // --status finds the same state there.
      write_detail();
      execute(std::move(actions));
    }
    // The exec waits until every event is handled (a Spawn's outcome included), so the state
    // it hands on is whole; it returns only when it failed, with an event saying why.
    if (exit_code_ || !std::exchange(exec_due_, false)) break;
    exec_upgrade();
  }
  if (exit_code_) return;
  prune_notify_sockets();

  // The poll wakes for the supervisor's next deadline, the watchdog ping and a log command's
  // restart, whichever comes first.
  std::optional<TimePoint> deadline = supervisor_.next_deadline();
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!deadline || *t < *deadline)) deadline = t;
  };
  if (watchdog_period_) consider(next_watchdog_);
  consider(envdir_reread_at_);
  consider(logger_restart_at_);
  if (preflight_) consider(preflight_deadline_);
  std::vector<pollfd> fds{{signals_->fd(), POLLIN, 0}};
  std::vector<unsigned long> generations{0};
  for (const auto& [generation, n] : notify_) {
    fds.push_back({n.socket.fd(), POLLIN, 0});
    generations.push_back(generation);
  }
  int rc = ::poll(fds.data(), fds.size(), poll_timeout(deadline, Clock::now()));
  if (rc < 0 && errno != EINTR) throw SysError("poll", "");
  for (std::size_t i = 1; rc > 0 && i < fds.size(); ++i)
    if (fds[i].revents & POLLIN) on_notifications(generations[i]);
  if (rc > 0 && (fds[0].revents & POLLIN)) on_signals();
  restart_logger_if_due();
  check_preflight_timeout();
  feed(event::Tick{});
  ping_watchdog();
}

void Server::on_fatal(const std::string& what) {
  if (fatal_) {
    // Failing again while stopping: no more waiting, nothing left behind.
    log_line("fatal error while stopping: " + what + "; killing every worker");
    for (const auto& w : supervisor_.workers()) {
      (void)::kill(w.pid, SIGKILL);  // ESRCH: it is gone already
      for (pid_t pid : w.descendants) (void)::kill(pid, SIGKILL);
    }
    exit_code_ = 1;
    return;
  }
  fatal_ = true;
  log_line("fatal error: " + what + "; stopping every worker before exiting");
  pending_.clear();
  feed(event::Shutdown{SIGTERM});
}

void Server::ping_watchdog() {
  if (!watchdog_period_) return;
  TimePoint now = Clock::now();
  if (now < next_watchdog_) return;
  notifier_.watchdog();
  next_watchdog_ = now + *watchdog_period_;
}

void Server::on_signals() {
  bool child_exited = false;
  std::vector<int> others;
  for (const auto& info : signals_->drain()) {
    if (info.ssi_signo == SIGCHLD)
      child_exited = true;
    else
      others.push_back(static_cast<int>(info.ssi_signo));
  }
  // Reap first, so the supervisor knows who is alive before it acts on HUP or TERM.
  if (child_exited) on_child_exits(reap_children());
  for (int signo : others) {
    switch (signo) {
      case SIGHUP:
        feed(event::Reload{});
        break;
      case SIGTERM:
      case SIGINT:
      case SIGQUIT:
        feed(event::Shutdown{signo});
        break;
      case SIGUSR2:
        feed(event::UpgradeRequested{});
        break;
      case SIGUSR1:
        // Perl dies on it and orphans its workers; ignoring it is the safe choice.
        log_line(std::string("received ") + signal_name(signo) + ", ignored");
        break;
      default:
        break;
    }
  }
}

void Server::on_child_exits(const std::vector<ChildExit>& exits) {
  std::vector<Event> exited;
  std::optional<unsigned long> exited_generation;
  for (const auto& exit : exits) {
    if (preflight_ && exit.pid == preflight_->pid()) {
      feed(event::PreflightDone{preflight_->verdict(exit.status)});
      preflight_.reset();
      continue;
    }
    if (log_ && exit.pid == log_->logger_pid()) {
      // The pipe stays open (we hold its read end): start the command again on it, at most
      // once a second, so a command that cannot start does not make us fork in a loop.
      logger_restart_at_ = std::max(Clock::now(), logger_started_ + Seconds(1));
      log_line("the --log-file command exited: " + describe_wait_status(exit.status) +
               "; starting it again");
      continue;
    }
    for (const auto& w : supervisor_.workers())
      if (w.pid == exit.pid) exited_generation = w.generation;
    exited.push_back(event::ChildExited{exit.pid, exit.status});
  }
  if (exited.empty()) return;
  // What the exited processes started is ours now: each new child is told to the supervisor
  // before the exits, so a worker that daemonized goes on as its child. Its generation is
  // what it inherited in its environment (or that of the worker that just exited).
  std::set<pid_t> known;
  for (const auto& w : supervisor_.workers()) {
    known.insert(w.pid);
    known.insert(w.descendants.begin(), w.descendants.end());
  }
  if (log_) known.insert(log_->logger_pid());
  for (pid_t child : own_children()) {
    if (known.count(child)) continue;
    auto generation = generation_of(child);
    if (!generation) generation = exited_generation;
    if (generation) feed(event::Adopted{child, *generation});
  }
  for (auto& e : exited) feed(std::move(e));
}

void Server::restart_logger_if_due() {
  if (!logger_restart_at_ || Clock::now() < *logger_restart_at_) return;
  logger_restart_at_.reset();
  logger_started_ = Clock::now();
  try {
    log_->restart_logger(mask_);
  } catch (const SysError& e) {
    log_line(std::string("cannot start the --log-file command again: ") + e.what());
    logger_restart_at_ = logger_started_ + Seconds(1);
  }
}

bool Server::from_generation(pid_t sender, unsigned long generation) const {
  if (sender == 0) return false;
  for (const auto& w : supervisor_.workers()) {
    if (w.generation != generation) continue;
    if (is_same_or_descendant(sender, w.pid)) return true;
    for (pid_t pid : w.descendants)
      if (is_same_or_descendant(sender, pid)) return true;
  }
  return false;
}

void Server::prune_notify_sockets() {
  std::erase_if(notify_, [&](const auto& entry) {
    for (const auto& w : supervisor_.workers())
      if (w.generation == entry.first) return false;
    return true;
  });
}

// Only the generation's own processes may speak for it: a READY=1 from anyone else could
// retire a working generation for one that never came up.
void Server::on_notifications(unsigned long generation) {
  GenerationNotify& n = notify_.at(generation);
  std::vector<NotifyMessage> messages;
  try {
    messages = n.socket.receive();
  } catch (const SysError& e) {
    log_line(e.what());
    return;
  }
  std::string gen = std::to_string(generation);
  for (const auto& m : messages) {
    if (!from_generation(m.sender, generation)) {
      if (!std::exchange(n.warned_foreign, true))
        log_line("ignoring notifications to generation " + gen + " from pid " +
                 std::to_string(m.sender) + ", which is not one of its processes");
      continue;
    }
    if (m.malformed && !std::exchange(n.warned_malformed, true))
      log_line("generation " + gen +
               " sent a malformed notification (oversized, binary, or a line without '='); "
               "using its well-formed lines only");
    if (auto status = m.get("STATUS")) feed(event::WorkerStatus{generation, *status});
    if (m.get("READY") == "1") feed(event::Ready{generation});
  }
}

void Server::execute(std::vector<Action> actions) {
  for (const auto& a : actions) std::visit([&](const auto& act) { carry_out(act); }, a);
}

std::map<std::string, std::string> Server::envdir_now() {
  if (config_.envdir.empty()) return {};
  std::vector<std::string> notes;
  auto values = read_envdir(config_.envdir, &notes);
  for (const auto& note : notes) log_line(note);
  return values;
}

void Server::reread_envdir() {
  if (config_.envdir.empty()) return;
  std::vector<std::string> problems;
  auto values = read_envdir(config_.envdir, &problems);
  const SupervisorSettings& now = supervisor_.settings();
  SupervisorSettings settings =
      settings_with_envdir(config_.supervisor, kill_old_delay_given_, now, values, problems);
  // Once per problem, not at every turn: a bad value stays until someone mends it.
  for (const auto& problem : problems)
    if (std::find(envdir_problems_.begin(), envdir_problems_.end(), problem) ==
        envdir_problems_.end())
      log_line(problem + "; the setting stays as it was");
  envdir_problems_ = std::move(problems);
  if (!(settings == now))
    pending_.insert(pending_.begin(),
                    event::SettingsChanged{settings, "--envdir " + quote(config_.envdir)});
  // Perl wakes once a second while auto-restart is on, reading the envdir each time, so that a
  // new AUTO_RESTART_INTERVAL or ENABLE_AUTO_RESTART=0 counts within a second; so do we, then
  // only. Without auto-restart nothing in the envdir matters before the next event.
  envdir_reread_at_.reset();
  if (settings.auto_restart) envdir_reread_at_ = Clock::now() + Seconds(1);
}

void Server::carry_out(const action::Spawn& a) {
  // What a worker of an earlier generation did to the shared sockets is mended before the
  // next one gets them.
  for (const auto& problem : listeners_.heal()) log_line(problem);
  LaunchInputs in;
  in.generation = a.generation;
  in.inherited = inherited_env_;
  in.envdir = envdir_now();
  for (const auto& [name, value] : in.envdir) envdir_names_.insert(name);
  in.envdir_names = envdir_names_;
  in.listeners = listeners_.exported();
  in.release = a.release;  // a respawn runs the kept release
  std::optional<NotifySocket> notify_socket;
  try {
    if (config_.supervisor.ready_notify) {
      notify_socket.emplace(a.generation);
      in.notify_socket = notify_socket->address();
    }
    SpawnRequest launch = build_worker_launch(config_, in);
    // A deploy resolves the symlinks now, for the record, along the worker's own PATH.
    std::string path = env_value(launch.env, "PATH");
    Release release =
        a.release ? *a.release : resolve_release(config_.command.front(), path, config_.dir);
    SpawnResult result = spawn_process(launch, mask_);
    if (notify_socket) notify_.emplace(a.generation, GenerationNotify{std::move(*notify_socket)});
    std::string exec_error =
        result.error ? result.failed_step + ": " + errno_text(result.error) : std::string();
    feed(event::Spawned{a.generation, result.pid, exec_error, release});
  } catch (const std::exception& e) {  // fork or the notify socket failed, or memory ran out
    feed(event::SpawnFailed{a.generation, e.what()});
  }
}

void Server::carry_out(const action::Signal& a) {
  // ESRCH: it exited and waits to be reaped; the SIGCHLD is on its way.
  if (::kill(a.pid, a.signo) < 0 && errno != ESRCH)
    log_line("kill(" + std::to_string(a.pid) + ", " + signal_name(a.signo) +
             "): " + errno_text(errno));
}

void Server::carry_out(const action::WriteStatus& a) {
  if (!status_file_) return;
  try {
    if (std::string degraded = status_file_->write(a.status); !degraded.empty())
      log_line("cannot replace the status file: " + degraded);
  } catch (const SysError& e) {
    log_line(std::string("the status file is stale, it could be neither written nor removed: ") +
             e.what());
  }
}

void Server::carry_out(const action::Notify& a) {
  switch (a.kind) {
    case action::Notify::Kind::kReady:
      return notifier_.ready(a.status);
    case action::Notify::Kind::kReloading:
      return notifier_.reloading(a.status);
    case action::Notify::Kind::kStopping:
      return notifier_.stopping(a.status);
    case action::Notify::Kind::kStatus:
      return notifier_.status(a.status);
  }
}

}  // namespace

int run_server(const Config& config, std::optional<Handoff> handoff) {
  std::optional<UpgradeState> restored;
  if (handoff) {
    auto parsed = parse_upgrade_state(handoff->state);
    if (auto* reason = std::get_if<std::string>(&parsed)) {
      fall_back("the upgrade state: " + *reason);  // nothing was touched yet
      throw UsageError("the upgrade state: " + *reason);
    }
    restored = std::move(std::get<UpgradeState>(parsed));
    (void)handoff->exe.release();  // named in the state too: take_over owns it
  }
  Server server(config, std::move(restored));
  return server.run();
}

}  // namespace starter
