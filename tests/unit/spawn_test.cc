// Component test of spawning (ninja's subprocess_test): real children of this test binary,
// each reaped here. What the child saw is reported back through a pipe it inherits.

#include "spawn.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "child_support.h"
#include "error.h"
#include "fd.h"
#include "temp_dir.h"

namespace starter {
namespace {

using testing_support::TempDir;
using testing_support::write_file;

using testing_support::wait_for;

SpawnRequest shell(const std::string& script) {
  SpawnRequest r;
  r.argv = {"/bin/sh", "-c", script};
  r.exec_paths = {"/bin/sh"};
  r.env = {{"PATH", "/usr/bin:/bin"}};
  return r;
}

/// Everything written to `fd` until EOF.
std::string read_all(int fd) {
  std::string out;
  char buf[512];
  long n;
  while ((n = read_some(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

/// The "Name:\tvalue" line of /proc/self/status of this process.
std::string proc_status_line(const std::string& name) {
  std::string text = read_file("/proc/self/status");
  std::size_t at = text.find("\n" + name + ":");
  if (at == std::string::npos) return "";
  std::size_t end = text.find('\n', at + 1);
  return text.substr(at + 1, end - at - 1);
}

const SignalMask
    kUntouchedMask{};  // restore_in_child of a default mask: empty mask, SIGPIPE default

// --- spawn_process ------------------------------------------------------------------------------

TEST(SpawnProcess, ReportsTheChildsExitStatus) {
  SpawnResult r = spawn_process(shell("exit 7"), kUntouchedMask);
  ASSERT_GT(r.pid, 0);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.failed_step, "");
  int status = wait_for(r.pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(SpawnProcess, MissingProgramReportsEnoent) {
  SpawnRequest req;
  req.argv = {"/nonexistent/program", "arg"};
  req.exec_paths = {"/nonexistent/program"};
  SpawnResult r = spawn_process(req, kUntouchedMask);
  ASSERT_GT(r.pid, 0);
  EXPECT_EQ(r.error, ENOENT);
  EXPECT_NE(r.failed_step.find("execve"), std::string::npos) << r.failed_step;
  EXPECT_NE(r.failed_step.find("/nonexistent/program"), std::string::npos) << r.failed_step;
  int status = wait_for(r.pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 255);
}

TEST(SpawnProcess, NoCandidateIsEnoent) {
  SpawnRequest req;
  req.argv = {"prog"};
  SpawnResult r = spawn_process(req, kUntouchedMask);
  EXPECT_EQ(r.error, ENOENT);
  wait_for(r.pid);
}

TEST(SpawnProcess, TriesCandidatesInOrder) {
  SpawnRequest req = shell("exit 4");
  req.argv[0] = "sh";
  req.exec_paths = {"/nonexistent/sh", "/nonexistent-too/sh", "/bin/sh"};
  SpawnResult r = spawn_process(req, kUntouchedMask);
  EXPECT_EQ(r.error, 0) << r.failed_step;
  EXPECT_EQ(WEXITSTATUS(wait_for(r.pid)), 4);
}

TEST(SpawnProcess, NonExecutableFileReportsEacces) {
  TempDir dir;
  write_file(dir / "script", "#!/bin/sh\nexit 0\n", 0644);
  SpawnRequest req;
  req.argv = {dir / "script"};
  req.exec_paths = {dir / "script"};
  SpawnResult r = spawn_process(req, kUntouchedMask);
  EXPECT_EQ(r.error, EACCES);
  EXPECT_NE(r.failed_step.find("execve"), std::string::npos) << r.failed_step;
  EXPECT_EQ(WEXITSTATUS(wait_for(r.pid)), 255);
}

TEST(SpawnProcess, ChdirFailureIsReported) {
  TempDir dir;
  std::string missing = dir.path() + "/missing";  // certainly absent, unlike any fixed path
  SpawnRequest req = shell("exit 0");
  req.dir = missing;
  SpawnResult r = spawn_process(req, kUntouchedMask);
  ASSERT_GT(r.pid, 0);
  EXPECT_EQ(r.error, ENOENT);
  EXPECT_EQ(r.failed_step, "chdir('" + missing + "')");
  EXPECT_EQ(WEXITSTATUS(wait_for(r.pid)), 255);
}

TEST(SpawnProcess, RunsInDirWithExactlyTheGivenEnvironment) {
  TempDir dir;
  std::string real = std::filesystem::canonical(dir.path()).string();
  SpawnRequest req = shell("test \"$(pwd -P)\" = \"" + real +
                           "\" || exit 10; test \"$FOO\" = 'bar baz' || exit 11; "
                           "test -z \"${HOME+set}\" || exit 12; exit 0");
  req.env = {{"PATH", "/usr/bin:/bin"}, {"FOO", "bar baz"}};
  req.dir = dir.path();
  SpawnResult r = spawn_process(req, kUntouchedMask);
  EXPECT_EQ(r.error, 0) << r.failed_step;
  EXPECT_EQ(WEXITSTATUS(wait_for(r.pid)), 0);
}

TEST(SpawnProcess, InheritsTheListedFdsOnly) {
  Pipe wanted = Pipe::create();
  Pipe unwanted = Pipe::create();
  std::string w = std::to_string(wanted.write.get());
  std::string u = std::to_string(unwanted.write.get());
  SpawnRequest req = shell("test -e /proc/self/fd/" + u + " && exit 20; echo hi >&" + w);
  req.inherit_fds = {wanted.write.get()};
  SpawnResult r = spawn_process(req, kUntouchedMask);
  EXPECT_EQ(r.error, 0);
  // Only the child lost close-on-exec.
  EXPECT_TRUE(::fcntl(wanted.write.get(), F_GETFD) & FD_CLOEXEC);
  wanted.write.reset();
  EXPECT_EQ(WEXITSTATUS(wait_for(r.pid)), 0);
  EXPECT_EQ(read_all(wanted.read.get()), "hi\n");
}

TEST(SpawnProcess, StdinFdBecomesTheChildsStdin) {
  Pipe input = Pipe::create();
  write_all(input.write.get(), "hello\n", "pipe");
  input.write.reset();
  SpawnRequest req = shell("read line; test \"$line\" = hello");
  req.stdin_fd = input.read.get();
  SpawnResult r = spawn_process(req, kUntouchedMask);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(WEXITSTATUS(wait_for(r.pid)), 0);
}

// The classic signalfd bug: a worker started with HUP/TERM blocked. The child must get the
// mask (and SIGPIPE disposition) start_server had before block_handled().
TEST(SpawnProcess, ChildGetsTheOriginalSignalMask) {
  sigset_t saved_mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &saved_mask);
  struct sigaction saved_pipe {};
  ::sigaction(SIGPIPE, nullptr, &saved_pipe);
  std::string blocked_before = proc_status_line("SigBlk");
  std::string ignored_before = proc_status_line("SigIgn");
  ASSERT_NE(blocked_before, "");

  SignalMask mask = SignalMask::block_handled();
  ASSERT_NE(proc_status_line("SigBlk"), blocked_before) << "block_handled() changed nothing";
  Pipe report = Pipe::create();
  SpawnRequest req = shell("exec grep -E '^Sig(Blk|Ign):' /proc/self/status >&" +
                           std::to_string(report.write.get()));
  req.inherit_fds = {report.write.get()};
  SpawnResult r = spawn_process(req, mask);
  // Nothing was raised while blocked, so restoring cannot deliver anything.
  ::sigaction(SIGPIPE, &saved_pipe, nullptr);
  ::sigprocmask(SIG_SETMASK, &saved_mask, nullptr);

  report.write.reset();
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(WEXITSTATUS(wait_for(r.pid)), 0);
  EXPECT_EQ(read_all(report.read.get()), blocked_before + "\n" + ignored_before + "\n");
}

// --- reap_children -----------------------------------------------------------------------------

TEST(ReapChildren, CollectsEveryExitedChild) {
  SpawnResult a = spawn_process(shell("exit 3"), kUntouchedMask);
  SpawnResult b = spawn_process(shell("exit 4"), kUntouchedMask);
  for (pid_t pid : {a.pid, b.pid}) {  // wait until both are zombies, without reaping them
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  }
  std::vector<ChildExit> exits = reap_children();
  auto status_of = [&](pid_t pid) {
    auto it =
        std::find_if(exits.begin(), exits.end(), [&](const ChildExit& e) { return e.pid == pid; });
    return it == exits.end() ? -1 : it->status;
  };
  EXPECT_EQ(status_of(a.pid), 3 << 8);
  EXPECT_EQ(status_of(b.pid), 4 << 8);
  EXPECT_TRUE(reap_children().empty()) << "nothing left to reap";
}

TEST(ReapChildren, DoesNotWaitForRunningChildren) {
  Pipe hold = Pipe::create();  // the child runs until we close our end
  SpawnRequest req = shell("read x");
  req.stdin_fd = hold.read.get();
  SpawnResult r = spawn_process(req, kUntouchedMask);
  hold.read.reset();
  EXPECT_TRUE(reap_children().empty());
  hold.write.reset();
  EXPECT_EQ(WEXITSTATUS(wait_for(r.pid)), 1);  // read hit EOF
}

// --- exec_candidates and check_executable ------------------------------------------------------

TEST(ExecCandidates, SearchesPathLikeExecvp) {
  EXPECT_EQ(exec_candidates("sh", "/usr/bin:/bin"),
            (std::vector<std::string>{"/usr/bin/sh", "/bin/sh"}));
  EXPECT_EQ(
      exec_candidates("prog", "/a::/b:"),
      (std::vector<std::string>{"/a/prog", "./prog", "/b/prog", "./prog"}));  // empty entry: cwd
}

TEST(ExecCandidates, ProgramWithSlashIsUsedAsIs) {
  EXPECT_EQ(exec_candidates("/bin/sh", "/usr/bin"), std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(exec_candidates("./run", "/usr/bin"), std::vector<std::string>{"./run"});
  EXPECT_EQ(exec_candidates("bin/run", "/usr/bin"), std::vector<std::string>{"bin/run"});
}

TEST(ExecCandidates, UnsetPathHasADefault) {
  std::vector<std::string> c = exec_candidates("sh", "");
  ASSERT_FALSE(c.empty());
  EXPECT_NE(std::find(c.begin(), c.end(), "/bin/sh"), c.end());
  for (const auto& path : c) EXPECT_EQ(path.substr(path.size() - 3), "/sh") << path;
}

TEST(CheckExecutable, FindsProgramsAsTheWorkerWill) {
  EXPECT_NO_THROW(check_executable("sh", "/usr/bin:/bin", ""));
  EXPECT_NO_THROW(check_executable("/bin/sh", "", ""));
  EXPECT_NO_THROW(check_executable("sh", "/nonexistent:/bin", ""));
}

TEST(CheckExecutable, MissingProgramIsAUsageError) {
  try {
    check_executable("definitely-not-a-program-here", "/usr/bin:/bin", "");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("definitely-not-a-program-here"), std::string::npos) << what;
    EXPECT_NE(what.find(errno_text(ENOENT)), std::string::npos) << what;
  }
  EXPECT_THROW(check_executable("/nonexistent/prog", "/usr/bin", ""), UsageError);
}

TEST(CheckExecutable, NotExecutableIsAUsageError) {
  TempDir dir;
  write_file(dir / "script", "#!/bin/sh\n", 0644);
  try {
    check_executable(dir / "script", "", "");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(errno_text(EACCES)), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_executable(dir.path(), "", ""), UsageError);  // a directory
}

TEST(CheckExecutable, RelativeProgramIsLookedUpInDir) {
  TempDir dir;
  write_file(dir / "run", "#!/bin/sh\n", 0755);
  EXPECT_NO_THROW(check_executable("./run", "/usr/bin:/bin", dir.path()));
  EXPECT_THROW(check_executable("./run", "/usr/bin:/bin", "/nonexistent"), UsageError);
  EXPECT_NO_THROW(
      check_executable(dir / "run", "", "/nonexistent"));  // absolute: dir is irrelevant
}

}  // namespace
}  // namespace starter
