// The pid file and the status file on a real temporary directory: content, lock, atomic
// replacement, symlinks never followed, removal when the owner goes away.

#include "state_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "error.h"
#include "temp_dir.h"

namespace starter {
namespace {

using testing_support::exists_no_follow;
using testing_support::slurp;
using testing_support::TempDir;
using testing_support::write_file;

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.insert(name);
  }
  ::closedir(d);
  return out;
}

StatusSnapshot live_snapshot(std::vector<GenerationPid> live) {
  StatusSnapshot s;
  s.live = std::move(live);
  return s;
}

// --- PidFile -------------------------------------------------------------------------------

TEST(PidFile, CreateWritesOurPidAndHoldsTheLock) {
  TempDir dir;
  std::string path = dir / "start_server.pid";
  EXPECT_FALSE(PidFile::is_locked(path));
  {
    PidFile pid_file = PidFile::create(path);
    EXPECT_EQ(slurp(path), std::to_string(::getpid()) + "\n");
    EXPECT_TRUE(PidFile::is_locked(path));
    EXPECT_EQ(PidFile::read_pid(path), ::getpid());
    EXPECT_EQ(entries(dir.path()), std::set<std::string>{"start_server.pid"});  // no temporary left
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
  }
  EXPECT_FALSE(exists_no_follow(path)) << "removed when the owner goes away";
  EXPECT_FALSE(PidFile::is_locked(path));
}

// A pid that wraps to -1 would make --stop send kill(-1, SIGTERM): every process.
TEST(PidFile, ReadPidRefusesWhatIsNotAPositivePid) {
  TempDir dir;
  std::string path = dir / "p.pid";
  for (const char* text : {"4294967295\n", "2147483648\n", "0\n", "-1\n", "\n", "12 \n"}) {
    SCOPED_TRACE(text);
    std::ofstream(path) << text;
    EXPECT_THROW(PidFile::read_pid(path), UsageError);
  }
  std::ofstream(path) << "2147483647\n";
  EXPECT_EQ(PidFile::read_pid(path), 2147483647);
}

