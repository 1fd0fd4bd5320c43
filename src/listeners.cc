#include "listeners.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "error.h"

namespace starter {

namespace {

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());  // length checked by parse_path
  return addr;
}

/// The IPv4 address of a host, as typed or resolved once (Perl: gethostbyname, first address).
in_addr resolve_ipv4(const ListenSpec& spec) {
  in_addr addr{};
  if (spec.host.empty()) {
    addr.s_addr = htonl(INADDR_ANY);
    return addr;
  }
  if (::inet_pton(AF_INET, spec.host.c_str(), &addr) == 1) return addr;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = spec.is_stream() ? SOCK_STREAM : SOCK_DGRAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(spec.host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || !found)
    throw UsageError("--port: cannot resolve host " + quote(spec.host) + ": " + ::gai_strerror(rc));
  addr = reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr;
  ::freeaddrinfo(found);
  return addr;
}

UniqueFd make_socket(int family, const ListenSpec& spec) {
  int type = (spec.is_stream() ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC;
  UniqueFd fd(::socket(family, type, 0));
  if (!fd) throw SysError("socket", spec.describe());
  return fd;
}

void bind_or_throw(int fd, const sockaddr* addr, socklen_t len, const ListenSpec& spec) {
  if (::bind(fd, addr, len) < 0) throw SysError("bind", spec.describe());
}

void listen_or_throw(int fd, int backlog, const ListenSpec& spec) {
  if (spec.is_stream() && ::listen(fd, backlog) < 0) throw SysError("listen", spec.describe());
}

UniqueFd open_inet(const ListenSpec& spec, int backlog) {
  UniqueFd fd = make_socket(spec.ipv6 ? AF_INET6 : AF_INET, spec);
  int one = 1;
  if (spec.is_stream() && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    throw SysError("setsockopt", spec.describe()).flag("SO_REUSEADDR");
  if (spec.ipv6) {
    if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
      throw SysError("setsockopt", spec.describe()).flag("IPV6_V6ONLY");
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(spec.port);
    ::inet_pton(AF_INET6, spec.host.c_str(), &addr.sin6_addr);  // validated by parse_port
    bind_or_throw(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr, spec);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(spec.port);
    addr.sin_addr = resolve_ipv4(spec);
    bind_or_throw(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr, spec);
  }
  listen_or_throw(fd.get(), backlog, spec);
  return fd;
}

/// Whether a unix socket file has a live listener: connect() is refused only when it is stale.
bool socket_file_is_live(const std::string& path) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe) throw SysError("socket", path);
  sockaddr_un addr = unix_address(path);
  if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
  // EAGAIN: a listener whose backlog is full is still a listener.
  return errno != ECONNREFUSED && errno != ENOENT;
}

/// Perl unlinks whatever is at the path; we remove only a socket nobody listens on.
void clear_stale_socket(const ListenSpec& spec, std::vector<std::string>& notes) {
  struct stat st {};
  if (::lstat(spec.path.c_str(), &st) < 0) {
    if (errno == ENOENT) return;
    throw SysError("lstat", spec.path);
  }
  if (!S_ISSOCK(st.st_mode))
    throw UsageError("--path: " + quote(spec.path) +
                     " exists and is not a socket; refusing to replace it");
  if (socket_file_is_live(spec.path))
    throw UsageError("--path: " + quote(spec.path) + " is in use by another process");
  notes.push_back("removing stale socket file " + quote(spec.path));
  if (::unlink(spec.path.c_str()) < 0 && errno != ENOENT) throw SysError("unlink", spec.path);
}

Listener open_unix(const ListenSpec& spec, int backlog, mode_t mode,
                   std::vector<std::string>& notes) {
  clear_stale_socket(spec, notes);
  UniqueFd fd = make_socket(AF_UNIX, spec);
  sockaddr_un addr = unix_address(spec.path);
  // The mode is set at creation, through the umask, so the socket is never reachable with
  // wider permissions than asked for, not even for an instant (Perl: 0777).
  mode_t old_mask = ::umask(~mode & 0777);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int saved = errno;
  ::umask(old_mask);
  if (rc < 0) throw SysError("bind", spec.path, saved);
  struct stat st {};
  if (::stat(spec.path.c_str(), &st) < 0) throw SysError("stat", spec.path);
  Listener listener(spec, std::move(fd));
  listener.own_path(st.st_dev, st.st_ino);  // from here on, failure unlinks it
  listen_or_throw(listener.fd(), backlog, spec);
  return listener;
}

}  // namespace

