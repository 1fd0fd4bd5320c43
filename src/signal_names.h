#pragma once
/// Signal names both ways, as Perl's start_server accepts and prints them.

#include <string>

namespace starter {

/// "TERM", "SIGTERM", "term", "15" -> SIGTERM; throws UsageError naming --`option`.
int parse_signal_name(const std::string& option, const std::string& name);

/// SIGTERM -> "TERM".
std::string signal_name(int signo);

}  // namespace starter
