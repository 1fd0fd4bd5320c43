#pragma once
/// What we tell systemd, through libsystemd's sd_notify. Every call is a no-op when
/// start_server does not run under a service manager (NOTIFY_SOCKET unset).

#include <chrono>
#include <optional>
#include <string_view>

namespace starter {

class SystemdNotifier {
 public:
  void ready(std::string_view status);
  /// RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload (systemd 253+) requires.
  void reloading(std::string_view status);
  void stopping(std::string_view status);
  void status(std::string_view status);
  void watchdog();

  /// Half of WATCHDOG_USEC when systemd expects pings from us, else nullopt.
  static std::optional<std::chrono::milliseconds> watchdog_period();

 private:
  void send(std::string message);
};

}  // namespace starter
