// --port and --path values: what each form means, its SERVER_STARTER_PORT key (as Perl
// spells it) and its address in messages; bad values are usage errors naming the value.

#include "listen_spec.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "error.h"

namespace starter {
namespace {

using Kind = ListenSpec::Kind;

struct PortCase {
  std::string value;
  Kind kind;
  std::string host;
  bool ipv6;
  int port;
  std::optional<int> pinned_fd;
  std::string key;
  std::string describe;
};

TEST(ParsePort, Forms) {
  // clang-format off
  const PortCase cases[] = {
      // value             kind        host         ipv6   port   =FD key               describe
      {"8080",             Kind::kTcp, "",          false, 8080,  {}, "8080",           "0.0.0.0:8080"},
      {"0",                Kind::kTcp, "",          false, 0,     {}, "0",              "0.0.0.0:0"},
      {"65535",            Kind::kTcp, "",          false, 65535, {}, "65535",          "0.0.0.0:65535"},
      {"127.0.0.1:8080",   Kind::kTcp, "127.0.0.1", false, 8080,  {}, "127.0.0.1:8080", "127.0.0.1:8080"},
      {"localhost:8080",   Kind::kTcp, "localhost", false, 8080,  {}, "localhost:8080", "localhost:8080"},
      {"[::1]:8080",       Kind::kTcp, "::1",       true,  8080,  {}, "[::1]:8080",     "[::1]:8080"},
      {"::1:8080",         Kind::kTcp, "::1",       true,  8080,  {}, "[::1]:8080",     "[::1]:8080"},
      {"[::]:80",          Kind::kTcp, "::",        true,  80,    {}, "[::]:80",        "[::]:80"},
      {"u8080",            Kind::kUdp, "",          false, 8080,  {}, "8080",           "udp 0.0.0.0:8080"},
      {"127.0.0.1:u53",    Kind::kUdp, "127.0.0.1", false, 53,    {}, "127.0.0.1:53",   "udp 127.0.0.1:53"},
      {"[::1]:u53",        Kind::kUdp, "::1",       true,  53,    {}, "[::1]:53",       "udp [::1]:53"},
      {"8080=5",           Kind::kTcp, "",          false, 8080,  5,  "8080",           "0.0.0.0:8080"},
      {"8080=0",           Kind::kTcp, "",          false, 8080,  0,  "8080",           "0.0.0.0:8080"},  // Perl #24
      {"[::1]:0=7",        Kind::kTcp, "::1",       true,  0,     7,  "[::1]:0",        "[::1]:0"},
      {"127.0.0.1:u0=9",   Kind::kUdp, "127.0.0.1", false, 0,     9,  "127.0.0.1:0",    "udp 127.0.0.1:0"},
      {" 8080 ",           Kind::kTcp, "",          false, 8080,  {}, "8080",           "0.0.0.0:8080"},
      {"\t127.0.0.1:80\n", Kind::kTcp, "127.0.0.1", false, 80,    {}, "127.0.0.1:80",   "127.0.0.1:80"},
  };
  // clang-format on
  for (const PortCase& c : cases) {
    SCOPED_TRACE("--port=" + c.value);
    ListenSpec spec = parse_port(c.value);
    EXPECT_EQ(spec.kind, c.kind);
    EXPECT_EQ(spec.host, c.host);
    EXPECT_EQ(spec.ipv6, c.ipv6);
    EXPECT_EQ(spec.port, c.port);
    EXPECT_EQ(spec.pinned_fd, c.pinned_fd);
    EXPECT_EQ(spec.key(), c.key);
    EXPECT_EQ(spec.describe(), c.describe);
    EXPECT_EQ(spec.is_stream(), c.kind != Kind::kUdp);
    EXPECT_TRUE(spec.path.empty());
  }
}

TEST(ParsePort, InvalidValuesAreUsageErrorsNamingTheValue) {
  const std::string cases[] = {
      "",         "abc",        "65536",      "99999999999",   "-1",
      "1.2.3.4:", ":80",        "[zz::1]:80", "zz::1:80",      "8080=1",
      "8080=2",   "8080=x",     "8080=",      "8080=-3",       "host with space:80",
      "u",        "uu80",       "80u",        "127.0.0.1:80x", "[::1]",
      "[::1]:",   "8080=5=6",   "a;b:80",     "[a;b]:80",      "[x/y]:80",
      "a=b:80=5", "[lo1]]:0=7",
  };
  for (const std::string& value : cases) {
    SCOPED_TRACE("--port=" + value);
    try {
      parse_port(value);
      ADD_FAILURE() << "accepted";
    } catch (const UsageError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("--port"), std::string::npos) << what;
      EXPECT_NE(what.find("'" + value + "'"), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    }
  }
}

// Found by fuzz_listen_spec: the value is quoted in the message, and a newline in it must
// not break the one-line rule.
TEST(ParsePort, ControlCharactersInTheValueAreEscapedInTheMessage) {
  try {
    parse_port("80\n80");
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'80\\x0a80'"), std::string::npos) << e.what();
  }
}

TEST(ParsePort, BracketedNameIsAPlainHost) {
  ListenSpec spec = parse_port("[localhost]:80");
  EXPECT_EQ(spec.host, "localhost");
  EXPECT_FALSE(spec.ipv6);
  EXPECT_EQ(spec.key(), "localhost:80");
}

TEST(ParsePath, AcceptsAPath) {
  for (const std::string path : {"/run/app.sock", "rel.sock", "/tmp/with space.sock"}) {
    SCOPED_TRACE(path);
    ListenSpec spec = parse_path(path);
    EXPECT_EQ(spec.kind, Kind::kUnix);
    EXPECT_EQ(spec.path, path);
    EXPECT_EQ(spec.key(), path);  // verbatim, relative ones stay relative
    EXPECT_EQ(spec.describe(), path);
    EXPECT_TRUE(spec.is_stream());
    EXPECT_EQ(spec.pinned_fd, std::nullopt);
  }
}

TEST(ParsePath, LongestPathThatFitsSunPath) {
  EXPECT_EQ(max_unix_path(), 107u);
  std::string longest = "/" + std::string(max_unix_path() - 1, 'a');
  EXPECT_EQ(parse_path(longest).path, longest);
}

TEST(ParsePath, InvalidValuesAreUsageErrors) {
  const std::string cases[] = {
      "",
      "/" + std::string(max_unix_path(), 'a'),  // 108 bytes: no room for the NUL
      "/run/a;b.sock",
      "/run/a=b.sock",
  };
  for (const std::string& value : cases) {
    SCOPED_TRACE("--path=" + value);
    try {
      parse_path(value);
      ADD_FAILURE() << "accepted";
    } catch (const UsageError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("--path"), std::string::npos) << what;
    }
  }
}

TEST(ListenSpec, EqualityComparesEverything) {
  EXPECT_EQ(parse_port("8080"), parse_port(" 8080"));
  EXPECT_NE(parse_port("8080"), parse_port("u8080"));
  EXPECT_NE(parse_port("8080"), parse_port("8080=5"));
  EXPECT_EQ(parse_port("[::1]:80").key(), parse_port("::1:80").key());
}

}  // namespace
}  // namespace starter
