// --envdir: daemontools' envdir as Server::Starter reads it, on a real temporary directory.

#include "envdir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>

#include "temp_dir.h"

namespace starter {
namespace {

using testing_support::TempDir;
using testing_support::write_file;
using Vars = std::map<std::string, std::string>;

TEST(ReadEnvdir, FirstLineOfEachFile) {
  TempDir dir;
  write_file(dir / "FOO", "bar\nsecond line\n");
  write_file(dir / "NO_NEWLINE", "value");
  write_file(dir / "SPACES", "  a b  \n");
  write_file(dir / "JUST_NEWLINE", "\n");
  EXPECT_EQ(
      read_envdir(dir.path()),
      (Vars{{"FOO", "bar"}, {"NO_NEWLINE", "value"}, {"SPACES", "  a b  "}, {"JUST_NEWLINE", ""}}));
}

TEST(ReadEnvdir, SkipsDotfilesSubdirectoriesAndEmptyFiles) {
  TempDir dir;
  write_file(dir / "KEPT", "1");
  write_file(dir / ".hidden", "x");
  write_file(dir / "EMPTY", "");  // Perl skips it rather than unsetting
  ASSERT_EQ(::mkdir((dir / "SUBDIR").c_str(), 0755), 0);
  write_file(dir / "SUBDIR/INNER", "y");
  EXPECT_EQ(read_envdir(dir.path()), (Vars{{"KEPT", "1"}}));
}

TEST(ReadEnvdir, SkipsNamesThatCannotBeVariables) {
  TempDir dir;
  write_file(dir / "A=B", "x");
  write_file(dir / "OK", "y");
  EXPECT_EQ(read_envdir(dir.path()), (Vars{{"OK", "y"}}));
}

TEST(ReadEnvdir, FollowsSymlinksToFiles) {  // Perl's -f
  TempDir dir;
  write_file(dir / ".target", "linked\n");
  ASSERT_EQ(::symlink((dir / ".target").c_str(), (dir / "LINK").c_str()), 0);
  ASSERT_EQ(::symlink((dir / "nowhere").c_str(), (dir / "DANGLING").c_str()), 0);
  EXPECT_EQ(read_envdir(dir.path()), (Vars{{"LINK", "linked"}}));
}

TEST(ReadEnvdir, MissingDirectoryYieldsNothing) {
  TempDir dir;
  EXPECT_TRUE(read_envdir(dir / "absent").empty());
  write_file(dir / "plain", "x");
  EXPECT_TRUE(read_envdir(dir / "plain").empty());  // not a directory
  EXPECT_TRUE(read_envdir(dir.path()).size() == 1u);
}

TEST(ReadEnvdir, ReadsTheDirectoryAgainEachTime) {
  TempDir dir;
  write_file(dir / "FOO", "one");
  EXPECT_EQ(read_envdir(dir.path()), (Vars{{"FOO", "one"}}));
  write_file(dir / "FOO", "two");
  write_file(dir / "BAR", "new");
  EXPECT_EQ(read_envdir(dir.path()), (Vars{{"BAR", "new"}, {"FOO", "two"}}));
  ASSERT_EQ(::unlink((dir / "FOO").c_str()), 0);
  EXPECT_EQ(read_envdir(dir.path()), (Vars{{"BAR", "new"}}));
}

}  // namespace
}  // namespace starter
