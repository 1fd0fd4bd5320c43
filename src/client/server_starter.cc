#include "server_starter.h"

#include <sys/socket.h>

#include <cstdlib>

#include "number.h"
#include "quote.h"
#include "server_starter_port.h"

namespace server_starter {

namespace {

// The same wording for both variables, so a user who runs a worker by hand learns why.
[[noreturn]] void throw_unset(const char* variable) {
  throw Error(std::string(variable) + " is not set (is this program running under start_server?)");
}

bool is_decimal(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// start_server spells host ports as PORT, HOST:PORT or [V6ADDR]:PORT (server_starter_port.h);
// whatever else it hands down came from --path. A relative path without '/' ("app.sock")
// still counts as a path because it does not end in ":PORT".
bool is_host_port_key(std::string_view key) {
  if (key.empty() || key.find('/') != std::string_view::npos) return false;
  if (is_decimal(key)) return true;
  if (key.front() == '[') {
    std::size_t close = key.find("]:");
    return close != std::string_view::npos && close > 1 && is_decimal(key.substr(close + 2));
  }
  std::size_t colon = key.rfind(':');
  return colon != std::string_view::npos && colon > 0 && is_decimal(key.substr(colon + 1));
}

// -1 when fd is closed or not a socket.
int socket_type(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return -1;
  return type;
}

int socket_family(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  return addr.ss_family;
}

}  // namespace

std::vector<Port> parse_server_ports(std::string_view value) {
  starter::PortDecodeResult decoded = starter::decode_server_starter_port(value);
  if (!decoded.ok()) throw Error(std::string(starter::kPortVariable) + ": " + decoded.error);
  std::vector<Port> ports;
  ports.reserve(decoded.entries.size());
  for (auto& entry : decoded.entries) ports.push_back({std::move(entry.key), entry.fd});
  return ports;
}

std::vector<Port> server_ports() {
  const char* value = std::getenv(starter::kPortVariable);
  if (value == nullptr) throw_unset(starter::kPortVariable);
  return parse_server_ports(value);
}

std::map<std::string, int> server_ports_map() {
  std::map<std::string, int> map;
  for (auto& port : server_ports()) map[std::move(port.address)] = port.fd;
  return map;
}

unsigned long generation() {
  const char* value = std::getenv(starter::kGenerationVariable);
  if (value == nullptr) throw_unset(starter::kGenerationVariable);
  std::string_view text(value);
  std::optional<unsigned long> number = starter::parse_integer<unsigned long>(text);
  if (!number)
    throw Error(std::string(starter::kGenerationVariable) + ": " + starter::quote(text) +
                " is not a decimal number");
  return *number;
}

bool is_socket(const Port& port) {
  int type = socket_type(port.fd);
  if (type < 0) return false;
  int family = socket_family(port.fd);
  if (!is_host_port_key(port.address)) return family == AF_UNIX;
  return (family == AF_INET || family == AF_INET6) && (type == SOCK_STREAM || type == SOCK_DGRAM);
}

bool is_datagram(const Port& port) { return socket_type(port.fd) == SOCK_DGRAM; }

}  // namespace server_starter
