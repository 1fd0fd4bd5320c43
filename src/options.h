#pragma once
/// The command line: Perl-compatible option names, defaults and environment fallbacks,
/// parsed with Boost.Program_options into a Config. The only file that includes Boost.

#include <map>
#include <string>
#include <vector>

#include "config.h"

namespace starter {

/// Parses argv (without argv[0]). `env` supplies ENVDIR, ENABLE_AUTO_RESTART,
/// KILL_OLD_DELAY and AUTO_RESTART_INTERVAL when the option is not given.
/// Throws UsageError with a one-line message naming the culprit.
Config parse_options(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env);

/// The --help text: a synopsis, the options of option_table.h, the signals and exit statuses.
std::string help_text();

/// The long names of every option the parser knows, in --help's order (without "--").
std::vector<std::string> option_names();

}  // namespace starter
