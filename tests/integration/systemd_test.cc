// systemd integration without a running systemd (issue 3, items 1, 2, 3, 5 and the
// `systemd-analyze verify` part of 4): sockets passed the way systemd passes them (our own
// launcher, and systemd-socket-activate end to end), --listen-fds, the sd_notify sequence seen
// by a fake NOTIFY_SOCKET, and the unit files in units/.

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "activation.h"
#include "harness.h"
#include "notify_receiver.h"

namespace itest {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

// The SERVER_STARTER_PORT keys generation `gen` was given, in order.
std::vector<std::string> keys_of(const Report& report, int gen) {
  std::vector<std::string> out;
  for (const auto& r : report.listens(gen)) out.push_back(r.field("key"));
  return out;
}

// Each listener of generation `gen` is the very socket the test passed (the same open file
// description, so start_server bound nothing of its own for it).
void expect_same_sockets(const Report& report, int gen, pid_t worker,
                         const std::vector<const TestSocket*>& sockets) {
  for (const TestSocket* s : sockets) {
    ASSERT_FALSE(s->identity().empty()) << s->addr();
    bool seen = false;
    for (const auto& r : report.listens(gen)) {
      if (r.field("addr") != s->addr()) continue;
      seen = true;
      EXPECT_EQ(fd_identity(worker, std::atoi(r.field("fd").c_str())), s->identity())
          << "the worker's " << r.field("key") << " is not the inherited socket " << s->addr();
    }
    EXPECT_TRUE(seen) << "no listener of generation " << gen << " is bound to " << s->addr();
  }
}

#define ASSERT_READY(pid, starter)                                                     \
  ASSERT_TRUE((pid).has_value()) << "no generation became ready; start_server said:\n" \
                                 << (starter).output()

// ---- 1, 2: inherited sockets ------------------------------------------------------------

TEST(SystemdActivation, InheritedIpv4AndUnixSocketsAreUsedWithTheUsualKeys) {
  TempDir dir;
  std::string path = dir / "app.sock";
  auto tcp = std::make_optional(TestSocket::inet("127.0.0.1"));
  auto wildcard = std::make_optional(TestSocket::inet("0.0.0.0"));
  auto unix_socket = std::make_optional(TestSocket::unix_stream(path));
  std::string bare = std::to_string(wildcard->port());
  std::vector<std::string> options = {"--interval=0", "--port=" + tcp->addr(), "--port=" + bare,
                                      "--path=" + path};
  std::vector<std::string> expected_keys = {tcp->addr(), bare, path};
  {
    // Passed in another order than the options name them: matching is by address.
    Report report(dir);
    ActivatedStarter starter(dir, {&*unix_socket, &*tcp, &*wildcard},
                             concat(options, worker_args(dir)));
    auto pid = report.wait_for_ready(1);
    ASSERT_READY(pid, starter.process());
    EXPECT_EQ(keys_of(report, 1), expected_keys);
    expect_same_sockets(report, 1, *pid, {&*tcp, &*wildcard, &*unix_socket});
    std::vector<std::string> ours = {tcp->identity(), wildcard->identity(),
                                     unix_socket->identity()};
    std::sort(ours.begin(), ours.end());
    EXPECT_EQ(socket_identities(starter->pid()), ours) << "start_server opened sockets of its own";
    EXPECT_EQ(request(tcp->addr()), reply_of(1, *pid));
    EXPECT_EQ(request("127.0.0.1:" + bare), reply_of(1, *pid));
    EXPECT_EQ(request(path), reply_of(1, *pid));
    // Bound by anyone but systemd (us), these addresses are taken: the same options without
    // socket activation fail.
    auto clash = run_starter(concat({"--port=" + tcp->addr()}, {"--", kFakeWorker}), 10s);
    EXPECT_EQ(clash.status, 1) << clash.text();
    EXPECT_NE(clash.text().find("Address already in use"), std::string::npos) << clash.text();
    EXPECT_EQ(starter->output().find("named by no"), std::string::npos) << starter->output();

    starter->signal(SIGTERM);
    EXPECT_EQ(starter->wait_exit(), 0) << starter->output();
    EXPECT_TRUE(is_socket_file(path)) << "start_server removed the socket file systemd owns";
  }
  // Without socket activation the same command line binds the same addresses itself, and the
  // worker sees the same keys: one ExecStart= line serves both.
  tcp.reset();
  wildcard.reset();
  unix_socket.reset();
  ASSERT_EQ(unlink(path.c_str()), 0);
  TempDir dir2;
  Report report2(dir2);
  StarterProcess plain(dir2, concat(options, worker_args(dir2)));
  auto pid2 = report2.wait_for_ready(1);
  ASSERT_READY(pid2, plain);
  EXPECT_EQ(keys_of(report2, 1), expected_keys);
  plain.signal(SIGTERM);
  EXPECT_EQ(plain.wait_exit(), 0) << plain.output();
  EXPECT_FALSE(file_exists(path)) << "a socket file start_server made itself is removed";
}

TEST(SystemdActivation, InheritedIpv6AndDualStackSocketsKeepTheUsualKeys) {
  SKIP_WITHOUT_IPV6();
  TempDir dir;
  auto loopback = std::make_optional(TestSocket::inet("::1"));
  auto dual = std::make_optional(TestSocket::inet("::"));  // systemd's ListenStream=PORT
  std::string bare = std::to_string(dual->port());
  std::vector<std::string> options = {"--interval=0", "--port=" + loopback->addr(),
                                      "--port=" + bare};
  std::vector<std::string> expected_keys = {loopback->addr(), bare};
  {
    Report report(dir);
    ActivatedStarter starter(dir, {&*dual, &*loopback}, concat(options, worker_args(dir)));
    auto pid = report.wait_for_ready(1);
    ASSERT_READY(pid, starter.process());
    EXPECT_EQ(keys_of(report, 1), expected_keys) << "a bare --port matches [::]:PORT, key PORT";
    EXPECT_EQ(report.addr(1, bare), "[::]:" + bare);
    expect_same_sockets(report, 1, *pid, {&*loopback, &*dual});
    EXPECT_EQ(request(loopback->addr()), reply_of(1, *pid));
    EXPECT_EQ(request("127.0.0.1:" + bare), reply_of(1, *pid));
    EXPECT_EQ(request("[::1]:" + bare), reply_of(1, *pid));
    auto clash = run_starter({"--port=" + bare, "--", kFakeWorker}, 10s);
    EXPECT_EQ(clash.status, 1) << clash.text();
    EXPECT_NE(clash.text().find("Address already in use"), std::string::npos) << clash.text();
  }
  loopback.reset();
  dual.reset();
  TempDir dir2;
  Report report2(dir2);
  StarterProcess plain(dir2, concat(options, worker_args(dir2)));
  auto pid2 = report2.wait_for_ready(1);
  ASSERT_READY(pid2, plain);
  EXPECT_EQ(keys_of(report2, 1), expected_keys);
}

TEST(SystemdActivation, UnmatchedPortIsBoundAndUnnamedSocketsAreHandedOn) {
  TempDir dir;
  auto named = TestSocket::inet("127.0.0.1");
  auto extra_tcp = TestSocket::inet("127.0.0.1");
  auto extra_wildcard = TestSocket::inet("0.0.0.0");
  auto extra_unix = TestSocket::unix_stream(dir / "extra.sock");
  Report report(dir);
  ActivatedStarter starter(
      dir, {&extra_unix, &named, &extra_tcp, &extra_wildcard},
      concat({"--interval=0", "--port=" + named.addr(), "--port=127.0.0.1:0"}, worker_args(dir)));
  auto pid = report.wait_for_ready(1);
  ASSERT_READY(pid, starter.process());
  std::string wildcard_key = std::to_string(extra_wildcard.port());
  // The options' sockets first, then the unnamed ones in the order systemd passed them.
  EXPECT_EQ(keys_of(report, 1),
            (std::vector<std::string>{named.addr(), "127.0.0.1:0", extra_unix.addr(),
                                      extra_tcp.addr(), wildcard_key}));
  expect_same_sockets(report, 1, *pid, {&named, &extra_tcp, &extra_wildcard, &extra_unix});
  std::string bound = report.addr(1, "127.0.0.1:0");
  EXPECT_GT(port_of(bound), 0) << bound;
  EXPECT_EQ(request(bound), reply_of(1, *pid));
  EXPECT_EQ(request(extra_tcp.addr()), reply_of(1, *pid));
  EXPECT_EQ(request("127.0.0.1:" + wildcard_key), reply_of(1, *pid));
  EXPECT_EQ(request(extra_unix.addr()), reply_of(1, *pid));
  // Each unnamed socket is logged once, with the key it was handed on as (quoted).
  auto lines = message_lines(starter->output());
  for (const std::string& key : {extra_unix.addr(), extra_tcp.addr(), wildcard_key}) {
    const std::string quoted = "'" + key + "'";
    auto count = std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find("systemd") != std::string::npos && l.size() >= quoted.size() &&
             l.compare(l.size() - quoted.size(), quoted.size(), quoted) == 0;
    });
    EXPECT_EQ(count, 1) << "key " << key << " in:\n" << joined(lines);
  }
  auto named_logged = std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(named.addr()) != std::string::npos;
  });
  EXPECT_EQ(named_logged, 0) << joined(lines);
}

