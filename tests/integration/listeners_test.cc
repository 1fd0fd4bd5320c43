// Listeners as a worker sees them (issue 2, items 2 and 3): every --port form, --path,
// --backlog, SERVER_STARTER_PORT spelled as Perl spells it, only the listeners inherited,
// and the same sockets shared by every generation.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace itest {
namespace {

struct Entry {
  std::string key;
  int fd;
};

// SERVER_STARTER_PORT split on ';', then each entry at its last '=' (a key may hold '=' only
// in Perl's broken unix-path case, which we refuse).
std::vector<Entry> parse_port_env(const std::string& value) {
  std::vector<Entry> out;
  size_t start = 0;
  while (start <= value.size() && !value.empty()) {
    size_t end = value.find(';', start);
    if (end == std::string::npos) end = value.size();
    std::string entry = value.substr(start, end - start);
    size_t eq = entry.rfind('=');
    out.push_back(
        {entry.substr(0, eq), eq == std::string::npos ? -1 : std::atoi(entry.c_str() + eq + 1)});
    start = end + 1;
  }
  return out;
}

std::vector<std::string> keys_of(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.key);
  return out;
}

// Starts start_server with `args` and the fake worker, and waits for generation 1.
struct Running {
  Running(const TempDir& dir, const std::vector<std::string>& args,
          const std::vector<std::string>& worker_flags = {}, const std::vector<int>& keep = {})
      : report(dir), starter(dir, concat(args, worker_args(dir, worker_flags)), {}, keep) {
    auto p = report.wait_for_ready(1);
    pid = p.value_or(0);
  }
  Report report;
  StarterProcess starter;
  pid_t pid = 0;
};

#define ASSERT_STARTED(r)                                                          \
  ASSERT_GT((r).pid, 0) << "generation 1 never became ready; start_server said:\n" \
                        << (r).starter.output()

TEST(Listeners, BarePortBindsIpv4Wildcard) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=0"});
  ASSERT_STARTED(r);
  auto listens = r.report.listens(1);
  ASSERT_EQ(listens.size(), 1u);
  EXPECT_EQ(listens[0].field("key"), "0");
  EXPECT_EQ(listens[0].field("type"), "stream");
  std::string addr = listens[0].field("addr");
  EXPECT_EQ(addr.rfind("0.0.0.0:", 0), 0u) << addr;
  EXPECT_GT(port_of(addr), 0);
  EXPECT_EQ(request("127.0.0.1:" + std::to_string(port_of(addr))), reply_of(1, r.pid));
}

TEST(Listeners, HostPortKeepsHostAsTyped) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=127.0.0.1:0"});
  ASSERT_STARTED(r);
  std::string addr = r.report.addr(1, "127.0.0.1:0");
  ASSERT_EQ(addr.rfind("127.0.0.1:", 0), 0u) << "listen lines: " << r.report.listens(1).size();
  EXPECT_GT(port_of(addr), 0);
  EXPECT_EQ(request(addr), reply_of(1, r.pid));
  EXPECT_EQ(r.report.env(1, "SERVER_STARTER_PORT"), std::nullopt);  // not asked for: not reported
}

TEST(Listeners, HostNameResolvesToIpv4AndKeyKeepsTheName) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=localhost:0"});
  ASSERT_STARTED(r);
  std::string addr = r.report.addr(1, "localhost:0");
  ASSERT_EQ(addr.rfind("127.0.0.1:", 0), 0u) << "addr '" << addr << "'";
  EXPECT_EQ(request(addr), reply_of(1, r.pid));
}

TEST(Listeners, Ipv6LoopbackInBrackets) {
  SKIP_WITHOUT_IPV6();
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=[::1]:0"});
  ASSERT_STARTED(r);
  std::string addr = r.report.addr(1, "[::1]:0");
  ASSERT_EQ(addr.rfind("[::1]:", 0), 0u) << "addr '" << addr << "'";
  EXPECT_EQ(request(addr), reply_of(1, r.pid));
}

