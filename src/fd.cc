#include "fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

#include "error.h"
#include "number.h"

namespace starter {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) {
    int saved = errno;
    // close() is never retried: on Linux the fd is gone even when it reports EINTR.
    (void)::close(fd_);
    errno = saved;
  }
  fd_ = fd;
}

Pipe Pipe::create() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw SysError("pipe2", "");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_cloexec(int fd, bool on) {
  if (::fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0) < 0)
    throw SysError("fcntl", "").flag(std::to_string(fd) + ", F_SETFD");
}

void cloexec_inherited_fds() {
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11: walk /proc/self/fd instead.
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) throw SysError("opendir", "/proc/self/fd");
  int self = ::dirfd(dir);
  while (dirent* entry = ::readdir(dir)) {
    std::optional<int> fd = parse_integer<int>(entry->d_name, 3);  // "." and ".." are no fds
    if (!fd || *fd == self) continue;
    (void)::fcntl(*fd, F_SETFD, FD_CLOEXEC);  // best effort: it may be gone
  }
  ::closedir(dir);
}

void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    // The lowest free descriptor is `fd` itself: the ones below it are open by now.
    int null = ::open("/dev/null", O_RDWR | O_NOCTTY);
    if (null < 0) throw SysError("open", "/dev/null");
    if (null != fd) {
      (void)::close(null);
      throw SysError("open", "/dev/null", EBADF)
          .during("standard descriptor " + std::to_string(fd));
    }
  }
}

long read_some(int fd, void* buf, std::size_t len) {
  for (;;) {
    ssize_t n = ::read(fd, buf, len);
    if (n >= 0 || errno != EINTR) return n;
  }
}

void write_all(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("write", std::string(what));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) throw SysError("open", path);
  std::string out;
  char buf[4096];
  for (;;) {
    long n = read_some(fd.get(), buf, sizeof buf);
    if (n < 0) throw SysError("read", path);
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace starter