// ---- 3: refused input ---------------------------------------------------------------------

void expect_refused_in_one_line(const TempDir& dir, ActivatedStarter& starter,
                                const std::vector<std::string>& words) {
  auto status = starter->wait_exit();
  ASSERT_TRUE(status.has_value()) << "still running:\n" << starter->output();
  EXPECT_EQ(*status, 1) << starter->output();
  auto lines = message_lines(starter->output());
  ASSERT_EQ(lines.size(), 1u) << joined(lines);
  EXPECT_EQ(lines[0].rfind("start_server: ", 0), 0u) << lines[0];
  for (const auto& w : words) EXPECT_NE(lines[0].find(w), std::string::npos) << lines[0];
  EXPECT_FALSE(file_exists(dir.report())) << "a worker was started:\n" << read_file(dir.report());
  EXPECT_TRUE(processes_mentioning(dir.path()).empty()) << "something is left running";
}

TEST(SystemdActivation, DatagramSocketWhereAStreamIsAskedForIsOneLineError) {
  TempDir dir;
  auto udp = TestSocket::inet("127.0.0.1", SOCK_DGRAM);
  ActivatedStarter starter(dir, {&udp}, concat({"--port=" + udp.addr()}, worker_args(dir)));
  expect_refused_in_one_line(dir, starter, {"datagram", "stream", udp.addr()});
}

