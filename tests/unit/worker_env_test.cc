// The environment each generation starts with: what is inherited, what is never passed on,
// what start_server sets, and how the envdir overrides (and stops overriding).

#include "worker_env.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server_starter_port.h"

namespace starter {
namespace {

/// build()'s NAME=VALUE list as a map, failing the test on a repeated name.
EnvMap as_map(const std::vector<std::string>& entries) {
  EnvMap out;
  for (const auto& e : entries) {
    std::size_t eq = e.find('=');
    EXPECT_NE(eq, std::string::npos) << e;
    EXPECT_TRUE(out.emplace(e.substr(0, eq), e.substr(eq + 1)).second) << "twice: " << e;
  }
  return out;
}

const char* const kPrivate[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC",  "WATCHDOG_PID",  "LISTEN_PID",
                                "LISTEN_FDS",    "LISTEN_FDNAMES", "LISTEN_PIDFDID"};

TEST(IsPrivateVariable, SystemdVariablesOnly) {
  for (const char* name : kPrivate) EXPECT_TRUE(is_private_variable(name)) << name;
  for (const char* name :
       {"PATH", "HOME", "NOTIFY_SOCKETS", "LISTEN", "SERVER_STARTER_PORT", "ENVDIR", ""})
    EXPECT_FALSE(is_private_variable(name)) << name;
}

TEST(InheritedEnvironment, DropsPrivateVariables) {
  std::vector<std::string> storage = {"PATH=/usr/bin:/bin",
                                      "NOTIFY_SOCKET=/run/systemd/notify",
                                      "WATCHDOG_USEC=30000000",
                                      "WATCHDOG_PID=1",
                                      "LISTEN_PID=1",
                                      "LISTEN_FDS=2",
                                      "LISTEN_FDNAMES=a:b",
                                      "LISTEN_PIDFDID=77",
                                      "EMPTY=",
                                      "EQ=a=b",
                                      "NO_EQUALS_SIGN"};
  std::vector<char*> environ_like;
  for (auto& s : storage) environ_like.push_back(s.data());
  environ_like.push_back(nullptr);
  EXPECT_EQ(inherited_environment(environ_like.data()),
            (EnvMap{{"PATH", "/usr/bin:/bin"}, {"EMPTY", ""}, {"EQ", "a=b"}}));
  EXPECT_TRUE(inherited_environment(nullptr).empty());
}

TEST(WorkerEnvironment, SetsPortAndGeneration) {
  WorkerEnvironment we({{"PATH", "/bin"}, {"FOO", "base"}}, {});
  EnvMap env = as_map(we.build({}, 3, "8080=3;/run/a.sock=4"));
  EXPECT_EQ(env, (EnvMap{{"PATH", "/bin"},
                         {"FOO", "base"},
                         {kPortVariable, "8080=3;/run/a.sock=4"},
                         {kGenerationVariable, "3"}}));
}

TEST(WorkerEnvironment, EmptyPortValueIsStillSet) {  // no --port and no --path (Perl #49)
  WorkerEnvironment we({}, {});
  EnvMap env = as_map(we.build({}, 1, ""));
  ASSERT_EQ(env.count(kPortVariable), 1u);
  EXPECT_EQ(env[kPortVariable], "");
  EXPECT_EQ(env[kGenerationVariable], "1");
}

TEST(WorkerEnvironment, OurValuesReplaceInheritedOnes) {  // a start_server run by a worker
  WorkerEnvironment we({{kPortVariable, "80=3"}, {kGenerationVariable, "9"}}, {});
  EnvMap env = as_map(we.build({}, 2, "81=4"));
  EXPECT_EQ(env[kPortVariable], "81=4");
  EXPECT_EQ(env[kGenerationVariable], "2");
}

TEST(WorkerEnvironment, EnvdirCannotOverrideOurValues) {
  WorkerEnvironment we({}, {});
  EnvMap env = as_map(we.build({{kPortVariable, "evil=9"}, {kGenerationVariable, "0"}}, 5, "80=3"));
  EXPECT_EQ(env[kPortVariable], "80=3");
  EXPECT_EQ(env[kGenerationVariable], "5");
}

TEST(WorkerEnvironment, PrivateVariablesNeverReachTheWorker) {
  std::vector<std::string> storage = {"PATH=/bin", "NOTIFY_SOCKET=/run/systemd/notify",
                                      "LISTEN_FDS=1", "WATCHDOG_USEC=1000"};
  std::vector<char*> environ_like;
  for (auto& s : storage) environ_like.push_back(s.data());
  environ_like.push_back(nullptr);

  EnvMap envdir;
  for (const char* name : kPrivate) envdir[name] = "from-envdir";
  WorkerEnvironment we(inherited_environment(environ_like.data()), envdir);
  for (unsigned long gen : {1ul, 2ul}) {
    EnvMap env = as_map(we.build(envdir, gen, ""));
    for (const char* name : kPrivate)
      EXPECT_EQ(env.count(name), 0u) << name << " in generation " << gen;
    EXPECT_EQ(env["PATH"], "/bin");
  }
}

TEST(WorkerEnvironment, EnvdirOverridesAndFollowsChanges) {
  WorkerEnvironment we({{"FOO", "base"}, {"KEEP", "k"}}, {{"FOO", "one"}});
  EXPECT_EQ(as_map(we.build({{"FOO", "one"}}, 1, ""))["FOO"], "one");
  EnvMap env = as_map(we.build({{"FOO", "two"}, {"BAR", "new"}}, 2, ""));
  EXPECT_EQ(env["FOO"], "two");
  EXPECT_EQ(env["BAR"], "new");
  EXPECT_EQ(env["KEEP"], "k");
}

// Perl brings back start_server's own start-up value; the contract says: unset.
TEST(WorkerEnvironment, VariableRemovedFromEnvdirIsUnsetEvenIfOurEnvironmentHadIt) {
  WorkerEnvironment we({{"FOO", "from-start_server"}, {"KEEP", "k"}}, {{"FOO", "from-envdir"}});
  EXPECT_EQ(as_map(we.build({{"FOO", "from-envdir"}}, 1, ""))["FOO"], "from-envdir");
  EnvMap env = as_map(we.build({}, 2, ""));
  EXPECT_EQ(env.count("FOO"), 0u);
  EXPECT_EQ(env["KEEP"], "k");
}

TEST(WorkerEnvironment, VariableAddedLaterThenRemovedIsUnset) {
  WorkerEnvironment we({{"BAR", "from-start_server"}}, {});
  EXPECT_EQ(as_map(we.build({}, 1, ""))["BAR"], "from-start_server");
  EXPECT_EQ(as_map(we.build({{"BAR", "dir"}}, 2, ""))["BAR"], "dir");
  EXPECT_EQ(as_map(we.build({}, 3, "")).count("BAR"), 0u);
  EXPECT_EQ(as_map(we.build({}, 4, "")).count("BAR"), 0u);  // and stays unset
}

TEST(WorkerEnvironment, BaseValueIgnoresTheEnvdir) {
  WorkerEnvironment we({{"PATH", "/usr/bin:/bin"}}, {{"PATH", "/opt/bin"}});
  EXPECT_EQ(we.base_value("PATH"), "/usr/bin:/bin");
  EXPECT_EQ(we.base_value("NOPE"), "");
  we.build({{"PATH", "/opt/bin"}}, 1, "");
  EXPECT_EQ(we.base_value("PATH"), "/usr/bin:/bin");
}

}  // namespace
}  // namespace starter
