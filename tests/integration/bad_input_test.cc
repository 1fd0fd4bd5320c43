// Bad input (issue 2, item 9): each case gets exactly one line on stderr that starts with
// "start_server: " and names the culprit, exit status 1, no worker started, and nothing left
// behind: no socket file, pid file, status file or process.

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "harness.h"

namespace itest {
namespace {

// What every refused start must leave behind: nothing.
void expect_refused(const TempDir& dir, const std::vector<std::string>& args,
                    const std::string& culprit, const std::vector<std::string>& must_not_exist = {},
                    const std::vector<std::string>& env = {}) {
  Cleanup cleanup;  // should a worker start after all, it does not outlive the test
  cleanup.watch_report(dir.report());
  auto r = run_starter(args, 10s, env);
  EXPECT_FALSE(r.timed_out) << "start_server did not give up";
  EXPECT_EQ(r.status, 1) << r.text();
  auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << r.err;
  EXPECT_EQ(lines[0].rfind("start_server: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(culprit), std::string::npos)
      << "the message does not name '" << culprit << "': " << lines[0];
  EXPECT_FALSE(file_exists(dir.report())) << "a worker was started:\n" << read_file(dir.report());
  for (const auto& path : must_not_exist) EXPECT_FALSE(file_exists(path)) << path << " left behind";
  EXPECT_TRUE(processes_mentioning(dir.path()).empty()) << "a process was left behind";
}

// A listener, a unix socket, a pid file and a status file that must all be undone.
std::vector<std::string> usual_files(const TempDir& dir) {
  return {"--port=127.0.0.1:0", "--path=" + (dir / "ok.sock"), "--pid-file=" + (dir / "pid"),
          "--status-file=" + (dir / "status")};
}
std::vector<std::string> usual_leftovers(const TempDir& dir) {
  return {dir / "ok.sock", dir / "pid", dir / "status"};
}

// `usual_files` + `args` + the fake worker.
void expect_refused_with_files(const TempDir& dir, const std::vector<std::string>& args,
                               const std::string& culprit,
                               const std::vector<std::string>& env = {}) {
  expect_refused(dir, concat(concat(usual_files(dir), args), worker_args(dir)), culprit,
                 usual_leftovers(dir), env);
}

// Whether a syscall on `path` fails with a permission error even for us (e.g. root).
bool bind_is_denied(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un);
  int err = errno;
  close(fd);
  if (rc == 0) unlink(path.c_str());
  return rc != 0 && (err == EACCES || err == EPERM);
}
bool create_is_denied(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    close(fd);
    unlink(path.c_str());
    return false;
  }
  return errno == EACCES || errno == EPERM;
}

// A TCP listener of ours on 127.0.0.1:0; returns its port.
struct BusyPort {
  BusyPort() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof in;
    if (bind(fd, reinterpret_cast<sockaddr*>(&in), len) == 0 && listen(fd, 1) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len) == 0)
      port = ntohs(in.sin_port);
  }
  ~BusyPort() { close(fd); }
  int fd = -1;
  int port = 0;
};

TEST(BadInput, UnknownOption) {
  TempDir dir;
  expect_refused_with_files(dir, {"--no-such-option"}, "no-such-option");
}

class BadPortValue : public ::testing::TestWithParam<const char*> {};

TEST_P(BadPortValue, IsAUsageError) {
  TempDir dir;
  std::string value = GetParam();
  expect_refused_with_files(dir, {"--port=" + value}, value);
}

INSTANTIATE_TEST_SUITE_P(Values, BadPortValue,
                         ::testing::Values("65536", "abc", "1.2.3.4:", "127.0.0.1:99999", "-1",
                                           "127.0.0.1:80=abc", "[::1]", "127.0.0.1:u"),
                         [](const auto& param_info) {
                           return "case" + std::to_string(param_info.index);
                         });

TEST(BadInput, NonNumericInterval) {
  TempDir dir;
  expect_refused_with_files(dir, {"--interval=abc"}, "abc");
}

TEST(BadInput, NonNumericBacklog) {
  TempDir dir;
  expect_refused_with_files(dir, {"--backlog=x1"}, "x1");
}

TEST(BadInput, UnknownSignalOnHup) {
  TempDir dir;
  expect_refused_with_files(dir, {"--signal-on-hup=FOO"}, "FOO");
}

TEST(BadInput, UnknownSignalOnTerm) {
  TempDir dir;
  expect_refused_with_files(dir, {"--signal-on-term=NOTASIG"}, "NOTASIG");
}

TEST(BadInput, UnresolvableHost) {
  TempDir dir;
  expect_refused_with_files(dir, {"--port=no-such-host.invalid:0"}, "no-such-host.invalid");
}

TEST(BadInput, PortInUse) {
  TempDir dir;
  BusyPort busy;
  ASSERT_GT(busy.port, 0);
  std::string spec = "127.0.0.1:" + std::to_string(busy.port);
  // usual_files binds 127.0.0.1:0 first: that one must be closed again too.
  expect_refused_with_files(dir, {"--port=" + spec}, spec);
}

