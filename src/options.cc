#include "options.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>

#include "error.h"
#include "number.h"
#include "option_table.h"
#include "signal_names.h"

namespace po = boost::program_options;

namespace starter {

namespace {

// The short form of what start_server(1) says at length (docs/start_server.1.in); the
// options themselves come from option_table.h, which the page's OPTIONS is made from too.
constexpr const char* kSynopsis =
    "Usage: start_server [options] [--] server-prog server-arg1 ...\n"
    "  or:  start_server --restart [--json] --pid-file=FILE --status-file=FILE\n"
    "  or:  start_server --status [--json] --pid-file=FILE\n"
    "  or:  start_server --upgrade --pid-file=FILE\n"
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
    "  INT, QUIT  the same as TERM, sending TERM\n"
    "  USR2       upgrade in place: run the binary now at the path start_server was\n"
    "             started from, keeping the pid, the sockets and every worker\n";

constexpr const char* kEpilogue =
    "\n"
    "Exit status:\n"
    "  0  after a shutdown by signal, and for a successful control mode\n"
    "  1  bad usage, or a setup failure\n"
    "  2  --restart: the new generation failed; --upgrade: the new binary did not\n"
    "     take over, and start_server goes on with the old one\n"
    "  3  --restart, --upgrade, --status, --stop: start_server is not running, or exited\n"
    "  4  --restart, --upgrade, --stop: --restart-timeout or --stop-timeout passed\n"
    "  5  --restart, --upgrade, --stop: the pid in the file is not the lock holder\n"
    "     as seen from here (another pid namespace): nothing was signalled\n"
    "\n"
    "Environment:\n"
    "  ENVDIR, ENABLE_AUTO_RESTART, KILL_OLD_DELAY and AUTO_RESTART_INTERVAL stand\n"
    "  in for the options of the same name when those are not given.\n"
    "\n"
    "The manual, start_server(1), says more of each: man start_server\n";

std::string whole_seconds(Millis m) {
  return std::to_string(std::chrono::duration_cast<Seconds>(m).count());
}

/// Boost's view of option_table(), the one list of options (option_table.h): --help prints
/// it, and the parser knows exactly these options.
po::options_description describe_options() {
  // Descriptions start in column 33, or on the next line after a longer option.
  po::options_description desc("Options", 80, 48);
  for (const OptionDoc& o : option_table()) {
    std::string text = plain_text(o.help);
    if (!o.default_text.empty()) text += " (default: " + plain_text(o.default_text) + ")";
    const po::value_semantic* value = nullptr;
    switch (o.kind) {
      case OptionDoc::Kind::kFlag:
        value = po::bool_switch();
        break;
      case OptionDoc::Kind::kValue:
        value = po::value<std::string>()->value_name(o.value_name);
        break;
      case OptionDoc::Kind::kList:
        value = po::value<std::vector<std::string>>()->composing()->value_name(o.value_name);
        break;
    }
    desc.add_options()(o.name.c_str(), value, text.c_str());
  }
  return desc;
}

constexpr int kStyle =
    (po::command_line_style::unix_style | po::command_line_style::allow_long_disguise) &
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
                          std::any_of(std::next(it), opts.end(), [&](const po::option& later) {
                            return later.string_key == it->string_key;
                          });
    it = repeated_later ? opts.erase(it) : std::next(it);
  }
}

void check_pinned_fds(const std::vector<ListenSpec>& listeners) {
  std::set<int> seen;
  for (const auto& spec : listeners)
    if (spec.pinned_fd && !seen.insert(*spec.pinned_fd).second)
      throw UsageError("--port: file descriptor " + std::to_string(*spec.pinned_fd) +
                       " is given twice");
}

/// The parsed words, read one option at a time. A bad value is a UsageError that names the
/// option and quotes the value; numbers go through parse_integer (number.h).
class OptionValues {
 public:
  OptionValues(const po::variables_map& vm, const std::map<std::string, std::string>& env)
      : vm_(vm), env_(env) {}

  bool given(const char* name) const { return vm_.count(name) > 0; }
  bool flag(const char* name) const { return vm_[name].as<bool>(); }
  std::string text(const char* name) const {
    return given(name) ? vm_[name].as<std::string>() : std::string();
  }
  std::vector<std::string> texts(const char* name) const {
    return given(name) ? vm_[name].as<std::vector<std::string>>() : std::vector<std::string>();
  }
  /// The environment variable's value; empty when unset.
  std::string env(const char* variable) const {
    auto it = env_.find(variable);
    return it == env_.end() ? std::string() : it->second;
  }

