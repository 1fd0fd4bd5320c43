// The status file's text: what we write, and what we read back from ours and from Perl's.

#include "status_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ostream>
#include <string>

#include "status_print.h"

namespace starter {

namespace {

StatusSnapshot snapshot(std::vector<GenerationPid> live, unsigned long failed_generation = 0,
                        std::string failure = "") {
  StatusSnapshot s;
  s.live = std::move(live);
  s.failed_generation = failed_generation;
  s.failure = std::move(failure);
  return s;
}

TEST(FormatStatus, OneLinePerGeneration) {
  EXPECT_EQ(format_status(snapshot({})), "");
  EXPECT_EQ(format_status(snapshot({{1, 4242}})), "1:4242\n");
  EXPECT_EQ(format_status(snapshot({{1, 4242}, {2, 4250}})), "1:4242\n2:4250\n");
  EXPECT_EQ(format_status(snapshot({{9, 90}, {10, 100}})),
            "9:90\n10:100\n");  // numeric, not Perl's lexical
}

TEST(FormatStatus, ReloadFailedLine) {
  EXPECT_EQ(
      format_status(snapshot({{1, 101}}, 2, "generation 2 exited with status 1 before it was up")),
      "1:101\nreload-failed:generation 2 exited with status 1 before it was up\n");
  // A reason that does not name its generation gets it in front.
  EXPECT_EQ(format_status(snapshot({}, 3, "x")), "reload-failed:generation 3 x\n");
}

TEST(FormatStatus, StartingLine) {
  StatusSnapshot s = snapshot({{1, 101}});
  s.starting = GenerationPid{2, 202};
  EXPECT_EQ(format_status(s), "1:101\nstarting:generation 2 pid 202\n");
}

// ruby-server-starter reads the file as `readlines.map { split(':') }.to_h`, which raises
// on a line with two colons; Perl's readers skip any line not matching /^(\d+):/.
TEST(FormatStatus, LinesOfOursHaveExactlyOneColonAndNoLeadingDigit) {
  StatusSnapshot s =
      snapshot({{1, 101}}, 2, "generation 2 could not be started (execve(/a:b): No such file)");
  s.starting = GenerationPid{3, 303};
  s.notes = {"limits:ready=notify a:b", "backoff:2 failed starts in a row"};
  std::string text = format_status(s);
  std::size_t start = 0;
  int ours = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl - start);
    start = nl + 1;
    if (std::isdigit(static_cast<unsigned char>(line[0]))) continue;
    ++ours;
    EXPECT_EQ(std::count(line.begin(), line.end(), ':'), 1) << line;
  }
  EXPECT_EQ(ours, 4);
}

TEST(FormatStatus, ReasonStaysOnOneLine) {
  std::string text = format_status(snapshot({{1, 101}}, 2, "generation 2 first\nsecond"));
  EXPECT_EQ(text, "1:101\nreload-failed:generation 2 first second\n");
}

TEST(ParseStatus, RoundTrip) {
  StatusSnapshot starting = snapshot({{1, 4242}});
  starting.starting = GenerationPid{2, 4250};
  const StatusSnapshot cases[] = {
      snapshot({}),
      snapshot({{1, 4242}}),
      snapshot({{1, 4242}, {2, 4250}, {10, 5000}}),
      snapshot({{1, 101}}, 2,
               "generation 2 could not be started (execve(/srv/app) failed, No such file)"),
      snapshot({}, 7, "generation 7 was not ready within 30s"),
      starting,
  };
  for (const auto& s : cases) {
    SCOPED_TRACE(format_status(s));
    EXPECT_EQ(parse_status(format_status(s)), s);
  }
}

TEST(ParseStatus, PerlsLexicalOrderIsReadInNumericOrder) {
  StatusSnapshot s = parse_status("1:100\n10:110\n11:111\n2:102\n9:109\n");
  EXPECT_EQ(s.live,
            (std::vector<GenerationPid>{{1, 100}, {2, 102}, {9, 109}, {10, 110}, {11, 111}}));
  EXPECT_EQ(s.failure, "");
}

TEST(ParseStatus, UnknownLinesAreSkipped) {
  StatusSnapshot s = parse_status("garbage\n1:100\n\nx:1\n2:\n:5\n3:abc\n-4:7\n 5:8\n6:9 \n4:200");
  EXPECT_EQ(s.live,
            (std::vector<GenerationPid>{{1, 100}, {4, 200}}));  // the last line has no newline
  EXPECT_EQ(s.failure, "");
}

