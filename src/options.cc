#include "options.h"

#include <boost/program_options.hpp>
#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>
#include <sstream>

#include "error.h"
#include "signal_names.h"
#include "starter_env.h"

namespace po = boost::program_options;

namespace starter {

namespace {

// The layout is what help2man reads when it makes start_server(1) from this text (see
// packaging/man_page.cmake): "Usage:" and "  or:" lines become the SYNOPSIS, a line ending in
// ':' followed by indented lines becomes a subsection ("Exit status:" the EXIT STATUS
// section), "Options:" and "Environment:" become those sections, and each indented line
// with two spaces after its first word becomes a tagged paragraph.
constexpr const char* kSynopsis =
    "Usage: start_server [options] [--] server-prog server-arg1 ...\n"
    "  or:  start_server --restart [--json] --pid-file=FILE --status-file=FILE\n"
    "  or:  start_server --status [--json] --pid-file=FILE\n"
    "  or:  start_server --stop --pid-file=FILE\n"
    "  or:  start_server --help | --version\n"
    "\n"
    "Binds the listening sockets, runs server-prog with them (SERVER_STARTER_PORT,\n"
    "SERVER_STARTER_GENERATION), and on SIGHUP starts a new generation of it before\n"
    "retiring the old one, so the sockets are never closed.\n"
    "\n"
    "Signals:\n"
    "  HUP        start a new generation; retire the old one once the new one is up\n"
    "  TERM       send --signal-on-term to every worker, and exit once they are gone\n"
    "  INT, QUIT  the same as TERM, sending TERM\n";

constexpr const char* kEpilogue =
    "\n"
    "Exit status:\n"
    "  0  after a shutdown by signal, and for a successful --restart or --stop\n"
    "  1  bad usage, or a setup failure\n"
    "  2  --restart: the new generation failed\n"
    "  3  --restart, --status, --stop: start_server is not running, or exited\n"
    "  4  --restart, --stop: --restart-timeout or --stop-timeout passed\n"
    "  5  --restart, --stop: the pid in the file is not the lock holder as seen from\n"
    "     here (another pid namespace): nothing was signalled\n"
    "\n"
    "Environment:\n"
    "  ENVDIR, ENABLE_AUTO_RESTART, KILL_OLD_DELAY and AUTO_RESTART_INTERVAL stand\n"
    "  in for the options of the same name when those are not given.\n";

/// The defaults --help prints are read from Config and SupervisorSettings, so that each one
/// is written once (options_help_test checks them against the parsed defaults).
std::string whole_seconds(Millis m) {
  return std::to_string(std::chrono::duration_cast<Seconds>(m).count());
}

std::string with_default(std::string text, const std::string& value) {
  return text + " (default: " + value + ")";
}

std::string octal(unsigned mode) {
  std::ostringstream out;
  out << '0' << std::oct << mode;
  return out.str();
}

po::options_description describe_options() {
  const Config defaults;
  const SupervisorSettings& s = defaults.supervisor;
  // Descriptions start in column 33, or on the next line after a longer option. help2man
  // needs two spaces between an option and its description, which Boost leaves unless an
  // option ends exactly in column 31: packaging/man_page.cmake refuses the help text then.
  po::options_description desc("Options", 80, 48);
  // clang-format off
  desc.add_options()
    ("port", po::value<std::vector<std::string>>()->composing()->value_name("SPEC"),
     "TCP port to listen on: PORT, HOST:PORT or [V6ADDR]:PORT; a 'u' before PORT makes it a UDP "
     "socket; '=FD' after it places the socket at file descriptor FD in the worker. Repeatable.")
    ("path", po::value<std::vector<std::string>>()->composing()->value_name("PATH"),
     "path of a unix stream socket to listen on. Repeatable.")
    ("path-mode", po::value<std::string>()->value_name("MODE"),
     with_default("permissions of the --path socket files, in octal, e.g. 0660", octal(defaults.path_mode) + ", as Perl").c_str())
    ("backlog", po::value<int>()->value_name("N"), "listen(2) backlog (default: SOMAXCONN)")
    ("listen-fds", po::bool_switch(),
     "also hand the sockets to workers the way systemd does (LISTEN_FDS, LISTEN_FDNAMES, "
     "LISTEN_PID; the sockets at fds 3, 4, ... in order), for servers that speak only that "
     "protocol")
    ("interval", po::value<int>()->value_name("SECONDS"),
     with_default("seconds a new worker must stay alive to count as started, and between start attempts",
                  whole_seconds(s.interval)).c_str())
    ("ready", po::value<std::string>()->value_name("MODE"),
     with_default("what makes a new generation count as started: 'interval' (it stayed alive for "
     "--interval, as Perl's start_server) or 'notify' (it sent READY=1 to the NOTIFY_SOCKET "
     "it is given, as under systemd; sd_notify() from any library)", s.ready_notify ? "notify" : "interval").c_str())
    ("ready-timeout", po::value<int>()->value_name("SECONDS"),
     with_default("with --ready=notify, a generation not ready by then is killed and counts as failed",
                  whole_seconds(s.ready_timeout)).c_str())
    ("drain-timeout", po::value<int>()->value_name("SECONDS"),
     with_default("a worker still running this long after it was told to stop gets SIGKILL; 0 never",
                  whole_seconds(s.drain_timeout)).c_str())
    ("backoff-max", po::value<int>()->value_name("SECONDS"),
     with_default("failed starts in a row are retried after --interval, doubling up to this",
                  whole_seconds(s.backoff_max)).c_str())
    ("reload-retry", po::value<std::string>()->value_name("MODE"),
     with_default("after a reload whose new generation failed: 'on' keeps starting new generations (after "
     "--interval, backing off up to --backoff-max) until one is up, as Perl's start_server "
     "does; 'off' keeps the serving generation until the next HUP", s.reload_retry ? "on" : "off").c_str())
    ("signal-on-hup", po::value<std::string>()->value_name("SIGNAL"),
     with_default("signal sent to the old generation once a new one has started", signal_name(s.signal_on_hup)).c_str())
    ("signal-on-term", po::value<std::string>()->value_name("SIGNAL"),
     with_default("signal sent to every worker when start_server gets SIGTERM", signal_name(s.signal_on_term)).c_str())
    ("kill-old-delay", po::value<int>()->value_name("SECONDS"),
     with_default("seconds to wait after a new generation started before signalling the old one",
                  whole_seconds(s.kill_old_delay) + ", or " +
                      whole_seconds(SupervisorSettings::kAutoRestartKillOldDelay) + " with --enable-auto-restart")
         .c_str())
    ("enable-auto-restart", po::bool_switch(), "start a new generation every --auto-restart-interval")
    ("auto-restart-interval", po::value<int>()->value_name("SECONDS"), 
     with_default("seconds between automatic restarts", whole_seconds(s.auto_restart_interval)).c_str())
    ("pid-file", po::value<std::string>()->value_name("FILE"),
     "write start_server's pid here and hold a lock on it while running")
    ("status-file", po::value<std::string>()->value_name("FILE"), "keep one GEN:PID line per live generation here")
    ("log-file", po::value<std::string>()->value_name("FILE"),
     "append the output of start_server and its workers to this file, or pipe it to a "
     "command given as '| command args'")
    ("daemonize", po::bool_switch(), "run in the background (requires --log-file)")
    ("dir", po::value<std::string>()->value_name("DIR"), "directory the worker runs in")
    ("respawn-release", po::value<std::string>()->value_name("WHICH"),
     with_default("what replaces a serving generation that died: 'serving' runs the release it was "
     "deployed from (the program and --dir with symlinks resolved, as a releases/N + current "
     "layout needs), 'latest' whatever the symlinks point to now; SIGHUP, --restart and "
     "automatic restarts always take the latest", s.respawn_serving_release ? "serving" : "latest").c_str())
    ("envdir", po::value<std::string>()->value_name("DIR"),
     "directory of files NAME whose first line sets NAME in the worker's environment; "
     "read again for every generation")
    ("restart", po::bool_switch(),
     "ask the start_server of --pid-file to start a new generation, and wait until it serves "
     "alone (needs --pid-file and --status-file)")
    ("restart-timeout", po::value<int>()->value_name("SECONDS"), 
     with_default("seconds --restart waits at most", whole_seconds(defaults.restart_timeout)).c_str())
    ("status", po::bool_switch(),
     "show the start_server of --pid-file: its pid and uptime, listeners, live generations "
     "with their state, age and release, the last reload and why it failed, any back-off, and "
     "the limits in force (read from FILE.detail beside the pid file)")
    ("json", po::bool_switch(),
     "with --status or --restart, print one JSON object on stdout (schema in the README and "
     "the STATUS section below)")
    ("stop", po::bool_switch(), "ask the start_server of --pid-file to stop, and wait until it has")
    ("stop-timeout", po::value<int>()->value_name("SECONDS"),
     with_default("seconds --stop waits at most; 0 waits for ever", whole_seconds(defaults.stop_timeout)).c_str())
    ("help", po::bool_switch(), "print this help and exit")
    ("version", po::bool_switch(), "print the version and exit");
  // clang-format on
  return desc;
}

constexpr int kStyle = (po::command_line_style::unix_style | po::command_line_style::allow_long_disguise) &
                       ~po::command_line_style::allow_sticky;

bool takes_value(const po::options_description& desc, const std::string& token) {
  std::string name = token.substr(token.find_first_not_of('-'));
  if (name.find('=') != std::string::npos) return false;
  try {
    const po::option_description* opt = desc.find_nothrow(name, /*approx=*/true);
    return opt && opt->semantic()->max_tokens() > 0;
  } catch (const po::error&) {
    return false;  // ambiguous: Boost reports it when it parses the same token
  }
}

/// Options end at "--" or at the first word that is not an option; the rest is the command.
void split_args(const po::options_description& desc, const std::vector<std::string>& args,
                std::vector<std::string>& options, std::vector<std::string>& command) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      return;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      command.assign(args.begin() + static_cast<long>(i), args.end());
      return;
    }
    options.push_back(arg);
    if (takes_value(desc, arg) && i + 1 < args.size()) options.push_back(args[++i]);
  }
}

