/// hello_cxx11: examples/hello_c.c on the C++ layer of server_starter.h, in C++11 (the
/// oldest standard the layer supports; it builds as C++14, 17 and 20 too).
///
///     g++ -std=c++11 -o hello_cxx11 hello_cxx11.cc $(pkg-config --cflags --libs server_starter)
///     start_server --port=8080 -- ./hello_cxx11
///     curl http://localhost:8080/        # Hello from generation 1 (pid 4242)
///
/// It serves every stream socket start_server hands down, one request at a time, and exits 0
/// on SIGTERM, never in the middle of a request: SIGTERM is blocked except while it waits for
/// a connection (pselect(2) unblocks it atomically, so none is missed).

#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <server_starter.h>

namespace {

volatile sig_atomic_t stopping = 0;

void on_term(int) { stopping = 1; }
void on_alarm(int) {}  // only interrupts accept(); see accept_bounded()

// Another generation may take the connection this one was woken for; a blocking accept()
// would then wait for the next one, deaf to SIGTERM. O_NONBLOCK would change the listener for
// every generation (the flag lives in the shared open file), so a timer bounds the wait.
int accept_bounded(int listener) {
  itimerval timer = {};
  timer.it_value.tv_usec = 100000;
  setitimer(ITIMER_REAL, &timer, nullptr);
  int fd = accept(listener, nullptr, nullptr);
  int saved = errno;
  timer = itimerval();
  setitimer(ITIMER_REAL, &timer, nullptr);
  errno = saved;
  return fd;
}

// Reads the request head (bounded by a 5 s receive timeout and 16 KiB), answers, closes.
void serve(int fd, const std::string& greeting) {
  timeval timeout = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string request;
  char buf[4096];
  while (request.size() < 16 * 1024) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    request.append(buf, static_cast<std::size_t>(n));
    if (request.find("\r\n\r\n") != std::string::npos) {
      std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                             std::to_string(greeting.size()) + "\r\nConnection: close\r\n\r\n" +
                             greeting;
      // A client that left early is its own loss; nothing to do about a failed send.
      (void)send(fd, response.data(), response.size(), MSG_NOSIGNAL);
      break;
    }
  }
  close(fd);
}

}  // namespace

int main() {
  std::vector<server_starter::Port> ports;
  unsigned long generation = 0;
  try {
    ports = server_starter::server_ports();
    generation = server_starter::generation();
  } catch (const server_starter::Error& e) {
    std::fprintf(stderr, "hello_cxx11: %s\n", e.what());
    return 1;
  }
  std::vector<int> listeners;
  int max_fd = -1;
  for (const server_starter::Port& port : ports) {
    if (!server_starter::is_socket(port)) {
      std::fprintf(stderr, "hello_cxx11: %s=%d is not a socket for that address\n",
                   port.address.c_str(), port.fd);
      return 1;
    }
    if (server_starter::is_datagram(port)) continue;
    listeners.push_back(port.fd);
    if (port.fd > max_fd) max_fd = port.fd;
  }
  if (max_fd >= FD_SETSIZE) {
    std::fprintf(stderr, "hello_cxx11: fd %d is beyond select()'s reach\n", max_fd);
    return 1;
  }
  const std::string greeting = "Hello from generation " + std::to_string(generation) + " (pid " +
                               std::to_string(getpid()) + ")\n";

  struct sigaction action = {};  // without SA_RESTART: pselect() and accept() return EINTR
  sigemptyset(&action.sa_mask);
  action.sa_handler = on_term;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, nullptr);
  sigset_t term, waiting;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  sigprocmask(SIG_BLOCK, &term, &waiting);
  sigdelset(&waiting, SIGTERM);
  sigdelset(&waiting, SIGINT);

  std::fprintf(stderr, "hello_cxx11: generation %lu pid %ld serving %zu listeners\n", generation,
               static_cast<long>(getpid()), listeners.size());
  while (!stopping) {
    fd_set readable;
    FD_ZERO(&readable);
    for (int fd : listeners) FD_SET(fd, &readable);
    if (pselect(max_fd + 1, &readable, nullptr, nullptr, nullptr, &waiting) < 0) {
      if (errno == EINTR) continue;
      std::perror("hello_cxx11: pselect");
      return 1;
    }
    for (int listener : listeners) {
      if (!FD_ISSET(listener, &readable)) continue;
      int fd = accept_bounded(listener);
      if (fd >= 0) serve(fd, greeting);  // else another generation took it, or it timed out
    }
  }
  std::fprintf(stderr, "hello_cxx11: generation %lu pid %ld stopping\n", generation,
               static_cast<long>(getpid()));
  return 0;
}