TEST(SystemdActivation, StreamSocketWhereADatagramIsAskedForIsOneLineError) {
  TempDir dir;
  auto tcp = TestSocket::inet("127.0.0.1");
  ActivatedStarter starter(
      dir, {&tcp}, concat({"--port=127.0.0.1:u" + std::to_string(tcp.port())}, worker_args(dir)));
  expect_refused_in_one_line(dir, starter, {"datagram", "stream"});
}

TEST(SystemdActivation, MalformedFdnamesIsOneLineError) {
  TempDir dir;
  auto a = TestSocket::inet("127.0.0.1");
  auto b = TestSocket::inet("127.0.0.1");
  ActivationOptions one_name_for_two;
  one_name_for_two.fdnames = "web";
  ActivatedStarter starter(dir, {&a, &b}, concat({"--port=" + a.addr()}, worker_args(dir)), {},
                           one_name_for_two);
  expect_refused_in_one_line(dir, starter, {"LISTEN_FDNAMES"});
}

// ---- 4: O_NONBLOCK ----------------------------------------------------------------------

TEST(SystemdActivation, SharedSocketsKeepTheirBlockingModeAcrossReload) {
  TempDir dir;
  auto blocking = TestSocket::inet("127.0.0.1");
  auto nonblocking = TestSocket::inet("127.0.0.1");  // as with NonBlocking=yes
  nonblocking.set_nonblocking(true);
  int blocking_flags = blocking.status_flags();
  int nonblocking_flags = nonblocking.status_flags();
  ASSERT_EQ(blocking_flags & O_NONBLOCK, 0);
  ASSERT_NE(nonblocking_flags & O_NONBLOCK, 0);

  Report report(dir);
  ActivatedStarter starter(
      dir, {&blocking, &nonblocking},
      concat({"--interval=0", "--port=" + blocking.addr(), "--port=" + nonblocking.addr()},
             worker_args(dir)));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_READY(pid1, starter.process());
  EXPECT_EQ(request(blocking.addr()), reply_of(1, *pid1));
  starter->signal(SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  ASSERT_READY(pid2, starter.process());
  EXPECT_TRUE(report.wait_for_signal(*pid1, "TERM")) << "generation 1 was not retired";
  EXPECT_EQ(request(nonblocking.addr()), reply_of(2, *pid2));
  EXPECT_EQ(blocking.status_flags(), blocking_flags);
  EXPECT_EQ(nonblocking.status_flags(), nonblocking_flags);
  starter->signal(SIGTERM);
  EXPECT_EQ(starter->wait_exit(), 0) << starter->output();
  EXPECT_EQ(blocking.status_flags(), blocking_flags);
  EXPECT_EQ(nonblocking.status_flags(), nonblocking_flags);
}

// ---- 5: --listen-fds ----------------------------------------------------------------------

const std::vector<std::string> kListenVars = {"--env=LISTEN_FDS", "--env=LISTEN_PID",
                                              "--env=LISTEN_FDNAMES", "--env=LISTEN_PIDFDID",
                                              "--env=SERVER_STARTER_PORT"};

// What a worker of generation `gen` that speaks systemd's protocol sees.
void expect_listen_fds(const Report& report, int gen, pid_t pid,
                       const std::vector<std::string>& keys) {
  SCOPED_TRACE("generation " + std::to_string(gen));
  size_t n = keys.size();
  EXPECT_EQ(report.env(gen, "LISTEN_FDS"), std::to_string(n));
  EXPECT_EQ(report.env(gen, "LISTEN_PID"), std::to_string(pid));
  EXPECT_TRUE(report.env_unset(gen, "LISTEN_PIDFDID"));
  auto names = split(report.env(gen, "LISTEN_FDNAMES").value_or(""), ':');
  EXPECT_EQ(names.size(), n) << report.env(gen, "LISTEN_FDNAMES").value_or("(unset)");
  for (const auto& name : names) EXPECT_FALSE(name.empty());
  auto listens = report.listens(gen);
  ASSERT_EQ(listens.size(), n);
  std::string port_value;
  std::vector<int> expected_fds = {0, 1, 2};
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(listens[i].field("key"), keys[i]);
    EXPECT_EQ(listens[i].field("fd"), std::to_string(3 + i)) << listens[i].line;
    port_value += (i ? ";" : "") + keys[i] + "=" + std::to_string(3 + i);
    expected_fds.push_back(static_cast<int>(3 + i));
  }
  EXPECT_EQ(report.env(gen, "SERVER_STARTER_PORT"), port_value);
  EXPECT_EQ(report.fds(gen), expected_fds) << "only the sockets, at 3 .. 3+N-1";
}

