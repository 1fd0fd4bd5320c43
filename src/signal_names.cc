#include "signal_names.h"

#include <csignal>
#include <cstring>

#include "error.h"

namespace starter {

int parse_signal_name(const std::string& option, const std::string& name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  for (int signo = 1; signo < NSIG; ++signo)
    if (signal_name(signo) == upper) return signo;
  if (!upper.empty() && upper.find_first_not_of("0123456789") == std::string::npos && upper.size() < 4) {
    int signo = std::stoi(upper);
    if (signo > 0 && signo < NSIG) return signo;
  }
  throw UsageError("--" + option + ": unknown signal '" + name + "'");
}

std::string signal_name(int signo) {
  const char* abbrev = ::sigabbrev_np(signo);
  return abbrev ? abbrev : std::to_string(signo);
}

}  // namespace starter
