#include "server_starter_port.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace starter {
namespace {

TEST(StarterEnvEncode, JoinsEntriesWithSemicolons) {
  struct Case {
    std::vector<PortEntry> entries;
    std::string expected;
  };
  const Case cases[] = {
      {{}, ""},
      {{{"8080", 3}}, "8080=3"},
      {{{"8080", 3}, {"127.0.0.1:8081", 4}, {"[::1]:8082", 5}, {"/run/a.sock", 6}},
       "8080=3;127.0.0.1:8081=4;[::1]:8082=5;/run/a.sock=6"},
      // --port=u8080 --port=8080: the same key twice, in command-line order.
      {{{"8080", 3}, {"8080", 4}}, "8080=3;8080=4"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expected);
    EXPECT_EQ(encode_server_starter_port(c.entries), c.expected);
  }
}

struct DecodeCase {
  std::string value;
  std::vector<PortEntry> expected;
};

TEST(StarterEnvDecode, AcceptsTheGrammar) {
  const DecodeCase cases[] = {
      {"", {}},
      {"8080=3", {{"8080", 3}}},
      {"8080=3;", {{"8080", 3}}},  // Perl's split drops one trailing empty field
      {"[::1]:80=5", {{"[::1]:80", 5}}},
      {"localhost:80=0", {{"localhost:80", 0}}},
      {"/tmp/s.sock=12", {{"/tmp/s.sock", 12}}},
      {"rel.sock=4", {{"rel.sock", 4}}},
      {"80=2147483647", {{"80", 2147483647}}},
      // The fd never contains '=', so the last one separates.
      {"/tmp/a=b=7", {{"/tmp/a=b", 7}}},
      // Duplicate keys are kept, in order: a UDP and a TCP socket on one port.
      {"8080=3;8080=4", {{"8080", 3}, {"8080", 4}}},
      // What Perl's start_server 0.35 really produced (perl-reference.md 2.1).
      {"0=4;127.0.0.1:0=5;[::1]:0=6;0=7;18081=9;localhost:18082=8;[::1]:18083=11;/tmp/pr/s.sock=12",
       {{"0", 4},
        {"127.0.0.1:0", 5},
        {"[::1]:0", 6},
        {"0", 7},
        {"18081", 9},
        {"localhost:18082", 8},
        {"[::1]:18083", 11},
        {"/tmp/pr/s.sock", 12}}},
  };
  for (const DecodeCase& c : cases) {
    SCOPED_TRACE("value '" + c.value + "'");
    PortDecodeResult result = decode_server_starter_port(c.value);
    EXPECT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.entries, c.expected);
  }
}

TEST(StarterEnvDecode, RejectsEverythingElseWithOneLine) {
  struct Case {
    std::string value;
    std::string error;  // a substring of the message
  };
  const Case cases[] = {
      {"80=x", "entry '80=x' has a bad file descriptor 'x'"},
      {"80=", "entry '80=' has a bad file descriptor ''"},
      {"80=-1", "bad file descriptor '-1'"},
      {"80=+3", "bad file descriptor '+3'"},
      {"80= 3", "bad file descriptor ' 3'"},
      {"80=3 ", "bad file descriptor '3 '"},
      {"80=99999999999", "bad file descriptor '99999999999'"},
      {"80=2147483648", "bad file descriptor '2147483648'"},
      {"abc", "entry 'abc' has no '=FD'"},
      {"8080=3;abc", "entry 'abc' has no '=FD'"},
      {"=3", "entry '=3' has no address before '='"},
      {"a=3;;b=4", "empty entry"},
      {";a=3", "empty entry"},
      {"a=3;;", "empty entry"},
      {";", "empty entry"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("value '" + c.value + "'");
    PortDecodeResult result = decode_server_starter_port(c.value);
    EXPECT_FALSE(result.ok());
    EXPECT_NE(result.error.find(c.error), std::string::npos) << result.error;
    EXPECT_EQ(result.error.find('\n'), std::string::npos) << result.error;
    EXPECT_TRUE(result.entries.empty()) << "a failed decode hands back no partial list";
  }
}

TEST(StarterEnvDecode, RoundTripsWhatItEncodes) {
  const std::vector<PortEntry> entries = {{"0", 3},    {"127.0.0.1:0", 4}, {"[::1]:8082", 5},
                                          {"8080", 6}, {"8080", 7},        {"/run/a.sock", 9}};
  PortDecodeResult result = decode_server_starter_port(encode_server_starter_port(entries));
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.entries, entries);
}

}  // namespace
}  // namespace starter
