#pragma once
/// Signals as data: the handled signals are blocked and read from a signalfd by the event
/// loop. No handler ever runs; the only disposition we change is SIGPIPE (ignored).

#include <signal.h>
#include <sys/signalfd.h>

#include <vector>

#include "fd.h"

namespace starter {

/// The process-wide signal setup, saved so a child can get the original back.
class SignalMask {
 public:
  /// Blocks HUP, TERM, INT, QUIT, CHLD, USR1, USR2, ALRM and ignores SIGPIPE. Must run before
  /// any child exists, or a signal sent between fork and the child's restore could be lost.
  static SignalMask block_handled();
  /// The same, after an upgrade in place: this image inherited the handled set blocked, so
  /// the mask workers get back is the one the first image started with, `original`.
  static SignalMask block_handled(const std::vector<int>& original);
  /// The signals blocked before block_handled, by number.
  std::vector<int> original_signals() const;

  /// Async-signal-safe: restores the original mask and sets every disposition to the default
  /// (call in a child before exec, or the worker starts with HUP and TERM blocked, or with
  /// the signals ignored that we were started with ignored).
  void restore_in_child() const;

  const sigset_t& handled() const { return handled_; }

 private:
  sigset_t handled_{};
  sigset_t original_{};
};

class SignalFd {
 public:
  explicit SignalFd(const sigset_t& set);
  int fd() const { return fd_.get(); }
  /// Reads every pending signal (to EAGAIN). Standard signals coalesce: never count them.
  std::vector<signalfd_siginfo> drain();

 private:
  UniqueFd fd_;
};

}  // namespace starter
