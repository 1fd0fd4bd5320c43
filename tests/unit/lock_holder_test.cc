// Who holds a pid file's flock, from /proc/locks: the parser on the kernel's lines, and the
// reader on a lock this process takes itself.

#include "lock_holder.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd.h"
#include "temp_dir.h"

namespace starter {
namespace {

constexpr std::string_view kLocks =
    "1: POSIX  ADVISORY  WRITE 311 00:1a:4242 0 EOF\n"
    "2: FLOCK  ADVISORY  WRITE 1234 fd:01:1048577 0 EOF\n"
    "2: -> FLOCK  ADVISORY  WRITE 999 fd:01:1048577 0 EOF\n"
    "3: FLOCK  ADVISORY  WRITE 0 00:2b:77 0 EOF\n"
    "4: OFDLCK ADVISORY  READ  -1 00:05:9 0 EOF\n";

TEST(ParseFlockHolder, FindsTheGrantedLockOfTheFileNotItsWaiters) {
  EXPECT_EQ(parse_flock_holder(kLocks, makedev(0xfd, 0x01), 1048577), 1234);
}

TEST(ParseFlockHolder, ZeroIsAHolderOutsideOurPidNamespace) {
  EXPECT_EQ(parse_flock_holder(kLocks, makedev(0x00, 0x2b), 77), 0);
}

TEST(ParseFlockHolder, OnlyFlocksOfThatDeviceAndInodeCount) {
  EXPECT_EQ(parse_flock_holder(kLocks, makedev(0x00, 0x1a), 4242), std::nullopt);  // a POSIX lock
  EXPECT_EQ(parse_flock_holder(kLocks, makedev(0xfd, 0x02), 1048577), std::nullopt);
  EXPECT_EQ(parse_flock_holder(kLocks, makedev(0xfd, 0x01), 1048578), std::nullopt);
}

TEST(ParseFlockHolder, MalformedLinesAreSkipped) {
  EXPECT_EQ(parse_flock_holder(
                "garbage\n1: FLOCK\n2: FLOCK ADVISORY WRITE x fd:01:5 0 EOF\n"
                "3: FLOCK ADVISORY WRITE 7 fd01:5 0 EOF\n4: FLOCK ADVISORY WRITE 8 fd:01:5 0 EOF",
                makedev(0xfd, 0x01), 5),
            8);
  EXPECT_EQ(parse_flock_holder("", 0, 0), std::nullopt);
}

TEST(FlockHolder, IsThisProcessForALockItHolds) {
  testing_support::TempDir dir;
  std::string path = dir / "pid";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd);
  EXPECT_EQ(flock_holder(path), std::nullopt);
  ASSERT_EQ(::flock(fd.get(), LOCK_EX), 0);
  EXPECT_EQ(flock_holder(path), ::getpid());
  EXPECT_EQ(flock_holder(dir / "missing"), std::nullopt);
}

}  // namespace
}  // namespace starter
