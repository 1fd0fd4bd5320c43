#include "systemd_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <string>

namespace starter {

namespace {
std::string status_field(std::string_view status) {
  std::string line(status);
  for (char& c : line)
    if (c == '\n') c = ' ';
  return "STATUS=" + line;
}
}  // namespace

void SystemdNotifier::send(std::string message) {
  // A failure to notify is not worth stopping a running service for, and systemd reports a
  // missing READY=1 itself.
  (void)sd_notify(0, message.c_str());
}

void SystemdNotifier::ready(std::string_view status) { send("READY=1\n" + status_field(status)); }

void SystemdNotifier::reloading(std::string_view status) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
              static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\n" + status_field(status));
}

void SystemdNotifier::stopping(std::string_view status) {
  send("STOPPING=1\n" + status_field(status));
}

void SystemdNotifier::status(std::string_view status) { send(status_field(status)); }

void SystemdNotifier::watchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::milliseconds> SystemdNotifier::watchdog_period() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::milliseconds(std::max<uint64_t>(usec / 2000, 1));
}

}  // namespace starter
