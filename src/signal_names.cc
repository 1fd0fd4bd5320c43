#include "signal_names.h"

#include <csignal>
#include <cstring>

#include "error.h"
#include "number.h"

namespace starter {

int parse_signal_name(const std::string& option, const std::string& name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  for (int signo = 1; signo < NSIG; ++signo)
    if (signal_name(signo) == upper) return signo;
  if (std::optional<int> signo = parse_integer<int>(upper, 1, NSIG - 1)) return *signo;
  throw UsageError("--" + option + ": unknown signal " + quote(name));
}

std::string signal_name(int signo) {
  const char* abbrev = ::sigabbrev_np(signo);
  return abbrev ? abbrev : std::to_string(signo);
}

}  // namespace starter
