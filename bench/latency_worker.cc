/// The worker bench/reload_latency runs under each start_server: it stamps, on
/// CLOCK_MONOTONIC, the moments a reload is measured by, and it is really unready for a given
/// time after it starts, under every superdaemon alike.
///
///     latency_worker --log=FILE [--ready-after-ms=N]
///
/// Each line is one write(2) to FILE opened O_APPEND, so generations never interleave:
///
///     start pid=P gen=G t=NS               the first thing main() does
///     ready pid=P gen=G t=NS notified=0|1  N ms after start; t is taken just before READY=1
///                                          goes to NOTIFY_SOCKET (when set), after which it
///                                          accepts connections ("G:P\n" to each)
///     stop pid=P gen=G t=NS sig=TERM       a stopping signal was read; it exits 0 at once
///
/// NS is CLOCK_MONOTONIC in nanoseconds, the clock of Python's time.monotonic_ns(), so the
/// driver's own stamps compare with these. G is SERVER_STARTER_GENERATION or "-".
/// The startup work is a sleep that still watches for signals, not a busy loop: on a small
/// machine a spinning worker would compete with the very superdaemon being measured.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "server_starter.h"
#include "support/notify_send.h"

namespace {

constexpr int kUsageStatus = 64;  // EX_USAGE

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "latency_worker: %s\n", message.c_str());
  std::exit(kUsageStatus);
}

class Log {
 public:
  explicit Log(const std::string& path)
      : fd_(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0) die("open(" + path + "): " + std::strerror(errno));
    const char* gen = std::getenv("SERVER_STARTER_GENERATION");
    prefix_ = " pid=" + std::to_string(getpid()) + " gen=" + (gen ? gen : "-");
  }
  void say(std::string_view word, std::int64_t t, std::string_view details = {}) const {
    std::string line = std::string(word) + prefix_ + " t=" + std::to_string(t);
    if (!details.empty()) line += " " + std::string(details);
    line += "\n";
    // One write per line keeps lines whole on O_APPEND; a short write to a local file
    // is not expected, and the driver reports a missing line as such.
    (void)!write(fd_, line.data(), line.size());
  }

 private:
  int fd_;
  std::string prefix_;
};

// Stopping signals become data; blocked before anything else can take long.
int open_signalfd() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGQUIT}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) die(std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

// Returns true once a stopping signal was read (after logging it), false when `timer` (a
// timerfd, or -1 for none) expires; accepts on `listeners` meanwhile.
bool wait_for_signal(int sigfd, const Log& log, int timer, const std::vector<int>& listeners) {
  std::vector<pollfd> fds{{sigfd, POLLIN, 0}, {timer, POLLIN, 0}};
  for (int fd : listeners) fds.push_back({fd, POLLIN, 0});
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      die(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents) {
      signalfd_siginfo info{};
      if (read(sigfd, &info, sizeof info) == sizeof info) {
        log.say("stop", monotonic_ns(), std::string("sig=") + sigabbrev_np(info.ssi_signo));
        return true;
      }
    }
    if (fds[1].revents) return false;
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      int conn = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (conn < 0) continue;  // another generation took it, or the peer left
      const char* gen = std::getenv("SERVER_STARTER_GENERATION");
      std::string reply = std::string(gen ? gen : "-") + ":" + std::to_string(getpid()) + "\n";
      (void)!write(conn, reply.data(), reply.size());  // a client that left early is fine
      close(conn);
    }
  }
}

// Whether there was a NOTIFY_SOCKET to tell; only start_server --ready=notify sets one.
bool notify_ready() {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (!socket_name || !*socket_name) return false;
  std::string error =
      starter::testing_support::send_notify(socket_name, "READY=1\nSTATUS=latency_worker serving");
  if (!error.empty()) die("sd_notify: " + error);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t started = monotonic_ns();
  int sigfd = open_signalfd();

  std::string log_path;
  long ready_after_ms = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--log=")) {
      log_path = arg.substr(6);
    } else if (arg.starts_with("--ready-after-ms=")) {
      char* end = nullptr;
      ready_after_ms = std::strtol(argv[i] + 17, &end, 10);
      if (*end || end == argv[i] + 17 || ready_after_ms < 0) die("bad " + std::string(arg));
    } else {
      die("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (log_path.empty()) die("--log=FILE is required");
  Log log(log_path);
  log.say("start", started);

  std::vector<int> listeners;
  try {
    for (const auto& port : server_starter::server_ports()) listeners.push_back(port.fd);
  } catch (const server_starter::Error& e) {
    die(e.what());
  }

  // Startup work: not accepting, but still stoppable. An absolute timerfd wakes it within
  // the timer slack (50 us); a poll() timeout would allow 0.1% of the timeout on top.
  if (ready_after_ms > 0) {
    const std::int64_t ready_at = started + std::int64_t{ready_after_ms} * 1'000'000;
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    itimerspec at{};
    at.it_value = {static_cast<time_t>(ready_at / 1'000'000'000),
                   static_cast<long>(ready_at % 1'000'000'000)};
    if (timer < 0 || timerfd_settime(timer, TFD_TIMER_ABSTIME, &at, nullptr) < 0)
      die(std::string("timerfd: ") + std::strerror(errno));
    if (wait_for_signal(sigfd, log, timer, {})) return 0;
    close(timer);
  }

  const std::int64_t ready = monotonic_ns();
  bool notified = notify_ready();
  log.say("ready", ready, notified ? "notified=1" : "notified=0");
  wait_for_signal(sigfd, log, -1, listeners);
  return 0;
}