Listener::~Listener() { remove_owned_path(); }

void Listener::remove_owned_path() {
  if (!std::exchange(owns_path_, false)) return;
  struct stat st {};
  // Only if the path still names our socket: a successor may already have replaced it.
  if (::lstat(spec_.path.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
    (void)::unlink(spec_.path.c_str());  // nothing more to do at exit if it fails
}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    remove_owned_path();  // our own socket file, if any, goes first
    spec_ = std::move(other.spec_);
    fd_ = std::move(other.fd_);
    fd_name_ = std::move(other.fd_name_);
    owns_path_ = std::exchange(other.owns_path_, false);
    origin_ = other.origin_;
    dev_ = other.dev_;
    ino_ = other.ino_;
    flags_ = other.flags_;
  }
  return *this;
}

void Listener::own_path(dev_t dev, ino_t ino) {
  owns_path_ = true;
  dev_ = dev;
  ino_ = ino;
}

void Listener::set_in_store() {
  origin_ = Origin::kFdStore;
  owns_path_ = false;
}

void Listener::remember_flags() { flags_ = ::fcntl(fd_.get(), F_GETFL); }

void Listener::heal(int backlog, std::vector<std::string>& problems) {
  std::string name = spec_.describe();
  if (spec_.is_stream()) {
    int listening = 1;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && !listening) {
      if (::listen(fd_.get(), backlog) == 0)
        problems.push_back("socket " + name +
                           " was no longer listening (a worker shut it down?); listening again");
      else
        problems.push_back(
            "socket " + name +
            " is no longer listening (a worker shut it down?) and cannot listen again: " +
            SysError("listen", name).what());
    }
  }
  int flags = ::fcntl(fd_.get(), F_GETFL);
  if (flags_ < 0 || flags < 0 || ((flags ^ flags_) & O_NONBLOCK) == 0) return;
  bool now_nonblocking = flags & O_NONBLOCK;
  // The flag lives on the description every generation shares: left set, a worker that
  // expects blocking accepts would spin on EAGAIN.
  if (::fcntl(fd_.get(), F_SETFL, (flags & ~O_NONBLOCK) | (flags_ & O_NONBLOCK)) == 0)
    problems.push_back("socket " + name + " was made " +
                       (now_nonblocking ? "non-blocking" : "blocking") +
                       " by a worker; set back as it was");
  else
    problems.push_back(
        "socket " + name + " was made " + (now_nonblocking ? "non-blocking" : "blocking") +
        " by a worker and cannot be set back: " + SysError("fcntl", name).flag("F_SETFL").what());
}

UpgradeState::Listener Listener::saved() const {
  return {spec_.key(),
          fd_.get(),
          fd_name_,
          owns_path_,
          static_cast<unsigned long long>(dev_),
          static_cast<unsigned long long>(ino_),
          flags_,
          origin_ == Origin::kFdStore};
}

void Listener::restore(const UpgradeState::Listener& saved) {
  owns_path_ = saved.owns_path;
  dev_ = static_cast<dev_t>(saved.dev);
  ino_ = static_cast<ino_t>(saved.ino);
  flags_ = saved.flags;
  origin_ = saved.fd_store     ? Origin::kFdStore
            : fd_name_.empty() ? Origin::kBound
                               : Origin::kSocketUnit;
}

void Listener::move_to(int target) {
  if (fd_.get() == target) return;
  if (::dup3(fd_.get(), target, O_CLOEXEC) < 0)
    throw SysError("dup3", spec_.describe()).flag(std::to_string(target));
  fd_.reset(target);
}