// Found by fuzz_status: a pid above INT_MAX wrapped to a negative pid_t.
TEST(ParseStatus, PidsBeyondPidTAreSkipped) {
  StatusSnapshot s = parse_status(
      "1:2147483648\n2:4294967295\n3:2147483647\nstarting:generation 4 pid 4294967296\n");
  EXPECT_EQ(s.live, (std::vector<GenerationPid>{{3, 2147483647}}));
  EXPECT_FALSE(s.starting);
}

TEST(ParseStatus, EmptyText) { EXPECT_EQ(parse_status(""), StatusSnapshot{}); }

TEST(StatusNotes, LimitsAndBackoff) {
  using namespace std::chrono_literals;
  EXPECT_EQ(limits_note(10s, 0s, 60s),
            "limits:ready=notify ready-timeout=10s drain-timeout=0s backoff-max=60s");
  EXPECT_EQ(backoff_note(2), "backoff:2 failed starts in a row");
  StatusSnapshot s = snapshot({{1, 101}});
  s.notes = {limits_note(1500ms, 5s, 1s), backoff_note(3)};
  EXPECT_EQ(format_status(s),
            "1:101\nlimits:ready=notify ready-timeout=1500ms drain-timeout=5s backoff-max=1s\n"
            "backoff:3 failed starts in a row\n");
}

TEST(DurationText, WholeSecondsOrMilliseconds) {
  using namespace std::chrono_literals;
  EXPECT_EQ(duration_text(0ms), "0s");
  EXPECT_EQ(duration_text(5s), "5s");
  EXPECT_EQ(duration_text(1500ms), "1500ms");
}

TEST(StatusLine, ByPhase) {
  StatusLineFacts f;
  EXPECT_EQ(status_line(f), "idle");
  f.phase = SupervisorPhase::kStarting;
  f.spawning = 1;
  EXPECT_EQ(status_line(f), "starting generation 1");
  f.starting = GenerationPid{1, 101};
  EXPECT_EQ(status_line(f), "starting generation 1 (pid 101)");
  f.starting.reset();
  f.spawning.reset();
  f.failures = 3;
  EXPECT_EQ(status_line(f), "no generation serving, retrying shortly, 3 failed starts in a row");
  f = StatusLineFacts{};
  f.phase = SupervisorPhase::kReloading;
  f.current = GenerationPid{1, 101};
  f.current_status = "42 requests";
  EXPECT_EQ(status_line(f),
            "generation 1 (pid 101) serving, starting a new generation (worker: 42 requests)");
  f.current_status.clear();
  f.starting = GenerationPid{2, 202};
  f.failure = "generation 2 exited with status 1 before it was up";
  f.retrying = true;
  EXPECT_EQ(status_line(f),
            "generation 1 (pid 101) serving, starting generation 2 (pid 202); last restart "
            "failed: generation 2 exited with status 1 before it was up, retrying");
  f = StatusLineFacts{};
  f.phase = SupervisorPhase::kRetiring;
  f.current = GenerationPid{2, 202};
  f.old_draining = 1;
  EXPECT_EQ(
      status_line(f),
      "generation 2 (pid 202) serving, 1 old draining, old ones signalled after --kill-old-delay");
  f = StatusLineFacts{};
  f.phase = SupervisorPhase::kStopping;
  f.workers = 2;
  EXPECT_EQ(status_line(f), "stopping, waiting for 2 worker(s) to exit");
  f.workers = 0;
  EXPECT_EQ(status_line(f), "stopped");
}

TEST(PhaseName, AsStatusShowsIt) {
  EXPECT_STREQ(phase_name(SupervisorPhase::kIdle), "idle");
  EXPECT_STREQ(phase_name(SupervisorPhase::kServing), "serving");
  EXPECT_STREQ(phase_name(SupervisorPhase::kStopping), "stopping");
}

TEST(ParseStatus, ReloadFailedLineAnywhere) {
  StatusSnapshot s = parse_status("reload-failed:generation 3 could not be started\n2:20\n");
  EXPECT_EQ(s.live, (std::vector<GenerationPid>{{2, 20}}));
  EXPECT_EQ(s.failed_generation, 3u);
  EXPECT_EQ(s.failure, "generation 3 could not be started");
}

TEST(ParseStatus, MalformedLinesOfOursAreSkipped) {
  for (const std::string text :
       {"reload-failed:x:why\n", "reload-failed:\n", "reload-failed:generation x\n",
        "starting:generation 2\n", "starting:generation 2 pid x\n", "starting:2:20\n"}) {
    SCOPED_TRACE(text);
    StatusSnapshot s = parse_status(text);
    EXPECT_TRUE(s.live.empty());
    EXPECT_EQ(s.failure, "");
    EXPECT_FALSE(s.starting);
  }
}

}  // namespace
}  // namespace starter
