#include "signals.h"

#include <cerrno>

#include "error.h"

namespace starter {

SignalMask SignalMask::block_handled() {
  SignalMask mask;
  sigemptyset(&mask.handled_);
  for (int signo : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM})
    sigaddset(&mask.handled_, signo);
  if (::sigprocmask(SIG_BLOCK, &mask.handled_, &mask.original_) < 0)
    throw SysError("sigprocmask", "").flag("SIG_BLOCK");
  // A background job of a non-interactive shell starts with INT and QUIT ignored, and an
  // ignored SIGCHLD would make the kernel reap our workers for us: the handled signals are
  // read from the signalfd, with the default disposition behind the block.
  struct sigaction deflt {};
  deflt.sa_handler = SIG_DFL;
  sigemptyset(&deflt.sa_mask);
  for (int signo : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM})
    if (::sigaction(signo, &deflt, nullptr) < 0)
      throw SysError("sigaction", "").flag(std::to_string(signo) + ", SIG_DFL");
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (::sigaction(SIGPIPE, &ignore, nullptr) < 0)
    throw SysError("sigaction", "").flag("SIGPIPE, SIG_IGN");
  return mask;
}

void SignalMask::restore_in_child() const {
  // Every disposition back to the default, whatever we were started with: a worker that
  // inherits an ignored TERM never leaves when --signal-on-hup or a stop asks it to.
  struct sigaction deflt {};
  deflt.sa_handler = SIG_DFL;
  sigemptyset(&deflt.sa_mask);
  for (int signo = 1; signo < NSIG; ++signo)
    if (signo != SIGKILL && signo != SIGSTOP)
      (void)::sigaction(signo, &deflt, nullptr);  // EINVAL: libc's own
  ::sigprocmask(SIG_SETMASK, &original_, nullptr);
}

SignalFd::SignalFd(const sigset_t& set) : fd_(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) {
  if (!fd_) throw SysError("signalfd", "");
}

std::vector<signalfd_siginfo> SignalFd::drain() {
  std::vector<signalfd_siginfo> out;
  signalfd_siginfo info[16];
  for (;;) {
    long n = read_some(fd_.get(), info, sizeof info);
    if (n < 0) {
      if (errno == EAGAIN) return out;
      throw SysError("read", "").during("signalfd");
    }
    if (n == 0) return out;
    out.insert(out.end(), info, info + static_cast<std::size_t>(n) / sizeof info[0]);
  }
}

}  // namespace starter
