#include "server.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

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

class Server {
 public:
  explicit Server(const Config& config);
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
  void carry_out(const action::Log& a) { log_line(a.text); }
  void carry_out(const action::Exit& a) { exit_code_ = a.code; }
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
  StatusDetail detail_;
  std::string detail_written_;
};

// Members are initialised in the order the contract needs: checks that leave nothing
// behind first, then the sockets, the log and the pid file. The sockets come first of all our
// descriptors, so that a pinned "=FD" can only take the place of one we inherited, never of
// the log or the pid file's lock.
Server::Server(const Config& config)
    : config_(config),
      mask_((cloexec_inherited_fds(), SignalMask::block_handled())),
      supervisor_(config.supervisor) {
  if (!config.envdir.empty())
    for (const auto& [name, value] : read_envdir(config.envdir)) envdir_names_.insert(name);
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
  for (const auto& note : listeners_.take_notes()) log_line(note);
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
  store_listeners();   // from the pid systemd knows as the main process, after --daemonize
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

StatusDetail::Limits limits_of(const Config& c) {
  StatusDetail::Limits l;
  const SupervisorSettings& s = c.supervisor;
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
    detail_file_.emplace(detail_path(config_.pid_file));
    detail_.pid = ::getpid();
    detail_.version = STARTER_VERSION;
    detail_.started_ms =
        std::chrono::duration_cast<Millis>(Clock::now().time_since_epoch()).count();
    for (const auto& entry : listeners_.port_entries())
      detail_.listeners.push_back({entry.key, entry.fd});
    detail_.limits = limits_of(config_);
  }
  ping_watchdog();
  feed(event::Start{});
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
  // Whatever was received is handled before any deadline is judged (Supervisor::handle): a
  // READY=1 sent in time counts even when we were not scheduled until after the timeout.
  while (!pending_.empty() && !exit_code_) {
    std::vector<Event> batch = std::move(pending_);
    pending_.clear();
    std::vector<Action> actions = supervisor_.handle(batch, Clock::now());
    // Before the status file changes: whoever sees it change (--restart) and then asks
    // --status finds the same state there.
    write_detail();
    execute(std::move(actions));
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
  consider(logger_restart_at_);
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
      case SIGUSR1:
      case SIGUSR2:
        // Perl dies on these and orphans its workers; ignoring them is the safe choice.
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

int run_server(const Config& config) {
  Server server(config);
  return server.run();
}

}  // namespace starter
