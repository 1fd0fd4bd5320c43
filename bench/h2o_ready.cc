/// Runs h2o (or any server with h2o's /server-status/json) as the worker of
/// `start_server --ready=notify`, for a server that never calls sd_notify itself: h2o 2.2 does
/// not. Used by bench/run for the gated runs of the dropped-requests benchmark.
///
///     h2o_ready --port=PORT [--timeout-ms=N] -- PROGRAM ARGS...
///
/// It forks a probe, then execs PROGRAM in place of itself, so PROGRAM keeps the pid that
/// start_server spawned and signals, and the probe is PROGRAM's child: a process of the
/// generation, whose READY=1 start_server accepts (it drops messages from outside the
/// generation's process tree). The probe asks 127.0.0.1:PORT for /server-status/json every
/// 2 ms until the answer carries "generation": G with G this generation's
/// SERVER_STARTER_GENERATION. Since every generation accepts on the same inherited socket, a
/// connect alone proves nothing and an answer from the old generation does not count: only
/// the new h2o answering from its own event loop does. Then it sends READY=1 to
/// NOTIFY_SOCKET, stays until start_server has surely read the message (it checks the
/// sender's ancestry in /proc, so the sender must still exist), and exits.
///
/// Without NOTIFY_SOCKET (Perl's start_server, or ours without --ready=notify) it only execs.
/// The probe gives up after --timeout-ms (default 30000), or as soon as PROGRAM is gone.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
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

#include "support/notify_send.h"

namespace {

constexpr int kUsageStatus = 64;  // EX_USAGE

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "h2o_ready: %s\n", message.c_str());
  std::exit(kUsageStatus);
}

std::int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

// The generation h2o reports at 127.0.0.1:port, or -1 (no answer, or not h2o's JSON).
long served_generation(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval limit{0, 200'000};  // a full backlog must not hold the probe for long
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  static constexpr std::string_view kRequest =
      "GET /server-status/json?show=main HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      write(fd, kRequest.data(), kRequest.size()) == static_cast<ssize_t>(kRequest.size())) {
    char buf[4096];
    for (ssize_t n; reply.size() < 65536 && (n = read(fd, buf, sizeof buf)) > 0;)
      reply.append(buf, n);
  }
  close(fd);
  std::size_t at = reply.find("\"generation\":");
  if (at == std::string::npos) return -1;
  const char* p = reply.c_str() + at + 13;
  while (*p == ' ') ++p;
  if (*p == '"') ++p;  // h2o prints it as a string when it came from the environment
  char* end = nullptr;
  long generation = std::strtol(p, &end, 10);
  return end == p ? -1 : generation;
}

void notify_ready(const char* socket_name) {
  std::string error = starter::testing_support::send_notify(
      socket_name, "READY=1\nSTATUS=h2o answers /server-status");
  if (!error.empty()) die("sd_notify: " + error);
}

[[noreturn]] void probe(int port, long generation, const char* notify_socket, long timeout_ms) {
  // The listeners and everything else inherited belong to the server, not to the probe.
  close_range(3, ~0U, 0);
  const pid_t server = getppid();
  const std::int64_t deadline = monotonic_ms() + timeout_ms;
  while (getppid() == server && monotonic_ms() < deadline) {
    if (served_generation(port) == generation) {
      notify_ready(notify_socket);
      // start_server reads the datagram at once but checks our parentage in /proc/PID/stat:
      // stay a moment (or until the server is gone) rather than race it.
      for (int i = 0; i < 100 && getppid() == server; ++i) sleep_ms(10);
      _exit(0);
    }
    sleep_ms(2);
  }
  _exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  long timeout_ms = 30000;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.starts_with("--port=")) {
      port = std::atoi(argv[i] + 7);
    } else if (arg.starts_with("--timeout-ms=")) {
      timeout_ms = std::atol(argv[i] + 13);
    } else {
      die("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (port <= 0 || port > 65535 || i >= argc)
    die("usage: h2o_ready --port=PORT [--timeout-ms=N] -- PROGRAM ARGS...");

  const char* notify_socket = std::getenv("NOTIFY_SOCKET");
  const char* generation = std::getenv("SERVER_STARTER_GENERATION");
  if (notify_socket && *notify_socket && generation) {
    long gen = std::atol(generation);
    pid_t pid = fork();
    if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) probe(port, gen, notify_socket, timeout_ms);
  }
  execvp(argv[i], argv + i);
  die(std::string("execvp(") + argv[i] + "): " + std::strerror(errno));
}