/// Perl's Getopt::Long lets the last of a repeated option win (--port and --path
/// accumulate); Boost would refuse the repeat.
void keep_last_occurrence(po::parsed_options& parsed) {
  auto& opts = parsed.options;
  for (auto it = opts.begin(); it != opts.end();) {
    bool repeated_later = it->string_key != "port" && it->string_key != "path" &&
                          std::any_of(std::next(it), opts.end(),
                                      [&](const po::option& later) { return later.string_key == it->string_key; });
    it = repeated_later ? opts.erase(it) : std::next(it);
  }
}

Millis seconds_option(const po::variables_map& vm, const std::string& name, int minimum) {
  int value = vm[name].as<int>();
  if (value < minimum)
    throw UsageError("--" + name + ": " + std::to_string(value) + " is out of range (at least " +
                     std::to_string(minimum) + ")");
  return Seconds(value);
}

/// An option, or else its environment variable (Perl reads the variable when the option
/// is absent). Returns false when neither is set.
bool option_or_env(const po::variables_map& vm, const std::map<std::string, std::string>& env,
                   const std::string& name, const std::string& variable, int minimum, Millis& out) {
  if (vm.count(name)) {
    out = seconds_option(vm, name, minimum);
    return true;
  }
  auto it = env.find(variable);
  if (it == env.end() || it->second.empty()) return false;
  std::size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(it->second, &used);
  } catch (const std::exception&) {
  }
  if (used != it->second.size() || value < minimum)
    throw UsageError(variable + ": invalid value '" + it->second + "' (a whole number of seconds expected)");
  out = Seconds(value);
  return true;
}

