#include "state_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"

namespace starter {

namespace {

std::string temp_path(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

/// Creates `path` with `content` by rename from a fresh temporary file. With `lock`, the new
/// file is flock'ed before it becomes visible, and its descriptor is returned.
UniqueFd write_atomically(const std::string& path, std::string_view content, bool lock) {
  std::string tmp = temp_path(path);
  (void)::unlink(tmp.c_str());  // a leftover (or planted symlink) of a dead process with our pid
  // Errors name `path`, the file the user asked for, not our temporary name.
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
  if (!fd) throw SysError("open", path);
  try {
    if (lock && ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) throw SysError("flock", path);
    write_all(fd.get(), content, path);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw SysError("rename", path);
  } catch (...) {
    (void)::unlink(tmp.c_str());
    throw;
  }
  return fd;
}

bool same_file(int fd, const std::string& path) {
  struct stat by_fd {
  }, by_path{};
  return ::fstat(fd, &by_fd) == 0 && ::lstat(path.c_str(), &by_path) == 0 &&
         by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

}  // namespace

void PidFile::check_not_running(const std::string& path) {
  if (is_locked(path)) {
    std::string holder;
    try {
      holder = " (pid " + std::to_string(read_pid(path)) + ")";
    } catch (const std::exception&) {
    }
    throw UsageError("pid file " + quote(path) + " is held by a running start_server" + holder);
  }
}

PidFile PidFile::create(const std::string& path) {
  check_not_running(path);
  PidFile pid_file(path);
  pid_file.fd_ = write_atomically(path, std::to_string(::getpid()) + "\n", /*lock=*/true);
  // Two instances racing past the check both rename; only the one whose file is at the path
  // may go on.
  if (!same_file(pid_file.fd_.get(), path)) {
    pid_file.fd_.reset();
    throw UsageError("pid file " + quote(path) + " was taken over by another start_server");
  }
  return pid_file;
}

PidFile::~PidFile() {
  if (fd_ && same_file(fd_.get(), path_))
    (void)::unlink(path_.c_str());  // exiting: nothing to do on failure
}

pid_t PidFile::read_pid(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const SysError& e) {
    throw UsageError("cannot read pid file " + quote(path) + ": " + errno_text(e.code().value()));
  }
  pid_t pid = 0;
  std::string_view first(text);
  first = first.substr(0, first.find('\n'));
  if (!parse_pid(first, pid)) throw UsageError("pid file " + quote(path) + " holds no pid");
  return pid;
}

bool PidFile::is_locked(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) return false;  // absent, or a planted symlink: nobody holds it
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

StatusFile::StatusFile(std::string path) : path_(std::move(path)) {
  std::string tmp = temp_path(path_);
  (void)::unlink(tmp.c_str());
  UniqueFd probe(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
  if (!probe) throw SysError("open", path_);
  (void)::unlink(tmp.c_str());
}

StatusFile::~StatusFile() {
  if (written_) (void)::unlink(path_.c_str());  // exiting: nothing to do on failure
}

std::string StatusFile::write(const StatusSnapshot& status) {
  std::string content = format_status(status);
  std::string failure;
  try {
    write_atomically(path_, content, /*lock=*/false);
    written_ = true;
    return {};
  } catch (const SysError& e) {
    failure = e.what();
  }
  // Truncating frees the blocks of a full disk; a reader may see the file half written, which
  // is better than a whole file that lies.
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (fd) {
    try {
      write_all(fd.get(), content, path_);
      written_ = true;
      return failure + "; rewrote it in place instead";
    } catch (const SysError& e) {
      failure += std::string("; ") + e.what();
    }
  }
  if (::unlink(path_.c_str()) == 0 || errno == ENOENT)
    return failure + "; removed it, so that it names no dead process";
  throw SysError("unlink", path_).during("after " + failure);
}

DetailFile::~DetailFile() {
  if (written_) (void)::unlink(path_.c_str());  // exiting: nothing to do on failure
}

void DetailFile::write(std::string_view content) {
  write_atomically(path_, content, /*lock=*/false);
  written_ = true;
}

}  // namespace starter
