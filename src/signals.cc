#include "signals.h"

#include <cerrno>

#include "error.h"

namespace starter {

SignalMask SignalMask::block_handled() {
  SignalMask mask;
  sigemptyset(&mask.handled_);
  for (int signo : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM})
    sigaddset(&mask.handled_, signo);
  if (::sigprocmask(SIG_BLOCK, &mask.handled_, &mask.original_) < 0) throw SysError("sigprocmask", "SIG_BLOCK");
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (::sigaction(SIGPIPE, &ignore, &mask.original_pipe_) < 0) throw SysError("sigaction", "SIGPIPE");
  return mask;
}

void SignalMask::restore_in_child() const {
  ::sigaction(SIGPIPE, &original_pipe_, nullptr);
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
      throw SysError("read", "signalfd");
    }
    if (n == 0) return out;
    out.insert(out.end(), info, info + static_cast<std::size_t>(n) / sizeof info[0]);
  }
}

}  // namespace starter
