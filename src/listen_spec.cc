#include "listen_spec.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <cctype>

#include "error.h"
#include "number.h"

namespace starter {

namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

[[noreturn]] void invalid(std::string_view value, std::string_view why) {
  throw UsageError("--port: invalid value " + quote(value) + ": " + std::string(why));
}

std::uint16_t parse_port_number(std::string_view digits, std::string_view value) {
  if (!all_digits(digits)) invalid(value, "expected a port number");
  std::optional<std::uint16_t> port = parse_integer<std::uint16_t>(digits);
  if (!port) invalid(value, "port out of range 0-65535");
  return *port;
}

int parse_fd(std::string_view digits, std::string_view value) {
  std::optional<int> parsed = parse_integer<int>(digits, 0);
  if (!parsed) invalid(value, "expected a file descriptor number after '='");
  int fd = *parsed;
  // Replacing our own stdout or stderr would silently swallow the log; fd 0 is fine (the
  // JVM use case of Perl's #24).
  if (fd == 1 || fd == 2) invalid(value, "fd 1 and 2 are start_server's stdout and stderr");
  return fd;
}

}  // namespace

std::size_t max_unix_path() { return sizeof(sockaddr_un{}.sun_path) - 1; }

ListenSpec parse_port(std::string_view raw) {
  std::string_view value = trim(raw);
  ListenSpec spec;
  std::string_view rest = value;

  if (auto eq = rest.rfind('='); eq != std::string_view::npos) {
    spec.pinned_fd = parse_fd(rest.substr(eq + 1), raw);
    rest = rest.substr(0, eq);
  }
  // The port is the digits after the last ':' (Perl's greedy HOST match).
  std::string_view port_part = rest;
  std::string_view host;
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port_part = rest.substr(colon + 1);
    if (host.empty()) invalid(raw, "empty host before ':'");
  }
  if (!port_part.empty() && port_part.front() == 'u') {
    spec.kind = ListenSpec::Kind::kUdp;
    port_part.remove_prefix(1);
  }
  spec.port = parse_port_number(port_part, raw);

  // "[name]" is Perl's way of writing any host; the brackets matter only for IPv6.
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  // A key must survive SERVER_STARTER_PORT: no ';' between entries, no '=' before the fd.
  for (char c : host)
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c)) || c == '[' || c == ']' || c == ';' ||
        c == '/' || c == '=')
      invalid(raw, "bad character in host");
  if (host.find(':') != std::string_view::npos) {
    in6_addr addr{};
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &addr) != 1)
      invalid(raw, "not an IPv6 address");
    spec.ipv6 = true;
  }
  spec.host = std::string(host);
  return spec;
}

ListenSpec parse_path(std::string_view value) {
  auto fail = [&](std::string_view why) -> ListenSpec {
    throw UsageError("--path: invalid value " + quote(value) + ": " + std::string(why));
  };
  if (value.empty()) return fail("empty path");
  if (value.size() > max_unix_path())
    return fail("longer than " + std::to_string(max_unix_path()) + " bytes (the size of sun_path)");
  if (value.find_first_of(";=") != std::string_view::npos)
    return fail("';' and '=' cannot be represented in SERVER_STARTER_PORT");
  ListenSpec spec;
  spec.kind = ListenSpec::Kind::kUnix;
  spec.path = std::string(value);
  return spec;
}

std::string ListenSpec::key() const {
  if (kind == Kind::kUnix) return path;
  std::string port_text = std::to_string(port);
  if (host.empty()) return port_text;
  if (ipv6) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

std::string ListenSpec::describe() const {
  if (kind == Kind::kUnix) return path;
  std::string where;
  if (ipv6)
    where = "[" + host + "]:" + std::to_string(port);
  else
    where = (host.empty() ? std::string("0.0.0.0") : host) + ":" + std::to_string(port);
  return kind == Kind::kUdp ? "udp " + where : where;
}

}  // namespace starter