  /// A whole number of at least `minimum`; `what` says what kind ("seconds").
  int number(const char* name, int minimum, const char* what = "") const {
    return whole_number("--" + std::string(name), text(name), minimum, what);
  }
  /// Sets `out` from the option, when given.
  void seconds(const char* name, int minimum, Millis& out) const {
    if (given(name)) out = Seconds(number(name, minimum, " of seconds"));
  }
  /// The option, or else its environment variable (Perl reads the variable when the option
  /// is absent); false when neither is set.
  bool seconds_or_env(const char* name, const char* variable, int minimum, Millis& out) const {
    if (given(name)) {
      seconds(name, minimum, out);
      return true;
    }
    std::string value = env(variable);
    if (value.empty()) return false;
    out = Seconds(whole_number(variable, value, minimum, " of seconds"));
    return true;
  }
  /// One of `choices`, in the order given: its index.
  std::size_t choice(const char* name, std::initializer_list<const char*> choices) const {
    std::string value = text(name);
    std::string expected;
    std::size_t index = 0;
    for (const char* c : choices) {
      if (value == c) return index;
      expected += std::string(index == 0                    ? ""
                              : index + 1 == choices.size() ? " or "
                                                            : ", ") +
                  quote(c);
      ++index;
    }
    throw UsageError("--" + std::string(name) + ": unknown value " + quote(value) + " (expected " +
                     expected + ")");
  }

 private:
  static int whole_number(const std::string& culprit, const std::string& value, int minimum,
                          const char* what) {
    std::optional<int> n = parse_integer<int>(value, minimum);
    if (!n)
      throw UsageError(culprit + ": invalid value " + quote(value) + " (a whole number" + what +
                       ", at least " + std::to_string(minimum) + ", expected)");
    return *n;
  }

  const po::variables_map& vm_;
  const std::map<std::string, std::string>& env_;
};

// --- the steps of parse_options, in order ----------------------------------------------------

/// Boost parses the option words. Its messages quote the word they are about, but write it as
/// given: control characters are escaped here, as quote() would, so they stay one line.
po::variables_map parse_words(const po::options_description& desc,
                              const std::vector<std::string>& words) {
  po::variables_map vm;
  try {
    po::parsed_options parsed = po::command_line_parser(words).options(desc).style(kStyle).run();
    keep_last_occurrence(parsed);
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(escape_controls(e.what()));
  }
  return vm;
}

/// --help and --version: true when one of them is the mode (Perl's order: help first).
bool read_info_mode(const OptionValues& o, Config& config) {
  if (o.flag("help")) {
    config.mode = Config::Mode::kHelp;
    config.help_text = help_text();
    return true;
  }
  if (o.flag("version")) {
    config.mode = Config::Mode::kVersion;
    return true;
  }
  return false;
}

/// --status, --restart, --upgrade and --stop, which talk to a running start_server: true when
/// one of them is the mode (in that order), with what it needs checked.
bool read_control_mode(const OptionValues& o, Config& config) {
  config.pid_file = o.text("pid-file");
  config.status_file = o.text("status-file");
  o.seconds("restart-timeout", 1, config.restart_timeout);
  o.seconds("stop-timeout", 0, config.stop_timeout);
  config.json = o.flag("json");
  if (config.json && !o.flag("restart") && !o.flag("status"))
    throw UsageError("--json goes with --status or --restart");
  if (o.flag("status")) {
    if (config.pid_file.empty())
      throw UsageError("--status option requires --pid-file to be set as well");
    config.mode = Config::Mode::kStatus;
    return true;
  }
  if (o.flag("restart")) {
    if (config.pid_file.empty() || config.status_file.empty())
      throw UsageError("--restart option requires --pid-file and --status-file to be set as well");
    config.mode = Config::Mode::kRestart;
    return true;
  }
  if (o.flag("upgrade")) {
    if (config.pid_file.empty())
      throw UsageError("--upgrade option requires --pid-file to be set as well");
    config.mode = Config::Mode::kUpgrade;
    return true;
  }
  if (o.flag("stop")) {
    if (config.pid_file.empty())
      throw UsageError("--stop option requires --pid-file to be set as well");
    config.mode = Config::Mode::kStop;
    return true;
  }
  return false;
}

/// What running needs before anything else: a program, and a log for --daemonize.
void read_run_basics(const OptionValues& o, Config& config) {
  config.listen_fds = o.flag("listen-fds");
  config.log_file = o.text("log-file");
  config.daemonize = o.flag("daemonize");
  if (config.daemonize && config.log_file.empty())
    throw UsageError("--daemonize requires --log-file to be set as well");
  if (config.command.empty()) throw UsageError("server program not specified");
}

