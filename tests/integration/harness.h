#pragma once
/// The integration-test harness: runs the real start_server (STARTER_BINARY) with the fake
/// worker (FAKE_WORKER) and observes it only from the outside, as a user would (dumb-init's
/// testing/, ninja's subprocess_test.cc).
///
/// Rules every test follows:
///  - each test owns a TempDir; ports are always 0 (the kernel picks), the real address is read
///    from the worker's `listen` report line, so tests can run in parallel (ctest -j);
///  - every wait is wait_until(predicate, deadline): never a bare sleep as synchronisation. A
///    bounded wait that is expected to time out is how "this never happens" is checked;
///  - StarterProcess cleans up after itself: TERM, then KILL, then reap, then KILL any worker pid
///    that its report files name and that still runs the fake worker.
///
/// Report lines written by the fake worker: `WORD pid=P gen=G k=v ...` (see Record).

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace itest {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

inline constexpr Millis kTimeout = 10s;  ///< the default deadline of every wait

inline const std::string kStarter = STARTER_BINARY;
inline const std::string kFakeWorker = FAKE_WORKER;
inline const std::string kHelloWorker = HELLO_WORKER;
/// Perl's start_server, the reference, if installed: our Debian package diverts it to
/// start_server.perl.
inline const std::string kPerlStarter =
    access("/usr/bin/start_server.perl", X_OK) == 0 ? "/usr/bin/start_server.perl" : "/usr/bin/start_server";

/// Polls `pred` every few milliseconds until it is true (returns true) or `timeout` passes
/// (returns false, after one last check).
bool wait_until(const std::function<bool()>& pred, Millis timeout = kTimeout);

/// Milliseconds since construction.
class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}
  long long ms() const;

 private:
  Clock::time_point start_;
};

/// A fresh directory under /tmp, removed recursively (files, sockets, subdirectories) at scope
/// exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path()/name
  std::string operator/(std::string_view name) const;
  /// The default report file of the fake worker: path()/report.
  std::string report() const { return *this / "report"; }

 private:
  std::string path_;
};

// ---- small file helpers ----
bool file_exists(const std::string& path);  ///< lstat succeeds (any kind of file)
bool is_socket_file(const std::string& path);
std::string read_file(const std::string& path);  ///< "" when missing
void write_file(const std::string& path, std::string_view content, unsigned mode = 0644);
void make_dir(const std::string& path);
std::vector<std::string> split_lines(std::string_view text);  ///< non-empty lines, no '\n'
std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b);

/// `fake_worker --report=REPORT flags...`
std::vector<std::string> fake_worker(const std::string& report,
                                     const std::vector<std::string>& flags = {});
/// The usual worker command line for a test: `-- fake_worker --report=dir.report() flags...`.
std::vector<std::string> worker_args(const TempDir& dir,
                                     const std::vector<std::string>& flags = {});

// ---- the fake worker's report ----

/// One report line `WORD pid=P gen=G rest...`.
struct Record {
  std::string word;
  pid_t pid = 0;
  int gen = 0;
  std::map<std::string, std::string> fields;  ///< `k=v` tokens after gen (split at first '=')
  std::vector<std::string> flags;             ///< tokens after gen without '=' (e.g. "ignored")
  std::string rest;                           ///< everything after `gen=G `
  std::string line;
  size_t index = 0;  ///< position in the file (0-based)

  std::string field(const std::string& key) const;  ///< "" when absent
};

class Report {
 public:
  explicit Report(std::string path) : path_(std::move(path)) {}
  explicit Report(const TempDir& dir) : path_(dir.report()) {}
  const std::string& path() const { return path_; }

  /// Every complete line written so far (a line still being written is ignored).
  std::vector<Record> records() const;
  std::vector<Record> records(std::string_view word) const;
  std::optional<Record> find(std::string_view word, int gen) const;
  std::optional<Record> wait_for(std::string_view word, int gen, Millis timeout = kTimeout) const;
  /// The pid of generation `gen` once it said `ready`, or nullopt after the timeout.
  std::optional<pid_t> wait_for_ready(int gen, Millis timeout = kTimeout) const;
  std::vector<Record> ready_workers() const;
  /// Signal names the worker `pid` reported, e.g. {"USR1"}, or "TERM ignored".
  std::vector<std::string> signals_for(pid_t pid) const;
  bool wait_for_signal(pid_t pid, std::string_view name, Millis timeout = kTimeout) const;
  /// The `listen` lines of generation `gen`, in the order the worker wrote them.
  std::vector<Record> listens(int gen) const;
  /// The address (getsockname) of the listener keyed `key` in generation `gen`; "" if none.
  std::string addr(int gen, std::string_view key) const;
  /// The value of an `--env=NAME` report line: nullopt when unset or not reported.
  std::optional<std::string> env(int gen, std::string_view name) const;
  /// Whether generation `gen` reported NAME as unset.
  bool env_unset(int gen, std::string_view name) const;
  /// The `fds` list of generation `gen`.
  std::vector<int> fds(int gen) const;
  /// Highest generation mentioned by any line (0 when empty).
  int max_gen() const;
  /// Every distinct worker pid mentioned.
  std::vector<pid_t> pids() const;

