#include "option_table.h"

#include <chrono>
#include <sstream>

#include "config.h"
#include "signal_names.h"

namespace starter {

namespace {

std::string whole_seconds(Millis m) {
  return std::to_string(std::chrono::duration_cast<Seconds>(m).count());
}

std::string octal(unsigned mode) {
  std::ostringstream out;
  out << '0' << std::oct << mode;
  return out.str();
}

using Kind = OptionDoc::Kind;

}  // namespace

std::string plain_text(const std::string& text) {
  std::string out;
  for (char c : text)
    if (c != '`' && c != '*') out += c;
  return out;
}

// The `man` texts say what --help has no room for: how an option combines with the others,
// what a bad value or a failure does, and what it means for a worker. Keep `help` one
// sentence: Boost wraps it in --help's description column.
std::vector<OptionDoc> option_table() {
  const Config defaults;
  const SupervisorSettings& s = defaults.supervisor;
  const std::string listening = "Listening sockets";
  const std::string generations = "Starting and retiring generations";
  const std::string files = "Files and logs";
  const std::string worker = "The worker";
  const std::string control = "Control modes";
  const std::string info = "Information";
  // clang-format off
  return {
    {"port", Kind::kList, "SPEC", listening,
     "TCP port to listen on: PORT, HOST:PORT or [V6ADDR]:PORT; a 'u' before PORT makes it a "
     "UDP socket; '=FD' after it places the socket at file descriptor FD in the worker. "
     "Repeatable.", "",
     "`8080` (or `0.0.0.0:8080`) binds every IPv4 address, and IPv4 only, as Perl's "
     "start_server does; `127.0.0.1:8080` or `localhost:8080` one address (a host name is "
     "resolved once, to its first IPv4 address); `[::1]:8080` or `[::]:8080` IPv6 only "
     "(`IPV6_V6ONLY`). `u8080` or `127.0.0.1:u8080` makes a UDP socket, bound and not "
     "listening. Port 0 lets the kernel choose (the key stays `0`). Stream sockets get "
     "`SO_REUSEADDR` and `--backlog`.\n\n"
     "The value as written is the socket's key in `SERVER_STARTER_PORT` (see ENVIRONMENT), in "
     "command-line order, before every `--path`. `=`*FD* places the socket at that descriptor "
     "in every worker: `=0` works, `=1` and `=2` are refused, and one *FD* given twice is a "
     "usage error. A socket systemd passes (socket activation, or the fd store) with the same "
     "address is used instead of binding one (see SYSTEMD).\n\n"
     "A value that does not parse is a usage error; an address that cannot be bound (in use, "
     "a privileged port) is a setup error naming it. Either way start_server exits 1 before "
     "anything is started, and leaves nothing behind."},
    {"path", Kind::kList, "PATH", listening,
     "path of a unix stream socket to listen on. Repeatable.", "",
     "The socket file is created with the permissions of `--path-mode` and removed when "
     "start_server exits, unless it went to systemd's fd store (see SYSTEMD). The path as "
     "written is its key in `SERVER_STARTER_PORT`, after every `--port`.\n\n"
     "A stale socket file at the path (one nobody listens on) is replaced, with a log line. A "
     "live socket, a regular file or anything else there is a setup error (exit status 1), "
     "where Perl's start_server deletes a regular file. A path holding `;` or `=` cannot be "
     "written in `SERVER_STARTER_PORT` and is a usage error."},
    {"path-mode", Kind::kValue, "MODE", listening,
     "permissions of the --path socket files, in octal, e.g. 0660",
     octal(defaults.path_mode) + ", as Perl",
     "Set through the umask as each socket is bound, so a socket file is never reachable with "
     "wider permissions, even for a moment. An octal number from 0 to 0777; anything else is "
     "a usage error."},
    {"backlog", Kind::kValue, "N", listening, "the listen(2) backlog", "SOMAXCONN",
     "For every stream socket start_server binds itself (a socket systemd passes keeps its "
     "own). 0 means the default, as in Perl; the kernel caps the value at "
     "`net.core.somaxconn`. Anything but a whole number of at least 0 is a usage error."},
    {"listen-fds", Kind::kFlag, "", listening,
     "also hand the sockets to workers the way systemd does (LISTEN_FDS, LISTEN_FDNAMES, "
     "LISTEN_PID; the sockets at fds 3, 4, ... in order), for servers that speak only that "
     "protocol", "",
     "`LISTEN_FDNAMES` holds the keys with `:` made `_` (or systemd's names, for sockets "
     "systemd passed). `LISTEN_PID` is the worker's own pid, so the server must be the "
     "program start_server runs, or be `exec`ed by it (gunicorn, for one, checks). "
     "`SERVER_STARTER_PORT` is set as well. Without this option workers never see a "
     "`LISTEN_*` variable, not even one start_server itself was given."},

    {"interval", Kind::kValue, "SECONDS", generations,
     "seconds a new worker must stay alive to count as started, and between start attempts",
     whole_seconds(s.interval),
     "With `--ready=interval` this is Perl's probation: a new generation still running after "
     "*SECONDS* is up, and only then is the old one signalled. With `--ready=notify` it is only "
     "the pause before a failed start is retried.\n\n"
     "A worker that exits earlier failed to start and is retried after `--interval`, the pause "
     "doubling with each failure in a row up to `--backoff-max`; automatic starts are at least "
     "a second apart even with `--interval=0`, so a worker that dies at once cannot make "
     "start_server fork in a loop."},
    {"ready", Kind::kValue, "MODE", generations,
     "what makes a new generation count as started: 'interval' (it stayed alive for "
     "--interval, as Perl's start_server) or 'notify' (it sent READY=1 to the NOTIFY_SOCKET "
     "it is given, as under systemd; sd_notify() from any library)",
     s.ready_notify ? "notify" : "interval",
     "With `notify`, each generation gets its own `NOTIFY_SOCKET`, an abstract unix socket of "
     "start_server's, and is up when one of its processes sends `READY=1` there. Datagrams "
     "from processes outside that generation are dropped (and logged once); the worker's "
     "`STATUS=` shows in start_server's own status line. A generation that exits first, or "
     "is not ready within `--ready-timeout`, has failed (see `--reload-retry`). Any other "
     "value is a usage error."},
    {"ready-timeout", Kind::kValue, "SECONDS", generations,
     "with --ready=notify, a generation not ready by then is killed and counts as failed",
     whole_seconds(s.ready_timeout),
     "The serving generation goes on serving; `--restart` exits 2. At least 1. Ignored "
     "without `--ready=notify`."},
    {"drain-timeout", Kind::kValue, "SECONDS", generations,
     "a worker still running this long after it was told to stop gets SIGKILL; 0 never",
     whole_seconds(s.drain_timeout),
     "It applies to an old generation after `--signal-on-hup`, and to every worker at "
     "shutdown after `--signal-on-term`, so a worker that ignores its signal cannot hold a "
     "reload or a stop for ever. With 0 start_server waits for ever, as Perl's does."},
    {"backoff-max", Kind::kValue, "SECONDS", generations,
     "failed starts in a row are retried after --interval, doubling up to this",
     whole_seconds(s.backoff_max),
     "It applies to a first generation that never comes up, to a serving generation that "
     "keeps dying, and to the retries of a failed reload (`--reload-retry=on`). A `SIGHUP` "
     "tries again at once. At least 1."},
    {"reload-retry", Kind::kValue, "MODE", generations,
     "after a reload whose new generation failed: 'on' keeps starting new generations (after "
     "--interval, backing off up to --backoff-max) until one is up, as Perl's start_server "
     "does; 'off' keeps the serving generation until the next HUP",
     s.reload_retry ? "on" : "off",
     "Either way a failed reload never touches the serving generation: the status file gets "
     "a `reload-failed:` line, and `--restart` exits 2 with the reason. The unit templates use "
     "`off`, so that the next `systemctl reload` is the next try. Any other value is a usage "
     "error."},
    {"signal-on-hup", Kind::kValue, "SIGNAL", generations,
     "signal sent to the old generation once a new one has started",
     signal_name(s.signal_on_hup),
     "After `--kill-old-delay`, and once: a later reload does not signal it again. *SIGNAL* "
     "is a name such as `TERM`, `SIGTERM` or `usr1`, in any case, with or without `SIG`; "
     "`QUIT` is the graceful stop of Net::Server and Starman. An unknown name is a usage "
     "error at start."},
    {"signal-on-term", Kind::kValue, "SIGNAL", generations,
     "signal sent to every worker when start_server gets SIGTERM",
     signal_name(s.signal_on_term),
     "Names as for `--signal-on-hup`. `SIGINT` and `SIGQUIT` send `SIGTERM` whatever this "
     "says (see SIGNALS)."},
    {"kill-old-delay", Kind::kValue, "SECONDS", generations,
     "seconds to wait after a new generation started before signalling the old one",
     whole_seconds(s.kill_old_delay) + ", or " +
         whole_seconds(SupervisorSettings::kAutoRestartKillOldDelay) +
         " with --enable-auto-restart",
     "Read from `KILL_OLD_DELAY` when the option is not given; either way it is exported to "
     "workers as `KILL_OLD_DELAY`. During the delay both generations accept connections."},
    {"enable-auto-restart", Kind::kFlag, "", generations,
     "start a new generation every --auto-restart-interval", "",
     "Set by `ENABLE_AUTO_RESTART` too (any value but empty or `0`) when the option is not "
     "given, and exported to workers as `ENABLE_AUTO_RESTART=1`. An automatic restart waits "
     "while an old generation is still draining, and goes ahead anyway once twice the "
     "interval has passed. It raises the default `--kill-old-delay` to "
     + whole_seconds(SupervisorSettings::kAutoRestartKillOldDelay) + "."},
    {"auto-restart-interval", Kind::kValue, "SECONDS", generations,
     "seconds between automatic restarts", whole_seconds(s.auto_restart_interval),
     "Only with `--enable-auto-restart`. Read from `AUTO_RESTART_INTERVAL` when the option "
     "is not given, and exported to workers when either sets it. At least 1."},

    {"pid-file", Kind::kValue, "FILE", files,
     "write start_server's pid here and hold a lock on it while running", "",
     "The file (see FILES) is written to a temporary name and renamed into place, locked "
     "with `flock`(2) for start_server's whole life, and removed when it exits. A second "
     "start_server given a pid file whose lock is held refuses to start (exit status 1), "
     "where Perl's waits for the lock. The control modes find the daemon through it, and "
     "the daemon keeps *FILE*`.detail` beside it for `--status`."},
    {"status-file", Kind::kValue, "FILE", files,
     "keep one GEN:PID line per live generation here", "",
     "Perl's format plus lines of ours (see FILES), replaced atomically on every change and "
     "removed at exit. `--restart` reads it. A directory that does not take a new file is a "
     "setup error; a file that later cannot be replaced (a full disk) is rewritten in place, "
     "or else removed, and never left naming dead processes."},
    {"log-file", Kind::kValue, "FILE", files,
     "append the output of start_server and its workers to this file, or pipe it to a "
     "command given as '| command args'", "",
     "A *FILE* is opened for appending, created if need be, and becomes the standard output "
     "and error of start_server and of every worker. With `| `*command*, the command runs "
     "through `/bin/sh` and reads it all on a pipe. start_server holds the pipe's read end "
     "too, so a command that exits never hands a worker `EPIPE` or `SIGPIPE`: it is started "
     "again on the same pipe, at most once a second, and reads what was written meanwhile. A "
     "command that stops reading never blocks start_server: its own lines are dropped then, "
     "and the next one that gets through says how many were lost.\n\n"
     "Without it everything goes to start_server's standard error (the journal under "
     "systemd). A file that cannot be opened is a setup error. Reopening for log rotation is "
     "not supported: rotate with `copytruncate`, or pipe to a command that rotates."},
    {"daemonize", Kind::kFlag, "", files, "run in the background (requires --log-file)", "",
     "start_server forks, starts a new session and forks again, as Perl's does, before it "
     "writes the pid file, so the pid file names the daemon. Standard input becomes "
     "`/dev/null` (unless a socket was placed at descriptor 0). Without `--log-file` it is a "
     "usage error. Not for systemd units: use `Type=notify`."},

    {"dir", Kind::kValue, "DIR", worker, "directory the worker runs in", "",
     "Each worker changes into *DIR* before it runs the program. A *DIR* that does not exist "
     "or cannot be entered is a usage error at start. When *DIR* reaches a release through a "
     "symlink, a respawn keeps that release (see `--respawn-release`)."},
    {"respawn-release", Kind::kValue, "WHICH", worker,
     "what replaces a serving generation that died: 'serving' runs the release it was "
     "deployed from (the program and --dir with symlinks resolved, as a releases/N + current "
     "layout needs), 'latest' whatever the symlinks point to now; SIGHUP, --restart and "
     "automatic restarts always take the latest",
     s.respawn_serving_release ? "serving" : "latest",
     "A deploy that switches a `current` symlink and then fails to come up leaves the broken "
     "release behind `current`; with `serving`, a crash of the generation still serving does "
     "not bring it in. Only the program (the command's first word, looked up along `PATH`) "
     "and `--dir` are kept, so give a script's directory as `--dir` "
     "(`--dir=/srv/app/current -- python3 app.py`). The log names the release a respawn runs. "
     "A kept release that was deleted fails like any program that cannot start and is "
     "retried with the back-off; the next deploy resolves the symlinks afresh. `latest` is "
     "what Perl's start_server does. Any other value is a usage error."},
    {"envdir", Kind::kValue, "DIR", worker,
     "directory of files NAME whose first line sets NAME in the worker's environment; read "
     "again for every generation", "",
     "Each regular file *NAME* not starting with `.` sets *NAME* to its first line; empty "
     "and unreadable files are skipped, and a directory that does not exist sets nothing, as "
     "in Perl. A line longer than 128 KiB is skipped, and a value is cut at a NUL byte, each "
     "with a log line. "
     "A file removed later unsets the variable for the generations after (Perl brings back "
     "its start-up value). The variables start_server keeps from workers (see ENVIRONMENT) "
     "cannot be set this way either. Read from `ENVDIR` when the option is not given, and "
     "exported to workers as `ENVDIR`.\n\n"
     "As in Perl, it applies to start_server itself too: `KILL_OLD_DELAY`, "
     "`ENABLE_AUTO_RESTART` and `AUTO_RESTART_INTERVAL` there override the options, read "
     "again at every turn of the loop (every second while auto-restart is on); a change is "
     "logged. A value that is not a whole number is a usage error at start, and logged and "
     "ignored at run time; a removed file brings back the option's value."},

    {"restart", Kind::kFlag, "", control,
     "ask the start_server of --pid-file to start a new generation, and wait until it serves "
     "alone (needs --pid-file and --status-file)", "",
     "It sends `SIGHUP` to the process holding the pid file's lock and waits, at most "
     "`--restart-timeout`, until a generation newer than any before is the only one in the "
     "status file. A reload already under way is not taken for ours: ours is queued behind "
     "it. Exit status 0 then; 2 with the reason when the new generation failed (the old one "
     "still serves; with `--reload-retry=on` start_server keeps trying); 3, 4 or 5 as EXIT "
     "STATUS says. With `--json` the outcome is also printed as JSON (see JSON OUTPUT). "
     "Without both files it is a usage error."},
    {"restart-timeout", Kind::kValue, "SECONDS", control,
     "seconds --restart and --upgrade wait at most", whole_seconds(defaults.restart_timeout),
     "Then they exit 4, and the reload or upgrade goes on. At least 1."},
    {"upgrade", Kind::kFlag, "", control,
     "ask the start_server of --pid-file to upgrade in place (SIGUSR2): to run the binary now "
     "at the path it was started from, keeping its pid, sockets and workers; wait until it "
     "does, or says why it goes on with the old one", "",
     "Exit status 0 once the new binary supervises; 2 with the reason when start_server goes "
     "on with the old one (the new binary is missing, is not a start_server, refuses the "
     "state, or failed before it supervised); 3, 4 or 5 as for `--restart`. One upgrade at a "
     "time: one under way is waited for first. It waits at most `--restart-timeout`, and "
     "needs `--pid-file` only. What is kept, and how a failure falls back, is under "
     "`SIGUSR2` in SIGNALS."},
    {"status", Kind::kFlag, "", control,
     "show the start_server of --pid-file: its pid and uptime, listeners, live generations "
     "with their state, age and release, the last reload and why it failed, any back-off, and "
     "the limits in force (read from FILE.detail beside the pid file)", "",
     "It asks nothing of the daemon: it reads *FILE*`.detail` (see FILES) and checks that the "
     "pid in it holds the pid file's lock, so any user who may read both files can run it. "
     "Exit status 0, or 3 with one line when no start_server holds the pid file. "
     "`--status-file` is accepted and not needed."},
    {"json", Kind::kFlag, "", control,
     "with --status or --restart, print one JSON object on stdout", "",
     "One line, the fields under JSON OUTPUT; the exit status and the line on standard error "
     "are those without `--json`. With any other mode it is a usage error."},
    {"stop", Kind::kFlag, "", control,
     "ask the start_server of --pid-file to stop, and wait until it has", "",
     "It sends `SIGTERM`, so the workers get `--signal-on-term` and are waited for, and then "
     "waits until start_server has exited (released the pid file's lock), at most "
     "`--stop-timeout`. Exit status 0; 3 when no start_server holds the pid file; 4 when the "
     "timeout passed (the stop goes on); 5 when the pid in the file is not the lock holder as "
     "seen from here (nothing is signalled)."},
    {"stop-timeout", Kind::kValue, "SECONDS", control,
     "seconds --stop waits at most; 0 waits for ever", whole_seconds(defaults.stop_timeout),
     "Then `--stop` exits 4 and the stop goes on."},

    {"help", Kind::kFlag, "", info,
     "print the options, the signals and the exit statuses briefly, and exit", "",
     "The options with their defaults come from the same table as this page's. Exit status "
     "0. It goes before every other mode."},
    {"version", Kind::kFlag, "", info, "print the version and exit", "",
     "Exit status 0."},
  };
  // clang-format on
}

}  // namespace starter
