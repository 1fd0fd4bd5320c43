#pragma once
/// Upgrade in place, the system half (the supervisor decides when; upgrade_state.h is what
/// goes across). On SIGUSR2 start_server replaces its own image with the binary at the path
/// it was started from, keeping its pid, so systemd's MainPID never changes:
///
///  1. pre-flight: that binary is run in a child as `PATH --upgrade-check` with a copy of
///     the state; it must read it and print kUpgradeCheckLine, or nothing happens but a log
///     line saying why (missing, not executable, not a start_server, refused the state);
///  2. the state goes into a memfd, close-on-exec is cleared on exactly the descriptors it
///     names, and execve(PATH, the same argv, the same environment + kUpgradeStateEnv);
///  3. the new image takes the state (take_handoff); if it refuses it, or dies before it
///     supervises, it execs the running image again through an O_PATH descriptor kept
///     since the start (the old file may be deleted or replaced by then), with the state
///     and a "refused" record saying why.
///
/// Across execve the kernel keeps the pid, the signal mask and every pending signal (a HUP
/// that arrives meanwhile is read by the new signalfd), the children (one that exits
/// meanwhile waits as a zombie for the new image to reap), flocks (they belong to the open
/// file description) and every descriptor without FD_CLOEXEC.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "fd.h"
#include "signals.h"

namespace starter {

/// "STATE_FD,EXE_FD": the memfd holding the state and the image to fall back to (-1: none,
/// in the pre-flight). Taken and unset at start, so no worker ever sees it.
inline constexpr const char* kUpgradeStateEnv = "START_SERVER_UPGRADE_STATE";
/// Test only: a new image that sees it set to 1 refuses the state, as a broken release would;
/// "crash": it dies of SIGSEGV instead; "preflight": the pre-flight refuses the state.
inline constexpr const char* kTestRefuseStateEnv = "START_SERVER_TEST_REFUSE_STATE";
/// The hidden mode of the pre-flight (not in --help).
inline constexpr const char* kUpgradeCheckOption = "--upgrade-check";
/// What --upgrade-check prints first on success; the state version and our version follow.
inline constexpr std::string_view kUpgradeCheckLine = "start_server-upgrade-check ok";

/// The running program: an O_PATH descriptor of its image, and the path it was started
/// from, read at start before any package upgrade can rename the file.
class SelfImage {
 public:
  /// /proc/self/exe, opened and read. Throws SysError.
  static SelfImage open();
  /// The image now running, with `path` kept: after an upgrade, the file at the path it was
  /// started from is the next image, and this one the way back. Throws SysError.
  static SelfImage open(std::string path);
  SelfImage(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  /// Where the next image is looked for.
  const std::string& path() const { return path_; }
  /// The image now running, whatever has happened to its file since.
  int fd() const { return fd_.get(); }

 private:
  std::string path_;
  UniqueFd fd_;
};

/// What the image before us handed over.
struct Handoff {
  std::string state;  ///< the text in the memfd
  UniqueFd exe;       ///< the image to fall back to; invalid in the pre-flight
};

/// Reads kUpgradeStateEnv and unsets it; nullopt when it was not set. The state's memfd is
/// read and closed. Throws SysError (an unreadable descriptor) or UsageError (a malformed
/// variable).
std::optional<Handoff> take_handoff();

/// A memfd (close-on-exec) holding `text`, read from its start. Throws
/// SysError.
UniqueFd state_memfd(std::string_view text);

/// The pre-flight child: `path --upgrade-check` reading a copy of the state.
class Preflight {
 public:
  /// Starts it; nothing blocks. Returns the refusal instead when the file is missing or
  /// not executable, or the exec fails. Throws SysError when fork or a pipe fails.
  static std::variant<Preflight, std::string> start(const std::string& path, std::string_view state,
                                                    const SignalMask& mask);
  Preflight(Preflight&& other) noexcept
      : path_(std::move(other.path_)),
        pid_(std::exchange(other.pid_, -1)),
        output_(std::move(other.output_)) {}
  Preflight& operator=(Preflight&&) = delete;
  /// Kills and reaps a child not yet reaped (we are giving up on it).
  ~Preflight();

  pid_t pid() const { return pid_; }
  /// Once it exited with `wait_status` (reaped by the caller): "" when it reads the state,
  /// else the reason, one line. Reads what it printed.
  std::string verdict(int wait_status);

 private:
  Preflight() = default;
  std::string path_;
  pid_t pid_ = -1;
  UniqueFd output_;  ///< its stdout, non-blocking
};

/// `--upgrade-check`, run by Preflight in the new binary: reads the handed state, prints
/// kUpgradeCheckLine, the state version and our version, and returns 0; otherwise prints
/// the reason on stderr and returns 1.
int upgrade_check();

/// Replaces this image: clears close-on-exec on `keep` and on the state's memfd, then
/// execve(path, our argv, our environment + kUpgradeStateEnv) (exe_fd >= 0 and path empty:
/// execveat of that descriptor). Returns only when the exec failed: close-on-exec is
/// set again on every descriptor and the reason returned, one line.
std::string exec_image(const std::string& path, int exe_fd, std::string_view state,
                       const std::vector<int>& keep);

/// The new image's way back, from take_handoff until it supervises: the crash signals
/// (SEGV, BUS, ILL, FPE, ABRT) exec `exe_fd`, the image before us, again with `state` and a
/// "refused" record; so does fall_back. Throws SysError.
void arm_fallback(int exe_fd, std::string_view state);
/// Execs the image before us with the state and "refused" `reason` (one line). Returns
/// only when nothing is armed; if the exec fails, exits 127.
void fall_back(const std::string& reason);
/// The new image supervises: a crash from now on is a crash.
void disarm_fallback();

}  // namespace starter