TEST(PidFile, SecondCreateIsRefusedWhileTheLockIsHeld) {
  TempDir dir;
  std::string path = dir / "p.pid";
  PidFile first = PidFile::create(path);
  try {
    PidFile second = PidFile::create(path);
    ADD_FAILURE() << "a second pid file was created";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(PidFile::check_not_running(path), UsageError);
  // The refused attempt changed nothing.
  EXPECT_EQ(slurp(path), std::to_string(::getpid()) + "\n");
  EXPECT_TRUE(PidFile::is_locked(path));
}

TEST(PidFile, StaleUnlockedFileIsReplaced) {
  TempDir dir;
  std::string path = dir / "p.pid";
  write_file(path, "99999\n");
  EXPECT_FALSE(PidFile::is_locked(path));
  EXPECT_NO_THROW(PidFile::check_not_running(path));
  PidFile pid_file = PidFile::create(path);
  EXPECT_EQ(slurp(path), std::to_string(::getpid()) + "\n");
}

TEST(PidFile, PlantedSymlinkIsReplacedAndItsTargetUntouched) {
  TempDir dir;
  std::string victim = dir / "victim";
  std::string path = dir / "p.pid";
  write_file(victim, "precious\n");
  ASSERT_EQ(::symlink(victim.c_str(), path.c_str()), 0);
  {
    PidFile pid_file = PidFile::create(path);
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << "the symlink was followed";
    EXPECT_EQ(slurp(path), std::to_string(::getpid()) + "\n");
    EXPECT_EQ(slurp(victim), "precious\n");
  }
  EXPECT_EQ(slurp(victim), "precious\n");
}

TEST(PidFile, LeavesNoTemporaryFileBehind) {
  TempDir dir;
  std::string path = dir / "p.pid";
  PidFile pid_file = PidFile::create(path);
  EXPECT_TRUE(PidFile::is_locked(path));
  EXPECT_EQ(entries(dir.path()), std::set<std::string>{"p.pid"});
}

TEST(PidFile, MovedFromOwnerDoesNotRemoveTheFile) {
  TempDir dir;
  std::string path = dir / "p.pid";
  std::optional<PidFile> holder;
  {
    PidFile pid_file = PidFile::create(path);
    holder.emplace(std::move(pid_file));
  }
  EXPECT_TRUE(exists_no_follow(path));
  EXPECT_TRUE(PidFile::is_locked(path));
  holder.reset();
  EXPECT_FALSE(exists_no_follow(path));
}

TEST(PidFile, DoesNotRemoveAFileThatIsNoLongerOurs) {
  TempDir dir;
  std::string path = dir / "p.pid";
  {
    PidFile pid_file = PidFile::create(path);
    ASSERT_EQ(::unlink(path.c_str()), 0);
    write_file(path, "12345\n");  // a successor's file
  }
  EXPECT_EQ(slurp(path), "12345\n");
}

TEST(PidFile, UnwritableDirectoryIsASysError) {
  TempDir dir;
  EXPECT_THROW(PidFile::create(dir / "absent/p.pid"), SysError);
}

TEST(PidFile, ReadPid) {
  TempDir dir;
  write_file(dir / "ok", "4242\n");
  write_file(dir / "no_newline", "4243");
  write_file(dir / "garbage", "abc\n");
  write_file(dir / "zero", "0\n");
  write_file(dir / "empty", "");
  EXPECT_EQ(PidFile::read_pid(dir / "ok"), 4242);
  EXPECT_EQ(PidFile::read_pid(dir / "no_newline"), 4243);
  for (const char* bad : {"garbage", "zero", "empty", "absent"}) {
    SCOPED_TRACE(bad);
    try {
      PidFile::read_pid(dir / bad);
      ADD_FAILURE() << "accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(dir / bad), std::string::npos) << e.what();
    }
  }
}

TEST(PidFile, IsLockedIgnoresSymlinks) {
  TempDir dir;
  std::string path = dir / "p.pid";
  PidFile pid_file = PidFile::create(path);
  ASSERT_EQ(::symlink(path.c_str(), (dir / "link").c_str()), 0);
  EXPECT_FALSE(PidFile::is_locked(dir / "link"));
}

// --- StatusFile ----------------------------------------------------------------------------

TEST(StatusFile, WriteIsAtomicAndRemovedAtDestruction) {
  TempDir dir;
  std::string path = dir / "status";
  {
    StatusFile status(path);
    EXPECT_FALSE(exists_no_follow(path)) << "nothing before the first write (Perl)";
    EXPECT_TRUE(entries(dir.path()).empty()) << "the writability probe left a file";

    status.write(live_snapshot({{1, 4242}}));
    EXPECT_EQ(slurp(path), "1:4242\n");
    int old_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(old_fd, 0);

    status.write(live_snapshot({{1, 4242}, {2, 4250}}));
    EXPECT_EQ(slurp(path), "1:4242\n2:4250\n");
    EXPECT_EQ(entries(dir.path()), std::set<std::string>{"status"});  // no temporary left

    // Replaced by rename, not rewritten in place: a reader of the old file saw a whole file.
    char buf[64] = {};
    ssize_t n = ::read(old_fd, buf, sizeof buf - 1);
    ::close(old_fd);
    EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "1:4242\n");

    status.write(StatusSnapshot{});
    EXPECT_EQ(slurp(path), "");
  }
  EXPECT_FALSE(exists_no_follow(path));
}

TEST(StatusFile, FileWeNeverWroteIsLeftAlone) {  // Perl #32
  TempDir dir;
  std::string path = dir / "status";
  write_file(path, "1:777\n");
  { StatusFile status(path); }
  EXPECT_EQ(slurp(path), "1:777\n");
}

TEST(StatusFile, PlantedSymlinkIsReplacedNotFollowed) {
  TempDir dir;
  std::string victim = dir / "victim";
  std::string path = dir / "status";
  write_file(victim, "precious\n");
  ASSERT_EQ(::symlink(victim.c_str(), path.c_str()), 0);
  StatusFile status(path);
  status.write(live_snapshot({{3, 33}}));
  EXPECT_EQ(slurp(path), "3:33\n");
  EXPECT_EQ(slurp(victim), "precious\n");
}

TEST(StatusFile, UnwritablePathIsASysErrorAtConstruction) {
  TempDir dir;
  EXPECT_THROW(StatusFile(dir / "absent/status"), SysError);
  write_file(dir / "plain", "");
  EXPECT_THROW(StatusFile(dir / "plain/status"), SysError);  // ENOTDIR
}

}  // namespace
}  // namespace starter
