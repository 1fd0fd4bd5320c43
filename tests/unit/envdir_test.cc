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

namespace starter {
namespace {

using testing_support::TempDir;
using testing_support::write_file;

TEST(ReadEnvdir, ReadsNoFurtherThanTheFirstLineOfAHugeFile) {
  TempDir dir;
  std::string huge = dir / "HUGE";
  write_file(huge, "first\nthe rest is a hole");
  ASSERT_EQ(::truncate(huge.c_str(), 64LL << 30), 0);  // reading it whole would need 64 GiB
  std::vector<std::string> notes;
  EXPECT_EQ(read_envdir(dir.path(), &notes),
            (std::map<std::string, std::string>{{"HUGE", "first"}}));
  EXPECT_TRUE(notes.empty());
}

TEST(ReadEnvdir, AFirstLineLongerThanAVariableCanHoldIsSkippedAndSaid) {
  TempDir dir;
  write_file(dir / "LONG", std::string(kEnvdirValueMax + 1, 'x'));
  write_file(dir / "MAX", std::string(kEnvdirValueMax, 'y') + "\nsecond");
  std::vector<std::string> notes;
  auto vars = read_envdir(dir.path(), &notes);
  EXPECT_EQ(vars.count("LONG"), 0u);
  EXPECT_EQ(vars["MAX"].size(), kEnvdirValueMax);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("'LONG' is not set"), std::string::npos) << notes[0];
}

TEST(ReadEnvdir, AValueIsCutAtANulByteAndThatIsSaid) {
  TempDir dir;
  write_file(dir / "CUT", std::string("before\0after\n", 13));
  std::vector<std::string> notes;
  EXPECT_EQ(read_envdir(dir.path(), &notes),
            (std::map<std::string, std::string>{{"CUT", "before"}}));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("holds a NUL byte"), std::string::npos) << notes[0];
  EXPECT_EQ(notes[0].find('\n'), std::string::npos);
}

}  // namespace
}  // namespace starter
