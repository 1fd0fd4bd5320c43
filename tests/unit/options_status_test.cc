// The options of issue 14: --status and --json (control modes) and --respawn-release.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "error.h"
#include "options.h"
#include "options_support.h"

namespace starter {
namespace {

using testing_support::usage_error;

TEST(OptionsStatus, StatusNeedsOnlyThePidFile) {
  Config c = parse_options({"--status", "--pid-file=/run/a.pid"}, {});
  EXPECT_EQ(c.mode, Config::Mode::kStatus);
  EXPECT_EQ(c.pid_file, "/run/a.pid");
  EXPECT_FALSE(c.json);
  c = parse_options({"--status", "--json", "--pid-file=/run/a.pid", "--status-file=/run/a.status"},
                    {});
  EXPECT_EQ(c.mode, Config::Mode::kStatus);
  EXPECT_TRUE(c.json);
  EXPECT_EQ(usage_error({"--status"}), "--status option requires --pid-file to be set as well");
}

TEST(OptionsStatus, JsonGoesWithStatusOrRestart) {
  Config c = parse_options({"--restart", "--json", "--pid-file=p", "--status-file=s"}, {});
  EXPECT_EQ(c.mode, Config::Mode::kRestart);
  EXPECT_TRUE(c.json);
  EXPECT_EQ(usage_error({"--json", "--port=80", "--", "app"}),
            "--json goes with --status or --restart");
  EXPECT_EQ(usage_error({"--stop", "--json", "--pid-file=p"}),
            "--json goes with --status or --restart");
}

TEST(OptionsStatus, RespawnReleaseDefaultsToServing) {
  EXPECT_TRUE(parse_options({"--port=80", "--", "app"}, {}).supervisor.respawn_serving_release);
  EXPECT_FALSE(parse_options({"--respawn-release=latest", "--port=80", "--", "app"}, {})
                   .supervisor.respawn_serving_release);
  EXPECT_TRUE(parse_options({"--respawn-release", "serving", "--port=80", "--", "app"}, {})
                  .supervisor.respawn_serving_release);
  EXPECT_EQ(usage_error({"--respawn-release=newest", "--port=80", "--", "app"}),
            "--respawn-release: unknown value 'newest' (expected 'serving' or 'latest')");
}

}  // namespace
}  // namespace starter