TEST(BadInput, PrivilegedPortWithoutPrivilege) {
  if (geteuid() == 0) GTEST_SKIP() << "running as root: any port may be bound";
  if (std::atoi(read_file("/proc/sys/net/ipv4/ip_unprivileged_port_start").c_str()) <= 1)
    GTEST_SKIP() << "ip_unprivileged_port_start allows port 1";
  TempDir dir;
  expect_refused_with_files(dir, {"--port=127.0.0.1:1"}, "127.0.0.1:1");
}

TEST(BadInput, PermissionDeniedForUnixPath) {
  std::string path = "/sys/start_server_integration_test.sock";
  if (!bind_is_denied(path)) GTEST_SKIP() << "binding " << path << " is not denied here";
  TempDir dir;
  expect_refused_with_files(dir, {"--path=" + path}, path);
}

TEST(BadInput, UnixPathUnderARegularFile) {
  TempDir dir;
  write_file(dir / "file", "x");
  std::string path = dir / "file/x.sock";
  expect_refused_with_files(dir, {"--path=" + path}, path);
}

TEST(BadInput, UnixPathInAMissingDirectoryAfterAGoodOne) {
  TempDir dir;
  std::string path = dir / "nodir/x.sock";
  // usual_files has bound ok.sock first: it must be removed again.
  expect_refused_with_files(dir, {"--path=" + path}, path);
}

TEST(BadInput, RegularFileAtUnixPathIsLeftAlone) {
  TempDir dir;
  std::string path = dir / "precious";
  write_file(path, "keep me\n");
  expect_refused_with_files(dir, {"--path=" + path}, path);
  EXPECT_EQ(read_file(path), "keep me\n");
}

TEST(BadInput, LiveUnixSocketOfSomeoneElseIsLeftAlone) {
  TempDir dir;
  std::string path = dir / "live.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strcpy(un.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  expect_refused_with_files(dir, {"--path=" + path}, path);
  EXPECT_TRUE(is_socket_file(path)) << "someone else's live socket was removed";
  int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&un), sizeof un), 0)
      << std::strerror(errno);
  close(client);
  close(fd);
}

TEST(BadInput, UnixPathLongerThanSunPath) {
  TempDir dir;
  std::string path = dir / (std::string(sizeof(sockaddr_un::sun_path), 'a') + ".sock");
  expect_refused_with_files(dir, {"--path=" + path}, path);
}

TEST(BadInput, UnixPathWithSemicolon) {
  TempDir dir;
  std::string path = dir / "a;b.sock";
  expect_refused_with_files(dir, {"--path=" + path}, path);
  EXPECT_FALSE(file_exists(path));
}

TEST(BadInput, UnixPathWithEquals) {
  TempDir dir;
  std::string path = dir / "a=b.sock";
  expect_refused_with_files(dir, {"--path=" + path}, path);
  EXPECT_FALSE(file_exists(path));
}

TEST(BadInput, MissingWorker) {
  TempDir dir;
  std::string worker = dir / "no-such-worker";
  expect_refused(dir, concat(usual_files(dir), {"--", worker, "--report=" + dir.report()}), worker,
                 usual_leftovers(dir));
}

TEST(BadInput, MissingWorkerInPath) {
  TempDir dir;
  expect_refused(
      dir, concat(usual_files(dir), {"--", "no-such-worker-in-path", "--report=" + dir.report()}),
      "no-such-worker-in-path", usual_leftovers(dir));
}

TEST(BadInput, NonExecutableWorker) {
  TempDir dir;
  std::string worker = dir / "not-executable";
  write_file(worker, "#!/bin/sh\nexit 0\n", 0644);  // no x bit at all: not even root may exec it
  expect_refused(dir, concat(usual_files(dir), {"--", worker, "--report=" + dir.report()}), worker,
                 usual_leftovers(dir));
}

TEST(BadInput, DirectoryAsWorker) {
  TempDir dir;
  std::string worker = dir / "a-directory";
  make_dir(worker);
  expect_refused(dir, concat(usual_files(dir), {"--", worker, "--report=" + dir.report()}), worker,
                 usual_leftovers(dir));
}

TEST(BadInput, PidFileInAMissingDirectory) {
  TempDir dir;
  std::string pid_file = dir / "nodir/pid";
  expect_refused(dir,
                 concat({"--port=127.0.0.1:0", "--path=" + (dir / "ok.sock"),
                         "--status-file=" + (dir / "status"), "--pid-file=" + pid_file},
                        worker_args(dir)),
                 pid_file, usual_leftovers(dir));
}

TEST(BadInput, PidFileWherePermissionIsDenied) {
  std::string pid_file = "/sys/kernel/start_server_integration_test.pid";
  if (!create_is_denied(pid_file)) GTEST_SKIP() << "creating " << pid_file << " is not denied here";
  TempDir dir;
  expect_refused(dir,
                 concat({"--port=127.0.0.1:0", "--path=" + (dir / "ok.sock"),
                         "--status-file=" + (dir / "status"), "--pid-file=" + pid_file},
                        worker_args(dir)),
                 pid_file, usual_leftovers(dir));
}

