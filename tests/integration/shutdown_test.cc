// Shutdown (issue 2, item 5): SIGTERM/SIGINT/SIGQUIT signal every generation
// (--signal-on-term for SIGTERM only), start_server waits for all of them, removes its socket,
// pid and status files, and exits 0.

#include <signal.h>

#include <gtest/gtest.h>

#include "harness.h"

namespace itest {
namespace {

struct Case {
  int signal;
  const char* extra_option;  ///< "" or e.g. --signal-on-term=USR1
  const char* worker_gets;
  const char* name;
  friend void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name << " " << c.extra_option << " -> worker gets " << c.worker_gets;
  }
};

class ShutdownBySignal : public ::testing::TestWithParam<Case> {};

TEST_P(ShutdownBySignal, SignalsWorkersRemovesFilesAndExitsZero) {
  const Case& c = GetParam();
  TempDir dir;
  Report report(dir);
  std::string sock = dir / "s.sock";
  std::string pid_file = dir / "pid";
  std::string status = dir / "status";
  std::vector<std::string> args{"--interval=0", "--port=127.0.0.1:0", "--path=" + sock,
                                "--pid-file=" + pid_file, "--status-file=" + status};
  if (*c.extra_option) args.push_back(c.extra_option);
  StarterProcess starter(dir, concat(args, worker_args(dir)));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << starter.output();
  ASSERT_TRUE(wait_until([&] {
    return read_status_file(status) == Status{{1, *pid1}};
  })) << starter.output();
  ASSERT_TRUE(file_exists(pid_file));
  ASSERT_TRUE(is_socket_file(sock));

  starter.signal(c.signal);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_EQ(report.signals_for(*pid1), std::vector<std::string>{c.worker_gets});
  EXPECT_FALSE(process_alive(*pid1)) << "start_server exited before its worker";
  EXPECT_FALSE(file_exists(sock)) << "socket file left behind";
  EXPECT_FALSE(file_exists(pid_file)) << "pid file left behind";
  EXPECT_FALSE(file_exists(status)) << "status file left behind";
}

INSTANTIATE_TEST_SUITE_P(
    Signals, ShutdownBySignal,
    ::testing::Values(Case{SIGTERM, "", "TERM", "TERM"}, Case{SIGINT, "", "TERM", "INT"},
                      Case{SIGQUIT, "", "TERM", "QUIT"},
                      Case{SIGTERM, "--signal-on-term=USR1", "USR1", "TERM_with_signal_on_term"},
                      Case{SIGINT, "--signal-on-term=USR1", "TERM", "INT_ignores_signal_on_term"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Shutdown, EveryGenerationIsSignalled) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status";
  StarterProcess starter(dir, concat({"--interval=0", "--kill-old-delay=5",
                                      "--status-file=" + status, "--port=127.0.0.1:0"},
                                     worker_args(dir)));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << starter.output();
  starter.signal(SIGHUP);
  auto pid2 = report.wait_for_ready(2);
  ASSERT_TRUE(pid2) << starter.output();
  // Generation 1 is old but still alive for --kill-old-delay=5.
  ASSERT_TRUE(wait_until([&] {
    return read_status_file(status) == Status{{1, *pid1}, {2, *pid2}};
  })) << starter.output();
  Stopwatch since_term;
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_LT(since_term.ms(), 4000) << "shutdown waited for the kill-old-delay";
  EXPECT_EQ(report.signals_for(*pid1), std::vector<std::string>{"TERM"});
  EXPECT_EQ(report.signals_for(*pid2), std::vector<std::string>{"TERM"});
  EXPECT_FALSE(process_alive(*pid1));
  EXPECT_FALSE(process_alive(*pid2));
  EXPECT_FALSE(file_exists(status));
}

TEST(Shutdown, WaitsForWorkersThatTakeTheirTime) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  std::string sock = dir / "s.sock";
  StarterProcess starter(dir, concat({"--interval=0", "--pid-file=" + pid_file, "--path=" + sock},
                                     worker_args(dir, {"--ignore-term"})));
  auto pid1 = report.wait_for_ready(1);
  ASSERT_TRUE(pid1) << starter.output();
  starter.signal(SIGTERM);
  ASSERT_TRUE(report.wait_for_signal(*pid1, "TERM ignored")) << starter.output();
  EXPECT_FALSE(starter.wait_exit(1000ms)) << "start_server left a live worker behind";
  EXPECT_TRUE(file_exists(pid_file));
  // The listener still serves while the worker drains.
  EXPECT_EQ(request(sock), reply_of(1, *pid1));
  kill(*pid1, SIGKILL);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_FALSE(file_exists(pid_file));
  EXPECT_FALSE(file_exists(sock));
}

TEST(Shutdown, TermWhileTheFirstGenerationKeepsFailing) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  StarterProcess starter(dir,
                         concat({"--interval=1", "--pid-file=" + pid_file, "--port=127.0.0.1:0"},
                                worker_args(dir, {"--fail-on-start"})));
  ASSERT_TRUE(report.wait_for("fail", 1)) << starter.output();
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(3s), 0) << starter.output();
  EXPECT_FALSE(file_exists(pid_file));
}

// The lines Perl's start_server prints too are printed bare and worded as Perl's
// (Server/Starter.pm 0.35), for log parsers anchored at ^; every line of ours carries
// "start_server: ".
TEST(Shutdown, PerlsLinesAreBareAndOursUseThePrefix) {
  TempDir dir;
  Report report(dir);
  StarterProcess starter(dir, concat({"--interval=0", "--port=127.0.0.1:0"}, worker_args(dir)));
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << starter.output();
  starter.signal(SIGTERM);
  ASSERT_EQ(starter.wait_exit(), 0);
  auto lines = split_lines(starter.output());
  ASSERT_FALSE(lines.empty());
  std::string p = std::to_string(*pid);
  EXPECT_EQ(lines[0], "start_server (pid:" + std::to_string(starter.pid()) + ") starting now...");
  EXPECT_EQ(lines.back(), "exiting") << starter.output();
  const std::vector<std::string> perl{"starting new worker " + p,
                                      "received TERM, sending TERM to all workers:" + p,
                                      "worker " + p + " died, status:"};
  std::size_t seen = 0;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    if (lines[i].rfind("start_server: ", 0) == 0) continue;
    ASSERT_LT(seen, perl.size()) << "line " << i << ": " << lines[i];
    EXPECT_EQ(lines[i].rfind(perl[seen], 0), 0u) << "line " << i << ": " << lines[i];
    ++seen;
  }
  EXPECT_EQ(seen, perl.size()) << starter.output();
}

}  // namespace
}  // namespace itest
