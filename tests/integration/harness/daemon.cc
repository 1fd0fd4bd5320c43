#include "daemon.h"

namespace itest {

using Status = std::vector<std::pair<int, pid_t>>;

std::string flag_file_worker(const TempDir& dir, const std::string& first_flags) {
  write_file(dir / "flags", first_flags + "\n");
  write_file(dir / "worker.sh",
             "#!/bin/sh\n"
             "# Each generation gets the flags the test wrote last.\n"
             "exec " +
                 kFakeWorker + " --report=" + dir.report() + " $(cat " + (dir / "flags") + ")\n",
             0755);
  return dir / "worker.sh";
}

Daemon::Daemon(const TempDir& dir, const std::vector<std::string>& options,
               const std::vector<std::string>& command, const std::vector<std::string>& env,
               std::string_view up_word)
    : flags_path(dir / "flags"),
      pid_file(dir / "pid"),
      status(dir / "status"),
      report(dir),
      starter(
          dir,
          concat(concat({"--pid-file=" + pid_file, "--status-file=" + status, "--port=127.0.0.1:0"},
                        options),
                 command),
          env) {
  auto up = report.wait_for(up_word, 1);
  if (!up) return;
  pid1 = up->pid;
  listed = wait_until([&] { return read_status_file(status) == Status{{1, pid1}}; });
  addr = report.addr(1, "127.0.0.1:0");
}

std::string Daemon::why() const {
  return "start_server said:\n" + starter.output() + "report:\n" + read_file(report.path());
}

void Daemon::set_flags(const std::string& flags) const { write_file(flags_path, flags + "\n"); }

std::vector<std::string> Daemon::restart_args(const std::vector<std::string>& more) const {
  return concat({"--restart", "--pid-file=" + pid_file, "--status-file=" + status}, more);
}

CommandResult Daemon::restart() const {
  return run_starter(restart_args({"--restart-timeout=20"}), 25s);
}

std::future<CommandResult> Daemon::restart_async(Millis timeout) const {
  auto args = restart_args({"--restart-timeout=30"});
  return std::async(std::launch::async, [args, timeout] { return run_starter(args, timeout); });
}

CommandResult Daemon::restart_json(Millis timeout) const {
  return run_starter(restart_args({"--json"}), timeout);
}

CommandResult Daemon::status_cmd(bool json) const {
  std::vector<std::string> args{"--status", "--pid-file=" + pid_file};
  if (json) args.push_back("--json");
  return run_starter(args);
}

}  // namespace itest
