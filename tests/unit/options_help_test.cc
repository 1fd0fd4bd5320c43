// The defaults --help prints are the defaults start_server runs with: giving each printed
// default explicitly changes nothing. The help text reads them from SupervisorSettings and
// Config (each written once), and this holds the two sides together.

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "options.h"

namespace starter {
namespace {

using namespace std::chrono_literals;

/// Each "--name ... (default: VALUE" of the help text, VALUE up to ',' or ')': an option's
/// entry starts a line with "  --", and its description may wrap onto the lines after it.
std::vector<std::pair<std::string, std::string>> printed_defaults() {
  const std::string text = help_text();
  const std::regex printed("\\(default: ([^,)]+)");
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t at = text.find("\n  --"); at != std::string::npos;) {
    std::size_t next = text.find("\n  --", at + 1);
    std::string entry =
        std::regex_replace(text.substr(at + 5, next - at - 5), std::regex("\\s+"), " ");
    std::smatch value;
    if (std::regex_search(entry, value, printed))
      out.emplace_back(entry.substr(0, entry.find(' ')), value[1]);
    at = next;
  }
  return out;
}

/// Everything a default can set.
void expect_same_settings(const Config& given, const Config& defaults, const std::string& what) {
  EXPECT_EQ(given.supervisor, defaults.supervisor) << what;
  EXPECT_EQ(given.restart_timeout, defaults.restart_timeout) << what;
  EXPECT_EQ(given.stop_timeout, defaults.stop_timeout) << what;
  EXPECT_EQ(given.path_mode, defaults.path_mode) << what;
  EXPECT_EQ(given.backlog, defaults.backlog) << what;
}

TEST(OptionsHelp, EveryPrintedDefaultIsTheDefault) {
  const Config defaults = parse_options({"--", "app"}, {});
  std::vector<std::string> named;
  for (const auto& [name, value] : printed_defaults()) {
    named.push_back(name);
    if (value == "SOMAXCONN") continue;  // a name, not a value one can give
    std::string given = "--" + name + "=" + value;
    expect_same_settings(parse_options({given, "--", "app"}, {}), defaults, given);
  }
  EXPECT_EQ(named,
            (std::vector<std::string>{
                "path-mode", "backlog", "interval", "ready", "ready-timeout", "drain-timeout",
                "backoff-max", "reload-retry", "signal-on-hup", "signal-on-term", "kill-old-delay",
                "auto-restart-interval", "respawn-release", "restart-timeout", "stop-timeout"}));
}

TEST(OptionsHelp, ParsedDefaultsAreTheSettingsDefaults) {
  EXPECT_EQ(parse_options({"--", "app"}, {}).supervisor, SupervisorSettings{});
  EXPECT_EQ(Config{}.supervisor, SupervisorSettings{});
}

TEST(OptionsHelp, KillOldDelayWithAutoRestartIsThePrintedOne) {
  std::string text = std::regex_replace(help_text(), std::regex("\\s+"), " ");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      text, m, std::regex("\\(default: [0-9]+, or ([0-9]+) with --enable-auto-restart\\)")))
      << text;
  Config c = parse_options({"--enable-auto-restart", "--", "app"}, {});
  EXPECT_EQ(c.supervisor.kill_old_delay, std::chrono::seconds(std::stoi(m[1])));
  EXPECT_EQ(c.supervisor.kill_old_delay, SupervisorSettings::kAutoRestartKillOldDelay);
}

}  // namespace
}  // namespace starter
