#pragma once
/// The pid file and the status file on disk (format in status_format.h).
///
/// Both are written to a temporary file in the same directory and renamed into place,
/// so a reader never sees half a file and a symlink planted at the path is replaced, never
/// followed. The pid file holds "PID\n" and an exclusive flock for start_server's whole life;
/// `--stop` waits on that lock.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "fd.h"
#include "status_format.h"

namespace starter {

class PidFile {
 public:
  /// Throws UsageError if a running start_server holds the lock on `path`.
  static void check_not_running(const std::string& path);
  /// Writes our pid and takes the lock. Throws UsageError if another instance holds it,
  /// SysError if the file cannot be written.
  static PidFile create(const std::string& path);
  /// The pid file an earlier image of this process created (upgrade in place): `locked`
  /// still holds its flock, which belongs to the open file description, not to the image.
  static PidFile adopt(std::string path, UniqueFd locked);
  PidFile(PidFile&&) noexcept = default;
  PidFile& operator=(PidFile&&) noexcept = default;
  /// Unlinks the file if it is still ours.
  ~PidFile();

  /// For control clients: the pid written in `path`. Throws UsageError naming the file.
  static pid_t read_pid(const std::string& path);
  /// Whether some process holds the lock on `path` (a start_server is running).
  static bool is_locked(const std::string& path);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }  ///< holds the flock

 private:
  explicit PidFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
  UniqueFd fd_;  ///< holds the flock
};

class StatusFile {
 public:
  /// Checks now that the file can be written (the directory accepts our temporary file),
  /// so a bad path is a start-up error rather than a runtime surprise.
  explicit StatusFile(std::string path);
  /// The status file of an earlier image of this process (upgrade in place): no probe, and
  /// it is ours to remove if that image had written it.
  StatusFile(std::string path, bool written) : path_(std::move(path)), written_(written) {}
  StatusFile(const StatusFile&) = delete;
  StatusFile& operator=(const StatusFile&) = delete;
  /// Removes the file if this process wrote it.
  ~StatusFile();

  /// Replaces the file atomically. When that fails (a full disk, a directory that takes no
  /// new file), the file must not go on naming dead processes: it is rewritten in place, or
  /// else removed. Returns what was done then, for the caller to log ("" when all went
  /// well); throws SysError when even the removal failed and the file is stale.
  std::string write(const StatusSnapshot& status);

  const std::string& path() const { return path_; }
  bool written() const { return written_; }

 private:
  std::string path_;
  bool written_ = false;
};

/// The status detail file (format in status_detail.h), same discipline as StatusFile:
/// written by rename, removed at exit if this process wrote it.
class DetailFile {
 public:
  /// `written`: an earlier image of this process wrote it (upgrade in place).
  explicit DetailFile(std::string path, bool written = false)
      : path_(std::move(path)), written_(written) {}
  DetailFile(const DetailFile&) = delete;
  DetailFile& operator=(const DetailFile&) = delete;
  ~DetailFile();

  void write(std::string_view content);  ///< throws SysError
  bool written() const { return written_; }

 private:
  std::string path_;
  bool written_ = false;
};

}  // namespace starter