TEST(SystemdListenFds, WorkersGetSystemdsProtocolInEveryGeneration) {
  TempDir dir;
  std::string path = dir / "app.sock";
  Report report(dir);
  StarterProcess starter(dir, concat({"--interval=0", "--listen-fds", "--path=" + path,
                                      "--port=127.0.0.1:0", "--port=0"},
                                     worker_args(dir, kListenVars)));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_READY(pid1, starter);
  std::vector<std::string> keys = {"127.0.0.1:0", "0", path};
  expect_listen_fds(report, 1, *pid1, keys);
  EXPECT_EQ(request(path), reply_of(1, *pid1));

  starter.signal(SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  ASSERT_READY(pid2, starter);
  expect_listen_fds(report, 2, *pid2, keys);
  EXPECT_TRUE(report.wait_for_signal(*pid1, "TERM"));
  EXPECT_EQ(request(report.addr(2, "127.0.0.1:0")), reply_of(2, *pid2));
}

TEST(SystemdListenFds, NamesFromSystemdFollowTheirSockets) {
  TempDir dir;
  auto web = TestSocket::inet("127.0.0.1");
  auto admin = TestSocket::inet("127.0.0.1");
  ActivationOptions names;
  names.fdnames = "web:admin";
  Report report(dir);
  ActivatedStarter starter(dir, {&web, &admin},
                           concat({"--interval=0", "--listen-fds", "--port=" + admin.addr(),
                                   "--port=" + web.addr(), "--port=127.0.0.1:0"},
                                  worker_args(dir, kListenVars)),
                           {}, names);
  auto pid = report.wait_for_ready(1);
  ASSERT_READY(pid, starter.process());
  expect_listen_fds(report, 1, *pid, {admin.addr(), web.addr(), "127.0.0.1:0"});
  auto worker_names = split(report.env(1, "LISTEN_FDNAMES").value_or(""), ':');
  ASSERT_EQ(worker_names.size(), 3u);
  EXPECT_EQ(worker_names[0], "admin");
  EXPECT_EQ(worker_names[1], "web");
  expect_same_sockets(report, 1, *pid, {&web, &admin});
}

TEST(SystemdListenFds, WithoutTheOptionNoListenVariableReachesAWorker) {
  TempDir dir;
  auto web = TestSocket::inet("127.0.0.1");
  ActivationOptions names;
  names.fdnames = "web";
  Report report(dir);
  ActivatedStarter starter(
      dir, {&web}, concat({"--interval=0", "--port=" + web.addr()}, worker_args(dir, kListenVars)),
      {"LISTEN_PIDFDID=12345"}, names);
  auto pid1 = report.wait_for_ready(1);
  ASSERT_READY(pid1, starter.process());
  starter->signal(SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  ASSERT_READY(pid2, starter.process());
  for (int gen : {1, 2})
    for (const char* name : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "LISTEN_PIDFDID"})
      EXPECT_TRUE(report.env_unset(gen, name)) << name << " reached generation " << gen;
  EXPECT_EQ(report.env(2, "SERVER_STARTER_PORT"), web.addr() + "=3");
}

// ---- 6: sd_notify -------------------------------------------------------------------------

const std::vector<std::string> kNotifyVars = {"--env=NOTIFY_SOCKET", "--env=WATCHDOG_USEC",
                                              "--env=WATCHDOG_PID"};

void expect_no_notify_variables(const Report& report, int gen) {
  for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"})
    EXPECT_TRUE(report.env_unset(gen, name)) << name << " reached generation " << gen;
}

bool mentions_generation(const NotifyMessage& m, int gen, pid_t pid) {
  std::string status = m.field("STATUS");
  return status.find("generation " + std::to_string(gen)) != std::string::npos &&
         status.find(std::to_string(pid)) != std::string::npos;
}

TEST(SystemdNotify, StartReloadStopSequence) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  Report report(dir);
  StarterProcess starter(
      dir, concat({"--interval=0", "--port=127.0.0.1:0"}, worker_args(dir, kNotifyVars)),
      {notify.env()});
  auto ready = notify.wait_for("READY=1");
  ASSERT_TRUE(ready) << "no READY=1:\n" << notify.dump() << starter.output();
  auto pid1 = report.wait_for_ready(1);
  ASSERT_READY(pid1, starter);
  EXPECT_EQ(notify.at(*ready).sender, starter.pid());
  EXPECT_TRUE(mentions_generation(notify.at(*ready), 1, *pid1)) << notify.at(*ready).text;
  expect_no_notify_variables(report, 1);

  unsigned long long before = monotonic_usec();
  starter.signal(SIGHUP);
  auto reloading = notify.wait_for("RELOADING=1", kTimeout, *ready + 1);
  unsigned long long after = monotonic_usec();
  ASSERT_TRUE(reloading) << notify.dump();
  std::string usec = notify.at(*reloading).field("MONOTONIC_USEC");
  ASSERT_FALSE(usec.empty()) << notify.at(*reloading).text;
  EXPECT_GE(std::stoull(usec), before) << "MONOTONIC_USEC is not CLOCK_MONOTONIC now";
  EXPECT_LE(std::stoull(usec), after) << "MONOTONIC_USEC is not CLOCK_MONOTONIC now";
  auto ready2 = notify.wait_for("READY=1", kTimeout, *reloading + 1);
  ASSERT_TRUE(ready2) << notify.dump();
  auto pid2 = report.wait_for_ready(2);
  ASSERT_READY(pid2, starter);
  EXPECT_TRUE(mentions_generation(notify.at(*ready2), 2, *pid2)) << notify.at(*ready2).text;
  expect_no_notify_variables(report, 2);

  starter.signal(SIGTERM);
  auto stopping = notify.wait_for("STOPPING=1", kTimeout, *ready2 + 1);
  ASSERT_TRUE(stopping) << notify.dump();
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_EQ(notify.state_changes(),
            (std::vector<std::string>{"READY", "RELOADING", "READY", "STOPPING"}))
      << notify.dump();
  for (const auto& m : notify.messages()) {
    EXPECT_EQ(m.sender, starter.pid()) << m.text;
    EXPECT_NE(m.kind(), "WATCHDOG") << "WATCHDOG=1 without WATCHDOG_USEC";
    EXPECT_FALSE(m.field("STATUS").empty()) << "every message says what is going on: " << m.text;
  }
}

