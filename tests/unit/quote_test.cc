// quote() and escape_controls() (quote.h): how every value from outside appears in a message,
// so that none can make a message two lines.

#include "quote.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "error.h"

namespace starter {
namespace {

TEST(Quote, PlainTextInSingleQuotes) {
  EXPECT_EQ(quote("8080"), "'8080'");
  EXPECT_EQ(quote(""), "''");
  EXPECT_EQ(quote("/run/a b.sock"), "'/run/a b.sock'");
  EXPECT_EQ(quote("h\xc3\xa9"), "'h\xc3\xa9'");  // UTF-8 passes as is
}

TEST(Quote, ControlCharactersEscaped) {
  EXPECT_EQ(quote("a\nb"), "'a\\x0ab'");
  EXPECT_EQ(quote("1\r\n2"), "'1\\x0d\\x0a2'");
  EXPECT_EQ(quote(std::string("a\0b", 3)), "'a\\x00b'");
  EXPECT_EQ(quote("\t\x1b[31m\x7f"), "'\\x09\\x1b[31m\\x7f'");
}

TEST(Quote, EscapeControlsKeepsTheRest) {
  EXPECT_EQ(escape_controls("unrecognised option '--a\nb'"), "unrecognised option '--a\\x0ab'");
  EXPECT_EQ(escape_controls("plain"), "plain");
  // Escaping twice changes nothing more: a backslash is not a control character.
  EXPECT_EQ(escape_controls(escape_controls("a\nb")), "a\\x0ab");
}

// The one shape of a failed system call (error.h).
TEST(SysErrorShape, CallArgumentFlagContext) {
  EXPECT_STREQ(SysError("bind", "127.0.0.1:80", EADDRINUSE).what(),
               "bind('127.0.0.1:80'): Address already in use");
  EXPECT_STREQ(SysError("setsockopt", "[::1]:80", ENOPROTOOPT).flag("IPV6_V6ONLY").what(),
               "setsockopt('[::1]:80', IPV6_V6ONLY): Protocol not available");
  EXPECT_STREQ(SysError("prctl", "", EINVAL).flag("PR_SET_CHILD_SUBREAPER").what(),
               "prctl(PR_SET_CHILD_SUBREAPER): Invalid argument");
  EXPECT_STREQ(SysError("pipe2", "", EMFILE).what(), "pipe2: Too many open files");
  EXPECT_STREQ(SysError(call_text("execve", "/bin/sh"), "", ENOENT).during("--log-file").what(),
               "--log-file: execve('/bin/sh'): No such file or directory");
  EXPECT_STREQ(SysError("open", "/tmp/a\nb", ENOENT).what(),
               "open('/tmp/a\\x0ab'): No such file or directory");
}

TEST(SysErrorShape, KeepsCallArgumentAndCode) {
  SysError e("open", "/x", EACCES);
  EXPECT_EQ(e.call(), "open");
  EXPECT_EQ(e.arg(), "/x");
  EXPECT_EQ(e.code().value(), EACCES);
}

}  // namespace
}  // namespace starter
