// Component test of the upgrade adapters (self_exec.h) with real children: the pre-flight's
// verdict for a missing, non-executable, foreign or refusing "new binary", and the state's
// memfd read back. The pre-flight of a real start_server is in the integration tests.

#include "self_exec.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "child_support.h"
#include "error.h"
#include "fd.h"
#include "temp_dir.h"
#include "upgrade_state.h"

namespace starter {
namespace {

using testing_support::TempDir;
using testing_support::write_file;

using testing_support::wait_for;

/// The pre-flight of `path` run to its end: "" when it accepts the state, else the reason.
std::string preflight(const std::string& path) {
  const SignalMask mask{};  // restore_in_child of a default mask: empty mask, default dispositions
  auto started = Preflight::start(path, "start_server-state 1\n", mask);
  if (auto* refused = std::get_if<std::string>(&started)) return *refused;
  auto& p = std::get<Preflight>(started);
  return p.verdict(wait_for(p.pid()));
}

TEST(Preflight, AMissingBinaryIsRefusedBeforeAnythingIsForked) {
  EXPECT_EQ(preflight("/nonexistent/start_server"),
            "the new binary '/nonexistent/start_server': No such file or directory");
}

TEST(Preflight, ANonExecutableFileIsRefused) {
  TempDir dir;
  write_file(dir / "start_server", "#!/bin/sh\n", 0644);
  EXPECT_EQ(preflight(dir / "start_server"),
            "the new binary '" + dir / "start_server" + "': Permission denied");
}

TEST(Preflight, AFileTheKernelCannotRunIsRefused) {
  TempDir dir;
  write_file(dir / "start_server", "not a program\n", 0755);
  EXPECT_EQ(preflight(dir / "start_server"), "the new binary '" + dir / "start_server" +
                                                 "': execve('" + dir / "start_server" +
                                                 "'): Exec format error");
}

TEST(Preflight, AProgramThatIsNoStartServerIsRefused) {
  EXPECT_EQ(preflight("/bin/true"),
            "the new binary '/bin/true' is not a start_server that can upgrade: --upgrade-check "
            "exited with status 0 "
            "and printed nothing");
  TempDir dir;
  write_file(dir / "perl", "#!/bin/sh\necho 'Unknown option: upgrade-check'\nexit 2\n", 0755);
  EXPECT_EQ(preflight(dir / "perl"),
            "the new binary '" + dir / "perl" +
                "' is not a start_server that can upgrade: --upgrade-check exited with "
                "status 2 and printed 'Unknown option: upgrade-check'");
}

TEST(Preflight, ANewBinaryThatRefusesTheStateSaysWhy) {
  TempDir dir;
  write_file(
      dir / "new",
      "#!/bin/sh\necho 'start_server-upgrade-check refused state version 1 is too old'\nexit 1\n",
      0755);
  EXPECT_EQ(preflight(dir / "new"),
            "the new binary '" + dir / "new" + "' refuses the state: state version 1 is too old");
}

// What the child is given: the state on the descriptor the variable names, and our stdout
// replaced by the pipe the verdict is read from.
TEST(Preflight, TheChildReadsTheStateFromTheVariable) {
  TempDir dir;
  write_file(dir / "new",
             "#!/bin/sh\nfd=${START_SERVER_UPGRADE_STATE%,-1}\n"
             "read first <&$fd && [ \"$first\" = 'start_server-state 1' ] && "
             "echo 'start_server-upgrade-check ok 1 9.9.9'\n",
             0755);
  EXPECT_EQ(preflight(dir / "new"), "");
}

TEST(Handoff, TakesTheStateAndUnsetsTheVariable) {
  UniqueFd memfd = state_memfd("start_server-state 1\nimage\tpath=/x\n");
  int exe = ::open("/bin/true", O_PATH | O_CLOEXEC);
  ASSERT_GE(exe, 0);
  std::string value = std::to_string(memfd.release()) + "," + std::to_string(exe);
  ASSERT_EQ(::setenv(kUpgradeStateEnv, value.c_str(), 1), 0);
  std::optional<Handoff> handoff = take_handoff();
  ASSERT_TRUE(handoff);
  EXPECT_EQ(handoff->state, "start_server-state 1\nimage\tpath=/x\n");
  EXPECT_EQ(handoff->exe.get(), exe);
  EXPECT_EQ(::getenv(kUpgradeStateEnv), nullptr);
  EXPECT_FALSE(take_handoff());
}

TEST(Handoff, AMalformedVariableIsOneLine) {
  ASSERT_EQ(::setenv(kUpgradeStateEnv, "five", 1), 0);
  try {
    take_handoff();
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "START_SERVER_UPGRADE_STATE: malformed value 'five'");
  }
  EXPECT_EQ(::getenv(kUpgradeStateEnv), nullptr);
}

TEST(ExecImage, AFailedExecRestoresCloseOnExecAndSaysWhy) {
  Pipe pipe = Pipe::create();
  std::string reason =
      exec_image("/nonexistent/start_server", -1, "start_server-state 1\n", {pipe.read.get()});
  EXPECT_EQ(reason, "execve('/nonexistent/start_server'): No such file or directory");
  EXPECT_EQ(::fcntl(pipe.read.get(), F_GETFD), FD_CLOEXEC);
}

TEST(SelfImage, IsTheRunningProgram) {
  SelfImage image = SelfImage::open();
  EXPECT_NE(image.path().find("unit_tests"), std::string::npos) << image.path();
  EXPECT_GE(image.fd(), 0);
  EXPECT_EQ(::fcntl(image.fd(), F_GETFD), FD_CLOEXEC);
}

}  // namespace
}  // namespace starter