TEST(Listeners, Ipv6WildcardIsV6Only) {
  SKIP_WITHOUT_IPV6();
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=[::]:0"});
  ASSERT_STARTED(r);
  std::string addr = r.report.addr(1, "[::]:0");
  ASSERT_EQ(addr.rfind("[::]:", 0), 0u) << "addr '" << addr << "'";
  std::string port = std::to_string(port_of(addr));
  EXPECT_EQ(request("[::1]:" + port), reply_of(1, r.pid));
  // IPV6_V6ONLY=1: the IPv4 loopback is not served by this socket.
  EXPECT_EQ(request("127.0.0.1:" + port).rfind("ERROR", 0), 0u);
}

TEST(Listeners, PinnedFdIsUsedInTheWorker) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=127.0.0.1:0=7"}, {"--env=SERVER_STARTER_PORT"});
  ASSERT_STARTED(r);
  auto listens = r.report.listens(1);
  ASSERT_EQ(listens.size(), 1u);
  EXPECT_EQ(listens[0].field("key"), "127.0.0.1:0");
  EXPECT_EQ(listens[0].field("fd"), "7");
  EXPECT_EQ(r.report.env(1, "SERVER_STARTER_PORT"), "127.0.0.1:0=7");
  EXPECT_EQ(r.report.fds(1), (std::vector<int>{0, 1, 2, 7}));
  EXPECT_EQ(request(listens[0].field("addr")), reply_of(1, r.pid));
}

TEST(Listeners, UdpAndTcpOnOneHostShareTheKey) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=127.0.0.1:u0", "--port=127.0.0.1:0"});
  ASSERT_STARTED(r);
  auto listens = r.report.listens(1);
  ASSERT_EQ(listens.size(), 2u);
  EXPECT_EQ(listens[0].field("key"), "127.0.0.1:0");  // the "u" is not part of the key
  EXPECT_EQ(listens[0].field("type"), "dgram");
  EXPECT_EQ(listens[1].field("key"), "127.0.0.1:0");
  EXPECT_EQ(listens[1].field("type"), "stream");
  EXPECT_EQ(udp_request(listens[0].field("addr")), reply_of(1, r.pid));
  EXPECT_EQ(request(listens[1].field("addr")), reply_of(1, r.pid));
}

TEST(Listeners, BareUdpPort) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=u0"});
  ASSERT_STARTED(r);
  auto listens = r.report.listens(1);
  ASSERT_EQ(listens.size(), 1u);
  EXPECT_EQ(listens[0].field("key"), "0");
  EXPECT_EQ(listens[0].field("type"), "dgram");
  std::string addr = listens[0].field("addr");
  EXPECT_EQ(addr.rfind("0.0.0.0:", 0), 0u) << addr;
  EXPECT_EQ(udp_request("127.0.0.1:" + std::to_string(port_of(addr))), reply_of(1, r.pid));
}

TEST(Listeners, UnixPathSocket) {
  TempDir dir;
  std::string path = dir / "app.sock";
  Running r(dir, {"--interval=0", "--path=" + path});
  ASSERT_STARTED(r);
  auto listens = r.report.listens(1);
  ASSERT_EQ(listens.size(), 1u);
  EXPECT_EQ(listens[0].field("key"), path);
  EXPECT_EQ(listens[0].field("type"), "stream");
  EXPECT_EQ(listens[0].field("addr"), path);
  EXPECT_EQ(request(path), reply_of(1, r.pid));
  struct stat st {};
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0777u) << "bound with umask 0, as Perl does";
  r.starter.signal(SIGTERM);
  EXPECT_EQ(r.starter.wait_exit(), 0);
  EXPECT_FALSE(file_exists(path)) << "the socket file we created is removed at exit";
}

