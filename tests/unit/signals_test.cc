// Component test of signals as data: block the handled set, raise, read it back from the
// signalfd. block_handled() changes this test binary's signal mask and SIGPIPE disposition;
// every test puts both back (and discards what is still pending) so other tests are unaffected.

#include "signals.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <vector>

namespace starter {
namespace {

/// Saves the mask and SIGPIPE disposition; on scope exit consumes any handled signal still
/// pending (so unblocking cannot deliver it and kill the binary), then restores both.
class SignalStateGuard {
 public:
  SignalStateGuard() {
    ::sigprocmask(SIG_SETMASK, nullptr, &mask_);
    ::sigaction(SIGPIPE, nullptr, &pipe_);
  }
  ~SignalStateGuard() {
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    timespec zero{};
    for (int signo = 1; signo < NSIG; ++signo) {
      if (sigismember(&pending, signo) != 1 || sigismember(&mask_, signo) == 1) continue;
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, signo);
      (void)::sigtimedwait(&one, nullptr, &zero);  // consume it; nothing to do if it is gone
    }
    ::sigaction(SIGPIPE, &pipe_, nullptr);
    ::sigprocmask(SIG_SETMASK, &mask_, nullptr);
  }
  SignalStateGuard(const SignalStateGuard&) = delete;
  SignalStateGuard& operator=(const SignalStateGuard&) = delete;

  const sigset_t& saved_mask() const { return mask_; }
  const struct sigaction& saved_pipe() const { return pipe_; }

 private:
  sigset_t mask_{};
  struct sigaction pipe_ {};
};

std::vector<int> signos(const std::vector<signalfd_siginfo>& infos) {
  std::vector<int> out;
  for (const auto& i : infos) out.push_back(static_cast<int>(i.ssi_signo));
  return out;
}

bool blocked(int signo) {
  sigset_t now;
  ::sigprocmask(SIG_SETMASK, nullptr, &now);
  return sigismember(&now, signo) == 1;
}

TEST(SignalMask, BlocksTheHandledSetAndIgnoresSigpipe) {
  SignalStateGuard guard;
  SignalMask mask = SignalMask::block_handled();
  for (int signo : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    EXPECT_TRUE(blocked(signo)) << signo;
    EXPECT_EQ(sigismember(&mask.handled(), signo), 1) << signo;
  }
  EXPECT_EQ(sigismember(&mask.handled(), SIGPIPE), 0);
  EXPECT_FALSE(blocked(SIGPIPE));
  struct sigaction pipe_now {};
  ::sigaction(SIGPIPE, nullptr, &pipe_now);
  EXPECT_EQ(pipe_now.sa_handler, SIG_IGN);
}

TEST(SignalMask, RestoreInChildGivesTheOriginalStateBack) {
  SignalStateGuard guard;
  SignalMask mask = SignalMask::block_handled();
  mask.restore_in_child();  // async-signal-safe, so it may as well run here
  for (int signo : {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM})
    EXPECT_EQ(blocked(signo), sigismember(&guard.saved_mask(), signo) == 1) << signo;
  struct sigaction pipe_now {};
  ::sigaction(SIGPIPE, nullptr, &pipe_now);
  EXPECT_EQ(pipe_now.sa_handler, guard.saved_pipe().sa_handler);
}

// After an upgrade in place the new image starts with the handled set already blocked: the
// mask a worker gets back is the first image's, carried in the state, not the inherited one.
TEST(SignalMask, AnUpgradedImageGivesWorkersTheFirstImagesMask) {
  SignalStateGuard guard;
  SignalMask first = SignalMask::block_handled();
  SignalMask upgraded = SignalMask::block_handled(std::vector<int>{SIGUSR1});
  EXPECT_EQ(upgraded.original_signals(), std::vector<int>{SIGUSR1});
  upgraded.restore_in_child();
  EXPECT_TRUE(blocked(SIGUSR1));
  for (int signo : {SIGHUP, SIGTERM, SIGCHLD, SIGUSR2}) EXPECT_FALSE(blocked(signo)) << signo;
  (void)first;
}

TEST(SignalFd, RaisedSignalIsReadAsData) {
  SignalStateGuard guard;
  SignalMask mask = SignalMask::block_handled();
  SignalFd signals(mask.handled());
  EXPECT_GE(signals.fd(), 3);
  EXPECT_TRUE(signals.drain().empty()) << "nothing pending yet";
  ASSERT_EQ(::raise(SIGHUP), 0);  // blocked: queued, no handler runs, the binary survives
  EXPECT_EQ(signos(signals.drain()), std::vector<int>{SIGHUP});
  EXPECT_TRUE(signals.drain().empty()) << "drained to EAGAIN";
}

TEST(SignalFd, StandardSignalsCoalesce) {
  SignalStateGuard guard;
  SignalMask mask = SignalMask::block_handled();
  SignalFd signals(mask.handled());
  ASSERT_EQ(::raise(SIGUSR1), 0);
  ASSERT_EQ(::raise(SIGUSR1), 0);
  ASSERT_EQ(::raise(SIGTERM), 0);
  std::vector<int> got = signos(signals.drain());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int>{SIGUSR1, SIGTERM}));  // one USR1: never count signals
}

TEST(SignalFd, UnhandledSignalsAreNotRead) {
  SignalStateGuard guard;
  SignalMask mask = SignalMask::block_handled();
  SignalFd signals(mask.handled());
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  ::sigprocmask(SIG_BLOCK, &winch, nullptr);  // the guard consumes and unblocks it
  ASSERT_EQ(::raise(SIGWINCH), 0);
  ASSERT_EQ(::raise(SIGINT), 0);
  EXPECT_EQ(signos(signals.drain()), std::vector<int>{SIGINT});
}

TEST(SignalFd, FdIsCloseOnExecAndNonBlocking) {
  SignalStateGuard guard;
  SignalMask mask = SignalMask::block_handled();
  SignalFd signals(mask.handled());
  EXPECT_TRUE(::fcntl(signals.fd(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(signals.fd(), F_GETFL) & O_NONBLOCK);
}

}  // namespace
}  // namespace starter