// `systemctl status` shows the last STATUS= line: while generation 1 starts for the first
// time, nothing has failed and nothing is being retried.
TEST(SystemdNotify, StatusClaimsNoRetryWhenNothingFailed) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  Report report(dir);
  StarterProcess starter(dir, concat({"--interval=0", "--port=127.0.0.1:0"}, worker_args(dir)),
                         {notify.env()});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.dump() << starter.output();
  for (const auto& m : notify.messages()) {
    EXPECT_EQ(m.field("STATUS").find("retry"), std::string::npos) << notify.dump();
    EXPECT_EQ(m.field("STATUS").find("fail"), std::string::npos) << notify.dump();
  }
}

TEST(SystemdNotify, FailedReloadEndsWithReadyThatSaysSo) {
  TempDir dir;
  std::string fail = dir / "fail";
  FakeNotifySocket notify(dir);
  Report report(dir);
  StarterProcess starter(dir,
                         concat({"--interval=1", "--port=127.0.0.1:0"},
                                worker_args(dir, {"--fail-if-exists=" + fail})),
                         {notify.env()});
  auto ready = notify.wait_for("READY=1");
  ASSERT_TRUE(ready) << notify.dump() << starter.output();
  auto pid1 = report.wait_for_ready(1);
  ASSERT_READY(pid1, starter);

  write_file(fail, "");
  starter.signal(SIGHUP);
  auto reloading = notify.wait_for("RELOADING=1", kTimeout, *ready + 1);
  ASSERT_TRUE(reloading) << notify.dump();
  auto ready2 = notify.wait_for("READY=1", kTimeout, *reloading + 1);
  ASSERT_TRUE(ready2) << notify.dump() << starter.output();
  EXPECT_TRUE(report.find("fail", 2)) << "generation 2 did not fail as it was told to";
  const NotifyMessage& end = notify.at(*ready2);
  EXPECT_NE(end.field("STATUS").find("fail"), std::string::npos) << end.text;
  EXPECT_TRUE(mentions_generation(end, 1, *pid1)) << "the old generation serves on: " << end.text;
  EXPECT_EQ(request(report.addr(1, "127.0.0.1:0")), reply_of(1, *pid1));
  EXPECT_EQ(notify.state_changes(), (std::vector<std::string>{"READY", "RELOADING", "READY"}))
      << notify.dump();
}

