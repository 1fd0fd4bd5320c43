#pragma once
/// The worker contract of Server::Starter, encoded and decoded in one place.
///
/// SERVER_STARTER_PORT lists the listening sockets a worker inherits:
///
///     value  := "" | entry (";" entry)* [";"]
///     entry  := key "=" fd
///     key    := "PORT" | "HOST:PORT" | "[V6ADDR]:PORT" | unix path   (never contains ';')
///     fd     := decimal descriptor number in the worker
///
/// Examples (start_server --port=8080 --port=127.0.0.1:8081 --port=[::1]:8082 --path=/run/a.sock):
///
///     8080=3;127.0.0.1:8081=4;[::1]:8082=5;/run/a.sock=6
///
/// Keys are spelled exactly as Perl's start_server spells them (the host as typed, IPv6 always
/// in brackets, no "u" for UDP), ports first in command-line order, then paths. A key may repeat
/// (--port=u8080 and --port=8080 both give "8080"). No ports at all gives the empty string.
/// The decoder splits each entry at its last '=' (the fd never contains one), accepts one
/// trailing ';' as Perl's split does, and rejects everything else that is not in the grammar.
///
/// SERVER_STARTER_GENERATION is a decimal count of spawn attempts, 1 for the first worker.
///
/// This file is shared with the worker-side client library: no Boost, no libsystemd.

#include <string>
#include <string_view>
#include <vector>

namespace starter {

inline constexpr const char* kPortVariable = "SERVER_STARTER_PORT";
inline constexpr const char* kGenerationVariable = "SERVER_STARTER_GENERATION";

struct PortEntry {
  std::string key;
  int fd = -1;
  bool operator==(const PortEntry&) const = default;
};

std::string encode_server_starter_port(const std::vector<PortEntry>& entries);

struct PortDecodeResult {
  std::vector<PortEntry> entries;
  std::string error;  ///< empty on success; otherwise one line saying what is wrong
  bool ok() const { return error.empty(); }
};

PortDecodeResult decode_server_starter_port(std::string_view value);

}  // namespace starter
