#pragma once
/// Pure decisions about systemd's file descriptor store (FileDescriptorStoreMax=): the name
/// each listener start_server bound itself is stored under, and, at the next start, which of
/// the stored listeners systemd hands back are used again and which are released.
///
/// Name: "start_server/" and the listener's SERVER_STARTER_PORT key, with '%', ':', control
/// characters, DEL and bytes above 0x7f written as %XX (two upper-case hex digits), because
/// systemd ignores an FDNAME= that holds ':' or a control character, is not ASCII, or is
/// longer than 255 characters (sd_notify(3)). The prefix keeps them apart from the names of a
/// socket unit's sockets (FileDescriptorName=, by default the unit's name, which has no '/').
///
///   key "8080"            name "start_server/8080"
///   key "127.0.0.1:8080"  name "start_server/127.0.0.1%3A8080"
///   key "[::1]:8080"      name "start_server/[%3A%3A1]%3A8080"
///   key "/run/app.sock"   name "start_server//run/app.sock"
///
/// A stored listener is matched to --port/--path by the address it is bound to, as a socket
/// from a socket unit is (listeners.h), not by the key in its name: `--port=localhost:8080`
/// and `--port=127.0.0.1:8080` name the same socket.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "listen_spec.h"

namespace starter {

/// The longest FDNAME= systemd accepts.
constexpr std::size_t kMaxFdNameLength = 255;

/// The store name of the listener keyed `key`; nullopt when it would be longer than
/// kMaxFdNameLength (a unix path of many escaped bytes), so that listener is not stored.
std::optional<std::string> fd_store_name(std::string_view key);

/// $FDSTORE as systemd 254 and later set it (FileDescriptorStoreMax=, a decimal count);
/// nullopt when it is not a plain number. "0" is a valid value: no store.
std::optional<unsigned> parse_fd_store_variable(std::string_view value);

/// Whether systemd's name for a passed descriptor says start_server stored it.
bool is_fd_store_name(std::string_view name);

/// The key a store name was made of; nullopt when `name` is not exactly what fd_store_name
/// makes of some key (another prefix, a stray '%', lower-case hex, an escape of a byte that
/// needs none, a raw byte that needs one).
std::optional<std::string> key_of_fd_store_name(std::string_view name);

/// A descriptor systemd handed back under a store name, as the caller found it.
struct StoredSocket {
  std::string name;
  /// Its bound address (kind kTcp, kUdp or kUnix as a socket unit's would be described);
  /// nullopt when it is not a socket start_server could hand on.
  std::optional<ListenSpec> address;
  bool stream = true;  ///< SOCK_STREAM; false for SOCK_DGRAM
  /// For a unix socket: whether a socket file is still at its path. One whose file is gone
  /// (RuntimeDirectory= removed on restart) would take no connection; a new one is bound.
  bool path_present = true;
};

/// What to do with one stored socket: use it for specs[spec], or release it (reason says why,
/// for the log line).
struct StoredVerdict {
  std::optional<std::size_t> spec;
  std::string reason;
  bool operator==(const StoredVerdict&) const = default;
};

/// Whether --port/--path `spec` names the address `bound` (listeners.h: names_address).
using AddressMatch = std::function<bool(const ListenSpec& spec, const ListenSpec& bound)>;

/// One verdict per stored socket, in order. A spec gets at most one stored socket, and none
/// when `claimed[i]` says a socket unit's socket already serves specs[i]; the socket type
/// (stream or datagram) must be the spec's. `claimed` is indexed like `specs` (missing
/// entries count as unclaimed).
std::vector<StoredVerdict> plan_stored_sockets(const std::vector<ListenSpec>& specs,
                                               const std::vector<bool>& claimed,
                                               const std::vector<StoredSocket>& stored,
                                               const AddressMatch& names);

}  // namespace starter
