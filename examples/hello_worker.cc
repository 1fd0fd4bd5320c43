/// hello_worker: a small HTTP server written for start_server.
///
///     start_server --ready=notify --port=8080 --pid-file=/tmp/hello.pid -- ./hello_worker
///     curl http://localhost:8080/        # Hello from generation 1 (pid 4242)
///     kill -HUP $(cat /tmp/hello.pid)    # generation 2 takes over; no request is lost
///
/// It serves every stream socket start_server hands down (TCP ports and unix paths) and
/// answers each request with one line naming its generation and pid. On SIGTERM (which
/// start_server sends to the old generation once the new one is up) it stops accepting,
/// finishes the requests it has started and exits 0. Connections still queued on the
/// listeners stay there for the next generation, because the sockets belong to
/// start_server: this process only closes its own copies of them, never shutdown(2)s them.
///
/// Once it is ready to serve it says so with sd_notify("READY=1"). Under
/// `start_server --ready=notify` that, not merely staying alive for --interval, is what
/// makes start_server retire the previous generation. Without a NOTIFY_SOCKET (plain
/// start_server) the call does nothing.

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <server_starter.h>

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kClientTimeout = std::chrono::seconds(5);  // idle client: give up on it
constexpr std::size_t kMaxRequestHead = 16 * 1024;

struct Connection {
  int fd;
  Clock::time_point deadline;
  std::string request;   // bytes read so far, until the blank line that ends the head
  std::string response;  // what is left to send; empty while still reading
};

void on_alarm(int) {}  // only interrupts accept(); see accept_bounded()

// Every generation polls the same listener, so another process may take the connection we
// were woken for, and a blocking accept() would then wait for the next one, deaf to
// SIGTERM. Making the listener O_NONBLOCK would change it for start_server and every other
// generation too (the flag lives in the shared open file), so a short timer bounds the wait.
int accept_bounded(int listener) {
  itimerval timer{};
  timer.it_value.tv_usec = 100'000;
  setitimer(ITIMER_REAL, &timer, nullptr);
  int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  int saved = errno;
  timer = {};
  setitimer(ITIMER_REAL, &timer, nullptr);
  errno = saved;
  return fd;
}

class HelloServer {
 public:
  HelloServer(std::vector<int> listeners, unsigned long generation)
      : listeners_(std::move(listeners)),
        greeting_("Hello from generation " + std::to_string(generation) + " (pid " +
                  std::to_string(getpid()) + ")\n") {
    // SIGTERM and SIGINT arrive as data on a signalfd, read in the poll loop like a socket.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signals_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

    struct sigaction alarm {};
    alarm.sa_handler = on_alarm;  // without SA_RESTART, so accept() returns EINTR
    sigaction(SIGALRM, &alarm, nullptr);
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
  }

  bool ok() const { return signals_ >= 0; }

  /// Serves until SIGTERM or SIGINT and then until the last started request is answered.
  bool run() {
    while (!draining_ || !connections_.empty()) {
      std::vector<pollfd> fds = poll_set();
      if (poll(fds.data(), fds.size(), timeout_ms()) < 0 && errno != EINTR) {
        std::perror("hello_worker: poll");
        return false;
      }
      // Connections first: accepting appends to connections_, which would shift the indexes.
      std::size_t polled = connections_.size();
      std::size_t first_connection = fds.size() - polled;
      for (std::size_t i = 0; i < polled; ++i)
        if (fds[first_connection + i].revents) serve(connections_[i]);
      if (fds[0].revents) read_signals();
      if (!draining_)
        for (std::size_t i = 0; i < listeners_.size(); ++i)
          if (fds[1 + i].revents) accept_from(listeners_[i]);
      close_finished();
    }
    return true;
  }

 private:
  // Order: the signalfd, then the listeners (until draining), then the connections.
  std::vector<pollfd> poll_set() const {
    std::vector<pollfd> fds{{signals_, POLLIN, 0}};
    if (!draining_)
      for (int fd : listeners_) fds.push_back({fd, POLLIN, 0});
    for (const Connection& c : connections_)
      fds.push_back({c.fd, static_cast<short>(c.response.empty() ? POLLIN : POLLOUT), 0});
    return fds;
  }

