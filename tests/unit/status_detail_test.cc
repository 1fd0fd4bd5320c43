// The status detail file (status_detail.h) and what --status prints from it (status_report.h,
// json.h): round trips, escaping, stale or foreign files refused, and the JSON contract.

#include "status_detail.h"

#include <gtest/gtest.h>

#include <string>

#include "json.h"
#include "status_report.h"

namespace starter {
namespace {

StatusDetail sample() {
  StatusDetail d;
  d.pid = 4242;
  d.version = "0.1.0";
  d.started_ms = 1'000'000;
  d.phase = "reloading";
  d.listeners = {{"8080", 3}, {"/run/app dir/app.sock", 4}};
  d.limits.interval_ms = 1000;
  d.limits.ready = "notify";
  d.limits.ready_timeout_ms = 30'000;
  d.limits.drain_timeout_ms = 0;
  d.limits.backoff_max_ms = 60'000;
  d.limits.kill_old_delay_ms = 1500;
  d.generations = {{2, 4250, "serving", 1'001'000, "/srv/app/releases/2"},
                   {3, 4261, "starting", 1'100'000, ""}};
  d.last_reload = StatusDetail::Reload{3, ReloadOutcome::kInProgress, 1'100'000, ""};
  return d;
}

TEST(StatusDetail, RoundTrips) {
  StatusDetail d = sample();
  EXPECT_EQ(parse_detail(format_detail(d)), d);
  d.last_reload = StatusDetail::Reload{3, ReloadOutcome::kFailed, 1'100'500,
                                       "generation 3 exited with status 1"};
  d.backoff = StatusDetail::Backoff{4, 1'200'000};
  d.limits.auto_restart_interval_ms = 360'000;
  d.limits.respawn_release = "latest";
  EXPECT_EQ(parse_detail(format_detail(d)), d);
  d.image = "/usr/bin/start_server";
  d.last_upgrade =
      StatusDetail::Upgrade{2, ReloadOutcome::kFailed, 1'300'000, 0, "the new binary\tis missing"};
  EXPECT_EQ(parse_detail(format_detail(d)), d);
  d.last_upgrade = StatusDetail::Upgrade{3, ReloadOutcome::kOk, 1'400'000, 4'321, ""};
  EXPECT_EQ(parse_detail(format_detail(d)), d);
}

TEST(StatusDetail, EscapesEveryByteThatWouldBreakALineOrAField) {
  StatusDetail d = sample();
  d.generations[0].release = "a\tb\nc\rd\\e\x01\x7f f\xff";
  d.last_reload->reason = "two\nlines";
  std::string text = format_detail(d);
  EXPECT_NE(text.find("a\\tb\\nc\\rd\\\\e\\x01\\x7f f\xff"), std::string::npos) << text;
  EXPECT_EQ(parse_detail(text), d);
}

TEST(StatusDetail, DocumentedExampleParses) {
  auto d = parse_detail(
      "start_server-detail "
      "1\npid\t4242\nversion\t0.1.0\nstarted\t81234567\nphase\tserving\nlistener\t8080\t3\n"
      "generation\t2\t4250\tserving\t81290011\t/srv/app/releases/2\n"
      "reload\t3\tfailed\t81301200\tgeneration 3 exited with status 1 before it was up\n"
      "limits\tinterval=1000\tready=interval\tready_timeout=60000\n");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->pid, 4242);
  EXPECT_EQ(d->listeners, (std::vector<StatusDetail::Listener>{{"8080", 3}}));
  EXPECT_EQ(d->generations.at(0).release, "/srv/app/releases/2");
  EXPECT_EQ(d->last_reload->outcome, ReloadOutcome::kFailed);
  EXPECT_EQ(d->limits.ready_timeout_ms, 60000);
}

TEST(StatusDetail, UnknownRecordsAndFieldsAreSkipped) {
  std::string text = format_detail(sample());
  text += "future\tsomething\n";
  text.insert(text.find("\nphase"), "\textra");  // a field added at the end of a record
  auto d = parse_detail(text);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->generations.size(), 2u);
}

TEST(StatusDetail, RefusesWhatIsNotAWholeFileOfThisVersion) {
  std::string text = format_detail(sample());
  EXPECT_EQ(parse_detail(""), std::nullopt);
  EXPECT_EQ(parse_detail("1:4250\n"), std::nullopt);  // the Perl status file
  EXPECT_EQ(parse_detail("start_server-detail 2\npid\t1\n"), std::nullopt);
  EXPECT_EQ(parse_detail(text.substr(0, text.size() - 1)), std::nullopt);        // cut short
  EXPECT_EQ(parse_detail("start_server-detail 1\nversion\tx\n"), std::nullopt);  // no pid
  EXPECT_EQ(parse_detail("start_server-detail 1\npid\t0\n"), std::nullopt);
  EXPECT_EQ(parse_detail("start_server-detail 1\npid\t1\ngeneration\t2\t-5\tserving\t1\t\n"),
            std::nullopt);
  EXPECT_EQ(parse_detail("start_server-detail 1\npid\t1\nreload\t2\tmaybe\t1\t\n"), std::nullopt);
  EXPECT_EQ(parse_detail("start_server-detail 1\npid\t1\nversion\tbad\\q\n"), std::nullopt);
  EXPECT_EQ(parse_detail("start_server-detail 1\npid\t1\nversion\tbad\\x4\n"), std::nullopt);
}

// --- json.h ------------------------------------------------------------------------------------

TEST(Json, StringsAreEscapedPerRfc8259) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("q\"b\\"), "\"q\\\"b\\\\\"");
  EXPECT_EQ(json_string("a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"");
  EXPECT_EQ(json_string(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(json_string(std::string("\0", 1)), "\"\\u0000\"");
}

TEST(Json, InvalidUtf8BecomesTheReplacementCharacter) {
  EXPECT_EQ(json_string("a\xff"), "\"a\\ufffd\"");
  EXPECT_EQ(json_string("\xc3"), "\"\\ufffd\"");                                   // cut short
  EXPECT_EQ(json_string("\xc0\xaf"), "\"\\ufffd\\ufffd\"");                        // overlong
  EXPECT_EQ(json_string("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");             // a surrogate
  EXPECT_EQ(json_string("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
}

TEST(Json, SecondsFromMilliseconds) {
  EXPECT_EQ(json_seconds(0), "0");
  EXPECT_EQ(json_seconds(1500), "1.5");
  EXPECT_EQ(json_seconds(60'000), "60");
  EXPECT_EQ(json_seconds(1), "0.001");
  EXPECT_EQ(json_seconds(1010), "1.01");
  EXPECT_EQ(json_seconds(-250), "-0.25");
  EXPECT_EQ(json_string_or_null(""), "null");
}

// --- status_report.h ---------------------------------------------------------------------------

constexpr long long kNow = 1'101'000;              // monotonic
constexpr long long kUnixNow = 1'796'000'000'000;  // 2026-11-30T00:53:20Z

TEST(StatusReport, JsonCarriesTheContract) {
  StatusDetail d = sample();
  d.last_reload =
      StatusDetail::Reload{3, ReloadOutcome::kFailed, 1'100'500, "generation 3 \"broke\""};
  d.backoff = StatusDetail::Backoff{2, 1'103'500};
  d.limits.auto_restart_interval_ms = 0;
  EXPECT_EQ(
      status_json(d, kNow, kUnixNow),
      "{\"pid\":4242,\"uptime_seconds\":101,\"version\":\"0.1.0\",\"phase\":\"reloading\","
      "\"listeners\":[{\"key\":\"8080\",\"fd\":3},{\"key\":\"/run/app dir/app.sock\",\"fd\":4}],"
      "\"generations\":[{\"generation\":2,\"pid\":4250,\"state\":\"serving\",\"age_seconds\":100,"
      "\"release\":\"/srv/app/releases/2\"},{\"generation\":3,\"pid\":4261,\"state\":\"starting\","
      "\"age_seconds\":1,\"release\":null}],"
      "\"last_reload\":{\"generation\":3,\"outcome\":\"failed\",\"reason\":\"generation 3 "
      "\\\"broke\\\"\","
      "\"at\":\"2026-11-30T00:53:19Z\"},"
      "\"backoff\":{\"failures\":2,\"next_attempt_in_seconds\":2.5},"
      "\"limits\":{\"interval\":1,\"ready\":\"notify\",\"ready_timeout\":30,\"drain_timeout\":0,"
      "\"backoff_max\":60,\"kill_old_delay\":1.5,\"auto_restart_interval\":null,"
      "\"respawn_release\":\"serving\"},"
      "\"image\":{\"path\":null,\"version\":\"0.1.0\"},\"upgrades\":0,\"last_upgrade\":null}\n");
}

TEST(StatusReport, JsonShowsTheImageAndTheLastUpgrade) {
  StatusDetail d = sample();
  d.image = "/usr/bin/start_server";
  d.last_upgrade = StatusDetail::Upgrade{3, ReloadOutcome::kOk, 1'100'000, 8'612, ""};
  std::string json = status_json(d, kNow, kUnixNow);
  EXPECT_NE(json.find("\"image\":{\"path\":\"/usr/bin/start_server\",\"version\":\"0.1.0\"},"
                      "\"upgrades\":3,\"last_upgrade\":{\"number\":3,\"outcome\":\"ok\","
                      "\"reason\":null,\"at\":\"2026-11-30T00:53:19Z\",\"took_ms\":8.612}}\n"),
            std::string::npos)
      << json;
  d.last_upgrade = StatusDetail::Upgrade{4, ReloadOutcome::kInProgress, 1'100'900, 0, ""};
  json = status_json(d, kNow, kUnixNow);
  EXPECT_NE(json.find("\"upgrades\":4,\"last_upgrade\":{\"number\":4,\"outcome\":"
                      "\"in-progress\",\"reason\":null,\"at\":\"2026-11-30T00:53:19Z\","
                      "\"took_ms\":null}"),
            std::string::npos)
      << json;
}

TEST(StatusReport, TableShowsTheImageAndTheLastUpgrade) {
  StatusDetail d = sample();
  std::string table = status_table(d, kNow, kUnixNow);
  EXPECT_NE(table.find("image:        unknown (start_server 0.1.0)\nlast upgrade: none\n"),
            std::string::npos)
      << table;
  d.image = "/usr/bin/start_server";
  d.last_upgrade = StatusDetail::Upgrade{2, ReloadOutcome::kFailed, 1'100'500, 2'100,
                                         "the new binary '/usr/bin/start_server' is missing"};
  table = status_table(d, kNow, kUnixNow);
  EXPECT_NE(
      table.find("image:        /usr/bin/start_server (start_server 0.1.0)\n"
                 "last upgrade: upgrade 2 failed at 2026-11-30T00:53:19Z (0.5s ago), took 2.1 "
                 "ms: the new binary '/usr/bin/start_server' is missing\n"),
      std::string::npos)
      << table;
}

TEST(StatusReport, JsonHasNullsWhenNothingHappenedYet) {
  StatusDetail d = sample();
  d.last_reload.reset();
  std::string json = status_json(d, kNow, kUnixNow);
  EXPECT_NE(json.find("\"last_reload\":null,\"backoff\":null,"), std::string::npos) << json;
}

TEST(StatusReport, JsonReloadOkHasANullReason) {
  StatusDetail d = sample();
  d.last_reload = StatusDetail::Reload{3, ReloadOutcome::kOk, 1'100'000, ""};
  std::string json = status_json(d, kNow, kUnixNow);
  EXPECT_NE(
      json.find(
          "{\"generation\":3,\"outcome\":\"ok\",\"reason\":null,\"at\":\"2026-11-30T00:53:19Z\"}"),
      std::string::npos)
      << json;
}

TEST(StatusReport, TableShowsEverythingInShortLines) {
  StatusDetail d = sample();
  d.last_reload = StatusDetail::Reload{3, ReloadOutcome::kFailed, 1'100'500,
                                       "generation 3 exited with status 1"};
  std::string table = status_table(d, kNow, kUnixNow);
  EXPECT_NE(table.find("start_server 0.1.0, pid 4242, up 1m41s, reloading\n"), std::string::npos)
      << table;
  EXPECT_NE(table.find("listeners:    8080 (fd 3), /run/app dir/app.sock (fd 4)\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("2           4250      serving   1m40s     /srv/app/releases/2\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("3           4261      starting  1.0s      -\n"), std::string::npos)
      << table;
  EXPECT_NE(table.find("last reload:  generation 3 failed at 2026-11-30T00:53:19Z (0.5s ago): "
                       "generation 3 exited"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("back-off:     none\n"), std::string::npos) << table;
  EXPECT_NE(
      table.find("limits:       interval 1s, ready notify, ready-timeout 30s, drain-timeout never"),
      std::string::npos)
      << table;
}

TEST(StatusReport, Durations) {
  EXPECT_EQ(describe_duration(0), "0.0s");
  EXPECT_EQ(describe_duration(1234), "1.2s");
  EXPECT_EQ(describe_duration(61'000), "1m01s");
  EXPECT_EQ(describe_duration(3'600'000 + 120'000), "1h02m");
  EXPECT_EQ(describe_duration(90'000'000), "1d01h");
  EXPECT_EQ(describe_duration(-5), "0.0s");
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace starter
