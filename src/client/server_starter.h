#ifndef SERVER_STARTER_H
#define SERVER_STARTER_H
/*
 * Worker-side library for programs run under start_server (ours or Perl's Server::Starter).
 *
 * It reads SERVER_STARTER_PORT ("8080=3;[::1]:8081=4;/run/app.sock=5") and
 * SERVER_STARTER_GENERATION from the environment, and checks the inherited descriptors. It
 * needs neither Boost nor libsystemd. Link with `pkg-config --cflags --libs server_starter`
 * (or CMake's start_server::server_starter).
 *
 * Two layers, one header:
 *  - a C API (below): C99 or later, and any C++; no C++ type crosses it, nothing throws;
 *  - a C++ convenience layer (namespace server_starter, further below), header-only over the
 *    C API: C++11 or later. Define SERVER_STARTER_NO_CXX before the #include to get the C
 *    API alone in C++.
 *
 *     // C
 *     struct server_starter_port *ports;
 *     size_t count, i;
 *     char error[SERVER_STARTER_ERROR_SIZE];
 *     if (server_starter_ports(&ports, &count, error, sizeof error) != 0) {
 *       fprintf(stderr, "worker: %s\n", error);
 *       return 1;
 *     }
 *     for (i = 0; i < count; i++)
 *       serve(ports[i].address, ports[i].fd);   // fd is already bound and listening
 *     server_starter_free_ports(ports);
 *
 *     // C++
 *     for (const server_starter::Port& port : server_starter::server_ports())  // throws Error
 *       serve(port.address, port.fd);
 *
 * Errors, the C way: a function that can fail returns 0 on success and -1 on failure, with
 * errno set to
 *     ENOENT  the variable is not set (the program is not running under start_server),
 *     EINVAL  its value is malformed,
 *     ENOMEM  out of memory,
 * and, when `error` is not NULL and `error_size` > 0, a one-line message naming the variable
 * in `error` (always NUL-terminated, cut to fit; SERVER_STARTER_ERROR_SIZE fits every message
 * but one that quotes a very long value). On success neither errno nor `error` is touched,
 * nor are the outputs on failure. Every function is thread-safe as far as getenv(3) is (no
 * setenv(3) in another thread meanwhile).
 */

#include <stddef.h>

