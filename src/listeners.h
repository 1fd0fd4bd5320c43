#pragma once
/// The listening sockets: created once at start-up, before the first worker, and held open
/// for the whole life of start_server, so every generation shares the very same sockets.

#include <sys/socket.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "fd.h"
#include "listen_spec.h"
#include "server_starter_port.h"
#include "socket_activation.h"
#include "upgrade_state.h"

namespace starter {

/// A listening socket as a worker sees it (worker_launch.h hands it on).
struct ExportedListener {
  std::string key;           ///< SERVER_STARTER_PORT's key: "8080", "[::1]:80", "/run/a.sock"
  int fd = -1;               ///< the descriptor it sits at, in start_server and in the worker
  std::string systemd_name;  ///< the FileDescriptorName= systemd gave it; empty for ours
  bool operator==(const ExportedListener&) const = default;
};

class Listener {
 public:
  /// Where the socket comes from: bound by us, passed by a socket unit, or taken back from
  /// systemd's fd store (bound by us at an earlier start, or stored by us since).
  enum class Origin { kBound, kSocketUnit, kFdStore };

  Listener(ListenSpec spec, UniqueFd fd, std::string fd_name = {}, Origin origin = Origin::kBound)
      : spec_(std::move(spec)), fd_(std::move(fd)), fd_name_(std::move(fd_name)), origin_(origin) {}
  Listener(Listener&& other) noexcept { *this = std::move(other); }
  Listener& operator=(Listener&& other) noexcept;
  /// Removes the socket file of a --path we bound, if it is still ours.
  ~Listener();

  const ListenSpec& spec() const { return spec_; }
  int fd() const { return fd_.get(); }
  /// systemd's name for an inherited socket; empty for one we bound.
  const std::string& fd_name() const { return fd_name_; }

  /// Moves the socket to descriptor `target` (close-on-exec stays on).
  void move_to(int target);
  /// Takes `fd` (a duplicate of the socket) in place of the current descriptor.
  void replace_fd(UniqueFd fd) { fd_ = std::move(fd); }
  /// Remembers the socket file we created, to remove it at exit.
  void own_path(dev_t dev, ino_t ino);
  /// systemd's fd store keeps the socket (fd_store.h): its file stays at exit, for the next
  /// start to take the socket back (a socket file nobody listens on is removed at a start).
  void set_in_store();
  Origin origin() const { return origin_; }
  /// Records the file status flags as they are now, for heal().
  void remember_flags();
  /// See Listeners::heal.
  void heal(int backlog, std::vector<std::string>& problems);
  /// What an upgrade in place hands on (upgrade_state.h), and takes back.
  UpgradeState::Listener saved() const;
  void restore(const UpgradeState::Listener& saved);

 private:
  void remove_owned_path();

  ListenSpec spec_;
  UniqueFd fd_;
  std::string fd_name_;
  Origin origin_ = Origin::kBound;
  bool owns_path_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  int flags_ = -1;  ///< F_GETFL at start
};

/// Whether --port/--path `spec` names the address `bound` is bound to, whatever the socket
/// type: a bare port is 0.0.0.0 and also systemd's dual-stack [::]; a host name is resolved
/// (first IPv4 address); a unix path names the same file.
bool names_address(const ListenSpec& spec, const ListenSpec& bound);

class Listeners {
 public:
  /// Makes a listener of every spec, in order: a socket systemd passed (`inherited`) whose
  /// address the spec names is used as is; any other spec is bound. Inherited sockets no spec
  /// names follow, keyed by their own address. "=FD" specs are then placed at their
  /// descriptor. Throws SysError or UsageError naming the address; what was already created
  /// is closed and unlinked. What was done besides (a stale socket file removed, a socket
  /// moved, an inherited socket no spec names) is kept for take_notes().
  /// `path_mode`: the permissions of the socket files of --path (Perl's: 0777).
  static Listeners open(const std::vector<ListenSpec>& specs, int backlog,
                        std::vector<InheritedSocket> inherited = {}, mode_t path_mode = 0777);

  /// The lines open() has to say, one each, for the caller to log; taken once.
  std::vector<std::string> take_notes();

  /// Places the listeners at descriptors 3, 4, ... in order, as systemd's LISTEN_FDS
  /// protocol requires. Throws UsageError if an "=FD" spec asks for another place.
  void place_from_3();

  /// Repairs what a worker can do to a socket every generation shares: a stream socket
  /// that no longer listens (a worker called shutdown(2) on it) listens again, and an
  /// O_NONBLOCK flag set or cleared on the shared file description is put back as it was at
  /// start. Returns one line per problem, saying what was done, for the caller to log.
  std::vector<std::string> heal();

  /// The listeners an earlier image of this process opened (upgrade in place), at the same
  /// descriptors: each is given the first spec of `specs` with its key, else the address it
  /// is bound to. Takes ownership of the descriptors. Throws UsageError for a descriptor
  /// that is not a socket.
  static Listeners adopt(const std::vector<ListenSpec>& specs, int backlog,
                         const std::vector<UpgradeState::Listener>& saved);
  std::vector<UpgradeState::Listener> saved() const;
  /// Calls `store` for each listener start_server bound itself that systemd's fd store does
  /// not keep yet; one for which it returns true is kept there from then on.
  void store_own(const std::function<bool(const Listener&)>& store);
  /// How many listeners systemd's fd store keeps.
  std::size_t in_store_count() const;

  /// SERVER_STARTER_PORT entries, in order.
  std::vector<PortEntry> port_entries() const;
  /// The descriptors a worker inherits.
  std::vector<int> fds() const;
  /// What a worker is told about each listener, in order.
  std::vector<ExportedListener> exported() const;
  std::size_t size() const { return listeners_.size(); }

 private:
  void place(const std::vector<std::pair<Listener*, int>>& targets);
  std::vector<Listener> listeners_;
  int backlog_ = SOMAXCONN;
  std::vector<std::string> notes_;
};

}  // namespace starter