TEST(Listeners, StaleUnixSocketIsReplaced) {
  TempDir dir;
  std::string path = dir / "stale.sock";
  {  // a socket file that nobody listens on any more
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strcpy(un.sun_path, path.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
    close(fd);
  }
  ASSERT_TRUE(is_socket_file(path));
  Running r(dir, {"--interval=0", "--path=" + path});
  ASSERT_STARTED(r);
  EXPECT_EQ(request(path), reply_of(1, r.pid));
}

// The listen(2) backlog of a TCP listener, read from a copy of the worker's fd: for a listening
// socket Linux reports sk_max_ack_backlog in tcpi_sacked.
std::optional<unsigned> backlog_of(pid_t pid, int fd) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return std::nullopt;
  int copy = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  close(pidfd);
  if (copy < 0) return std::nullopt;
  tcp_info info{};
  socklen_t len = sizeof info;
  int rc = getsockopt(copy, IPPROTO_TCP, TCP_INFO, &info, &len);
  close(copy);
  if (rc != 0) return std::nullopt;
  return info.tcpi_sacked;
}

TEST(Listeners, BacklogIsApplied) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--backlog=7", "--port=127.0.0.1:0"});
  ASSERT_STARTED(r);
  auto listens = r.report.listens(1);
  ASSERT_EQ(listens.size(), 1u);
  auto backlog = backlog_of(r.pid, std::atoi(listens[0].field("fd").c_str()));
  if (!backlog) GTEST_SKIP() << "pidfd_getfd/TCP_INFO unavailable: cannot read the backlog";
  EXPECT_EQ(*backlog, 7u);
  EXPECT_EQ(request(listens[0].field("addr")), reply_of(1, r.pid));
}

TEST(Listeners, DefaultBacklogIsSomaxconn) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=127.0.0.1:0"});
  ASSERT_STARTED(r);
  auto listens = r.report.listens(1);
  ASSERT_EQ(listens.size(), 1u);
  auto backlog = backlog_of(r.pid, std::atoi(listens[0].field("fd").c_str()));
  if (!backlog) GTEST_SKIP() << "pidfd_getfd/TCP_INFO unavailable: cannot read the backlog";
  unsigned somaxconn =
      static_cast<unsigned>(std::atoi(read_file("/proc/sys/net/core/somaxconn").c_str()));
  EXPECT_EQ(*backlog, std::min(4096u, somaxconn));  // SOMAXCONN, capped by the kernel
}

// The mixed command line of perl-reference.md 2.1, with ports 0 and our own unix paths.
std::vector<std::string> mixed_args(const TempDir& dir) {
  return {"--port=0",
          "--path=" + (dir / "a.sock"),
          "--port=127.0.0.1:0",
          "--port=[::1]:0",
          "--port=127.0.0.1:u0",
          "--port=localhost:0=9",
          "--path=" + (dir / "b.sock")};
}
std::vector<std::string> mixed_keys(const TempDir& dir) {
  return {"0",           "127.0.0.1:0",  "[::1]:0",     "127.0.0.1:0",
          "localhost:0", dir / "a.sock", dir / "b.sock"};
}

