// start_server: parse the command line, run the chosen mode, and turn errors into one line
// and an exit status. The last place that catches: whatever reaches it (a UsageError, a
// SysError, anything else) is one line and exit status 1. Code below catches only where it
// decides what a failure means (see error.h).
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "control.h"
#include "error.h"
#include "fd.h"
#include "log.h"
#include "options.h"
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

int run(const starter::Config& config) {
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
    case Mode::kStop:
      return starter::stop(config);
    case Mode::kStatus:
      return starter::status(config);
    case Mode::kRun:
      return starter::run_server(config);
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    starter::ensure_standard_fds();
    return run(
        starter::parse_options(std::vector<std::string>(argv + 1, argv + argc), environment()));
  } catch (const std::exception& e) {
    starter::log_line(e.what());
  }
  return 1;
}
