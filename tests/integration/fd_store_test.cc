// systemd's fd store without a running systemd (issue 13, item 5): a fake NOTIFY_SOCKET
// receives the listeners start_server stores (FDSTORE=1 with the socket itself), and the
// launcher of activation.h passes stored sockets back the way systemd does at the next start
// (LISTEN_FDS, with the names they were stored under). The booted test
// (tests/systemd/booted_test.sh) checks the same against systemd 252 and 257 under load.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include <gtest/gtest.h>

#include "activation.h"
#include "harness.h"
#include "notify_receiver.h"

namespace itest {
namespace {

// What fd_store_plan.h names the listener keyed "127.0.0.1:PORT".
std::string stored_name(int port) { return "start_server/127.0.0.1%3A" + std::to_string(port); }

bool holds(pid_t pid, const std::string& identity) {
  auto ours = socket_identities(pid);
  return std::find(ours.begin(), ours.end(), identity) != ours.end();
}

TEST(FdStore, EachListenerWeBindIsStoredUnderItsName) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  Report report(dir);
  std::string path = dir / "app.sock";
  StarterProcess starter(dir,
                         concat({"--interval=0", "--port=127.0.0.1:0", "--path=" + path},
                                worker_args(dir, {"--env=FDSTORE"})),
                         {notify.env(), "FDSTORE=4"});
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << starter.output();
  auto tcp = notify.wait_for("FDNAME=start_server/127.0.0.1%3A0");
  auto unix_socket = notify.wait_for("FDNAME=start_server/" + path);
  ASSERT_TRUE(tcp && unix_socket) << notify.dump() << starter.output();
  for (size_t i : {*tcp, *unix_socket}) {
    const NotifyMessage& m = notify.at(i);
    EXPECT_EQ(m.sender, starter.pid());
    EXPECT_TRUE(m.has("FDSTORE=1") && m.has("FDPOLL=0")) << m.text;
    ASSERT_EQ(m.fds.size(), 1u) << m.text;
    EXPECT_TRUE(holds(starter.pid(), m.fds[0]))
        << "the stored descriptor is not start_server's listener: " << m.fds[0];
  }
  EXPECT_NE(starter.output().find("systemd's fd store keeps '127.0.0.1:0', '" + path + "'"),
            std::string::npos)
      << starter.output();
  EXPECT_TRUE(report.env_unset(1, "FDSTORE")) << "a worker inherited FDSTORE";
  // The file stays at exit: the next start takes the socket back from the store.
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_TRUE(is_socket_file(path)) << "the socket file of a stored listener was removed at exit";
}

TEST(FdStore, NothingIsStoredWithoutFdstore) {
  for (const char* fdstore : {"", "FDSTORE=0", "FDSTORE=many"}) {
    SCOPED_TRACE(fdstore);
    TempDir dir;
    FakeNotifySocket notify(dir);
    std::vector<std::string> env = {notify.env()};
    if (*fdstore) env.push_back(fdstore);
    StarterProcess starter(dir, concat({"--interval=0", "--port=127.0.0.1:0"}, worker_args(dir)),
                           env);
    ASSERT_TRUE(notify.wait_for("READY=1")) << notify.dump() << starter.output();
    for (const auto& m : notify.messages()) EXPECT_FALSE(m.has("FDSTORE=1")) << m.text;
    if (std::string(fdstore) == "FDSTORE=many") {
      EXPECT_NE(starter.output().find("ignoring FDSTORE='many': not a number of descriptors"),
                std::string::npos)
          << starter.output();
    }
    starter.signal(SIGTERM);
    EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  }
}

// The next start: the stored socket the command line names serves again (not stored twice);
// the one it no longer names is released (FDSTOREREMOVE=1 and a barrier, so its address is
// free before anything is bound) and closed.
TEST(FdStore, StoredSocketsComeBackOrAreReleased) {
  TempDir dir;
  FakeNotifySocket notify(dir);
  Report report(dir);
  auto kept = TestSocket::inet("127.0.0.1");
  auto dropped = TestSocket::inet("127.0.0.1");
  ActivationOptions names;
  names.fdnames = stored_name(kept.port()) + ":" + stored_name(dropped.port());
  ActivatedStarter starter(dir, {&kept, &dropped},
                           concat({"--interval=0", "--port=" + kept.addr()}, worker_args(dir)),
                           {notify.env(), "FDSTORE=4"}, names);
  auto remove = notify.wait_for("FDSTOREREMOVE=1");
  ASSERT_TRUE(remove) << notify.dump() << starter->output();
  EXPECT_EQ(notify.at(*remove).field("FDNAME"), stored_name(dropped.port()));
  EXPECT_TRUE(notify.wait_for("BARRIER=1", kTimeout, *remove + 1)) << notify.dump();
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << starter->output();
  EXPECT_EQ(request(kept.addr()), reply_of(1, *pid));
  EXPECT_EQ(fd_identity(*pid, std::atoi(report.listens(1).at(0).field("fd").c_str())),
            kept.identity());
  EXPECT_EQ(report.listens(1).size(), 1u) << "the released socket was handed on";
  EXPECT_FALSE(holds(starter->pid(), dropped.identity()))
      << "start_server kept the released socket";
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.dump();
  for (const auto& m : notify.messages())
    EXPECT_FALSE(m.has("FDSTORE=1")) << "stored twice: " << m.text;
  std::string out = starter->output();
  EXPECT_NE(out.find("took back from systemd's fd store: '" + kept.addr() + "'"), std::string::npos)
      << out;
  EXPECT_NE(
      out.find("released '" + dropped.addr() + "' ('" + stored_name(dropped.port()) +
               "') from systemd's fd store: no --port or --path names a stream socket there now"),
      std::string::npos)
      << out;
  starter->signal(SIGTERM);
  EXPECT_EQ(starter->wait_exit(), 0) << starter->output();
}

}  // namespace
}  // namespace itest
