#include "log.h"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace starter {

namespace {

int log_fd = STDERR_FILENO;
unsigned long dropped = 0;

/// One write(2) of the whole line; false if none of it could be written.
bool write_line(std::string_view line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(log_fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    // Nowhere left to report a failure to log. A line cut short stays cut: retrying after
    // EAGAIN could block the loop again.
    if (n <= 0) return rest.size() < line.size();
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

void log_to(int fd) { log_fd = fd; }

void log_raw(std::string_view line) {
  std::string buf;
  if (dropped > 0)
    buf = "start_server: " + std::to_string(dropped) +
          " log line(s) lost: the log could not take them\n";
  buf += line;
  buf += '\n';
  if (write_line(buf))
    dropped = 0;
  else
    ++dropped;
}

void log_line(std::string_view message) {
  std::string line = "start_server: ";
  line += message;
  log_raw(line);
}

}  // namespace starter
