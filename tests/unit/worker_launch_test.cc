// What each generation's worker is handed (worker_launch.h): argv and where its program is
// looked for, the whole environment (what is inherited, what is never passed on, what
// start_server sets, how the envdir overrides and stops overriding), the descriptors it
// inherits and its directory. The table at the end lists every mode side by side.

#include "worker_launch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server_starter_port.h"

namespace starter {
namespace {

const char* const kPrivate[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC",  "WATCHDOG_PID",   "LISTEN_PID",
                                "LISTEN_FDS",    "LISTEN_FDNAMES", "LISTEN_PIDFDID", "FDSTORE"};

Config app_config() {
  Config c;
  c.command = {"app"};
  return c;
}

/// Successive generations as the server launches them: each reads the envdir afresh, and
/// every name the envdir has set so far (at start included) is remembered.
class Generations {
 public:
  Generations(EnvMap inherited, const EnvMap& envdir_at_start, Config config = app_config())
      : config_(std::move(config)) {
    in_.inherited = std::move(inherited);
    for (const auto& [name, value] : envdir_at_start) in_.envdir_names.insert(name);
  }

  /// The environment of generation `generation` with `envdir` as read now.
  EnvMap launch(const EnvMap& envdir, unsigned long generation,
                std::vector<ExportedListener> listeners = {}) {
    in_.generation = generation;
    in_.envdir = envdir;
    for (const auto& [name, value] : envdir) in_.envdir_names.insert(name);
    in_.listeners = std::move(listeners);
    return build_worker_launch(config_, in_).env;
  }

