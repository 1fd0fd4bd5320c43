// The command line as a user of Perl's start_server writes it: names, defaults, the two
// value forms, unique prefixes, environment fallbacks, modes, and one-line usage errors.
// Also the signal names of --signal-on-hup/--signal-on-term (signal_names.h).

#include "options.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "error.h"
#include "signal_names.h"

namespace starter {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;
using Env = std::map<std::string, std::string>;
using Mode = Config::Mode;

using testing_support::usage_error;

std::vector<std::string> keys(const Config& c) {
  std::vector<std::string> out;
  for (const auto& l : c.listeners) out.push_back(l.key());
  return out;
}

Env exported(const Config& c) { return Env(c.exported_env.begin(), c.exported_env.end()); }

// --- defaults and forms ----------------------------------------------------------------------

TEST(ParseOptions, Defaults) {
  Config c = parse_options({"/bin/prog"}, {});
  EXPECT_EQ(c.mode, Mode::kRun);
  EXPECT_EQ(c.command, Args{"/bin/prog"});
  EXPECT_TRUE(c.listeners.empty());
  EXPECT_EQ(c.backlog, SOMAXCONN);
  EXPECT_EQ(c.supervisor.interval, 1s);
  EXPECT_EQ(c.supervisor.signal_on_hup, SIGTERM);
  EXPECT_EQ(c.supervisor.signal_on_term, SIGTERM);
  EXPECT_EQ(c.supervisor.kill_old_delay, 0s);
  EXPECT_FALSE(c.supervisor.auto_restart);
  EXPECT_EQ(c.supervisor.auto_restart_interval, 360s);
  EXPECT_EQ(c.restart_timeout, 60s);
  EXPECT_EQ(c.pid_file, "");
  EXPECT_EQ(c.status_file, "");
  EXPECT_EQ(c.log_file, "");
  EXPECT_FALSE(c.daemonize);
  EXPECT_EQ(c.dir, "");
  EXPECT_EQ(c.envdir, "");
  EXPECT_TRUE(c.exported_env.empty());
}

TEST(ParseOptions, AutoRestartMakesKillOldDelayFive) {
  Config c = parse_options({"--enable-auto-restart", "/bin/prog"}, {});
  EXPECT_TRUE(c.supervisor.auto_restart);
  EXPECT_EQ(c.supervisor.kill_old_delay, 5s);
  EXPECT_EQ(c.supervisor.auto_restart_interval, 360s);
  EXPECT_EQ(c.command, Args{"/bin/prog"});  // a flag takes no value: the next word is the program
}

TEST(ParseOptions, DoubleDashEndsOptions) {
  Config c = parse_options({"--port=80", "--", "/bin/prog", "-x", "--port=81"}, {});
  EXPECT_EQ(c.command, (Args{"/bin/prog", "-x", "--port=81"}));
  EXPECT_EQ(keys(c), Args{"80"});
}

TEST(ParseOptions, FirstNonOptionStartsTheCommand) {
  Config c = parse_options({"--port=80", "/bin/prog", "-x"}, {});
  EXPECT_EQ(c.command, (Args{"/bin/prog", "-x"}));
  EXPECT_EQ(keys(c), Args{"80"});
}

TEST(ParseOptions, OptionsAfterTheProgramBelongToIt) {
  Config c = parse_options({"/bin/prog", "--port=80", "--", "x"}, {});
  EXPECT_EQ(c.command, (Args{"/bin/prog", "--port=80", "--", "x"}));
  EXPECT_TRUE(c.listeners.empty());
}

TEST(ParseOptions, SeparateValueForm) {
  Config c = parse_options({"--port", "80", "--dir", "/srv", "--interval", "3", "/bin/prog"}, {});
  EXPECT_EQ(keys(c), Args{"80"});
  EXPECT_EQ(c.dir, "/srv");
  EXPECT_EQ(c.supervisor.interval, 3s);
  EXPECT_EQ(c.command, Args{"/bin/prog"});
}

TEST(ParseOptions, UniquePrefix) {
  Config c = parse_options({"--po=80", "--inter", "2", "--enable-auto", "/bin/prog"}, {});
  EXPECT_EQ(keys(c), Args{"80"});
  EXPECT_EQ(c.supervisor.interval, 2s);
  EXPECT_TRUE(c.supervisor.auto_restart);
  EXPECT_EQ(c.command, Args{"/bin/prog"});
}

TEST(ParseOptions, AmbiguousPrefixIsAUsageError) {
  usage_error({"--s=x", "/bin/prog"});  // --signal-on-hup, --signal-on-term, --status-file, --stop
}

TEST(ParseOptions, SingleDashLongOption) {  // Getopt::Long accepts -h, -version, -port=80
  EXPECT_EQ(parse_options({"-h"}, {}).mode, Mode::kHelp);
  EXPECT_EQ(parse_options({"-version"}, {}).mode, Mode::kVersion);
  EXPECT_EQ(keys(parse_options({"-port=80", "/bin/prog"}, {})), Args{"80"});
}

TEST(ParseOptions, PortsAccumulateInOrderThenPaths) {
  Config c = parse_options({"--path=/tmp/a.sock", "--port=8080", "--port", "127.0.0.1:81", "--path",
                            "/tmp/b.sock", "--port=[::1]:82=5", "/bin/prog"},
                           {});
  EXPECT_EQ(keys(c), (Args{"8080", "127.0.0.1:81", "[::1]:82", "/tmp/a.sock", "/tmp/b.sock"}));
  EXPECT_EQ(c.listeners[2].pinned_fd, 5);
}

TEST(ParseOptions, Values) {
  Config c =
      parse_options({"--backlog=50", "--interval=0", "--signal-on-hup=usr1",
                     "--signal-on-term=SIGINT", "--kill-old-delay=3", "--auto-restart-interval=100",
                     "--pid-file=/run/p", "--status-file=/run/s", "--log-file=| logger -t x",
                     "--daemonize", "--dir=/srv", "--envdir=/etc/env", "/bin/prog"},
                    {});
  EXPECT_EQ(c.backlog, 50);
  EXPECT_EQ(c.supervisor.interval, 0s);
  EXPECT_EQ(c.supervisor.signal_on_hup, SIGUSR1);
  EXPECT_EQ(c.supervisor.signal_on_term, SIGINT);
  EXPECT_EQ(c.supervisor.kill_old_delay, 3s);
  EXPECT_EQ(c.supervisor.auto_restart_interval, 100s);
  EXPECT_EQ(c.pid_file, "/run/p");
  EXPECT_EQ(c.status_file, "/run/s");
  EXPECT_EQ(c.log_file, "| logger -t x");
  EXPECT_TRUE(c.daemonize);
  EXPECT_EQ(c.dir, "/srv");
  EXPECT_EQ(c.envdir, "/etc/env");
}

TEST(ParseOptions, BacklogZeroMeansTheDefault) {  // Perl's ||=
  EXPECT_EQ(parse_options({"--backlog=0", "/bin/prog"}, {}).backlog, SOMAXCONN);
}

// Perl's Getopt::Long lets the last value win for any option other than --port/--path given
// twice (perl-reference.md 1.1 "Repeats"); Boost alone would refuse the repeat.
TEST(ParseOptions, RepeatedScalarOptionLastWins) {
  Config c = parse_options({"--interval=2", "--interval=3", "/bin/prog"}, {});
  EXPECT_EQ(c.supervisor.interval, 3s);
}

// --- environment ---------------------------------------------------------------------------

TEST(ParseOptions, EnvironmentFallbacks) {
  Env env{{"ENABLE_AUTO_RESTART", "1"},
          {"KILL_OLD_DELAY", "3"},
          {"AUTO_RESTART_INTERVAL", "100"},
          {"ENVDIR", "/etc/env"}};
  Config c = parse_options({"/bin/prog"}, env);
  EXPECT_TRUE(c.supervisor.auto_restart);
  EXPECT_EQ(c.supervisor.kill_old_delay, 3s);
  EXPECT_EQ(c.supervisor.auto_restart_interval, 100s);
  EXPECT_EQ(c.envdir, "/etc/env");
}

TEST(ParseOptions, AutoRestartFromEnvironmentMakesKillOldDelayFive) {
  Config c = parse_options({"/bin/prog"}, {{"ENABLE_AUTO_RESTART", "1"}});
  EXPECT_TRUE(c.supervisor.auto_restart);
  EXPECT_EQ(c.supervisor.kill_old_delay, 5s);
}

TEST(ParseOptions, FalseOrEmptyEnableAutoRestartIsOff) {
  EXPECT_FALSE(
      parse_options({"/bin/prog"}, {{"ENABLE_AUTO_RESTART", "0"}}).supervisor.auto_restart);
  EXPECT_FALSE(parse_options({"/bin/prog"}, {{"ENABLE_AUTO_RESTART", ""}}).supervisor.auto_restart);
}

TEST(ParseOptions, OptionWinsOverEnvironment) {
  Env env{{"KILL_OLD_DELAY", "3"}, {"AUTO_RESTART_INTERVAL", "100"}, {"ENVDIR", "/etc/env"}};
  Config c = parse_options(
      {"--kill-old-delay=7", "--auto-restart-interval=200", "--envdir=/srv/env", "/bin/prog"}, env);
  EXPECT_EQ(c.supervisor.kill_old_delay, 7s);
  EXPECT_EQ(c.supervisor.auto_restart_interval, 200s);
  EXPECT_EQ(c.envdir, "/srv/env");
}

TEST(ParseOptions, InvalidEnvironmentValueIsAUsageError) {
  std::string what = usage_error({"/bin/prog"}, {{"KILL_OLD_DELAY", "abc"}});
  EXPECT_NE(what.find("KILL_OLD_DELAY"), std::string::npos) << what;
  what = usage_error({"/bin/prog"}, {{"AUTO_RESTART_INTERVAL", "5x"}});
  EXPECT_NE(what.find("AUTO_RESTART_INTERVAL"), std::string::npos) << what;
}

TEST(ParseOptions, ExportedEnvironmentForTheGivenOptions) {
  Config c = parse_options({"--enable-auto-restart", "--kill-old-delay=7",
                            "--auto-restart-interval=200", "--envdir=/srv/env", "/bin/prog"},
                           {});
  EXPECT_EQ(exported(c), (Env{{"ENVDIR", "/srv/env"},
                              {"ENABLE_AUTO_RESTART", "1"},
                              {"KILL_OLD_DELAY", "7"},
                              {"AUTO_RESTART_INTERVAL", "200"}}));
  EXPECT_EQ(c.exported_env.size(), 4u);  // each once
}

TEST(ParseOptions, ExportedEnvironmentOptionWinsOverEnvironment) {
  Config c = parse_options({"--kill-old-delay=7", "/bin/prog"}, {{"KILL_OLD_DELAY", "3"}});
  EXPECT_EQ(exported(c), (Env{{"KILL_OLD_DELAY", "7"}}));
}

TEST(ParseOptions, ExportedEnvironmentEnvdirOnly) {
  EXPECT_EQ(exported(parse_options({"--envdir=/e", "/bin/prog"}, {})), (Env{{"ENVDIR", "/e"}}));
}

// --- modes ---------------------------------------------------------------------------------

TEST(ParseOptions, Help) {
  Config c = parse_options({"--help"}, {});
  EXPECT_EQ(c.mode, Mode::kHelp);
  EXPECT_NE(c.help_text.find("--port"), std::string::npos);
  EXPECT_NE(c.help_text.find("--signal-on-hup"), std::string::npos);
  EXPECT_EQ(c.help_text, help_text());
}

TEST(ParseOptions, Version) { EXPECT_EQ(parse_options({"--version"}, {}).mode, Mode::kVersion); }

TEST(ParseOptions, ModePrecedence) {  // help, version, restart, stop (Perl's order)
  EXPECT_EQ(parse_options({"--version", "--help"}, {}).mode, Mode::kHelp);
  EXPECT_EQ(parse_options({"--restart", "--version"}, {}).mode, Mode::kVersion);
  EXPECT_EQ(parse_options({"--stop", "--restart", "--pid-file=p", "--status-file=s"}, {}).mode,
            Mode::kRestart);
}

TEST(ParseOptions, Restart) {
  Config c = parse_options({"--restart", "--pid-file=/run/p", "--status-file=/run/s"}, {});
  EXPECT_EQ(c.mode, Mode::kRestart);
  EXPECT_EQ(c.pid_file, "/run/p");
  EXPECT_EQ(c.status_file, "/run/s");
  EXPECT_EQ(c.restart_timeout, 60s);
  EXPECT_EQ(
      parse_options({"--restart", "--pid-file=p", "--status-file=s", "--restart-timeout=5"}, {})
          .restart_timeout,
      5s);
}

TEST(ParseOptions, RestartNeedsPidFileAndStatusFile) {
  usage_error({"--restart"});
  usage_error({"--restart", "--pid-file=p"});
  usage_error({"--restart", "--status-file=s"});
  usage_error({"--restart", "--pid-file=p", "--status-file=s", "--restart-timeout=0"});
}

TEST(ParseOptions, Stop) {
  Config c = parse_options({"--stop", "--pid-file=/run/p"}, {});
  EXPECT_EQ(c.mode, Mode::kStop);
  EXPECT_EQ(c.pid_file, "/run/p");
  usage_error({"--stop"});
  usage_error({"--stop", "--status-file=s"});
}

// --- errors --------------------------------------------------------------------------------

TEST(ParseOptions, NoProgram) {
  EXPECT_EQ(usage_error({}), "server program not specified");
  EXPECT_EQ(usage_error({"--port=80"}), "server program not specified");
  EXPECT_EQ(usage_error({"--port=80", "--"}), "server program not specified");
}

TEST(ParseOptions, UnknownOption) {
  std::string what = usage_error({"--bogus", "/bin/prog"});
  EXPECT_NE(what.find("bogus"), std::string::npos) << what;
}

TEST(ParseOptions, MissingValue) { usage_error({"--port"}); }

TEST(ParseOptions, DaemonizeNeedsLogFile) {
  usage_error({"--daemonize", "/bin/prog"});
  EXPECT_TRUE(parse_options({"--daemonize", "--log-file=/tmp/log", "/bin/prog"}, {}).daemonize);
}

TEST(ParseOptions, BadSignalName) {
  std::string what = usage_error({"--signal-on-hup=FOO", "/bin/prog"});
  EXPECT_NE(what.find("FOO"), std::string::npos) << what;
  what = usage_error({"--signal-on-term=SIGBOGUS", "/bin/prog"});
  EXPECT_NE(what.find("SIGBOGUS"), std::string::npos) << what;
}

TEST(ParseOptions, BadNumbers) {
  usage_error({"--interval=-1", "/bin/prog"});
  usage_error({"--interval", "-1", "/bin/prog"});
  usage_error({"--interval=abc", "/bin/prog"});
  usage_error({"--interval=1.5", "/bin/prog"});
  usage_error({"--kill-old-delay=-1", "/bin/prog"});
  usage_error({"--auto-restart-interval=0", "/bin/prog"});
  usage_error({"--backlog=-1", "/bin/prog"});
  usage_error({"--backlog=x", "/bin/prog"});
}

// Every value is quoted as quote() does: a newline in it never makes the message two lines
// (usage_error checks that), and the message still names the option and shows the value.
TEST(ParseOptions, NewlinesInValuesStayOnOneLine) {
  const std::pair<Args, std::string> cases[] = {
      {{"--ready=a\nb", "/bin/prog"}, "--ready: unknown value 'a\\x0ab'"},
      {{"--reload-retry=a\nb", "/bin/prog"}, "--reload-retry: unknown value 'a\\x0ab'"},
      {{"--respawn-release=a\nb", "/bin/prog"}, "--respawn-release: unknown value 'a\\x0ab'"},
      {{"--port=80\n80", "/bin/prog"}, "--port: invalid value '80\\x0a80'"},
      {{"--path=/tmp/a\n;b", "/bin/prog"}, "--path: invalid value '/tmp/a\\x0a;b'"},
      {{"--path-mode=7\n7", "/bin/prog"}, "--path-mode: invalid value '7\\x0a7'"},
      {{"--interval=1\n2", "/bin/prog"}, "--interval: invalid value '1\\x0a2'"},
      {{"--backlog=1\n2", "/bin/prog"}, "--backlog: invalid value '1\\x0a2'"},
      {{"--signal-on-hup=TERM\nX", "/bin/prog"}, "--signal-on-hup: unknown signal 'TERM\\x0aX'"},
      // Boost.Program_options' own messages
      {{"--bogus\nx", "/bin/prog"}, "unrecognised option '--bogus\\x0ax'"},
      {{"--s=1\n2", "/bin/prog"}, "option '--s=1\\x0a2' is ambiguous"},
  };
  for (const auto& [args, expected] : cases) {
    SCOPED_TRACE(args.front());
    std::string what = usage_error(args);
    EXPECT_NE(what.find(expected), std::string::npos) << what;
  }
  std::string what = usage_error({"/bin/prog"}, {{"KILL_OLD_DELAY", "1\n2"}});
  EXPECT_NE(what.find("KILL_OLD_DELAY: invalid value '1\\x0a2'"), std::string::npos) << what;
  what = usage_error({"/bin/prog"}, {{"AUTO_RESTART_INTERVAL", "1\n2"}});
  EXPECT_NE(what.find("AUTO_RESTART_INTERVAL: invalid value '1\\x0a2'"), std::string::npos) << what;
}

// One parser for every number (number.h): the whole value, digits only, range-checked.
TEST(ParseOptions, NumbersAreWholeDecimalsInRange) {
  EXPECT_EQ(parse_options({"--interval=007", "/bin/prog"}, {}).supervisor.interval, 7s);
  EXPECT_EQ(parse_options({"--path-mode=0660", "/bin/prog"}, {}).path_mode, 0660u);
  for (const std::string bad : {"+1", " 1", "1 ", "0x1", "1e2", "-", "99999999999"}) {
    SCOPED_TRACE("'" + bad + "'");
    std::string what = usage_error({"--interval=" + bad, "/bin/prog"});
    EXPECT_NE(what.find("--interval: invalid value '" + bad + "'"), std::string::npos) << what;
    what = usage_error({"/bin/prog"}, {{"KILL_OLD_DELAY", bad.empty() ? "x" : bad}});
    EXPECT_NE(what.find("KILL_OLD_DELAY"), std::string::npos) << what;
  }
  std::string what = usage_error({"--path-mode=1000", "/bin/prog"});
  EXPECT_NE(what.find("--path-mode: invalid value '1000'"), std::string::npos) << what;
  what = usage_error({"--backlog=-1", "/bin/prog"});
  EXPECT_NE(what.find("--backlog: invalid value '-1' (a whole number, at least 0, expected)"),
            std::string::npos)
      << what;
  what = usage_error({"--auto-restart-interval=0", "/bin/prog"});
  EXPECT_NE(what.find("--auto-restart-interval: invalid value '0' (a whole number of seconds, at "
                      "least 1, expected)"),
            std::string::npos)
      << what;
}

TEST(ParseOptions, BadPortOrPath) {
  usage_error({"--port=abc", "/bin/prog"});
  usage_error({"--path=/tmp/a;b", "/bin/prog"});
}

TEST(ParseOptions, DuplicatePinnedFd) {
  std::string what = usage_error({"--port=80=5", "--port=81=5", "/bin/prog"});
  EXPECT_NE(what.find('5'), std::string::npos) << what;
  EXPECT_EQ(parse_options({"--port=80=5", "--port=81=6", "/bin/prog"}, {}).listeners.size(), 2u);
}

TEST(ParseOptions, FlagTakesNoArgument) {  // Perl #41
  usage_error({"--enable-auto-restart=1", "/bin/prog"});
  usage_error({"--daemonize=yes", "--log-file=x", "/bin/prog"});
}

// --- signal names ----------------------------------------------------------------------------

TEST(ParseSignalName, AcceptsPerlsSpellings) {
  const std::pair<std::string, int> cases[] = {
      {"TERM", SIGTERM}, {"SIGTERM", SIGTERM}, {"term", SIGTERM},    {"SigTerm", SIGTERM},
      {"15", SIGTERM},   {"usr1", SIGUSR1},    {"SIGUSR1", SIGUSR1}, {"USR2", SIGUSR2},
      {"HUP", SIGHUP},   {"QUIT", SIGQUIT},    {"INT", SIGINT},      {"KILL", SIGKILL},
      {"9", SIGKILL},    {"WINCH", SIGWINCH},
  };
  for (const auto& [name, signo] : cases) {
    SCOPED_TRACE(name);
    EXPECT_EQ(parse_signal_name("signal-on-hup", name), signo);
  }
}

TEST(ParseSignalName, UnknownIsAUsageErrorNamingTheOption) {
  for (const std::string name : {"FOO", "SIGFOO", "", "SIG", "0", "-1", "999", "TERM ", "1.5"}) {
    SCOPED_TRACE("'" + name + "'");
    try {
      parse_signal_name("signal-on-term", name);
      ADD_FAILURE() << "accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--signal-on-term"), std::string::npos) << e.what();
    }
  }
}

TEST(SignalName, PrintsWithoutSig) {
  EXPECT_EQ(signal_name(SIGTERM), "TERM");
  EXPECT_EQ(signal_name(SIGHUP), "HUP");
  EXPECT_EQ(signal_name(SIGUSR1), "USR1");
  EXPECT_EQ(parse_signal_name("x", signal_name(SIGQUIT)), SIGQUIT);
}

}  // namespace
}  // namespace starter
