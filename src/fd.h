#pragma once
/// File descriptor ownership and the few I/O helpers the daemon needs.
/// Every fd we open is O_CLOEXEC; the listeners lose that flag only in a worker child.

#include <string_view>
#include <utility>

namespace starter {

/// Move-only owner of one file descriptor. The destructor closes it and preserves errno,
/// so it is safe on error paths that still want to report errno.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// pipe2(O_CLOEXEC); throws SysError.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
  static Pipe create();
};

/// Sets or clears FD_CLOEXEC; throws SysError.
void set_cloexec(int fd, bool on);

/// Marks every fd >= 3 close-on-exec, so nothing we inherited leaks into a worker.
void cloexec_inherited_fds();

/// Opens /dev/null on whichever of fds 0, 1 and 2 is closed (cron, init scripts, `cmd <&-`),
/// as init systems do: otherwise our own descriptors would land there, and redirecting the
/// log or a worker's stdout would close a socket or the pid file's lock. Run it first.
void ensure_standard_fds();

/// read(2) retried on EINTR. Returns bytes read (0 at EOF), or -1 with errno set
/// (EAGAIN included: the caller decides).
long read_some(int fd, void* buf, std::size_t len);

/// Writes all of `data`, retrying on EINTR and short writes; throws SysError.
void write_all(int fd, std::string_view data, std::string_view what);

/// Reads a whole (small) file; throws SysError naming `path`.
std::string read_file(const std::string& path);

}  // namespace starter
