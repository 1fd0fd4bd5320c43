#pragma once
/// The one "start_server with generation 1 up" fixture of the integration tests: a running
/// start_server with a pid file and a status file, and its first generation awaited until it
/// serves and the status file lists it alone. Tests then reload it, restart it, ask for its
/// status or stop it, and look at what changed.

#include <sys/types.h>

#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"
#include "files.h"
#include "processes.h"
#include "report.h"

namespace itest {

/// Writes dir/worker.sh, which execs the fake worker with the flags in dir/flags as they are
/// when start_server spawns it, and dir/flags with `first_flags`; returns the script's path.
/// The command line is the same for every generation, so this is how generation 2 is told to
/// misbehave and generation 1 not (Daemon::set_flags).
std::string flag_file_worker(const TempDir& dir, const std::string& first_flags);

/// `start_server --pid-file=dir/pid --status-file=dir/status --port=127.0.0.1:0 OPTIONS
/// COMMAND` with `env`, its output and cleanup as StarterProcess's. The constructor waits
/// (kTimeout each) until generation 1 reported `up_word` (the fake worker's "ready", or
/// "notified" once it sent READY=1 under --ready=notify) and the status file lists it alone;
/// up() says whether it got there, why() what start_server and the worker said.
class Daemon {
 public:
  Daemon(const TempDir& dir, const std::vector<std::string>& options,
         const std::vector<std::string>& command, const std::vector<std::string>& env = {},
         std::string_view up_word = "ready");

  bool up() const { return pid1 > 0 && listed && !addr.empty(); }
  /// What start_server said and the worker reported, for failure messages.
  std::string why() const;

  /// The fake worker's flags for the generations spawned from now on (flag_file_worker).
  void set_flags(const std::string& flags) const;

  /// `--restart --pid-file=... --status-file=... MORE`.
  std::vector<std::string> restart_args(const std::vector<std::string>& more = {}) const;
  /// `start_server --restart --restart-timeout=20`, waited for (25 s at most).
  CommandResult restart() const;
  /// `start_server --restart --restart-timeout=30` in the background.
  std::future<CommandResult> restart_async(Millis timeout = 20s) const;
  /// `start_server --restart --json`, waited for.
  CommandResult restart_json(Millis timeout = 20s) const;
  /// `start_server --status [--json]`.
  CommandResult status_cmd(bool json) const;

  std::string flags_path;
  std::string pid_file;
  std::string status;
  Report report;
  StarterProcess starter;
  pid_t pid1 = 0;       ///< generation 1's worker, once it reported `up_word`
  bool listed = false;  ///< the status file listed generation 1 alone
  std::string addr;     ///< generation 1's address of --port=127.0.0.1:0
};

/// start_server --ready=notify with a pid and a status file, running flag_file_worker():
/// generation 1 starts with `first_flags` and is up once it sent READY=1.
class GatedDaemon : public Daemon {
 public:
  GatedDaemon(const TempDir& dir, const std::vector<std::string>& options,
              const std::string& first_flags, const std::vector<std::string>& env = {})
      : Daemon(dir, concat({"--ready=notify"}, options), {"--", flag_file_worker(dir, first_flags)},
               env, "notified") {}
};

}  // namespace itest

#define ASSERT_UP(d) \
  ASSERT_TRUE((d).up()) << "generation 1 never became ready and listed\n" << (d).why()