/// --port, --path, --path-mode and --backlog.
void read_listeners(const OptionValues& o, Config& config) {
  for (const auto& value : o.texts("port")) config.listeners.push_back(parse_port(value));
  for (const auto& value : o.texts("path")) config.listeners.push_back(parse_path(value));
  check_pinned_fds(config.listeners);
  if (o.given("path-mode")) {
    std::string mode = o.text("path-mode");
    std::optional<unsigned> value = parse_integer<unsigned>(mode, 0, 0777, 8);
    if (!value)
      throw UsageError("--path-mode: invalid value " + quote(mode) +
                       " (octal, 0 to 0777, expected)");
    config.path_mode = *value;
  }
  if (o.given("backlog")) {
    int backlog = o.number("backlog", 0);
    if (backlog > 0) config.backlog = backlog;  // 0 means the default, as Perl's ||=
  }
}

/// How generations start, fail and stop: --interval, --ready, the timeouts, --backoff-max,
/// --reload-retry and the signals.
void read_generation_settings(const OptionValues& o, Config& config) {
  o.seconds("interval", 0, config.supervisor.interval);
  if (o.given("ready") && o.choice("ready", {"interval", "notify"}) == 1)
    config.supervisor.ready_notify = true;
  o.seconds("ready-timeout", 1, config.supervisor.ready_timeout);
  o.seconds("drain-timeout", 0, config.supervisor.drain_timeout);
  o.seconds("backoff-max", 1, config.supervisor.backoff_max);
  if (o.given("reload-retry"))
    config.supervisor.reload_retry = o.choice("reload-retry", {"on", "off"}) == 0;
  if (o.given("signal-on-hup"))
    config.supervisor.signal_on_hup = parse_signal_name("signal-on-hup", o.text("signal-on-hup"));
  if (o.given("signal-on-term"))
    config.supervisor.signal_on_term =
        parse_signal_name("signal-on-term", o.text("signal-on-term"));
}

/// The options Perl lets the environment stand in for, and what the workers are told of them.
void read_auto_restart_and_exports(const OptionValues& o, Config& config) {
  config.supervisor.auto_restart = o.flag("enable-auto-restart");
  if (!config.supervisor.auto_restart) {
    std::string value = o.env("ENABLE_AUTO_RESTART");
    config.supervisor.auto_restart = !value.empty() && value != "0";
  }
  bool interval_given = o.seconds_or_env("auto-restart-interval", "AUTO_RESTART_INTERVAL", 1,
                                         config.supervisor.auto_restart_interval);
  bool delay_given =
      o.seconds_or_env("kill-old-delay", "KILL_OLD_DELAY", 0, config.supervisor.kill_old_delay);
  if (!delay_given && config.supervisor.auto_restart)
    config.supervisor.kill_old_delay = SupervisorSettings::kAutoRestartKillOldDelay;

  config.envdir = o.text("envdir");
  if (config.envdir.empty()) config.envdir = o.env("ENVDIR");

  if (!config.envdir.empty()) config.exported_env.emplace_back("ENVDIR", config.envdir);
  if (config.supervisor.auto_restart) config.exported_env.emplace_back("ENABLE_AUTO_RESTART", "1");
  if (delay_given)
    config.exported_env.emplace_back("KILL_OLD_DELAY",
                                     whole_seconds(config.supervisor.kill_old_delay));
  if (interval_given)
    config.exported_env.emplace_back("AUTO_RESTART_INTERVAL",
                                     whole_seconds(config.supervisor.auto_restart_interval));
}

/// Where and what the worker runs: --dir and --respawn-release.
void read_worker_settings(const OptionValues& o, Config& config) {
  config.dir = o.text("dir");
  if (o.given("respawn-release") && o.choice("respawn-release", {"serving", "latest"}) == 1)
    config.supervisor.respawn_serving_release = false;
}

}  // namespace

std::vector<std::string> option_names() {
  const po::options_description desc = describe_options();  // options() refers into it
  std::vector<std::string> names;
  for (const auto& option : desc.options()) names.push_back(option->long_name());
  return names;
}

std::string help_text() {
  std::ostringstream out;
  out << kSynopsis << "\n" << describe_options() << kEpilogue;
  return out.str();
}

Config parse_options(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env) {
  const po::options_description desc = describe_options();
  Config config;
  std::vector<std::string> option_words;
  split_args(desc, args, option_words, config.command);
  const po::variables_map vm = parse_words(desc, option_words);
  const OptionValues options(vm, env);

  if (read_info_mode(options, config) || read_control_mode(options, config)) return config;
  read_run_basics(options, config);
  read_listeners(options, config);
  read_generation_settings(options, config);
  read_auto_restart_and_exports(options, config);
  read_worker_settings(options, config);
  return config;
}

}  // namespace starter