// Waits for the first WATCHDOG=1 and checks the pings of the second after it.
void expect_watchdog_pings(FakeNotifySocket& notify, pid_t sender) {
  auto first = notify.wait_for("WATCHDOG=1");
  ASSERT_TRUE(first) << "no WATCHDOG=1:\n" << notify.dump();
  Clock::time_point start = notify.at(*first).received;
  auto later = notify.wait_for_message(
      [&](const NotifyMessage& m) { return m.kind() == "WATCHDOG" && m.received - start >= 1s; },
      5s, *first + 1);
  ASSERT_TRUE(later) << notify.dump();
  int in_first_second = 0;
  for (size_t i = *first; i < *later; ++i) {
    const NotifyMessage& m = notify.at(i);
    if (m.kind() != "WATCHDOG") continue;
    EXPECT_EQ(m.sender, sender);
    if (m.received - start < 1s) ++in_first_second;
  }
  // WATCHDOG_USEC=200000: about one ping per 100 ms. Only the order of magnitude is asserted.
  EXPECT_GE(in_first_second, 3) << notify.dump();
  EXPECT_LE(in_first_second, 25) << "pinging far more often than WATCHDOG_USEC/2";
}

TEST(SystemdNotify, WatchdogPingsWhenWatchdogPidIsUnset) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  Report report(dir);
  StarterProcess starter(
      dir, concat({"--interval=0", "--port=127.0.0.1:0"}, worker_args(dir, kNotifyVars)),
      {notify.env(), "WATCHDOG_USEC=200000"});
  expect_watchdog_pings(notify, starter.pid());
  ASSERT_READY(report.wait_for_ready(1), starter);
  expect_no_notify_variables(report, 1);
}

