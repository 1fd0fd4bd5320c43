#pragma once
/// Worker-side library for programs run under start_server (ours or Perl's Server::Starter).
///
///     #include <server_starter.h>
///     for (const auto& port : server_starter::server_ports())
///       serve(port.address, port.fd);   // port.fd is already bound and listening
///
/// It reads SERVER_STARTER_PORT ("8080=3;[::1]:8081=4;/run/app.sock=5") and
/// SERVER_STARTER_GENERATION from the environment. It needs neither Boost nor libsystemd.

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace server_starter {

/// Thrown when a variable is missing or malformed; what() is one line naming the variable.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One inherited listening socket.
struct Port {
  std::string address;  ///< as start_server keys it: "8080", "127.0.0.1:8080", "[::1]:8080", a path
  int fd = -1;          ///< the descriptor number in this process

  bool operator==(const Port&) const = default;
};

/// The listeners handed down by start_server, in its order (ports first, then paths).
/// Addresses may repeat (a UDP and a TCP socket on one port share a key), which is why this
/// is an ordered list rather than a std::map. Throws Error if SERVER_STARTER_PORT is unset or
/// malformed; an empty value yields an empty list.
std::vector<Port> server_ports();

/// The same, parsing a given value instead of the environment.
std::vector<Port> parse_server_ports(std::string_view value);

/// server_ports() as a map address -> fd, for code written against Perl's hash. With
/// repeated addresses the last one wins, as it does in Perl.
std::map<std::string, int> server_ports_map();

/// SERVER_STARTER_GENERATION (1 for the first worker). Throws Error if unset or malformed.
unsigned long generation();

/// Whether `port.fd` is an open socket of the kind its address names: SOCK_STREAM or
/// SOCK_DGRAM for host ports (the key does not say which), AF_UNIX for paths. Lets a worker
/// refuse an fd that is not what it expects, as h2o does.
bool is_socket(const Port& port);

/// true when the socket is SOCK_DGRAM (a --port=uPORT listener).
bool is_datagram(const Port& port);

}  // namespace server_starter
