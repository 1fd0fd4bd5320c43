/* hello_c: the smallest complete worker, in C99, on the C API of server_starter.h.
 *
 *     cc -std=c99 -o hello_c hello_c.c $(pkg-config --cflags --libs server_starter)
 *     start_server --port=8080 -- ./hello_c
 *     curl http://localhost:8080/        # Hello from generation 1 (pid 4242)
 *
 * It serves every stream socket start_server hands down, one request at a time, answering
 * each with one line naming its generation and pid, and exits 0 on SIGTERM, never in the
 * middle of a request: SIGTERM is blocked except while the worker waits for a connection
 * (pselect(2) unblocks it atomically, so none is missed). Connections still queued on the
 * listeners stay there for the next generation. examples/hello_cxx11.cc is the same worker
 * on the C++ layer.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <server_starter.h>

#define MAX_LISTENERS 16

static volatile sig_atomic_t stopping = 0;

static void on_term(int signo) {
  (void)signo;
  stopping = 1;
}

static void on_alarm(int signo) { (void)signo; } /* only interrupts accept(); see below */

/* Every generation polls the same listener, so another one may take the connection this one
   was woken for, and a blocking accept() would then wait for the next, deaf to SIGTERM.
   Making the listener O_NONBLOCK would change it for start_server and every generation (the
   flag lives in the shared open file), so a short timer bounds the wait instead. */
static int accept_bounded(int listener) {
  struct itimerval timer;
  int fd, saved;
  memset(&timer, 0, sizeof timer);
  timer.it_value.tv_usec = 100000;
  setitimer(ITIMER_REAL, &timer, NULL);
  fd = accept(listener, NULL, NULL);
  saved = errno;
  memset(&timer, 0, sizeof timer);
  setitimer(ITIMER_REAL, &timer, NULL);
  errno = saved;
  return fd;
}

/* Reads the request head (bounded by a 5 s receive timeout and the buffer), answers, closes. */
static void serve(int fd, const char *greeting) {
  char request[4096], response[256];
  size_t used = 0;
  struct timeval timeout = {5, 0};
  int length;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  while (used < sizeof request - 1) {
    ssize_t n = recv(fd, request + used, sizeof request - 1 - used, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += (size_t)n;
    request[used] = '\0';
    if (strstr(request, "\r\n\r\n") != NULL) {
      length = snprintf(response, sizeof response,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n%s",
                        strlen(greeting), greeting);
      /* A client that left early is its own loss; nothing to do about a failed send. */
      (void)send(fd, response, (size_t)length, MSG_NOSIGNAL);
      break;
    }
  }
  close(fd);
}

int main(void) {
  struct server_starter_port *ports;
  size_t count, i;
  unsigned long generation;
  char error[SERVER_STARTER_ERROR_SIZE], greeting[128];
  int listeners[MAX_LISTENERS], n_listeners = 0, max_fd = -1;
  struct sigaction action;
  sigset_t term, waiting;

  if (server_starter_ports(&ports, &count, error, sizeof error) != 0 ||
      server_starter_generation(&generation, error, sizeof error) != 0) {
    fprintf(stderr, "hello_c: %s\n", error);
    return 1;
  }
  for (i = 0; i < count; i++) {
    if (!server_starter_is_socket(ports[i].address, ports[i].fd)) {
      fprintf(stderr, "hello_c: %s=%d is not a socket for that address\n", ports[i].address,
              ports[i].fd);
      return 1;
    }
    if (server_starter_is_datagram(ports[i].fd) || n_listeners == MAX_LISTENERS) continue;
    listeners[n_listeners++] = ports[i].fd;
    if (ports[i].fd > max_fd) max_fd = ports[i].fd;
  }
  server_starter_free_ports(ports);
  if (max_fd >= FD_SETSIZE) {
    fprintf(stderr, "hello_c: fd %d is beyond select()'s reach\n", max_fd);
    return 1;
  }
  snprintf(greeting, sizeof greeting, "Hello from generation %lu (pid %ld)\n", generation,
           (long)getpid());

  /* Without SA_RESTART, so that pselect() and accept() return EINTR. */
  memset(&action, 0, sizeof action);
  sigemptyset(&action.sa_mask);
  action.sa_handler = on_term;
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  sigprocmask(SIG_BLOCK, &term, &waiting);
  sigdelset(&waiting, SIGTERM);
  sigdelset(&waiting, SIGINT);

  fprintf(stderr, "hello_c: generation %lu pid %ld serving %d listeners\n", generation,
          (long)getpid(), n_listeners);
  while (!stopping) {
    fd_set readable;
    int l;
    FD_ZERO(&readable);
    for (l = 0; l < n_listeners; l++) FD_SET(listeners[l], &readable);
    if (pselect(max_fd + 1, &readable, NULL, NULL, NULL, &waiting) < 0) {
      if (errno == EINTR) continue;
      perror("hello_c: pselect");
      return 1;
    }
    for (l = 0; l < n_listeners; l++) {
      int fd;
      if (!FD_ISSET(listeners[l], &readable)) continue;
      fd = accept_bounded(listeners[l]);
      if (fd >= 0) serve(fd, greeting); /* else another generation took it, or it timed out */
    }
  }
  fprintf(stderr, "hello_c: generation %lu pid %ld stopping\n", generation, (long)getpid());
  return 0;
}