void check_pinned_fds(const std::vector<ListenSpec>& listeners) {
  std::set<int> seen;
  for (const auto& spec : listeners)
    if (spec.pinned_fd && !seen.insert(*spec.pinned_fd).second)
      throw UsageError("--port: file descriptor " + std::to_string(*spec.pinned_fd) + " is given twice");
}

}  // namespace

std::string help_text() {
  std::ostringstream out;
  out << kSynopsis << "\n" << describe_options() << kEpilogue;
  return out.str();
}

Config parse_options(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  const po::options_description desc = describe_options();
  std::vector<std::string> option_args;
  Config config;
  split_args(desc, args, option_args, config.command);

  po::variables_map vm;
  try {
    po::parsed_options parsed = po::command_line_parser(option_args).options(desc).style(kStyle).run();
    keep_last_occurrence(parsed);
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }

  auto flag = [&](const char* name) { return vm[name].as<bool>(); };
  auto text = [&](const char* name) { return vm.count(name) ? vm[name].as<std::string>() : std::string(); };

  if (flag("help")) {
    config.mode = Config::Mode::kHelp;
    config.help_text = help_text();
    return config;
  }
  if (flag("version")) {
    config.mode = Config::Mode::kVersion;
    return config;
  }

  config.pid_file = text("pid-file");
  config.status_file = text("status-file");
  if (vm.count("restart-timeout")) config.restart_timeout = seconds_option(vm, "restart-timeout", 1);
  if (vm.count("stop-timeout")) config.stop_timeout = seconds_option(vm, "stop-timeout", 0);
  config.json = flag("json");
  if (config.json && !flag("restart") && !flag("status"))
    throw UsageError("--json goes with --status or --restart");
  if (flag("status")) {
    if (config.pid_file.empty()) throw UsageError("--status option requires --pid-file to be set as well");
    config.mode = Config::Mode::kStatus;
    return config;
  }
  if (flag("restart")) {
    if (config.pid_file.empty() || config.status_file.empty())
      throw UsageError("--restart option requires --pid-file and --status-file to be set as well");
    config.mode = Config::Mode::kRestart;
    return config;
  }
  if (flag("stop")) {
    if (config.pid_file.empty()) throw UsageError("--stop option requires --pid-file to be set as well");
    config.mode = Config::Mode::kStop;
    return config;
  }

  config.listen_fds = flag("listen-fds");
  config.log_file = text("log-file");
  config.daemonize = flag("daemonize");
  if (config.daemonize && config.log_file.empty())
    throw UsageError("--daemonize requires --log-file to be set as well");
  if (config.command.empty()) throw UsageError("server program not specified");

  if (vm.count("port"))
    for (const auto& value : vm["port"].as<std::vector<std::string>>()) config.listeners.push_back(parse_port(value));
  if (vm.count("path"))
    for (const auto& value : vm["path"].as<std::vector<std::string>>()) config.listeners.push_back(parse_path(value));
  check_pinned_fds(config.listeners);
  if (vm.count("path-mode")) {
    std::string mode = text("path-mode");
    std::size_t used = 0;
    unsigned long value = 01000;
    try {
      value = std::stoul(mode, &used, 8);
    } catch (const std::exception&) {
    }
    if (mode.empty() || used != mode.size() || value > 0777)
      throw UsageError("--path-mode: invalid mode '" + mode + "' (octal, 0 to 0777)");
    config.path_mode = static_cast<unsigned>(value);
  }

  if (vm.count("backlog")) {
    int backlog = vm["backlog"].as<int>();
    if (backlog < 0) throw UsageError("--backlog: " + std::to_string(backlog) + " is out of range (at least 0)");
    if (backlog > 0) config.backlog = backlog;  // 0 means the default, as Perl's ||=
  }
  if (vm.count("interval")) config.supervisor.interval = seconds_option(vm, "interval", 0);
  if (vm.count("ready")) {
    std::string mode = text("ready");
    if (mode == "notify")
      config.supervisor.ready_notify = true;
    else if (mode != "interval")
      throw UsageError("--ready: unknown mode '" + mode + "' (expected 'interval' or 'notify')");
  }
  if (vm.count("ready-timeout"))
    config.supervisor.ready_timeout = seconds_option(vm, "ready-timeout", 1);
  if (vm.count("drain-timeout"))
    config.supervisor.drain_timeout = seconds_option(vm, "drain-timeout", 0);
  if (vm.count("backoff-max")) config.supervisor.backoff_max = seconds_option(vm, "backoff-max", 1);
  if (vm.count("reload-retry")) {
    std::string mode = text("reload-retry");
    if (mode != "on" && mode != "off")
      throw UsageError("--reload-retry: unknown value " + quote(mode) + " (expected 'on' or 'off')");
    config.supervisor.reload_retry = mode == "on";
  }
  if (vm.count("signal-on-hup"))
    config.supervisor.signal_on_hup = parse_signal_name("signal-on-hup", text("signal-on-hup"));
  if (vm.count("signal-on-term"))
    config.supervisor.signal_on_term = parse_signal_name("signal-on-term", text("signal-on-term"));

  config.supervisor.auto_restart = flag("enable-auto-restart");
  if (!config.supervisor.auto_restart) {
    auto it = env.find("ENABLE_AUTO_RESTART");
    config.supervisor.auto_restart = it != env.end() && !it->second.empty() && it->second != "0";
  }
  bool interval_given = option_or_env(vm, env, "auto-restart-interval", "AUTO_RESTART_INTERVAL", 1,
                                      config.supervisor.auto_restart_interval);
  bool delay_given = option_or_env(vm, env, "kill-old-delay", "KILL_OLD_DELAY", 0,
                                   config.supervisor.kill_old_delay);
  if (!delay_given && config.supervisor.auto_restart)
    config.supervisor.kill_old_delay = SupervisorSettings::kAutoRestartKillOldDelay;

  config.dir = text("dir");
  if (vm.count("respawn-release")) {
    std::string which = text("respawn-release");
    if (which == "latest")
      config.supervisor.respawn_serving_release = false;
    else if (which != "serving")
      throw UsageError("--respawn-release: unknown value '" + which + "' (expected 'serving' or 'latest')");
  }
  config.envdir = text("envdir");
  if (config.envdir.empty())
    if (auto it = env.find("ENVDIR"); it != env.end()) config.envdir = it->second;

  if (!config.envdir.empty()) config.exported_env.emplace_back("ENVDIR", config.envdir);
  if (config.supervisor.auto_restart) config.exported_env.emplace_back("ENABLE_AUTO_RESTART", "1");
  if (delay_given)
    config.exported_env.emplace_back("KILL_OLD_DELAY",
                                     whole_seconds(config.supervisor.kill_old_delay));
  if (interval_given)
    config.exported_env.emplace_back("AUTO_RESTART_INTERVAL",
                                     whole_seconds(config.supervisor.auto_restart_interval));
  return config;
}

}  // namespace starter
