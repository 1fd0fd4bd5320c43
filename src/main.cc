// start_server: parse the command line, run the chosen mode, and turn errors into one line
// and an exit status. The last place that catches: whatever reaches it (a UsageError, a
// SysError, anything else) is one line and exit status 1. Code below catches only where it
// decides what a failure means (see error.h).
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control.h"
#include "error.h"
#include "fd.h"
#include "log.h"
#include "options.h"
#include "self_exec.h"
#include "server.h"
#include "status_query.h"

extern char** environ;

namespace {

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (auto eq = entry.find('='); eq != std::string::npos)
      env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

int run(const starter::Config& config, std::optional<starter::Handoff> handoff) {
  using Mode = starter::Config::Mode;
  switch (config.mode) {
    case Mode::kHelp:
      std::cout << config.help_text;
      return 0;
    case Mode::kVersion:
      std::cout << "start_server " << STARTER_VERSION << " (Server::Starter 0.35 compatible)\n";
      return 0;
    case Mode::kRestart:
      return starter::restart(config);
    case Mode::kUpgrade:
      return starter::upgrade(config);
    case Mode::kStop:
      return starter::stop(config);
    case Mode::kStatus:
      return starter::status(config);
    case Mode::kRun:
      return starter::run_server(config, std::move(handoff));
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    starter::ensure_standard_fds();
    // The pre-flight of an upgrade in place (self_exec.h); not in --help.
    if (argc == 2 && std::string_view(argv[1]) == starter::kUpgradeCheckOption)
      return starter::upgrade_check();
    // An upgrade in place: before anything reads the environment, so no worker sees it. Until
    // the state is taken over, whatever goes wrong (options this release no longer takes
    // included) goes back to the image before us (fall_back).
    std::optional<starter::Handoff> handoff = starter::take_handoff();
    if (handoff && handoff->exe) starter::arm_fallback(handoff->exe.get(), handoff->state);
    return run(
        starter::parse_options(std::vector<std::string>(argv + 1, argv + argc), environment()),
        std::move(handoff));
  } catch (const std::exception& e) {
    starter::fall_back(e.what());  // an upgrade in place going back to the image before us
    starter::log_line(e.what());
  }
  return 1;
}
