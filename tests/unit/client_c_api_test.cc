// The C API of server_starter.h, called as a C program calls it: return codes, errno, the
// message buffer, the returned array and its terminator. (client_test.cc: the C++ layer; the
// C99 build of examples/hello_c.c checks that the header is C.)
#define SERVER_STARTER_NO_CXX
#include "server_starter.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/scoped_env.h"

namespace {

using starter::testing_support::ScopedEnv;

const char* const kPort = "SERVER_STARTER_PORT";
const char* const kGeneration = "SERVER_STARTER_GENERATION";
const std::string kNotUnder = " is not set (is this program running under start_server?)";

// What one call of server_starter_ports() or server_starter_parse_ports() gave back.
struct Outcome {
  int rc = 0;
  int error_number = 0;
  std::string message;  // the error buffer after the call
  std::vector<std::pair<std::string, int>> ports;
  bool terminated = false;         // ports[count] is {NULL, -1}
  bool outputs_untouched = false;  // on failure: *ports and *count as they were
};

template <typename Call>
Outcome run(Call call) {
  Outcome out;
  struct server_starter_port sentinel_value = {"untouched", 99};
  struct server_starter_port* ports = &sentinel_value;
  size_t count = 12345;
  char error[SERVER_STARTER_ERROR_SIZE] = "untouched";
  errno = 0;
  out.rc = call(&ports, &count, error, sizeof error);
  out.error_number = errno;
  out.message = error;
  if (out.rc != 0) {
    out.outputs_untouched = ports == &sentinel_value && count == 12345;
    return out;
  }
  for (size_t i = 0; i < count; ++i) out.ports.emplace_back(ports[i].address, ports[i].fd);
  out.terminated = ports[count].address == nullptr && ports[count].fd == -1;
  server_starter_free_ports(ports);
  return out;
}

Outcome parse(const char* value) {
  return run([value](struct server_starter_port** p, size_t* n, char* e, size_t s) {
    return server_starter_parse_ports(value, p, n, e, s);
  });
}

Outcome from_env() { return run(server_starter_ports); }

using Ports = std::vector<std::pair<std::string, int>>;

TEST(ClientCApiParse, AcceptsWhatStartServerWrites) {
  struct Case {
    const char* value;
    Ports expected;
  };
  const Case cases[] = {
      {"", {}},
      {"8080=3", {{"8080", 3}}},
      {"8080=3;", {{"8080", 3}}},  // one trailing ';', as Perl's split allows
      {"[::1]:80=5", {{"[::1]:80", 5}}},
      {"127.0.0.1:8080=3;[::1]:8081=4;/run/a.sock=6",
       {{"127.0.0.1:8080", 3}, {"[::1]:8081", 4}, {"/run/a.sock", 6}}},
      {"8080=3;8080=4", {{"8080", 3}, {"8080", 4}}},  // UDP and TCP on one port: both kept
      {"/tmp/a=b.sock=7", {{"/tmp/a=b.sock", 7}}},    // split at the last '='
      {"8080=0", {{"8080", 0}}},
      {"8080=2147483647", {{"8080", INT_MAX}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string("value '") + c.value + "'");
    Outcome out = parse(c.value);
    ASSERT_EQ(out.rc, 0) << out.message;
    EXPECT_EQ(out.ports, c.expected);
    EXPECT_TRUE(out.terminated);
    EXPECT_EQ(out.error_number, 0) << "errno is left alone on success";
    EXPECT_EQ(out.message, "untouched") << "the buffer is left alone on success";
  }
}

TEST(ClientCApiParse, RejectsTheRestWithEinvalAndOneLine) {
  struct Case {
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {";", "SERVER_STARTER_PORT: empty entry in ''"},
      {"8080=3;;", "SERVER_STARTER_PORT: empty entry in '8080=3;'"},
      {"abc", "SERVER_STARTER_PORT: entry 'abc' has no '=FD'"},
      {"=3", "SERVER_STARTER_PORT: entry '=3' has no address before '='"},
      {"80=x", "SERVER_STARTER_PORT: entry '80=x' has a bad file descriptor 'x'"},
      {"80=", "SERVER_STARTER_PORT: entry '80=' has a bad file descriptor ''"},
      {"80=-1", "SERVER_STARTER_PORT: entry '80=-1' has a bad file descriptor '-1'"},
      {"80= 3", "SERVER_STARTER_PORT: entry '80= 3' has a bad file descriptor ' 3'"},
      {"80=2147483648",
       "SERVER_STARTER_PORT: entry '80=2147483648' has a bad file descriptor '2147483648'"},
      {"a\nb=3;x", "SERVER_STARTER_PORT: entry 'x' has no '=FD'"},
      {"x\n=3y", "SERVER_STARTER_PORT: entry 'x\\x0a=3y' has a bad file descriptor '3y'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string("value '") + c.value + "'");
    Outcome out = parse(c.value);
    EXPECT_EQ(out.rc, -1);
    EXPECT_EQ(out.error_number, EINVAL);
    EXPECT_EQ(out.message, c.message);
    EXPECT_TRUE(out.outputs_untouched);
  }
}

TEST(ClientCApiParse, NullValueIsEinval) {
  Outcome out = parse(nullptr);
  EXPECT_EQ(out.rc, -1);
  EXPECT_EQ(out.error_number, EINVAL);
  EXPECT_EQ(out.message, "SERVER_STARTER_PORT: no value (NULL)");
  EXPECT_TRUE(out.outputs_untouched);
}

TEST(ClientCApiParse, MessageIsCutToTheBufferAndAlwaysTerminated) {
  struct server_starter_port* ports = nullptr;
  size_t count = 0;
  char small[12];
  std::memset(small, 'x', sizeof small);
  EXPECT_EQ(server_starter_parse_ports("abc", &ports, &count, small, sizeof small), -1);
  EXPECT_STREQ(small, "SERVER_STAR");
  char one = 'x';
  EXPECT_EQ(server_starter_parse_ports("abc", &ports, &count, &one, 1), -1);
  EXPECT_EQ(one, '\0');
  char untouched = 'x';
  EXPECT_EQ(server_starter_parse_ports("abc", &ports, &count, &untouched, 0), -1);
  EXPECT_EQ(untouched, 'x');
  errno = 0;
  EXPECT_EQ(server_starter_parse_ports("abc", &ports, &count, nullptr, 0), -1);
  EXPECT_EQ(errno, EINVAL) << "no buffer: errno alone says what failed";
  // A long value is quoted in full up to the buffer's size, never past it.
  std::string long_value(4 * SERVER_STARTER_ERROR_SIZE, 'a');
  Outcome out = parse(long_value.c_str());
  EXPECT_EQ(out.message.size(), SERVER_STARTER_ERROR_SIZE - 1u);
  EXPECT_EQ(out.message.rfind("SERVER_STARTER_PORT: entry 'aaa", 0), 0u) << out.message;
}

TEST(ClientCApiPorts, ReadsTheEnvironment) {
  ScopedEnv env(kPort, "8080=3;[::1]:8081=4;/run/app.sock=6");
  Outcome out = from_env();
  ASSERT_EQ(out.rc, 0) << out.message;
  EXPECT_EQ(out.ports, (Ports{{"8080", 3}, {"[::1]:8081", 4}, {"/run/app.sock", 6}}));
  EXPECT_TRUE(out.terminated);
}

TEST(ClientCApiPorts, EmptyIsNoPortsAndStillATerminatedArray) {
  ScopedEnv env(kPort, "");
  Outcome out = from_env();
  ASSERT_EQ(out.rc, 0) << out.message;
  EXPECT_TRUE(out.ports.empty());
  EXPECT_TRUE(out.terminated);
}

TEST(ClientCApiPorts, UnsetIsEnoentAndSaysWhy) {
  ScopedEnv env(kPort, std::nullopt);
  Outcome out = from_env();
  EXPECT_EQ(out.rc, -1);
  EXPECT_EQ(out.error_number, ENOENT);
  EXPECT_EQ(out.message, kPort + kNotUnder);
  EXPECT_TRUE(out.outputs_untouched);
}

TEST(ClientCApiPorts, MalformedEnvironmentIsEinval) {
  ScopedEnv env(kPort, "8080");
  Outcome out = from_env();
  EXPECT_EQ(out.rc, -1);
  EXPECT_EQ(out.error_number, EINVAL);
  EXPECT_EQ(out.message, "SERVER_STARTER_PORT: entry '8080' has no '=FD'");
}

TEST(ClientCApiFreePorts, AcceptsNull) { server_starter_free_ports(nullptr); }

TEST(ClientCApiPortFd, LastDuplicateWinsAsInPerl) {
  struct server_starter_port* ports = nullptr;
  size_t count = 0;
  ASSERT_EQ(server_starter_parse_ports("8080=3;/run/a.sock=4;8080=5", &ports, &count, nullptr, 0),
            0);
  EXPECT_EQ(server_starter_port_fd(ports, count, "8080"), 5);
  EXPECT_EQ(server_starter_port_fd(ports, count, "/run/a.sock"), 4);
  EXPECT_EQ(server_starter_port_fd(ports, count, "8081"), -1);
  EXPECT_EQ(server_starter_port_fd(ports, count, "808"), -1);
  EXPECT_EQ(server_starter_port_fd(ports, count, nullptr), -1);
  EXPECT_EQ(server_starter_port_fd(ports, 1, "8080"), 3) << "only the first `count` entries";
  EXPECT_EQ(server_starter_port_fd(nullptr, 3, "8080"), -1);
  server_starter_free_ports(ports);
}

// server_starter_generation() with the variable set to `value` (or unset).
struct GenerationOutcome {
  int rc;
  int error_number;
  unsigned long value;
  std::string message;
};

GenerationOutcome generation(std::optional<std::string> value) {
  ScopedEnv env(kGeneration, std::move(value));
  GenerationOutcome out{0, 0, 777, {}};
  char error[SERVER_STARTER_ERROR_SIZE] = "untouched";
  errno = 0;
  out.rc = server_starter_generation(&out.value, error, sizeof error);
  out.error_number = errno;
  out.message = error;
  return out;
}

TEST(ClientCApiGeneration, StrictDecimal) {
  const std::pair<const char*, unsigned long> cases[] = {
      {"1", 1}, {"42", 42}, {"0", 0}, {"007", 7}, {"18446744073709551615", ULONG_MAX}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.first);
    GenerationOutcome out = generation(std::string(c.first));
    EXPECT_EQ(out.rc, 0) << out.message;
    EXPECT_EQ(out.value, c.second);
    EXPECT_EQ(out.error_number, 0);
    EXPECT_EQ(out.message, "untouched");
  }
}

TEST(ClientCApiGeneration, RejectsAnythingElseWithEinval) {
  for (const char* value : {"", "-1", "+1", " 1", "1 ", "0x10", "1\n", "18446744073709551616"}) {
    SCOPED_TRACE(value);
    GenerationOutcome out = generation(std::string(value));
    EXPECT_EQ(out.rc, -1);
    EXPECT_EQ(out.error_number, EINVAL);
    EXPECT_EQ(out.value, 777u) << "the output is left alone on failure";
    EXPECT_EQ(out.message.rfind("SERVER_STARTER_GENERATION: '", 0), 0u) << out.message;
    EXPECT_EQ(out.message.find('\n'), std::string::npos) << out.message;
  }
  EXPECT_EQ(generation(std::string("1\n")).message,
            "SERVER_STARTER_GENERATION: '1\\x0a' is not a decimal number");
}

TEST(ClientCApiGeneration, UnsetIsEnoent) {
  GenerationOutcome out = generation(std::nullopt);
  EXPECT_EQ(out.rc, -1);
  EXPECT_EQ(out.error_number, ENOENT);
  EXPECT_EQ(out.message, kGeneration + kNotUnder);
  EXPECT_EQ(out.value, 777u);
}

TEST(ClientCApiIsSocket, AnswersZeroOrOne) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair), 0) << std::strerror(errno);
  EXPECT_EQ(server_starter_is_socket("/run/a.sock", pair[0]), 1);
  EXPECT_EQ(server_starter_is_socket("8080", pair[0]), 0);
  EXPECT_EQ(server_starter_is_socket(nullptr, pair[0]), 0);
  EXPECT_EQ(server_starter_is_datagram(pair[0]), 1);
  ::close(pair[0]);
  ::close(pair[1]);
  EXPECT_EQ(server_starter_is_socket("/run/a.sock", -1), 0);
  EXPECT_EQ(server_starter_is_datagram(-1), 0);
}

}  // namespace
