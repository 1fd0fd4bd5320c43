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

// --- settings_with_envdir: what the envdir makes of our own settings (Perl's %ENV) ---------

using namespace std::chrono_literals;

/// settings_with_envdir over the defaults (nothing given on the command line), current = them.
SupervisorSettings over_defaults(const Vars& envdir, std::vector<std::string>* problems = nullptr) {
  std::vector<std::string> own;
  SupervisorSettings s = settings_with_envdir({}, false, {}, envdir, problems ? *problems : own);
  if (!problems) {
    EXPECT_TRUE(own.empty()) << own.front();
  }
  return s;
}

TEST(SettingsWithEnvdir, NothingOfOursLeavesTheCommandLine) {
  SupervisorSettings cli;
  cli.kill_old_delay = 3s;
  cli.auto_restart = true;
  cli.auto_restart_interval = 60s;
  std::vector<std::string> problems;
  EXPECT_EQ(settings_with_envdir(cli, true, cli, {{"DATABASE_URL", "x"}}, problems), cli);
  EXPECT_TRUE(problems.empty());
}

// Perl: the options go into %ENV first, then `local @ENV{...}` puts the envdir over them.
TEST(SettingsWithEnvdir, TheEnvdirWinsOverTheCommandLine) {
  SupervisorSettings cli;
  cli.kill_old_delay = 3s;
  cli.auto_restart_interval = 60s;
  std::vector<std::string> problems;
  SupervisorSettings s = settings_with_envdir(
      cli, true, cli, {{"KILL_OLD_DELAY", "10"}, {"AUTO_RESTART_INTERVAL", "30"}}, problems);
  EXPECT_EQ(s.kill_old_delay, 10s);
  EXPECT_EQ(s.auto_restart_interval, 30s);
  EXPECT_FALSE(s.auto_restart);
  EXPECT_TRUE(problems.empty());
}

// Perl: `defined $ENV{KILL_OLD_DELAY} ? ... : $ENV{ENABLE_AUTO_RESTART} ? 5 : 0`.
TEST(SettingsWithEnvdir, AutoRestartBringsItsKillOldDelayUnlessOneWasGiven) {
  SupervisorSettings s = over_defaults({{"ENABLE_AUTO_RESTART", "1"}});
  EXPECT_TRUE(s.auto_restart);
  EXPECT_EQ(s.kill_old_delay, 5s);
  EXPECT_EQ(s.auto_restart_interval, 360s);

  SupervisorSettings cli;
  cli.kill_old_delay = 0s;  // --kill-old-delay=0 given
  std::vector<std::string> problems;
  EXPECT_EQ(settings_with_envdir(cli, true, cli, {{"ENABLE_AUTO_RESTART", "1"}}, problems)
                .kill_old_delay,
            0s);
}

TEST(SettingsWithEnvdir, AutoRestartOffByZeroDropsItsKillOldDelay) {
  SupervisorSettings cli;  // --enable-auto-restart, no --kill-old-delay
  cli.auto_restart = true;
  cli.kill_old_delay = SupervisorSettings::kAutoRestartKillOldDelay;
  std::vector<std::string> problems;
  SupervisorSettings s =
      settings_with_envdir(cli, false, cli, {{"ENABLE_AUTO_RESTART", "0"}}, problems);
  EXPECT_FALSE(s.auto_restart);
  EXPECT_EQ(s.kill_old_delay, 0s);
}

// Perl's truth: anything but "" and "0" is on, "no" included.
TEST(SettingsWithEnvdir, EnableAutoRestartIsOnUnlessZero) {
  EXPECT_TRUE(over_defaults({{"ENABLE_AUTO_RESTART", "yes"}}).auto_restart);
  EXPECT_TRUE(over_defaults({{"ENABLE_AUTO_RESTART", "no"}}).auto_restart);
  EXPECT_FALSE(over_defaults({{"ENABLE_AUTO_RESTART", "0"}}).auto_restart);
}

// A file whose first line is empty is no value, as an empty variable in our environment.
TEST(SettingsWithEnvdir, AnEmptyValueLeavesTheCommandLine) {
  SupervisorSettings cli;
  cli.kill_old_delay = 3s;
  std::vector<std::string> problems;
  EXPECT_EQ(settings_with_envdir(cli, true, cli,
                                 {{"KILL_OLD_DELAY", ""}, {"AUTO_RESTART_INTERVAL", ""}}, problems),
            cli);
  EXPECT_TRUE(problems.empty());
}

TEST(SettingsWithEnvdir, NotANumberKeepsTheCurrentValueAndSaysSo) {
  SupervisorSettings cli;
  SupervisorSettings current;
  current.kill_old_delay = 7s;
  current.auto_restart_interval = 90s;
  std::vector<std::string> problems;
  SupervisorSettings s = settings_with_envdir(
      cli, false, current, {{"KILL_OLD_DELAY", "10s"}, {"AUTO_RESTART_INTERVAL", "0"}}, problems);
  EXPECT_EQ(s.kill_old_delay, 7s);
  EXPECT_EQ(s.auto_restart_interval, 90s);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0],
            "--envdir: AUTO_RESTART_INTERVAL: invalid value '0' (a whole number of seconds, at "
            "least 1, expected)");
  EXPECT_EQ(problems[1],
            "--envdir: KILL_OLD_DELAY: invalid value '10s' (a whole number of seconds, at least "
            "0, expected)");
  for (const char* bad : {" 5", "+5", "-1", "2.5", "5\r"}) {
    problems.clear();
    EXPECT_EQ(settings_with_envdir(cli, false, current, {{"KILL_OLD_DELAY", bad}}, problems)
                  .kill_old_delay,
              7s)
        << bad;
    EXPECT_EQ(problems.size(), 1u) << bad;
  }
}

}  // namespace
}  // namespace starter
