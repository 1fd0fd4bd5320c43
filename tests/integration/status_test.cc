// `start_server --status [--json]`, `--restart --json` and respawns that keep the serving
// release (issue 14, items 1-3), as an operator and a playbook see them: the real binary, the
// fake worker, and JSON checked by Python's json module (the parser a playbook's tools use).

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include <gtest/gtest.h>

#include "harness.h"
#include "reliability_support.h"

namespace itest {
namespace {

const std::string kPython = "/usr/bin/python3";

#define SKIP_WITHOUT_PYTHON()                                                         \
  do {                                                                                \
    if (access(kPython.c_str(), X_OK) != 0) GTEST_SKIP() << kPython << " is missing"; \
  } while (0)

/// Evaluates the Python expression `expr` on the JSON text `json` (bound to `d`) and returns
/// what it prints, or "INVALID: ..." when the text is not one valid JSON object.
std::string json_eval(const TempDir& dir, const std::string& json, const std::string& expr) {
  std::string file = dir / "out.json";
  write_file(file, json);
  auto r = run_command({kPython, "-c",
                        "import json,sys\n"
                        "d = json.load(open(sys.argv[1]))\n"
                        "assert isinstance(d, dict)\n"
                        "print(eval(sys.argv[2]))",
                        file, expr});
  return r.status == 0 ? r.out.substr(0, r.out.find_last_not_of('\n') + 1)
                       : "INVALID: " + r.err + json;
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

TEST(Status, TableAndJsonDescribeTheRunningDaemon) {
  SKIP_WITHOUT_PYTHON();
  TempDir dir;
  Daemon d(dir, {"--interval=1"}, worker_args(dir));
  ASSERT_UP(d);
  std::string pid = std::to_string(d.starter.pid()), pid1 = std::to_string(d.pid1);

  auto table = d.status_cmd(false);
  EXPECT_EQ(table.status, 0) << table.text();
  EXPECT_EQ(table.err, "");
  EXPECT_NE(table.out.find(", pid " + pid + ", up "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("listeners:    127.0.0.1:0 (fd 3)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("\n1           " + pid1), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(" serving "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("last reload:  none"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("back-off:     none"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("limits:       interval 1s, ready interval"), std::string::npos)
      << table.out;

  auto json = d.status_cmd(true);
  ASSERT_EQ(json.status, 0) << json.text();
  EXPECT_EQ(json.out.find('\n'), json.out.size() - 1) << "one line: " << json.out;
  EXPECT_EQ(json_eval(dir, json.out, "d['pid']"), pid);
  EXPECT_EQ(json_eval(dir, json.out,
                      "[(g['generation'], g['pid'], g['state']) for g in d['generations']]"),
            "[(1, " + pid1 + ", 'serving')]");
  EXPECT_EQ(json_eval(dir, json.out,
                      "d['uptime_seconds'] >= 0 and d['generations'][0]['age_seconds'] >= 1"),
            "True");
  EXPECT_EQ(json_eval(dir, json.out,
                      "d['generations'][0]['release'] == '" + real_path(kFakeWorker) + "'"),
            "True");
  EXPECT_EQ(json_eval(dir, json.out, "d['listeners']"), "[{'key': '127.0.0.1:0', 'fd': 3}]");
  EXPECT_EQ(
      json_eval(dir, json.out, "(d['last_reload'], d['backoff'], type(d['version']).__name__)"),
      "(None, None, 'str')");
  EXPECT_EQ(json_eval(dir, json.out, "sorted(d['limits'].items())"),
            "[('auto_restart_interval', None), ('backoff_max', 60), ('drain_timeout', 0), "
            "('interval', 1), "
            "('kill_old_delay', 0), ('ready', 'interval'), ('ready_timeout', 60), "
            "('respawn_release', 'serving')]");
}

TEST(Status, RestartJsonGivesTheOutcomeAndTheReasonAndStatusRecordsIt) {
  SKIP_WITHOUT_PYTHON();
  TempDir dir;
  std::string fail = dir / "fail";
  // --reload-retry=off: the next generation is the next --restart's, not a background retry's.
  Daemon d(dir, {"--interval=1", "--reload-retry=off"},
           worker_args(dir, {"--fail-if-exists=" + fail}));
  ASSERT_UP(d);
  std::string pid1 = std::to_string(d.pid1);

  write_file(fail, "");
  auto failed = d.restart_json();
  EXPECT_EQ(failed.status, 2) << failed.text();
  EXPECT_EQ(failed.err_lines().size(), 1u) << failed.err;  // the line for the journal stays
  EXPECT_EQ(json_eval(dir, failed.out, "(d['outcome'], d['generation'], d['pids'])"),
            "('failed', 2, [" + pid1 + "])");
  EXPECT_EQ(json_eval(dir, failed.out, "d['reason']"),
            "generation 2 exited with status 1 before it was up");

  auto status = d.status_cmd(true);
  ASSERT_EQ(status.status, 0) << status.text();
  EXPECT_EQ(
      json_eval(dir, status.out, "(d['last_reload']['generation'], d['last_reload']['outcome'])"),
      "(2, 'failed')");
  EXPECT_EQ(json_eval(dir, status.out, "d['last_reload']['reason']"),
            "generation 2 exited with status 1 before it was up");
  EXPECT_EQ(json_eval(dir, status.out, "d['last_reload']['at'][:2] + d['last_reload']['at'][-1]"),
            "20Z");
  EXPECT_EQ(json_eval(dir, status.out, "[(g['generation'], g['state']) for g in d['generations']]"),
            "[(1, 'serving')]");
  auto table = d.status_cmd(false);
  EXPECT_NE(table.out.find("last reload:  generation 2 failed at "), std::string::npos)
      << table.out;

  unlink(fail.c_str());
  auto ok = d.restart_json();
  EXPECT_EQ(ok.status, 0) << ok.text();
  EXPECT_EQ(ok.err, "");
  auto ready3 = d.report.wait_for_ready(3);
  ASSERT_TRUE(ready3);
  EXPECT_EQ(json_eval(dir, ok.out, "(d['outcome'], d['generation'], d['pids'], d['reason'])"),
            "('ok', 3, [" + std::to_string(*ready3) + "], None)");
  status = d.status_cmd(true);
  EXPECT_EQ(json_eval(dir, status.out,
                      "(d['last_reload']['generation'], d['last_reload']['outcome'], "
                      "d['last_reload']['reason'])"),
            "(3, 'ok', None)");
}

TEST(Status, RestartJsonSaysTimeout) {
  SKIP_WITHOUT_PYTHON();
  TempDir dir;
  Daemon d(dir, {"--interval=3"}, worker_args(dir));  // each generation needs 3 s to be up
  ASSERT_TRUE(d.pid1 > 0) << d.starter.output();
  ASSERT_TRUE(wait_until([&] { return read_status_file(d.status) == Status{{1, d.pid1}}; }, 15s));
  auto r = run_starter({"--restart", "--json", "--restart-timeout=1", "--pid-file=" + d.pid_file,
                        "--status-file=" + d.status});
  EXPECT_EQ(r.status, 4) << r.text();
  EXPECT_EQ(json_eval(dir, r.out, "(d['outcome'], d['generation'], d['pids'])"),
            "('timeout', 2, [" + std::to_string(d.pid1) + "])");
  EXPECT_EQ(json_eval(dir, r.out, "d['reason'].startswith('restart timed out after 1s')"), "True");
}

TEST(Status, NotRunningIsExitThreeWithOneLine) {
  SKIP_WITHOUT_PYTHON();
  TempDir dir;
  std::string pid_file = dir / "pid";
  for (bool json : {false, true}) {
    std::vector<std::string> args{"--status", "--pid-file=" + pid_file};
    if (json) args.push_back("--json");
    auto r = run_starter(args);
    EXPECT_EQ(r.status, 3) << r.text();
    EXPECT_EQ(r.out, "");
    ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
    EXPECT_EQ(r.err_lines()[0],
              "start_server: no running start_server holds the pid file '" + pid_file + "'");
  }
  // A pid file left behind by a start_server that was killed: nobody holds its lock.
  write_file(pid_file, std::to_string(getpid()) + "\n");
  write_file(dir / "pid.detail", "start_server-detail 1\npid\t" + std::to_string(getpid()) + "\n");
  auto r = run_starter({"--status", "--json", "--pid-file=" + pid_file});
  EXPECT_EQ(r.status, 3) << r.text();
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;

  auto restart = run_starter(
      {"--restart", "--json", "--pid-file=" + pid_file, "--status-file=" + (dir / "status")});
  EXPECT_EQ(restart.status, 3) << restart.text();
  EXPECT_EQ(json_eval(dir, restart.out, "(d['outcome'], d['generation'], d['pids'])"),
            "('not-running', None, [])");
  EXPECT_EQ(json_eval(dir, restart.out, "d['reason']"),
            "no running start_server holds the pid file '" + pid_file + "'");
}

TEST(Status, JsonNeedsStatusOrRestartAndStatusNeedsAPidFile) {
  auto r = run_starter({"--json", "--port=0", "--", kFakeWorker});
  EXPECT_EQ(r.status, 1) << r.text();
  EXPECT_EQ(r.err_lines().size(), 1u) << r.err;
  r = run_starter({"--status"});
  EXPECT_EQ(r.status, 1) << r.text();
  EXPECT_NE(r.err.find("--pid-file"), std::string::npos) << r.err;
}

TEST(Status, DetailFileIsBesideThePidFileAndRemovedAtExit) {
  TempDir dir;
  Daemon d(dir, {"--interval=0"}, worker_args(dir));
  ASSERT_UP(d);
  std::string detail = d.pid_file + ".detail";
  ASSERT_TRUE(wait_until([&] {
    return read_file(detail).find("\tserving\t") != std::string::npos;
  })) << read_file(detail);
  // Perl's readers see only what they always saw.
  EXPECT_EQ(read_file(d.status), "1:" + std::to_string(d.pid1) + "\n");
  d.starter.signal(SIGTERM);
  EXPECT_EQ(d.starter.wait_exit(), 0);
  EXPECT_FALSE(file_exists(detail));
  EXPECT_FALSE(file_exists(d.pid_file));
}

TEST(Status, WorksForAUserWhoCanOnlyReadTheFiles) {
  SKIP_WITHOUT_NOBODY();
  SKIP_WITHOUT_PYTHON();
  TempDir dir;
  chmod(dir.path().c_str(), 0711);  // nobody may reach the files by name, not list them
  Daemon d(dir, {"--interval=0"}, worker_args(dir));
  ASSERT_UP(d);
  ASSERT_TRUE(wait_until([&] { return file_exists(d.pid_file + ".detail"); }));
  auto r = run_command(
      concat({kSetpriv}, as_nobody_args({"--status", "--json", "--pid-file=" + d.pid_file})));
  EXPECT_EQ(r.status, 0) << r.text();
  EXPECT_EQ(json_eval(dir, r.out, "[(g['generation'], g['pid']) for g in d['generations']]"),
            "[(1, " + std::to_string(d.pid1) + ")]");
  // A pid file it may not read is not "not running": one line saying why, exit 1.
  chmod(d.pid_file.c_str(), 0600);
  r = run_command(concat({kSetpriv}, as_nobody_args({"--status", "--pid-file=" + d.pid_file})));
  EXPECT_EQ(r.status, 1) << r.text();
  ASSERT_EQ(r.err_lines().size(), 1u) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

// --- respawns keep the serving release ----------------------------------------------------------

/// releases/A/run runs the fake worker with RELEASE=A; releases/B/run is broken (exits 1 at
/// once); `current` points at A.
struct Releases {
  explicit Releases(const TempDir& dir)
      : current(dir / "current"), a(dir / "releases/A/run"), b(dir / "releases/B/run") {
    make_dir(dir / "releases");
    make_dir(dir / "releases/A");
    make_dir(dir / "releases/B");
    write_file(a,
               "#!/bin/sh\nRELEASE=A exec " + kFakeWorker + " --report=" + dir.report() +
                   " --env=RELEASE\n",
               0755);
    write_file(b, "#!/bin/sh\necho broken >>" + (dir / "broken") + "\nexit 1\n", 0755);
    point_at(dir, "A");
  }
  /// Switches `current` atomically (symlink, then rename over it), as deploy tools do.
  void point_at(const TempDir& dir, const std::string& release) const {
    std::string tmp = dir / "current.new";
    unlink(tmp.c_str());
    if (symlink(("releases/" + release).c_str(), tmp.c_str()) != 0 ||
        rename(tmp.c_str(), current.c_str()) != 0)
      throw std::runtime_error("cannot switch " + current);
  }
  std::string program() const { return current + "/run"; }

  std::string current, a, b;
};

/// Serves A through `current`, switches `current` to the broken B, sees the reload fail, then
/// kills the serving worker: returns after the respawn (generation 3) was logged.
std::string crash_after_a_failed_deploy(const TempDir& dir, const std::vector<std::string>& options,
                                        Daemon*& out, std::unique_ptr<Daemon>& holder) {
  Releases releases(dir);
  holder =
      std::make_unique<Daemon>(dir, options, std::vector<std::string>{"--", releases.program()});
  out = holder.get();
  Daemon& d = *holder;
  if (!d.up()) return "generation 1 never became ready and listed\n" + d.why();
  if (d.report.env(1, "RELEASE") != "A") return "generation 1 did not run release A";
  releases.point_at(dir, "B");
  auto r = d.restart_json();
  if (r.status != 2) return "the reload to B did not fail: " + r.text();
  kill(d.pid1, SIGKILL);
  if (!wait_until(
          [&] { return d.starter.output().find("generation 3 respawns") != std::string::npos; }))
    return "no respawn logged\n" + d.starter.output();
  return "";
}

TEST(RespawnRelease, ACrashAfterAFailedDeployRespawnsTheServingRelease) {
  SKIP_WITHOUT_PYTHON();
  TempDir dir;
  Daemon* d = nullptr;
  std::unique_ptr<Daemon> holder;
  std::string why =
      crash_after_a_failed_deploy(dir, {"--interval=1", "--reload-retry=off"}, d, holder);
  ASSERT_EQ(why, "");
  auto ready3 = d->report.wait_for_ready(3);
  ASSERT_TRUE(ready3) << d->starter.output();
  EXPECT_EQ(d->report.env(3, "RELEASE"), "A");
  EXPECT_FALSE(file_exists(dir / "broken") && read_file(dir / "broken") != "broken\n")
      << "B ran more than once (the failed reload): " << read_file(dir / "broken");
  std::string a = real_path(dir / "releases/A/run");
  EXPECT_NE(
      d->starter.output().find(
          "generation 3 respawns the release of generation 1, the last one serving: '" + a + "'"),
      std::string::npos)
      << d->starter.output();
  ASSERT_TRUE(wait_until([&] { return read_status_file(d->status) == Status{{3, *ready3}}; }));
  auto status = d->status_cmd(true);
  EXPECT_EQ(json_eval(dir, status.out,
                      "[(g['generation'], g['state'], g['release']) for g in d['generations']]"),
            "[(3, 'serving', '" + a + "')]");

  // A deploy resolves afresh: a HUP now runs B (and fails again), A keeps serving.
  auto r = d->restart_json();
  EXPECT_EQ(r.status, 2) << r.text();
  EXPECT_EQ(read_file(dir / "broken"), "broken\nbroken\n");
}

TEST(RespawnRelease, WithLatestTheRespawnRunsWhatCurrentPointsAt) {
  TempDir dir;
  Daemon* d = nullptr;
  std::unique_ptr<Daemon> holder;
  std::string why = crash_after_a_failed_deploy(
      dir, {"--interval=1", "--reload-retry=off", "--respawn-release=latest"}, d, holder);
  ASSERT_EQ(why, "");
  std::string b = real_path(dir / "releases/B/run");
  EXPECT_NE(d->starter.output().find(
                "generation 3 respawns the latest release (--respawn-release=latest): '" + b + "'"),
            std::string::npos)
      << d->starter.output();
  EXPECT_TRUE(wait_until([&] { return read_file(dir / "broken") == "broken\nbroken\n"; }))
      << "B did not run for the respawn: " << d->starter.output();
  EXPECT_FALSE(d->report.find("ready", 3));
}

TEST(RespawnRelease, DirThroughASymlinkIsKeptToo) {
  TempDir dir;
  Releases releases(dir);
  Daemon d(dir, {"--interval=1", "--dir=" + releases.current}, {"--", "./run"});
  ASSERT_UP(d);
  releases.point_at(dir, "B");
  kill(d.pid1, SIGKILL);
  auto ready2 = d.report.wait_for_ready(2);
  ASSERT_TRUE(ready2) << d.starter.output();
  EXPECT_EQ(d.report.env(2, "RELEASE"), "A");
  // The worker may report before start_server has logged its spawn.
  EXPECT_TRUE(wait_until([&] {
    return d.starter.output().find(
               "generation 2 respawns the release of generation 1, the last one serving: '" +
               real_path(dir / "releases/A") + "'") != std::string::npos;
  })) << d.starter.output();
}

}  // namespace
}  // namespace itest