TEST(Listeners, ServerStarterPortMatchesPerlForAMixedCommandLine) {
  SKIP_WITHOUT_IPV6();
  TempDir dir;
  Running r(dir, concat({"--interval=0"}, mixed_args(dir)), {"--env=SERVER_STARTER_PORT"});
  ASSERT_STARTED(r);
  std::string ours = r.report.env(1, "SERVER_STARTER_PORT").value_or("<unset>");
  // "KEY=FD" joined by ';', no trailing ';'
  ASSERT_FALSE(ours.empty());
  EXPECT_NE(ours.back(), ';') << ours;
  auto entries = parse_port_env(ours);
  EXPECT_EQ(keys_of(entries), mixed_keys(dir)) << ours;
  std::set<int> fds;
  for (const auto& e : entries) {
    EXPECT_GE(e.fd, 3) << ours;
    fds.insert(e.fd);
  }
  EXPECT_EQ(fds.size(), entries.size()) << "distinct fds: " << ours;
  if (entries.size() == 7) {
    EXPECT_EQ(entries[4].fd, 9) << ours;
  }
  // The worker sees each socket at the announced fd, of the announced kind.
  auto listens = r.report.listens(1);
  ASSERT_EQ(listens.size(), 7u);
  for (size_t i = 0; i < listens.size() && i < entries.size(); ++i) {
    EXPECT_EQ(listens[i].field("key"), entries[i].key);
    EXPECT_EQ(listens[i].field("fd"), std::to_string(entries[i].fd));
    EXPECT_EQ(listens[i].field("type"), i == 3 ? "dgram" : "stream") << listens[i].line;
  }
  std::vector<int> expected_fds{0, 1, 2};
  expected_fds.insert(expected_fds.end(), fds.begin(), fds.end());
  EXPECT_EQ(r.report.fds(1), expected_fds);
}

TEST(Listeners, PerlReferenceProducesTheSameKeys) {
  SKIP_WITHOUT_IPV6();
  if (access(kPerlStarter.c_str(), X_OK) != 0)
    GTEST_SKIP() << "Perl's start_server (" << kPerlStarter << ") is not installed";
  TempDir dir;
  Report report(dir);
  StarterProcess perl(dir,
                      concat(concat({"--interval=0"}, mixed_args(dir)),
                             worker_args(dir, {"--env=SERVER_STARTER_PORT"})),
                      {}, {}, kPerlStarter);
  ASSERT_TRUE(report.wait_for_ready(1)) << perl.output();
  std::string theirs = report.env(1, "SERVER_STARTER_PORT").value_or("<unset>");
  EXPECT_EQ(keys_of(parse_port_env(theirs)), mixed_keys(dir)) << theirs;
}

TEST(Listeners, NoListenersGivesAnEmptyVariable) {
  TempDir dir;
  Running r(dir, {"--interval=0"},
            {"--env=SERVER_STARTER_PORT", "--env=SERVER_STARTER_GENERATION"});
  ASSERT_STARTED(r);
  EXPECT_EQ(r.report.env(1, "SERVER_STARTER_PORT"), "");
  EXPECT_EQ(r.report.env(1, "SERVER_STARTER_GENERATION"), "1");
  EXPECT_EQ(r.report.fds(1), (std::vector<int>{0, 1, 2}));
}

TEST(Listeners, WorkerInheritsOnlyTheListeners) {
  TempDir dir;
  make_dir(dir / "env");
  write_file(dir / "env/FOO", "bar\n");
  Running r(dir, {"--interval=0", "--port=127.0.0.1:0", "--port=127.0.0.1:u0",
                  "--path=" + (dir / "s.sock"), "--pid-file=" + (dir / "pid"),
                  "--status-file=" + (dir / "status"), "--log-file=" + (dir / "log"),
                  "--envdir=" + (dir / "env")});
  ASSERT_STARTED(r);
  std::vector<int> expected{0, 1, 2};
  for (const auto& l : r.report.listens(1)) expected.push_back(std::atoi(l.field("fd").c_str()));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(expected.size(), 6u);
  EXPECT_EQ(r.report.fds(1), expected) << "no pid/status/log/signalfd/pipe fd may leak";
  // A later generation, spawned from the running loop, inherits nothing more either.
  r.starter.signal(SIGHUP);
  ASSERT_TRUE(r.report.wait_for_ready(2)) << r.starter.output();
  EXPECT_EQ(r.report.fds(2), expected);
}

TEST(Listeners, StrayFdOfTheParentIsNotPassedOn) {
  TempDir dir;
  int stray = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(stray, 0);
  int pinned = fcntl(stray, F_DUPFD_CLOEXEC, 20);  // at a recognisable number
  close(stray);
  Running r(dir, {"--interval=0", "--port=127.0.0.1:0"}, {}, {pinned});
  close(pinned);
  ASSERT_STARTED(r);
  auto fds = r.report.fds(1);
  EXPECT_EQ(std::count(fds.begin(), fds.end(), pinned), 0)
      << "fd " << pinned << " inherited by start_server reached the worker";
  EXPECT_EQ(fds.size(), 4u);
}

