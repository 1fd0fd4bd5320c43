#pragma once
/// The listening sockets: created once at start-up, before the first worker, and held open
/// for the whole life of start_server, so every generation shares the very same sockets.

#include <sys/types.h>

#include <vector>

#include "fd.h"
#include "listen_spec.h"
#include "starter_env.h"

namespace starter {

class Listener {
 public:
  Listener(ListenSpec spec, UniqueFd fd) : spec_(std::move(spec)), fd_(std::move(fd)) {}
  Listener(Listener&&) noexcept = default;
  Listener& operator=(Listener&&) noexcept = default;
  /// Removes the socket file of a --path we bound, if it is still ours.
  ~Listener();

  const ListenSpec& spec() const { return spec_; }
  int fd() const { return fd_.get(); }

  /// Moves the socket to descriptor `target` (close-on-exec stays on).
  void move_to(int target);
  /// Takes `fd` (a duplicate of the socket) in place of the current descriptor.
  void replace_fd(UniqueFd fd) { fd_ = std::move(fd); }
  /// Remembers the socket file we created, to remove it at exit.
  void own_path(dev_t dev, ino_t ino);

 private:
  ListenSpec spec_;
  UniqueFd fd_;
  bool owns_path_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

class Listeners {
 public:
  /// Binds every spec in order and places "=FD" ones at their descriptor. Throws SysError or
  /// UsageError naming the address; what was already created is closed and unlinked.
  static Listeners open(const std::vector<ListenSpec>& specs, int backlog);

  /// SERVER_STARTER_PORT entries, in order.
  std::vector<PortEntry> port_entries() const;
  /// The descriptors a worker inherits.
  std::vector<int> fds() const;
  std::size_t size() const { return listeners_.size(); }

 private:
  void place_pinned();
  std::vector<Listener> listeners_;
};

}  // namespace starter