  int timeout_ms() const {
    if (connections_.empty()) return -1;
    auto next = std::min_element(connections_.begin(), connections_.end(),
                                 [](auto& a, auto& b) { return a.deadline < b.deadline; });
    auto left = std::chrono::ceil<std::chrono::milliseconds>(next->deadline - Clock::now());
    return static_cast<int>(std::max<long>(0, left.count()));
  }

  void read_signals() {
    signalfd_siginfo info;
    while (read(signals_, &info, sizeof info) == sizeof info) {
      if (draining_) continue;
      draining_ = true;
      // Closing our copies is harmless: start_server keeps the sockets open, and whatever
      // is queued on them waits there for the next generation.
      for (int fd : listeners_) close(fd);
      listeners_.clear();
    }
  }

  void accept_from(int listener) {
    int fd = accept_bounded(listener);
    if (fd >= 0) connections_.push_back({fd, Clock::now() + kClientTimeout, {}, {}});
    // Otherwise another generation took it, or the client already left: nothing to do.
  }

  void serve(Connection& c) {
    if (c.response.empty()) {
      char buf[4096];
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n <= 0) return finish(c);  // the client closed or reset before asking anything
      c.request.append(buf, static_cast<std::size_t>(n));
      if (c.request.find("\r\n\r\n") != std::string::npos) {
        c.response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                     std::to_string(greeting_.size()) + "\r\nConnection: close\r\n\r\n" + greeting_;
      } else if (c.request.size() > kMaxRequestHead) {
        return finish(c);
      }
      return;
    }
    ssize_t n = send(c.fd, c.response.data(), c.response.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) return finish(c);
    c.response.erase(0, static_cast<std::size_t>(n));
    if (c.response.empty()) finish(c);
  }

  static void finish(Connection& c) {
    close(c.fd);
    c.fd = -1;
  }

  void close_finished() {
    auto now = Clock::now();
    for (Connection& c : connections_)
      if (c.fd >= 0 && c.deadline <= now) finish(c);
    std::erase_if(connections_, [](const Connection& c) { return c.fd < 0; });
  }

  std::vector<int> listeners_;
  std::vector<Connection> connections_;
  std::string greeting_;
  int signals_ = -1;
  bool draining_ = false;
};

}  // namespace

int main() {
  std::vector<server_starter::Port> ports;
  unsigned long generation = 0;
  try {
    ports = server_starter::server_ports();
    generation = server_starter::generation();
  } catch (const server_starter::Error& e) {
    std::fprintf(stderr, "hello_worker: %s\n", e.what());
    return 1;
  }

  std::vector<int> listeners;
  for (const auto& port : ports) {
    if (!server_starter::is_socket(port)) {
      std::fprintf(stderr, "hello_worker: %s=%d is not a socket for that address\n",
                   port.address.c_str(), port.fd);
      return 1;
    }
    if (server_starter::is_datagram(port))
      std::fprintf(stderr, "hello_worker: skipping %s: a UDP socket\n", port.address.c_str());
    else
      listeners.push_back(port.fd);
  }

  HelloServer server(listeners, generation);
  if (!server.ok()) {
    std::perror("hello_worker: signalfd");
    return 1;
  }
  long pid = getpid();
  std::fprintf(stderr, "hello_worker: generation %lu pid %ld serving %zu listeners\n", generation,
               pid, listeners.size());
  // The listeners are bound and listening already (start_server did that); all that was left
  // to get ready was the setup above.
  sd_notifyf(0, "READY=1\nSTATUS=generation %lu serving %zu listeners", generation,
             listeners.size());
  bool drained = server.run();
  std::fprintf(stderr, "hello_worker: generation %lu pid %ld %s\n", generation, pid,
               drained ? "finished its requests, exiting" : "giving up");
  return drained ? 0 : 1;
}
