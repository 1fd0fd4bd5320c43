// The upgrade state (upgrade_state.h): round trips, a version-1 state written by an earlier
// release that must go on parsing, unknown records and fields skipped, and anything else
// refused with a one-line reason naming the line.

#include "upgrade_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace starter {
namespace {

UpgradeState sample_state() {
  UpgradeState s;
  s.exe_path = "/usr/bin/start_server";
  s.exe_fd = 5;
  s.original_mask = {10, 12};
  s.started_ms = 81'000'000;
  s.listeners = {{"8080", 3, "", false, 0, 0, 2},
                 {"/run/app dir/app.sock", 4, "", true, 2049, 131, 2}};
  s.pid_file = "/run/app.pid";
  s.pid_file_fd = 7;
  s.status_file = "/run/app.status";
  s.status_written = true;
  s.detail_written = true;
  s.log_own_fd = 9;
  s.log_reader_fd = 8;
  s.logger_pid = 4300;
  s.envdir_names = {"DATABASE_URL"};
  s.notify = {{3, 11, std::string("\0start_server/4242/3", 20)}};
  auto& v = s.supervisor;
  v.phase = "reloading";
  v.generation = 3;
  v.last_spawn = 81'290'011'000'000;
  v.last_restart = 81'000'000'000'000;
  v.probation_end = 81'291'011'000'000;
  v.reload_queued = true;
  v.last_status = "generation 2 (pid 4250) serving";
  v.upgrades = 2;
  v.upgrade_requested = 81'300'000'000'000;
  UpgradeState::Worker current;
  current.generation = 2;
  current.pid = 4250;
  current.role = "current";
  current.spawned = 81'200'000'000'000;
  current.release = {"/srv/app/releases/2/bin/app", "/srv/app/releases/2", "/srv/app/releases/2"};
  UpgradeState::Worker starting;
  starting.generation = 3;
  starting.pid = 4261;
  starting.spawned = 81'290'011'000'000;
  starting.status = "warming up";
  starting.descendants = {4262, 4263};
  starting.release = {"/srv/app/releases/3/bin/app", "/srv/app/releases/3", "/srv/app/releases/3"};
  v.workers = {current, starting};
  v.last_reload = UpgradeState::Reload{3, ReloadOutcome::kInProgress, 81'290'011'000'000, ""};
  return s;
}

UpgradeState parsed(std::string_view text) {
  auto result = parse_upgrade_state(text);
  if (auto* reason = std::get_if<std::string>(&result)) ADD_FAILURE() << *reason << "\n" << text;
  auto* state = std::get_if<UpgradeState>(&result);
  return state ? *state : UpgradeState{};
}

std::string refusal(std::string_view text) {
  auto result = parse_upgrade_state(text);
  auto* reason = std::get_if<std::string>(&result);
  EXPECT_TRUE(reason) << "accepted: " << text;
  return reason ? *reason : std::string();
}

TEST(UpgradeState, RoundTrips) {
  UpgradeState s = sample_state();
  EXPECT_EQ(parsed(format_upgrade_state(s)), s);
}

TEST(UpgradeState, RoundTripsEveryOptionalPart) {
  UpgradeState s = sample_state();
  s.listeners[0].fd_store = true;
  auto& v = s.supervisor;
  v.phase = "retiring";
  v.respawn_at = 5;
  v.kill_old_at = 6;
  v.probation_end.reset();
  v.failures = 4;
  v.stop_signal = 3;
  v.starting_error = "execve(/srv/app/bin/app) failed, No such file or directory";
  v.failed_generation = 7;
  v.retrying = true;
  v.failure = "generation 7 exited with status 1\tbefore\nit was up\\";
  v.respawn_of = 2;
  v.kill_old_delay_ms = 10'000;  // what --envdir set at run time
  v.auto_restart = true;
  v.auto_restart_interval_ms = 60'000;
  v.workers[0].role = "old";
  v.workers[0].signalled = true;
  v.workers[0].kill_at = 81'300'000'000'000;
  v.workers[0].killed = true;
  v.workers[0].last_signal = 9;
  v.died_serving = v.workers[0];
  v.last_reload = UpgradeState::Reload{7, ReloadOutcome::kFailed, 9, "exited\x01"};
  s.refused = "START_SERVER_TEST_REFUSE_STATE is set";
  EXPECT_EQ(parsed(format_upgrade_state(s)), s);

  UpgradeState bare;  // no pid file, status file, log, workers or reload
  bare.exe_path = "/x";
  EXPECT_EQ(parsed(format_upgrade_state(bare)), bare);
}

TEST(UpgradeState, FdsAreEveryDescriptorItNames) {
  EXPECT_EQ(sample_state().fds(), (std::vector<int>{5, 3, 4, 7, 9, 8, 11}));
  UpgradeState bare;
  bare.exe_fd = 4;
  EXPECT_EQ(bare.fds(), std::vector<int>{4});
}

// Written by hand once, as version 1 is documented; a later release must still read it.
TEST(UpgradeState, CheckedInVersion1StillParses) {
  std::ifstream in(UNIT_DATA_DIR "/upgrade_state_v1.txt", std::ios::binary);
  ASSERT_TRUE(in) << UNIT_DATA_DIR "/upgrade_state_v1.txt";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(parsed(text.str()), sample_state());
}

TEST(UpgradeState, UnknownRecordsAndFieldsAreSkipped) {
  std::string text = format_upgrade_state(sample_state());
  text.insert(text.find("\nlistener") + 1, "hugepages\tcount=3\tfd=77\n");
  text.insert(text.find("\tmask="), "\tcolour=blue");
  text += "\n";  // an empty line is no record
  EXPECT_EQ(parsed(text), sample_state());
}

TEST(UpgradeState, ANewerVersionIsRefused) {
  std::string text = format_upgrade_state(sample_state());
  text.replace(0, text.find('\n'), "start_server-state 2");
  EXPECT_EQ(refusal(text), "state version 2 is newer than this start_server reads (1)");
}

TEST(UpgradeState, GarbageIsRefusedWithOneLineNamingIt) {
  EXPECT_EQ(refusal(""), "not a start_server upgrade state (first line '')");
  EXPECT_EQ(refusal("#!/bin/sh\nexit 0\n"),
            "not a start_server upgrade state (first line '#!/bin/sh')");
  EXPECT_EQ(refusal("start_server-state x\n"), "bad state version 'x'");
  EXPECT_EQ(refusal("start_server-state 0\n"), "bad state version '0'");
  EXPECT_EQ(refusal("start_server-state 1"), "the state has no records");
  EXPECT_EQ(refusal("start_server-state 1\nsupervisor\tphase=idle\tgeneration=0\n"),
            "the state has no image record");
  EXPECT_EQ(refusal("start_server-state 1\nimage\tpath=/x\texe_fd=4\n"),
            "the state has no supervisor record");

  std::string good = format_upgrade_state(sample_state());
  auto broken = [&](std::string_view from, std::string_view to) {
    std::string text = good;
    std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return refusal(text.replace(at, from.size(), to));
  };
  EXPECT_EQ(broken("\tpid=4250", "\tpid=-1"), "line 12: worker: bad pid '-1'");
  EXPECT_EQ(broken("\tpid=4250", "\tpid=42x"), "line 12: worker: bad pid '42x'");
  EXPECT_EQ(broken("\tpid=4250", ""), "line 12: worker: no pid");
  EXPECT_EQ(broken("role=current", "role=boss"), "line 12: worker: bad role 'boss'");
  EXPECT_EQ(broken("phase=reloading", "phase=dancing"), "line 11: supervisor: bad phase 'dancing'");
  EXPECT_EQ(broken("reload_queued=1", "reload_queued=yes"),
            "line 11: supervisor: bad reload_queued 'yes'");
  EXPECT_EQ(broken("probation_end=81291011000000", "probation_end=soon"),
            "line 11: supervisor: bad probation_end 'soon'");
  EXPECT_EQ(broken("\tspawned=81200000000000", "\tspawned=-"), "line 12: worker: bad spawned '-'");
  EXPECT_EQ(broken("descendants=4262,4263", "descendants=4262,,4263"),
            "line 13: worker: bad descendants '4262,,4263'");
  EXPECT_EQ(broken("key=8080\tfd=3\t", "key=8080\tfd=-2\t"), "line 3: listener: bad fd '-2'");
  EXPECT_EQ(broken("key=8080", "key"), "line 3: listener: field 'key' has no '='");
  EXPECT_EQ(broken("key=8080", "key=80\\q80"), "line 3: listener: bad escape in key");
  EXPECT_EQ(broken("outcome=in-progress", "outcome=maybe"), "line 14: reload: bad outcome 'maybe'");
  good.pop_back();
  EXPECT_EQ(refusal(good), "line 14: cut short (no newline)");
}

TEST(UpgradeState, EscapedTextSurvivesEveryByte) {
  UpgradeState s = sample_state();
  std::string every;
  for (int c = 1; c < 256; ++c) every += static_cast<char>(c);
  s.supervisor.failure = every;
  s.listeners[0].key = "a=b\tc";  // '=' in a value: only the first one splits
  std::string text = format_upgrade_state(s);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 14) << text;
  EXPECT_EQ(parsed(text), s);
}

}  // namespace
}  // namespace starter
