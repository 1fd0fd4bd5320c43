// The command line (issue 2, item 1): --help documents every option, --version, the worker
// command with or without "--", "--name value" as well as "--name=value".

#include <signal.h>

#include <regex>

#include <gtest/gtest.h>

#include "harness.h"

namespace itest {
namespace {

TEST(Cli, HelpMentionsEveryOption) {
  auto r = run_starter({"--help"});
  EXPECT_EQ(r.status, 0) << r.text();
  for (const char* option : {"--port",
                             "--path",
                             "--backlog",
                             "--interval",
                             "--signal-on-hup",
                             "--signal-on-term",
                             "--kill-old-delay",
                             "--enable-auto-restart",
                             "--auto-restart-interval",
                             "--pid-file",
                             "--status-file",
                             "--log-file",
                             "--daemonize",
                             "--dir",
                             "--envdir",
                             "--restart",
                             "--restart-timeout",
                             "--stop",
                             "--help",
                             "--version"})
    EXPECT_NE(r.text().find(option), std::string::npos) << "--help does not mention " << option;
}

TEST(Cli, Version) {
  auto r = run_starter({"--version"});
  EXPECT_EQ(r.status, 0) << r.text();
  // Not Perl's bare "0.35": ours names itself and the Perl version it follows (README).
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex(R"(start_server \d+\.\d+(\.\d+)* \(Server::Starter 0\.35 compatible\)\n)")))
      << "stdout: " << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(Cli, HelpWinsOverEverythingElse) {
  auto r = run_starter({"--port=127.0.0.1:0", "--help", "--", "/bin/false"});
  EXPECT_EQ(r.status, 0) << r.text();
}

TEST(Cli, NoProgramIsAUsageError) {
  auto r = run_starter({"--port=127.0.0.1:0"});
  EXPECT_EQ(r.status, 1) << r.text();
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_EQ(r.err_lines()[0].rfind("start_server: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("server program not specified"), std::string::npos) << r.err;
}

TEST(Cli, WorkerCommandWithoutDoubleDash) {
  // Everything from the first non-option word on belongs to the worker, its options included.
  TempDir dir;
  Report report(dir);
  StarterProcess starter(dir, concat({"--interval=0", "--port=127.0.0.1:0"},
                                     fake_worker(dir.report(), {"--env=SERVER_STARTER_PORT"})));
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << starter.output();
  EXPECT_EQ(report.env(1, "SERVER_STARTER_PORT").value_or("").rfind("127.0.0.1:0=", 0), 0u);
  EXPECT_EQ(request(report.addr(1, "127.0.0.1:0")), reply_of(1, *pid));
}

TEST(Cli, OptionValuesAsSeparateWords) {
  TempDir dir;
  Report report(dir);
  std::string pid_file = dir / "pid";
  StarterProcess starter(
      dir, concat({"--interval", "0", "--port", "127.0.0.1:0", "--pid-file", pid_file},
                  worker_args(dir)));
  auto pid = report.wait_for_ready(1);
  ASSERT_TRUE(pid) << starter.output();
  EXPECT_EQ(request(report.addr(1, "127.0.0.1:0")), reply_of(1, *pid));
  EXPECT_TRUE(file_exists(pid_file));
}

TEST(Cli, WorkerArgumentsArePassedVerbatim) {
  // The worker gets exactly the words after "--", even those that look like our options.
  TempDir dir;
  std::string out = dir / "argv";
  StarterProcess starter(
      dir, {"--interval=0", "--", "/bin/sh", "-c", "printf '%s|' \"$@\" > \"$0\"; exec sleep 60",
            out, "--port=80", "-x", "two words", ""});
  EXPECT_TRUE(wait_until([&] { return !read_file(out).empty(); })) << starter.output();
  EXPECT_EQ(read_file(out), "--port=80|-x|two words||");
}

TEST(Cli, RepeatedPortsAccumulateInOrder) {
  TempDir dir;
  Report report(dir);
  StarterProcess starter(
      dir, concat({"--interval=0", "--port=127.0.0.1:0", "--port", "localhost:0", "--port=0"},
                  worker_args(dir)));
  ASSERT_TRUE(report.wait_for_ready(1)) << starter.output();
  auto listens = report.listens(1);
  ASSERT_EQ(listens.size(), 3u);
  EXPECT_EQ(listens[0].field("key"), "127.0.0.1:0");
  EXPECT_EQ(listens[1].field("key"), "localhost:0");
  EXPECT_EQ(listens[2].field("key"), "0");
}

TEST(Cli, HelloWorkerExampleServesItsPidAndDrainsOnTerm) {
  // The README demo: an HTTP hello naming its generation and pid, built on the client library.
  TempDir dir;
  std::string sock = dir / "hello.sock";
  StarterProcess starter(dir, {"--interval=0", "--path=" + sock, "--", kHelloWorker});
  const std::string get = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
  std::vector<pid_t> workers;
  ASSERT_TRUE(wait_until([&] { return (workers = children_of(starter.pid())).size() == 1; }))
      << starter.output();
  std::string reply;
  ASSERT_TRUE(wait_until([&] { return (reply = request(sock, 3s, get)).rfind("HTTP/1.", 0) == 0; }))
      << reply << "\n"
      << starter.output();
  EXPECT_NE(reply.find(" 200 "), std::string::npos) << reply;
  EXPECT_NE(reply.find(std::to_string(workers[0])), std::string::npos) << "no pid in: " << reply;
  starter.signal(SIGTERM);
  EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
  EXPECT_FALSE(process_alive(workers[0]));
}

TEST(Cli, CAndCxx11ExamplesServeAndExitOnTerm) {
  // examples/hello_c.c (C99, the C API) and hello_cxx11.cc (C++11, the header's C++ layer).
  for (const std::string& worker : {kHelloC, kHelloCxx11}) {
    SCOPED_TRACE(worker);
    TempDir dir;
    std::string sock = dir / "hello.sock";
    StarterProcess starter(dir, {"--interval=0", "--path=" + sock, "--", worker});
    std::vector<pid_t> workers;
    ASSERT_TRUE(wait_until([&] { return (workers = children_of(starter.pid())).size() == 1; }))
        << starter.output();
    std::string reply;
    ASSERT_TRUE(wait_until([&] {
      return (reply = request(sock, 3s, "GET / HTTP/1.0\r\n\r\n")).rfind("HTTP/1.", 0) == 0;
    })) << reply
        << "\n"
        << starter.output();
    EXPECT_NE(
        reply.find("\r\n\r\nHello from generation 1 (pid " + std::to_string(workers[0]) + ")\n"),
        std::string::npos)
        << reply;
    starter.signal(SIGTERM);
    EXPECT_EQ(starter.wait_exit(), 0) << starter.output();
    EXPECT_FALSE(process_alive(workers[0]));
    EXPECT_NE(starter.output().find("generation 1 pid " + std::to_string(workers[0]) + " stopping"),
              std::string::npos)
        << "the worker did not exit through its SIGTERM path:\n"
        << starter.output();
  }
}

}  // namespace
}  // namespace itest
