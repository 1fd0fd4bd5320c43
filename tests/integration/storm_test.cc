// Reliability and security (issue 8, items 1, 2 and 5), as an operator would see them:
//
//  Storm*   1,000 SIGHUPs as fast as a kill() loop sends them (and 1,000 one millisecond
//           apart) while a client keeps connecting: one generation serves at the end, no
//           zombie, no fd leaked by start_server, the status file names exactly the live
//           workers, no request failed. Each storm prints its figures.

#include <dirent.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "reliability_support.h"

namespace itest {
namespace {

// ---- small helpers ---------------------------------------------------------------------

/// The state letter of `pid` (R, S, Z, ...), or 0 when it does not exist.
char state_of(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ? 0 : stat[paren + 2];
}

/// Children of `parent` that are zombies (exited, not reaped), found by scanning /proc.
std::vector<pid_t> zombie_children(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (pid > 0 && parent_of(pid) == parent && state_of(pid) == 'Z') out.push_back(pid);
  }
  closedir(d);
  return out;
}

// ==== 1. Storms ==========================================================================

/// One GEN:PID line, no generation on its way, and it is start_server's only live child.
bool settled(pid_t starter, const std::string& status_file) {
  std::string text = read_file(status_file);
  Status listed = parse_status(text);
  if (listed.size() != 1 || text.find("starting:") != std::string::npos) return false;
  return children_of(starter) == std::vector<pid_t>{listed[0].second} &&
         zombie_children(starter).empty();
}

/// `hups` SIGHUPs, `gap` apart (0: a tight kill() loop), to a start_server whose workers are
/// ready at once, while a client connects again and again.
void storm(const std::string& label, int hups, std::chrono::microseconds gap) {
  TempDir dir;
  Report report(dir);
  std::string status = dir / "status";
  StarterProcess starter(dir, concat({"--ready=notify", "--port=127.0.0.1:0",
                                      "--status-file=" + status, "--pid-file=" + (dir / "pid")},
                                     worker_args(dir, {"--ready-after-ms=0"})));
  auto up = report.wait_for("notified", 1);
  ASSERT_TRUE(up) << starter.output();
  ASSERT_TRUE(wait_until([&] { return settled(starter.pid(), status); })) << read_file(status);
  std::string addr = report.addr(1, "127.0.0.1:0");
  std::vector<std::string> fds_before = open_fds_of(starter.pid());

  std::atomic<bool> stop{false};
  std::atomic<int> requests{0};
  std::vector<std::string> failures;  // the client thread's only
  static const std::regex answer(R"(^\d+:\d+\n$)");
  std::thread client([&] {
    while (!stop) {
      std::string reply = request(addr, 3s);
      if (!std::regex_match(reply, answer))
        failures.push_back(reply.empty() ? "(empty reply)" : reply);
      ++requests;
      // Thousands a second, yet room left for the tests that ctest runs beside this one.
      std::this_thread::sleep_for(100us);
    }
  });
  // EXPECT, not ASSERT: the client thread must be joined.
  EXPECT_TRUE(wait_until([&] { return requests >= 3; })) << "the client made no requests";

  Stopwatch sending;
  int sent = 0;
  for (int i = 0; i < hups; ++i) {
    if (kill(starter.pid(), SIGHUP) == 0) ++sent;
    if (gap.count() > 0) std::this_thread::sleep_for(gap);
  }
  long long send_ms = sending.ms();

  Stopwatch settling;
  // Quiet: settled, with its fds back to where they were, and no new generation for a while
  // (a queued reload starts right after the one before it is done).
  bool quiet = wait_until(
      [&] {
        if (!settled(starter.pid(), status) ||
            open_fds_of(starter.pid()).size() != fds_before.size())
          return false;
        int gens = report.max_gen();
        return !wait_until(
            [&] { return report.max_gen() != gens || !settled(starter.pid(), status); }, 300ms);
      },
      40s);
  long long settle_ms = settling.ms();
  int before = requests;
  EXPECT_TRUE(wait_until([&] { return requests >= before + 3; })) << "no requests after the storm";
  stop = true;
  client.join();

  int generations = report.max_gen();
  std::printf(
      "[  STORM   ] %s: %d SIGHUPs sent in %lld ms; %d generations started (generation 1 "
      "and %d during the storm); quiet %lld ms later; %d requests, %zu failed\n",
      label.c_str(), sent, send_ms, generations, generations - 1, settle_ms, requests.load(),
      failures.size());
  testing::Test::RecordProperty("sighups", sent);
  testing::Test::RecordProperty("generations", generations);
  testing::Test::RecordProperty("requests", requests.load());
  testing::Test::RecordProperty("failed_requests", static_cast<int>(failures.size()));

  EXPECT_EQ(sent, hups);
  ASSERT_TRUE(quiet) << "not settled 40 s after the storm; status file:\n"
                     << read_file(status) << "children: " << children_of(starter.pid()).size()
                     << ", zombies: " << zombie_children(starter.pid()).size() << "\nfds before:\n"
                     << joined(fds_before) << "fds now:\n"
                     << joined(open_fds_of(starter.pid()));
  EXPECT_TRUE(starter.running()) << starter.output();
  // Exactly one generation serves, and it is the newest one started.
  Status listed = read_status_file(status);
  ASSERT_EQ(listed.size(), 1u) << read_file(status);
  EXPECT_EQ(listed[0].first, generations) << read_file(status);
  EXPECT_EQ(read_file(status).find("starting:"), std::string::npos) << read_file(status);
  // The status file names exactly the live workers, which are exactly start_server's children.
  EXPECT_EQ(children_of(starter.pid()), std::vector<pid_t>{listed[0].second});
  EXPECT_EQ(zombie_children(starter.pid()), std::vector<pid_t>{});
  EXPECT_EQ(request(addr), reply_of(listed[0].first, listed[0].second));
  // No descriptor leaked: the count and what they are (sockets differ by inode only).
  std::vector<std::string> fds_after = open_fds_of(starter.pid());
  EXPECT_EQ(fds_after.size(), fds_before.size()) << "before:\n"
                                                 << joined(fds_before) << "after:\n"
                                                 << joined(fds_after);
  // Every older generation was told to stop exactly once, and is gone.
  for (int gen = 1; gen < generations; ++gen) {
    auto r = report.find("ready", gen);
    if (!r) continue;  // never got that far (it was retired as soon as it was up)
    EXPECT_FALSE(process_alive(r->pid)) << "generation " << gen;
    EXPECT_LE(report.signals_for(r->pid).size(), 1u) << "generation " << gen << " signalled twice";
  }
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << requests
                                << " requests failed, e.g. " << failures.front();
}

TEST(Storm, ThousandHupsInATightLoopEndWithOneGenerationAndNothingLeaked) {
  storm("tight loop", 1000, std::chrono::microseconds(0));
}

TEST(Storm, ThousandHupsOneMillisecondApartEndWithOneGenerationAndNothingLeaked) {
  storm("1 ms apart", 1000, std::chrono::microseconds(1000));
}

}  // namespace
}  // namespace itest