namespace {

bool same_ipv6(const std::string& a, const std::string& b) {
  in6_addr x{}, y{};
  return ::inet_pton(AF_INET6, a.c_str(), &x) == 1 && ::inet_pton(AF_INET6, b.c_str(), &y) == 1 &&
         std::memcmp(&x, &y, sizeof x) == 0;
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat x {
  }, y{};
  return a == b || (::stat(a.c_str(), &x) == 0 && ::stat(b.c_str(), &y) == 0 &&
                    x.st_dev == y.st_dev && x.st_ino == y.st_ino);
}

}  // namespace

bool names_address(const ListenSpec& spec, const ListenSpec& bound) {
  if (spec.kind == ListenSpec::Kind::kUnix || bound.kind == ListenSpec::Kind::kUnix)
    return spec.kind == bound.kind && same_file(spec.path, bound.path);
  if (spec.port != bound.port) return false;
  // A bare port is 0.0.0.0, and also the dual-stack [::] of systemd's ListenStream=PORT.
  if (spec.host.empty()) return bound.host.empty() || (bound.ipv6 && same_ipv6(bound.host, "::"));
  if (spec.ipv6) return bound.ipv6 && same_ipv6(spec.host, bound.host);
  if (bound.ipv6) return false;
  in_addr want = resolve_ipv4(spec);
  in_addr have{};
  if (bound.host.empty())
    have.s_addr = htonl(INADDR_ANY);
  else
    ::inet_pton(AF_INET, bound.host.c_str(), &have);
  return want.s_addr == have.s_addr;
}

namespace {

/// The inherited socket `spec` names, taken out of `inherited`, or none.
std::optional<InheritedSocket> take_inherited(const ListenSpec& spec,
                                              std::vector<InheritedSocket>& inherited) {
  for (auto it = inherited.begin(); it != inherited.end(); ++it) {
    if (!names_address(spec, it->address)) continue;
    int want = spec.is_stream() ? SOCK_STREAM : SOCK_DGRAM;
    if (it->type != want)
      throw UsageError("socket from systemd for " + quote(spec.describe()) + " is a " +
                       (it->type == SOCK_DGRAM ? "datagram" : "stream") + " socket, but " +
                       (spec.kind == ListenSpec::Kind::kUnix ? "--path" : "--port") +
                       " asks for a " + (want == SOCK_DGRAM ? "datagram" : "stream") + " one");
    InheritedSocket found = std::move(*it);
    inherited.erase(it);
    return found;
  }
  return std::nullopt;
}

}  // namespace

Listeners Listeners::open(const std::vector<ListenSpec>& specs, int backlog,
                          std::vector<InheritedSocket> inherited, mode_t path_mode) {
  Listeners set;
  set.listeners_.reserve(specs.size() + inherited.size());
  for (const auto& spec : specs) {
    if (auto socket = take_inherited(spec, inherited)) {
      // A stored socket is one we bound at an earlier start: a worker sees no systemd name.
      if (socket->from_store)
        set.listeners_.emplace_back(spec, std::move(socket->fd), std::string(),
                                    Listener::Origin::kFdStore);
      else
        set.listeners_.emplace_back(spec, std::move(socket->fd), socket->name,
                                    Listener::Origin::kSocketUnit);
    } else if (spec.kind == ListenSpec::Kind::kUnix)
      set.listeners_.push_back(open_unix(spec, backlog, path_mode, set.notes_));
    else
      set.listeners_.emplace_back(spec, open_inet(spec, backlog));
  }
  for (auto& socket : inherited) {
    set.notes_.push_back("socket " + quote(socket.address.describe()) +
                         " from systemd is named by no --port or --path; handing it on as " +
                         quote(socket.address.key()));
    set.listeners_.emplace_back(socket.address, std::move(socket.fd), socket.name,
                                Listener::Origin::kSocketUnit);
  }
  std::vector<std::pair<Listener*, int>> pinned;
  for (auto& l : set.listeners_)
    if (l.spec().pinned_fd) pinned.emplace_back(&l, *l.spec().pinned_fd);
  set.place(pinned);
  for (const auto& [listener, target] : pinned)
    set.notes_.push_back("socket is duplicated to file descriptor " + std::to_string(target));
  set.backlog_ = backlog;
  for (auto& l : set.listeners_) l.remember_flags();
  return set;
}