TEST(Listeners, NeverReboundAcrossGenerations) {
  SKIP_WITHOUT_IPV6();
  TempDir dir;
  std::string path = dir / "s.sock";
  Running r(dir, {"--interval=0", "--port=127.0.0.1:0", "--port=[::1]:0", "--port=127.0.0.1:u0",
                  "--path=" + path});
  ASSERT_STARTED(r);
  auto first = r.report.listens(1);
  ASSERT_EQ(first.size(), 4u);
  r.starter.signal(SIGHUP);
  auto pid2 = r.report.wait_for_ready(2);
  ASSERT_TRUE(pid2) << r.starter.output();
  auto second = r.report.listens(2);
  ASSERT_EQ(second.size(), 4u);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(second[i].field("key"), first[i].field("key"));
    EXPECT_EQ(second[i].field("addr"), first[i].field("addr")) << "re-bound: " << second[i].line;
    EXPECT_EQ(second[i].field("fd"), first[i].field("fd"));
  }
  // Once the old generation is gone, the very same addresses answer for generation 2.
  ASSERT_TRUE(r.report.wait_for_signal(r.pid, "TERM")) << r.starter.output();
  ASSERT_TRUE(wait_until([&] { return !process_alive(r.pid); }));
  EXPECT_EQ(request(first[0].field("addr")), reply_of(2, *pid2));
  EXPECT_EQ(request(first[1].field("addr")), reply_of(2, *pid2));
  EXPECT_EQ(udp_request(first[2].field("addr")), reply_of(2, *pid2));
  EXPECT_EQ(request(path), reply_of(2, *pid2));
}

TEST(Listeners, NoConnectionIsRefusedDuringReloads) {
  TempDir dir;
  Running r(dir, {"--interval=0", "--port=127.0.0.1:0"});
  ASSERT_STARTED(r);
  std::string addr = r.report.addr(1, "127.0.0.1:0");
  // A client asks again and again, one request after the other, through three reloads.
  std::atomic<bool> stop{false};
  std::atomic<int> requests{0};
  std::vector<std::string> failures;
  std::set<std::string> replies;
  std::thread client([&] {
    while (!stop) {
      std::string reply = request(addr);
      if (reply.empty() || reply.rfind("ERROR", 0) == 0)
        failures.push_back(reply.empty() ? "(empty reply)" : reply);
      else
        replies.insert(reply);
      ++requests;
    }
  });
  // Generation 1 answered before the first reload (EXPECT, not ASSERT: the client thread
  // must be joined).
  EXPECT_TRUE(wait_until([&] { return requests >= 3; })) << "the client made no requests";
  pid_t old = r.pid;
  pid_t newest = 0;
  for (int gen = 2; gen <= 4; ++gen) {
    r.starter.signal(SIGHUP);
    auto pid = r.report.wait_for_ready(gen);
    if (!pid) break;
    newest = *pid;
    EXPECT_TRUE(wait_until([&] { return !process_alive(old); }))
        << "generation " << gen - 1 << " (pid " << old << ") still runs";
    old = newest;
  }
  int before = requests;
  EXPECT_TRUE(wait_until([&] { return requests >= before + 5; }))
      << "no requests after the last reload";
  stop = true;
  client.join();
  ASSERT_TRUE(newest > 0 && r.report.find("ready", 4)) << r.starter.output();
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << requests
                                << " requests failed, e.g. " << failures.front();
  EXPECT_TRUE(replies.count(reply_of(1, r.pid)));
  EXPECT_TRUE(replies.count(reply_of(4, newest)));
}

}  // namespace
}  // namespace itest