 private:
  std::string path_;
};

// ---- processes ----

/// Whether `pid` exists and is not a zombie.
bool process_alive(pid_t pid);
/// The parent of `pid` (from /proc/PID/stat), or 0.
pid_t parent_of(pid_t pid);
/// The live children of `pid` (from /proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);
/// Pids (other than ours) whose command line contains `needle`, e.g. a TempDir path.
std::vector<pid_t> processes_mentioning(std::string_view needle);

/// Scope guard for processes a test did not start itself: at scope exit each adopted pid gets
/// TERM, then KILL after a bounded wait; then every worker pid named in a watched report file
/// that still runs a test worker gets KILL (pids we know, never a name-based kill).
class Cleanup {
 public:
  Cleanup() = default;
  ~Cleanup();
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;

  void watch_report(const std::string& path) { reports_.push_back(path); }
  void adopt(pid_t pid) { adopted_.push_back(pid); }

 private:
  std::vector<std::string> reports_;
  std::vector<pid_t> adopted_;
};

/// start_server (or any program, when `program` is given) running in the background, with
/// stdout+stderr in a file of the TempDir, cwd = the TempDir, stdin = /dev/null, and an
/// environment without any SERVER_STARTER_* / ENVDIR / auto-restart / systemd variables except
/// those passed in `env` ("NAME=VALUE").
class StarterProcess {
 public:
  StarterProcess(const TempDir& dir, const std::vector<std::string>& args,
                 const std::vector<std::string>& env = {}, const std::vector<int>& inherit_fds = {},
                 const std::string& program = kStarter);
  ~StarterProcess();
  StarterProcess(const StarterProcess&) = delete;
  StarterProcess& operator=(const StarterProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  /// The exit status (128+N when killed by signal N) once it exited, or nullopt after timeout.
  std::optional<int> wait_exit(Millis timeout = kTimeout);
  bool running();
  /// stdout+stderr so far.
  std::string output() const;
  std::string stderr_text() const { return output(); }
  /// Also clean up the workers named in this report file (the TempDir's report is watched
  /// already).
  void watch_report(const std::string& path) { cleanup_.watch_report(path); }
  /// Another pid to terminate at cleanup (e.g. the daemonized start_server).
  void adopt(pid_t pid) { cleanup_.adopt(pid); }

 private:
  Cleanup cleanup_;  // runs after the destructor's body has stopped start_server itself
  std::string output_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct CommandResult {
  int status = -1;  ///< exit status, 128+N when killed by N, -1 on timeout (then killed)
  bool timed_out = false;
  long long elapsed_ms = 0;
  std::string out;
  std::string err;

  std::string text() const { return out + err; }
  std::vector<std::string> err_lines() const { return split_lines(err); }
};

/// Runs argv to completion (SIGKILL at `timeout`) with the same environment rules as
/// StarterProcess; stdout and stderr are captured separately.
CommandResult run_command(const std::vector<std::string>& argv, Millis timeout = kTimeout,
                          const std::vector<std::string>& env = {}, const std::string& cwd = "");
/// run_command with STARTER_BINARY prepended.
CommandResult run_starter(const std::vector<std::string>& args, Millis timeout = kTimeout,
                          const std::vector<std::string>& env = {}, const std::string& cwd = "");

// ---- network ----

/// Connects to "127.0.0.1:PORT", "[::1]:PORT" or a unix socket path (0.0.0.0 and [::] are
/// mapped to loopback), sends `send` (if any) and reads until EOF. Returns the reply, or
/// "ERROR: ..." on failure.
std::string request(const std::string& addr, Millis timeout = 3s, std::string_view send = {});
/// Sends one datagram and returns the first reply, or "ERROR: ...".
std::string udp_request(const std::string& addr, Millis timeout = 3s);
/// "G:P\n", what the fake worker answers.
std::string reply_of(int gen, pid_t pid);

/// The port number of "127.0.0.1:34567" / "[::1]:34567".
int port_of(const std::string& addr);
bool ipv6_available();

// ---- status file ----

/// The `GEN:PID` lines of a status file (other lines ignored); empty when missing.
std::vector<std::pair<int, pid_t>> read_status_file(const std::string& path);
/// The same, from the file's text.
std::vector<std::pair<int, pid_t>> parse_status(std::string_view text);

}  // namespace itest

#define SKIP_WITHOUT_IPV6()                                                \
  do {                                                                     \
    if (!::itest::ipv6_available())                                        \
      GTEST_SKIP() << "IPv6 loopback [::1] is not available on this host"; \
  } while (0)
