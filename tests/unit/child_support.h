#pragma once
/// Waiting for a child the test forked itself.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

namespace starter::testing_support {

/// Waits for `pid` and returns its raw wait status.
inline int wait_for(pid_t pid) {
  int status = 0;
  pid_t got;
  do got = ::waitpid(pid, &status, 0);
  while (got < 0 && errno == EINTR);
  EXPECT_EQ(got, pid) << std::strerror(errno);
  return status;
}

}  // namespace starter::testing_support