std::vector<std::string> Listeners::take_notes() { return std::exchange(notes_, {}); }

std::vector<std::string> Listeners::heal() {
  std::vector<std::string> problems;
  for (auto& l : listeners_) l.heal(backlog_, problems);
  return problems;
}

void Listeners::place_from_3() {
  std::vector<std::pair<Listener*, int>> targets;
  int next = 3;
  for (auto& l : listeners_) {
    if (l.spec().pinned_fd && *l.spec().pinned_fd != next)
      throw UsageError("--listen-fds places sockets at 3, 4, ...: " + quote(l.spec().describe()) +
                       " cannot be at fd " + std::to_string(*l.spec().pinned_fd));
    targets.emplace_back(&l, next++);
  }
  place(targets);
}

// Each socket is moved to its target; whichever of our sockets sits there is moved out of
// the way first, above every target, so no socket is ever closed by mistake. A descriptor
// there that is not ours was inherited and is already close-on-exec: dup3 replaces it, as
// Perl's dup2 does.
void Listeners::place(const std::vector<std::pair<Listener*, int>>& targets) {
  int above = 3;
  for (const auto& [listener, target] : targets) above = std::max(above, target + 1);
  for (const auto& [listener, target] : targets) {
    for (auto& other : listeners_) {
      if (&other == listener || other.fd() != target) continue;
      UniqueFd moved(::fcntl(other.fd(), F_DUPFD_CLOEXEC, above));
      if (!moved) throw SysError("fcntl", other.spec().describe()).flag("F_DUPFD_CLOEXEC");
      other.replace_fd(std::move(moved));
    }
    listener->move_to(target);
  }
}

Listeners Listeners::adopt(const std::vector<ListenSpec>& specs, int backlog,
                           const std::vector<UpgradeState::Listener>& saved) {
  Listeners set;
  set.backlog_ = backlog;
  std::vector<bool> used(specs.size(), false);
  for (const auto& s : saved) {
    UniqueFd fd(s.fd);
    std::optional<ListenSpec> spec;
    for (std::size_t i = 0; i < specs.size() && !spec; ++i)
      if (!used[i] && specs[i].key() == s.key) {
        used[i] = true;
        spec = specs[i];
      }
    if (!spec) {
      // Not on our command line: a socket systemd passed that no --port names.
      UniqueFd probe(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
      if (!probe)
        throw SysError("fcntl(F_DUPFD_CLOEXEC)",
                       "socket " + s.key + " (fd " + std::to_string(s.fd) + ")");
      spec = describe_socket(std::move(probe), s.name).address;
    }
    set.listeners_.emplace_back(*spec, std::move(fd), s.name);
    set.listeners_.back().restore(s);
  }
  return set;
}

std::vector<UpgradeState::Listener> Listeners::saved() const {
  std::vector<UpgradeState::Listener> out;
  for (const auto& l : listeners_) out.push_back(l.saved());
  return out;
}

void Listeners::store_own(const std::function<bool(const Listener&)>& store) {
  for (auto& l : listeners_)
    if (l.origin() == Listener::Origin::kBound && store(l)) l.set_in_store();
}

std::size_t Listeners::in_store_count() const {
  return static_cast<std::size_t>(
      std::count_if(listeners_.begin(), listeners_.end(),
                    [](const Listener& l) { return l.origin() == Listener::Origin::kFdStore; }));
}

std::vector<PortEntry> Listeners::port_entries() const {
  std::vector<PortEntry> entries;
  for (const auto& l : listeners_) entries.push_back({l.spec().key(), l.fd()});
  return entries;
}

std::vector<ExportedListener> Listeners::exported() const {
  std::vector<ExportedListener> out;
  for (const auto& l : listeners_) out.push_back({l.spec().key(), l.fd(), l.fd_name()});
  return out;
}

std::vector<int> Listeners::fds() const {
  std::vector<int> out;
  for (const auto& l : listeners_) out.push_back(l.fd());
  return out;
}

}  // namespace starter