 private:
  Config config_;
  LaunchInputs in_;
};

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
                                      "FDSTORE=16",
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
  Generations g({{"PATH", "/bin"}, {"FOO", "base"}}, {});
  EnvMap env = g.launch({}, 3, {{"8080", 3, ""}, {"/run/a.sock", 4, ""}});
  EXPECT_EQ(env, (EnvMap{{"PATH", "/bin"},
                         {"FOO", "base"},
                         {kPortVariable, "8080=3;/run/a.sock=4"},
                         {kGenerationVariable, "3"}}));
}

TEST(WorkerEnvironment, EmptyPortValueIsStillSet) {  // no --port and no --path (Perl #49)
  Generations g({}, {});
  EnvMap env = g.launch({}, 1);
  ASSERT_EQ(env.count(kPortVariable), 1u);
  EXPECT_EQ(env[kPortVariable], "");
  EXPECT_EQ(env[kGenerationVariable], "1");
}

TEST(WorkerEnvironment, OurValuesReplaceInheritedOnes) {  // a start_server run by a worker
  Generations g({{kPortVariable, "80=3"}, {kGenerationVariable, "9"}}, {});
  EnvMap env = g.launch({}, 2, {{"81", 4, ""}});
  EXPECT_EQ(env[kPortVariable], "81=4");
  EXPECT_EQ(env[kGenerationVariable], "2");
}

TEST(WorkerEnvironment, EnvdirCannotOverrideOurValues) {
  Generations g({}, {});
  EnvMap env =
      g.launch({{kPortVariable, "evil=9"}, {kGenerationVariable, "0"}}, 5, {{"80", 3, ""}});
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
  Generations g(inherited_environment(environ_like.data()), envdir);
  for (unsigned long gen : {1ul, 2ul}) {
    EnvMap env = g.launch(envdir, gen);
    for (const char* name : kPrivate)
      EXPECT_EQ(env.count(name), 0u) << name << " in generation " << gen;
    EXPECT_EQ(env["PATH"], "/bin");
  }
}

TEST(WorkerEnvironment, EnvdirOverridesAndFollowsChanges) {
  Generations g({{"FOO", "base"}, {"KEEP", "k"}}, {{"FOO", "one"}});
  EXPECT_EQ(g.launch({{"FOO", "one"}}, 1)["FOO"], "one");
  EnvMap env = g.launch({{"FOO", "two"}, {"BAR", "new"}}, 2);
  EXPECT_EQ(env["FOO"], "two");
  EXPECT_EQ(env["BAR"], "new");
  EXPECT_EQ(env["KEEP"], "k");
}

// Perl brings back start_server's own start-up value; the contract says: unset.
TEST(WorkerEnvironment, VariableRemovedFromEnvdirIsUnsetEvenIfOurEnvironmentHadIt) {
  Generations g({{"FOO", "from-start_server"}, {"KEEP", "k"}}, {{"FOO", "from-envdir"}});
  EXPECT_EQ(g.launch({{"FOO", "from-envdir"}}, 1)["FOO"], "from-envdir");
  EnvMap env = g.launch({}, 2);
  EXPECT_EQ(env.count("FOO"), 0u);
  EXPECT_EQ(env["KEEP"], "k");
}

TEST(WorkerEnvironment, VariableAddedLaterThenRemovedIsUnset) {
  Generations g({{"BAR", "from-start_server"}}, {});
  EXPECT_EQ(g.launch({}, 1)["BAR"], "from-start_server");
  EXPECT_EQ(g.launch({{"BAR", "dir"}}, 2)["BAR"], "dir");
  EXPECT_EQ(g.launch({}, 3).count("BAR"), 0u);
  EXPECT_EQ(g.launch({}, 4).count("BAR"), 0u);  // and stays unset
}

// The program is checked at start along start_server's PATH; each generation looks it up
// along its own, which the envdir may set.
TEST(WorkerEnvironment, BaseEnvironmentIgnoresTheEnvdir) {
  Config c = app_config();
  c.exported_env = {{"ENVDIR", "/etc/app/env"}};
  EnvMap base = base_environment(c, {{"PATH", "/usr/bin:/bin"}});
  EXPECT_EQ(env_value(base, "PATH"), "/usr/bin:/bin");
  EXPECT_EQ(env_value(base, "ENVDIR"), "/etc/app/env");
  EXPECT_EQ(env_value(base, "NOPE"), "");
  Generations g({{"PATH", "/usr/bin:/bin"}}, {{"PATH", "/opt/bin"}});
  EXPECT_EQ(g.launch({{"PATH", "/opt/bin"}}, 1)["PATH"], "/opt/bin");
}

// --- the table: what each mode hands a worker ---------------------------------------------------

const std::vector<std::string> kAppAlongPath = {"/usr/bin/app", "/bin/app"};
const Release kKept{"/srv/app/releases/41/bin/app", "/srv/app/releases/41", "/srv/app/releases/41"};

/// start_server's environment in every case, and what the worker gets of it.
const EnvMap kInherited = {{"PATH", "/usr/bin:/bin"}, {"HOME", "/root"}};
EnvMap env_with(EnvMap ours) {
  EnvMap env = kInherited;
  env[kGenerationVariable] = "1";
  for (auto& [name, value] : ours) env[name] = value;
  return env;
}

Config with(void (*change)(Config&)) {
  Config c = app_config();
  change(c);
  return c;
}

struct Case {
  const char* mode;
  // Given (generation 1, start_server's environment kInherited):
  Config config = app_config();
  std::vector<ExportedListener> listeners = {};
  EnvMap envdir = {};
  std::string notify_socket = {};
  std::optional<Release> release = {};
  // The worker gets:
  std::vector<std::string> argv = {"app"};
  std::vector<std::string> exec_paths = kAppAlongPath;
  EnvMap env = {};  ///< exactly; LISTEN_PID is never in it (written in the child)
  bool listen_pid = false;
  std::vector<int> inherit_fds = {};
  std::string dir = {};
};

const Case kCases[] = {
    {.mode = "no --port, no --path: SERVER_STARTER_PORT is set, empty",
     .env = env_with({{kPortVariable, ""}})},
    {.mode = "--port: host ports in command-line order, at the descriptors they sit at",
     .listeners = {{"8080", 3, ""}, {"127.0.0.1:8081", 4, ""}, {"[::1]:8082", 5, ""}},
     .env = env_with({{kPortVariable, "8080=3;127.0.0.1:8081=4;[::1]:8082=5"}}),
     .inherit_fds = {3, 4, 5}},
    {.mode = "--path: unix sockets keyed by their path, after the ports",
     .listeners = {{"8080", 3, ""}, {"/run/app.sock", 4, ""}},
     .env = env_with({{kPortVariable, "8080=3;/run/app.sock=4"}}),
     .inherit_fds = {3, 4}},
    {.mode = "--port=8080=7: a socket pinned at a descriptor",
     .listeners = {{"8080", 7, ""}},
     .env = env_with({{kPortVariable, "8080=7"}}),
     .inherit_fds = {7}},
    {.mode = "--path-mode: only the socket file's permissions, nothing handed over",
     .config = with([](Config& c) { c.path_mode = 0660; }),
     .listeners = {{"/run/app.sock", 3, ""}},
     .env = env_with({{kPortVariable, "/run/app.sock=3"}}),
     .inherit_fds = {3}},
    {.mode = "--listen-fds: systemd's socket activation too; systemd's own names kept",
     .config = with([](Config& c) { c.listen_fds = true; }),
     .listeners = {{"127.0.0.1:8080", 3, ""}, {"/run/app.sock", 4, ""}, {"[::1]:80", 5, "web"}},
     .env = env_with({{kPortVariable, "127.0.0.1:8080=3;/run/app.sock=4;[::1]:80=5"},
                      {"LISTEN_FDS", "3"},
                      {"LISTEN_FDNAMES", "127.0.0.1_8080:/run/app.sock:web"}}),
     .listen_pid = true,
     .inherit_fds = {3, 4, 5}},
    {.mode = "--listen-fds without sockets",
     .config = with([](Config& c) { c.listen_fds = true; }),
     .env = env_with({{kPortVariable, ""}, {"LISTEN_FDS", "0"}, {"LISTEN_FDNAMES", ""}}),
     .listen_pid = true},
    {.mode = "--ready=notify: the generation's own NOTIFY_SOCKET",
     .config = with([](Config& c) { c.supervisor.ready_notify = true; }),
     .listeners = {{"8080", 3, ""}},
     .notify_socket = "@start_server/42/1/x",
     .env = env_with({{kPortVariable, "8080=3"}, {"NOTIFY_SOCKET", "@start_server/42/1/x"}}),
     .inherit_fds = {3}},
    {.mode = "options Perl exports to workers (ENVDIR, KILL_OLD_DELAY, ...)",
     .config = with([](Config& c) {
       c.exported_env = {{"ENVDIR", "/etc/app/env"}, {"KILL_OLD_DELAY", "5"}};
     }),
     .env = env_with({{kPortVariable, ""}, {"ENVDIR", "/etc/app/env"}, {"KILL_OLD_DELAY", "5"}})},
    {.mode = "--envdir: values override and add; a PATH from there finds the program",
     .envdir = {{"HOME", "/srv"}, {"NEW", "1"}, {"PATH", "/opt/bin"}},
     .exec_paths = {"/opt/bin/app"},
     .env = env_with({{kPortVariable, ""}, {"HOME", "/srv"}, {"NEW", "1"}, {"PATH", "/opt/bin"}})},
    {.mode = "--envdir cannot set what is ours or systemd's",
     .config = with([](Config& c) { c.listen_fds = true; }),
     .envdir = {{kPortVariable, "1=1"},
                {"LISTEN_FDS", "9"},
                {"LISTEN_PID", "1"},
                {"NOTIFY_SOCKET", "/x"}},
     .env = env_with({{kPortVariable, ""}, {"LISTEN_FDS", "0"}, {"LISTEN_FDNAMES", ""}}),
     .listen_pid = true},
    {.mode = "a command with arguments and a '/': run as is",
     .config = with([](Config& c) {
       c.command = {"./bin/app", "--workers", "4"};
     }),
     .argv = {"./bin/app", "--workers", "4"},
     .exec_paths = {"./bin/app"},
     .env = env_with({{kPortVariable, ""}})},
    {.mode = "--dir",
     .config = with([](Config& c) { c.dir = "/srv/app/current"; }),
     .env = env_with({{kPortVariable, ""}}),
     .dir = "/srv/app/current"},
    {.mode = "respawn of a kept release: its program and directory exactly",
     .config = with([](Config& c) { c.dir = "/srv/app/current"; }),
     .release = kKept,
     .exec_paths = {"/srv/app/releases/41/bin/app"},
     .env = env_with({{kPortVariable, ""}}),
     .dir = "/srv/app/releases/41"},
    {.mode = "a kept release without --dir: no directory to change to",
     .release = kKept,
     .exec_paths = {"/srv/app/releases/41/bin/app"},
     .env = env_with({{kPortVariable, ""}})},
    {.mode = "a kept release whose program did not resolve: looked up as usual",
     .config = with([](Config& c) { c.dir = "/srv/app/current"; }),
     .release = Release{"", "/srv/app/releases/41", "/srv/app/releases/41"},
     .env = env_with({{kPortVariable, ""}}),
     .dir = "/srv/app/releases/41"},
};

TEST(WorkerLaunch, WhatEachModeHandsAWorker) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.mode);
    LaunchInputs in;
    in.generation = 1;
    in.inherited = kInherited;
    in.envdir = c.envdir;
    for (const auto& [name, value] : c.envdir) in.envdir_names.insert(name);
    in.listeners = c.listeners;
    in.notify_socket = c.notify_socket;
    in.release = c.release;
    SpawnRequest launch = build_worker_launch(c.config, in);
    EXPECT_EQ(launch.argv, c.argv);
    EXPECT_EQ(launch.exec_paths, c.exec_paths);
    EXPECT_EQ(launch.env, c.env);
    EXPECT_EQ(launch.listen_pid, c.listen_pid);
    EXPECT_EQ(launch.inherit_fds, c.inherit_fds);
    EXPECT_EQ(launch.dir, c.dir);
    EXPECT_EQ(launch.stdin_fd, -1);  // the worker shares start_server's stdin
  }
}

}  // namespace
}  // namespace starter