TEST(BadInput, StatusFileInAMissingDirectory) {
  TempDir dir;
  std::string status = dir / "nodir/status";
  expect_refused(dir,
                 concat({"--port=127.0.0.1:0", "--path=" + (dir / "ok.sock"),
                         "--pid-file=" + (dir / "pid"), "--status-file=" + status},
                        worker_args(dir)),
                 status, usual_leftovers(dir));
}

TEST(BadInput, StatusFileWherePermissionIsDenied) {
  // The status file is written as a temporary file in its directory, then renamed.
  std::string status = "/sys/kernel/start_server_integration_test.status";
  if (!create_is_denied(status + ".probe"))
    GTEST_SKIP() << "creating files in /sys/kernel is not denied here";
  TempDir dir;
  expect_refused(dir,
                 concat({"--port=127.0.0.1:0", "--path=" + (dir / "ok.sock"),
                         "--pid-file=" + (dir / "pid"), "--status-file=" + status},
                        worker_args(dir)),
                 status, usual_leftovers(dir));
}

TEST(BadInput, LogFileWherePermissionIsDenied) {
  std::string log = "/sys/kernel/start_server_integration_test.log";
  if (!create_is_denied(log)) GTEST_SKIP() << "creating " << log << " is not denied here";
  TempDir dir;
  expect_refused_with_files(dir, {"--log-file=" + log}, log);
}

TEST(BadInput, LogFileInAMissingDirectory) {
  TempDir dir;
  std::string log = dir / "nodir/log";
  expect_refused_with_files(dir, {"--log-file=" + log}, log);
}

TEST(BadInput, PidFileHeldByARunningStartServer) {
  TempDir dir;
  std::string pid_file = dir / "pid";
  // Hold the lock as a running start_server does (a real one: files_test.cc).
  write_file(pid_file, "12345\n");
  int holder = open(pid_file.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(flock(holder, LOCK_EX | LOCK_NB), 0);
  expect_refused(dir,
                 concat({"--port=127.0.0.1:0", "--path=" + (dir / "ok.sock"),
                         "--status-file=" + (dir / "status"), "--pid-file=" + pid_file},
                        worker_args(dir)),
                 pid_file, {dir / "ok.sock", dir / "status"});
  EXPECT_EQ(read_file(pid_file), "12345\n") << "the holder's pid file was truncated or rewritten";
  close(holder);
}

// A value holding a newline is quoted with the newline escaped: still one line, naming the
// option and showing the value (issue 15).
class NewlineInValue
    : public ::testing::TestWithParam<std::pair<std::vector<std::string>, std::string>> {};

TEST_P(NewlineInValue, IsOneLineNamingTheValue) {
  TempDir dir;
  const auto& [args, culprit] = GetParam();
  expect_refused_with_files(dir, args, culprit);
}

INSTANTIATE_TEST_SUITE_P(
    Values, NewlineInValue,
    ::testing::Values(
        std::pair{std::vector<std::string>{"--ready=a\nb"}, "--ready: unknown value 'a\\x0ab'"},
        std::pair{std::vector<std::string>{"--port=80\n80"}, "--port: invalid value '80\\x0a80'"},
        std::pair{std::vector<std::string>{"--interval=1\n2"},
                  "--interval: invalid value '1\\x0a2'"},
        std::pair{std::vector<std::string>{"--signal-on-term=TERM\nKILL"},
                  "--signal-on-term: unknown signal 'TERM\\x0aKILL'"},
        // Boost.Program_options' own messages: an unknown option, an ambiguous one with its
        // value, a flag given a value.
        std::pair{std::vector<std::string>{"--no-such\noption"}, "'--no-such\\x0aoption'"},
        std::pair{std::vector<std::string>{"--s=1\n2"}, "'--s=1\\x0a2' is ambiguous"},
        std::pair{std::vector<std::string>{"--daemonize=1\n2", "--log-file=x"}, "daemonize"}),
    [](const auto& param_info) { return "case" + std::to_string(param_info.index); });

TEST(BadInput, NewlineInKillOldDelayFromTheEnvironment) {
  TempDir dir;
  expect_refused_with_files(dir, {}, "KILL_OLD_DELAY: invalid value '1\\x0a2'",
                            {"KILL_OLD_DELAY=1\n2"});
}

// Our own settings in the envdir are numbers as in our environment (README, Perl differences).
TEST(BadInput, NonNumericKillOldDelayInTheEnvdir) {
  TempDir dir;
  make_dir(dir / "env");
  write_file(dir / "env/KILL_OLD_DELAY", "5s\n");
  expect_refused_with_files(dir, {"--envdir=" + (dir / "env")},
                            "--envdir: KILL_OLD_DELAY: invalid value '5s'");
}

TEST(BadInput, DaemonizeWithoutLogFile) {
  TempDir dir;
  expect_refused_with_files(dir, {"--daemonize"}, "log-file");
}

TEST(BadInput, NoProgram) {
  TempDir dir;
  expect_refused(dir, usual_files(dir), "program", usual_leftovers(dir));
}

}  // namespace
}  // namespace itest