TEST(SystemdNotify, WatchdogPingsWhenWatchdogPidIsOurs) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  Report report(dir);
  ActivationOptions watchdog;
  watchdog.watchdog_pid = true;
  ActivatedStarter starter(
      dir, {}, concat({"--interval=0", "--port=127.0.0.1:0"}, worker_args(dir, kNotifyVars)),
      {notify.env(), "WATCHDOG_USEC=200000"}, watchdog);
  expect_watchdog_pings(notify, starter->pid());
  ASSERT_READY(report.wait_for_ready(1), starter.process());
  expect_no_notify_variables(report, 1);
}

TEST(SystemdNotify, NoWatchdogPingsForAnotherPid) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  StarterProcess starter(
      dir, concat({"--interval=0", "--port=127.0.0.1:0"}, worker_args(dir)),
      {notify.env(), "WATCHDOG_USEC=200000", "WATCHDOG_PID=" + std::to_string(getpid())});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.dump() << starter.output();
  // Expected to time out: the pings are someone else's business.
  EXPECT_FALSE(notify.wait_for("WATCHDOG=1", 700ms)) << notify.dump();
}

// ---- end to end with systemd-socket-activate ----------------------------------------------

const std::string kSocketActivate = "/usr/bin/systemd-socket-activate";

TEST(SystemdSocketActivate, PassesRealListenFdsEndToEnd) {
  if (access(kSocketActivate.c_str(), X_OK) != 0) GTEST_SKIP() << kSocketActivate << " missing";
  TempDir dir;
  std::string path = dir / "app.sock";
  FakeNotifySocket notify(dir);
  Report report(dir);
  std::unique_ptr<StarterProcess> starter;
  std::string tcp;
  // systemd-socket-activate binds a number itself: a port free a moment ago may be taken.
  for (int attempt = 0; attempt < 5 && !starter; ++attempt) {
    tcp = "127.0.0.1:" + std::to_string(free_port());
    (void)unlink(path.c_str());
    starter = std::make_unique<StarterProcess>(
        dir,
        concat({"-l", tcp, "-l", path, "--fdname=web:unix", "-E", notify.env(), "--", kStarter,
                "--interval=0", "--listen-fds", "--port=" + tcp, "--path=" + path},
               worker_args(dir, concat(kListenVars, kNotifyVars))),
        std::vector<std::string>{}, std::vector<int>{}, kSocketActivate);
    bool listening = wait_until([&] {
      return starter->output().find("Listening on " + path) != std::string::npos ||
             !starter->running();
    });
    ASSERT_TRUE(listening) << starter->output();
    if (!starter->running()) starter.reset();
  }
  ASSERT_TRUE(starter) << "could not find a free port";
  // Nothing runs until the first connection (systemd's socket activation); that connection
  // waits in the backlog and is answered by generation 1.
  EXPECT_FALSE(file_exists(dir.report()));
  std::string first_reply = request(tcp, 10s);
  auto pid = report.wait_for_ready(1);
  ASSERT_READY(pid, *starter);
  EXPECT_EQ(first_reply, reply_of(1, *pid));
  EXPECT_EQ(keys_of(report, 1), (std::vector<std::string>{tcp, path}));
  EXPECT_EQ(report.env(1, "LISTEN_FDNAMES"), "web:unix");
  expect_listen_fds(report, 1, *pid, {tcp, path});
  expect_no_notify_variables(report, 1);
  EXPECT_EQ(request(path), reply_of(1, *pid));

  auto ready = notify.wait_for("READY=1");
  ASSERT_TRUE(ready) << notify.dump();
  EXPECT_EQ(notify.at(*ready).sender, starter->pid()) << "systemd-socket-activate execs in place";
  starter->signal(SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1", kTimeout, *ready + 1)) << notify.dump();
  EXPECT_EQ(starter->wait_exit(), 0) << starter->output();
  EXPECT_TRUE(is_socket_file(path)) << "start_server removed a socket file it did not make";
}

// ---- 4: the unit files --------------------------------------------------------------------

const std::string kAnalyze = "/usr/bin/systemd-analyze";

// units/ of the source tree, from CMake: __FILE__ is rewritten by Debian's
// -ffile-prefix-map, so it cannot lead back to the tree.
std::string source_units_dir() { return UNITS_DIR; }

// units/ copied to a TempDir, with the binaries this build made in place of /usr/bin ones,
// so the check does not depend on what is installed.
// The units of units/, running the built start_server and the example worker; `as` installs
// some under another name, as the README tells a user to (the units then name each other,
// and their runtime directory, through %N).
std::string copy_units(const TempDir& dir, const std::map<std::string, std::string>& as = {}) {
  std::string units = dir / "units";
  make_dir(units);
  for (const char* name :
       {"myapp.socket", "myapp.service", "myapp-notify-reload.service", "start_server@.service"}) {
    std::string text = read_file(source_units_dir() + "/" + name);
    EXPECT_FALSE(text.empty()) << name;
    text = std::regex_replace(text, std::regex("/usr/bin/start_server"), kStarter);
    text = std::regex_replace(text, std::regex("/usr/bin/myapp"), kHelloWorker);
    auto renamed = as.find(name);
    write_file(units + "/" + (renamed == as.end() ? std::string(name) : renamed->second), text);
  }
  return units;
}

CommandResult verify(const std::string& units, const std::vector<std::string>& files) {
  std::vector<std::string> argv = {kAnalyze, "verify"};
  for (const auto& f : files) argv.push_back(units + "/" + f);
  return run_command(argv, 60s, {}, units);
}

int systemd_version() {
  auto r = run_command({kAnalyze, "--version"}, 30s);
  std::smatch m;
  static const std::regex version_re(R"(^systemd (\d+))");
  return std::regex_search(r.out, m, version_re) ? std::stoi(m[1]) : 0;
}

#define SKIP_WITHOUT_ANALYZE()                                                       \
  do {                                                                               \
    if (access(kAnalyze.c_str(), X_OK) != 0) GTEST_SKIP() << kAnalyze << " missing"; \
  } while (0)

TEST(SystemdUnits, SocketServiceAndTemplateVerifyCleanly) {
  SKIP_WITHOUT_ANALYZE();
  TempDir dir;
  std::string units =
      copy_units(dir, {{"myapp.socket", "shop.socket"}, {"myapp.service", "shop.service"}});
  for (const auto& files : std::vector<std::vector<std::string>>{
           {"shop.socket", "shop.service"},  // under another name, nothing inside renamed
           {"start_server@.service"},
           {"start_server@web.service"}}) {  // an instance, read from the template
    auto r = verify(units, files);
    EXPECT_EQ(r.status, 0) << files[0] << ":\n" << r.text();
    EXPECT_EQ(r.text(), "") << files[0];
  }
}

TEST(SystemdUnits, VerifyNoticesAMissingBinary) {
  SKIP_WITHOUT_ANALYZE();
  TempDir dir;
  std::string units = copy_units(dir);
  std::string service = read_file(units + "/myapp.service");
  write_file(units + "/myapp.service",
             std::regex_replace(service, std::regex(kStarter), dir / "missing/start_server"));
  auto r = verify(units, {"myapp.socket", "myapp.service"});
  EXPECT_NE(r.status, 0) << "the check above would pass whatever the units say:\n" << r.text();
}

TEST(SystemdUnits, NotifyReloadVariantVerifies) {
  SKIP_WITHOUT_ANALYZE();
  TempDir dir;
  // Installed as the service of its socket unit, as its header says.
  std::string units = copy_units(
      dir, {{"myapp.socket", "shop.socket"}, {"myapp-notify-reload.service", "shop.service"}});
  auto r = verify(units, {"shop.socket", "shop.service"});
  EXPECT_EQ(r.status, 0) << r.text();
  if (systemd_version() >= 253) {
    EXPECT_EQ(r.text(), "");
    return;
  }
  // systemd 252 has neither Type=notify-reload nor ReloadSignal= (RHEL 9's backports both,
  // so a clean run is fine too): exactly these two warnings, nothing else.
  auto lines = split_lines(r.text());
  if (lines.empty()) return;
  static const std::regex type_warning(
      R"(^.*/shop\.service:\d+: Failed to parse service type, ignoring: notify-reload$)");
  static const std::regex signal_warning(
      R"(^.*/shop\.service:\d+: Unknown key 'ReloadSignal' in section \[Service\], ignoring\.$)");
  ASSERT_EQ(lines.size(), 2u) << r.text();
  EXPECT_TRUE(std::regex_match(lines[0], type_warning)) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], signal_warning)) << lines[1];
}

}  // namespace
}  // namespace itest
