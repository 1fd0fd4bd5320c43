#include "log.h"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace starter {

void log_raw(std::string_view line) {
  std::string buf(line);
  buf += '\n';
  std::string_view rest = buf;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report a failure to log
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

void log_line(std::string_view message) {
  std::string line = "start_server: ";
  line += message;
  log_raw(line);
}

}  // namespace starter
