// The C API of server_starter.h, written in C++20 against the shared decoder
// (server_starter_port.h). No exception leaves this file: every entry point is noexcept and
// turns a failure into -1, errno and a message, as the header documents.
#include "server_starter.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "number.h"
#include "quote.h"
#include "server_starter_port.h"

namespace {

// Writes the message made of `parts` into the caller's buffer, cut to fit, and sets errno:
// the one way every function here fails. It allocates nothing, so it cannot fail itself.
int fail(int error_number, char* error, std::size_t error_size,
         std::initializer_list<std::string_view> parts) {
  if (error != nullptr && error_size > 0) {
    std::size_t used = 0;
    for (std::string_view part : parts) {
      std::size_t n = std::min(part.size(), error_size - 1 - used);
      std::memcpy(error + used, part.data(), n);
      used += n;
    }
    error[used] = '\0';
  }
  errno = error_number;
  return -1;
}

int fail_unset(const char* variable, char* error, std::size_t error_size) {
  // The same wording for both variables, so a user who runs a worker by hand learns why.
  return fail(ENOENT, error, error_size,
              {variable, " is not set (is this program running under start_server?)"});
}

int fail_no_memory(char* error, std::size_t error_size) {
  return fail(ENOMEM, error, error_size, {"server_starter: out of memory"});
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

// The decoded entries as one malloc'd block: count + 1 structs (the last {NULL, -1}), then
// the addresses, each NUL-terminated. One block, so one free() and no partial failure.
server_starter_port* to_c_array(const std::vector<starter::PortEntry>& entries) {
  std::size_t size = (entries.size() + 1) * sizeof(server_starter_port);
  for (const auto& entry : entries) size += entry.key.size() + 1;
  auto* ports = static_cast<server_starter_port*>(std::malloc(size));
  if (ports == nullptr) return nullptr;
  char* text = reinterpret_cast<char*>(ports + entries.size() + 1);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::memcpy(text, entries[i].key.c_str(), entries[i].key.size() + 1);
    ports[i] = {text, entries[i].fd};
    text += entries[i].key.size() + 1;
  }
  ports[entries.size()] = {nullptr, -1};
  return ports;
}

}  // namespace

extern "C" {

int server_starter_parse_ports(const char* value, server_starter_port** ports, std::size_t* count,
                               char* error, std::size_t error_size) noexcept {
  if (value == nullptr)
    return fail(EINVAL, error, error_size, {starter::kPortVariable, ": no value (NULL)"});
  try {
    starter::PortDecodeResult decoded = starter::decode_server_starter_port(value);
    if (!decoded.ok())
      return fail(EINVAL, error, error_size, {starter::kPortVariable, ": ", decoded.error});
    server_starter_port* array = to_c_array(decoded.entries);
    if (array == nullptr) return fail_no_memory(error, error_size);
    *ports = array;
    *count = decoded.entries.size();
    return 0;
  } catch (const std::bad_alloc&) {
    return fail_no_memory(error, error_size);
  }
}

int server_starter_ports(server_starter_port** ports, std::size_t* count, char* error,
                         std::size_t error_size) noexcept {
  const char* value = std::getenv(starter::kPortVariable);
  if (value == nullptr) return fail_unset(starter::kPortVariable, error, error_size);
  return server_starter_parse_ports(value, ports, count, error, error_size);
}

void server_starter_free_ports(server_starter_port* ports) noexcept { std::free(ports); }

int server_starter_port_fd(const server_starter_port* ports, std::size_t count,
                           const char* address) noexcept {
  if (ports == nullptr || address == nullptr) return -1;
  for (std::size_t i = count; i-- > 0;)
    if (ports[i].address != nullptr && std::strcmp(ports[i].address, address) == 0)
      return ports[i].fd;
  return -1;
}

int server_starter_generation(unsigned long* generation, char* error,
                              std::size_t error_size) noexcept {
  const char* value = std::getenv(starter::kGenerationVariable);
  if (value == nullptr) return fail_unset(starter::kGenerationVariable, error, error_size);
  std::optional<unsigned long> number = starter::parse_integer<unsigned long>(value);
  if (number) {
    *generation = *number;
    return 0;
  }
  try {
    return fail(
        EINVAL, error, error_size,
        {starter::kGenerationVariable, ": ", starter::quote(value), " is not a decimal number"});
  } catch (const std::bad_alloc&) {
    return fail_no_memory(error, error_size);
  }
}

int server_starter_is_socket(const char* address, int fd) noexcept {
  if (address == nullptr) return 0;
  int type = socket_type(fd);
  if (type < 0) return 0;
  int family = socket_family(fd);
  if (!is_host_port_key(address)) return family == AF_UNIX;
  return (family == AF_INET || family == AF_INET6) && (type == SOCK_STREAM || type == SOCK_DGRAM);
}

int server_starter_is_datagram(int fd) noexcept { return socket_type(fd) == SOCK_DGRAM; }

}  // extern "C"
