#pragma once
/// Parsing of --port and --path values into ListenSpec, and the key each one gets in
/// SERVER_STARTER_PORT. Pure: nothing here resolves a name or touches a socket.
///
///   --port=8080                 TCP 0.0.0.0:8080 (IPv4 only, as Perl)     key "8080"
///   --port=127.0.0.1:8080       TCP, host as typed (a name is resolved   key "127.0.0.1:8080"
///   --port=localhost:8080           later, first IPv4 address)            key "localhost:8080"
///   --port=[::1]:8080, ::1:8080 TCP IPv6, IPV6_V6ONLY                     key "[::1]:8080"
///   --port=u8080, h:u8080       UDP (bound, no listen)                    key without the "u"
///   --port=8080=5               any of the above, placed at fd 5 in the worker
///   --path=/run/app.sock        unix stream socket                        key "/run/app.sock"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace starter {

struct ListenSpec {
  enum class Kind { kTcp, kUdp, kUnix };

  Kind kind = Kind::kTcp;
  std::string host;  ///< as typed; empty for a bare port; IPv6 without brackets
  bool ipv6 = false;
  std::uint16_t port = 0;
  std::string path;              ///< kUnix only
  std::optional<int> pinned_fd;  ///< "=FD": the descriptor number the worker sees

  /// The SERVER_STARTER_PORT key, spelled as Perl's start_server spells it.
  std::string key() const;
  /// The address for messages: "0.0.0.0:8080", "[::1]:8080", "udp 127.0.0.1:53", a path.
  std::string describe() const;

  bool is_stream() const { return kind != Kind::kUdp; }
  bool operator==(const ListenSpec&) const = default;
};

/// Parses one --port value; throws UsageError naming the value.
ListenSpec parse_port(std::string_view value);

/// Parses one --path value; throws UsageError (empty, too long for sun_path, or a ';' or
/// '=' that SERVER_STARTER_PORT could not represent).
ListenSpec parse_path(std::string_view value);

/// Largest unix socket path we accept (sizeof(sockaddr_un::sun_path) - 1).
std::size_t max_unix_path();

}  // namespace starter