#ifdef __cplusplus
#define SERVER_STARTER_NOEXCEPT noexcept
extern "C" {
#else
#define SERVER_STARTER_NOEXCEPT
#endif

/* A message buffer that holds every error message of this library. */
#define SERVER_STARTER_ERROR_SIZE 512

/* One inherited listening socket. */
struct server_starter_port {
  /* As start_server keys it: "8080", "127.0.0.1:8080", "[::1]:8080", or a unix socket path. */
  const char* address;
  /* The descriptor number in this process. */
  int fd;
};

/*
 * The listeners handed down in SERVER_STARTER_PORT, in start_server's order (ports first,
 * then paths). Addresses may repeat (a UDP and a TCP socket on one port share a key), which
 * is why this is a list. On success *ports is an array of *count entries, followed by one
 * {NULL, -1} entry, allocated as one block: free it with server_starter_free_ports(). An
 * empty value is no ports (*count = 0); an unset variable is an error (ENOENT).
 */
int server_starter_ports(struct server_starter_port** ports, size_t* count, char* error,
                         size_t error_size) SERVER_STARTER_NOEXCEPT;

/* The same, parsing `value` (a NUL-terminated SERVER_STARTER_PORT value) instead of the
   environment. Fails with EINVAL for a malformed value or a NULL `value`. */
int server_starter_parse_ports(const char* value, struct server_starter_port** ports, size_t* count,
                               char* error, size_t error_size) SERVER_STARTER_NOEXCEPT;

/* Frees what server_starter_ports() or server_starter_parse_ports() returned; NULL is fine. */
void server_starter_free_ports(struct server_starter_port* ports) SERVER_STARTER_NOEXCEPT;

/* The fd of `address` among `count` ports, or -1 if none has that address. With repeated
   addresses the last one wins, as in Perl's server_ports() hash. */
int server_starter_port_fd(const struct server_starter_port* ports, size_t count,
                           const char* address) SERVER_STARTER_NOEXCEPT;

/* SERVER_STARTER_GENERATION (1 for the first worker) in *generation: a strict decimal number
   (no sign, no spaces). Fails with ENOENT if unset, EINVAL if malformed or out of range. */
int server_starter_generation(unsigned long* generation, char* error,
                              size_t error_size) SERVER_STARTER_NOEXCEPT;

/* 1 if `fd` is an open socket of the kind `address` names: SOCK_STREAM or SOCK_DGRAM in
   AF_INET or AF_INET6 for host ports (the key does not say which type), AF_UNIX for paths;
   0 otherwise (closed, not a socket, another family). Lets a worker refuse an fd that is
   not what it expects, as h2o does. */
int server_starter_is_socket(const char* address, int fd) SERVER_STARTER_NOEXCEPT;

/* 1 if `fd` is a SOCK_DGRAM socket (a --port=uPORT listener), 0 otherwise. */
int server_starter_is_datagram(int fd) SERVER_STARTER_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#if defined(__cplusplus) && !defined(SERVER_STARTER_NO_CXX)
/*
 * The C++ layer: the C API above as values and exceptions. Header-only (nothing of it is in
 * the shared library, whose ABI is the C API alone) and C++11; C++17 adds a std::string_view
 * overload.
 */
#include <cerrno>
#include <cstddef>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#if __cplusplus >= 201703L
#include <string_view>
#endif

namespace server_starter {

/// Thrown when a variable is missing or malformed; what() is one line naming the variable.
/// (Out of memory throws std::bad_alloc.)
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// One inherited listening socket.
struct Port {
  std::string address;  ///< as start_server keys it: "8080", "127.0.0.1:8080", "[::1]:8080", a path
  int fd;               ///< the descriptor number in this process

  Port() : fd(-1) {}
  Port(std::string port_address, int port_fd) : address(std::move(port_address)), fd(port_fd) {}
};

inline bool operator==(const Port& a, const Port& b) {
  return a.address == b.address && a.fd == b.fd;
}
inline bool operator!=(const Port& a, const Port& b) { return !(a == b); }

namespace detail {

[[noreturn]] inline void throw_error(const char* message) {
  if (errno == ENOMEM) throw std::bad_alloc();
  throw Error(message);
}

// Copies what the C API allocated into values, and frees it also when copying throws.
inline std::vector<Port> take_ports(server_starter_port* ports, std::size_t count) {
  struct Owner {
    server_starter_port* owned;
    ~Owner() { server_starter_free_ports(owned); }
  } owner = {ports};
  (void)owner;  // it only frees, at scope exit
  std::vector<Port> result;
  result.reserve(count);
  for (std::size_t i = 0; i < count; ++i) result.push_back(Port(ports[i].address, ports[i].fd));
  return result;
}

}  // namespace detail

/// The listeners handed down by start_server, in its order (ports first, then paths).
/// Addresses may repeat, which is why this is a list rather than a map. Throws Error if
/// SERVER_STARTER_PORT is unset or malformed; an empty value yields an empty list.
inline std::vector<Port> server_ports() {
  server_starter_port* ports = nullptr;
  std::size_t count = 0;
  char error[SERVER_STARTER_ERROR_SIZE];
  if (server_starter_ports(&ports, &count, error, sizeof error) != 0) detail::throw_error(error);
  return detail::take_ports(ports, count);
}

/// The same, parsing a given value instead of the environment.
inline std::vector<Port> parse_server_ports(const char* value) {
  server_starter_port* ports = nullptr;
  std::size_t count = 0;
  char error[SERVER_STARTER_ERROR_SIZE];
  if (server_starter_parse_ports(value, &ports, &count, error, sizeof error) != 0)
    detail::throw_error(error);
  return detail::take_ports(ports, count);
}
inline std::vector<Port> parse_server_ports(const std::string& value) {
  return parse_server_ports(value.c_str());
}
#if __cplusplus >= 201703L
/// (An environment value holds no NUL; a `value` that does is parsed up to its first NUL.)
inline std::vector<Port> parse_server_ports(std::string_view value) {
  return parse_server_ports(std::string(value));
}
#endif

/// server_ports() as a map address -> fd, for code written against Perl's hash. With
/// repeated addresses the last one wins, as it does in Perl.
inline std::map<std::string, int> server_ports_map() {
  std::map<std::string, int> map;
  std::vector<Port> ports = server_ports();
  for (std::size_t i = 0; i < ports.size(); ++i) map[ports[i].address] = ports[i].fd;
  return map;
}

/// SERVER_STARTER_GENERATION (1 for the first worker). Throws Error if unset or malformed.
inline unsigned long generation() {
  unsigned long value = 0;
  char error[SERVER_STARTER_ERROR_SIZE];
  if (server_starter_generation(&value, error, sizeof error) != 0) detail::throw_error(error);
  return value;
}

/// Whether `port.fd` is an open socket of the kind its address names: SOCK_STREAM or
/// SOCK_DGRAM for host ports (the key does not say which), AF_UNIX for paths. Lets a worker
/// refuse an fd that is not what it expects, as h2o does.
inline bool is_socket(const Port& port) {
  return server_starter_is_socket(port.address.c_str(), port.fd) == 1;
}

/// true when the socket is SOCK_DGRAM (a --port=uPORT listener).
inline bool is_datagram(const Port& port) { return server_starter_is_datagram(port.fd) == 1; }

}  // namespace server_starter
#endif /* __cplusplus && !SERVER_STARTER_NO_CXX */

#endif /* SERVER_STARTER_H */
