#pragma once
/// The fake worker (tests/fixtures/fake_worker.cc) as the tests see it: its command line, and
/// its report file, one line `WORD pid=P gen=G k=v ...` per fact (see Record).

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"
#include "files.h"

namespace itest {

/// `fake_worker --report=REPORT flags...`
std::vector<std::string> fake_worker(const std::string& report,
                                     const std::vector<std::string>& flags = {});
/// The usual worker command line for a test: `-- fake_worker --report=dir.report() flags...`.
std::vector<std::string> worker_args(const TempDir& dir,
                                     const std::vector<std::string>& flags = {});

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
  [[nodiscard]] std::optional<Record> wait_for(std::string_view word, int gen,
                                               Millis timeout = kTimeout) const;
  /// The pid of generation `gen` once it said `ready`, or nullopt after the timeout.
  [[nodiscard]] std::optional<pid_t> wait_for_ready(int gen, Millis timeout = kTimeout) const;
  std::vector<Record> ready_workers() const;
  /// Signal names the worker `pid` reported, e.g. {"USR1"}, or "TERM ignored".
  std::vector<std::string> signals_for(pid_t pid) const;
  [[nodiscard]] bool wait_for_signal(pid_t pid, std::string_view name,
                                     Millis timeout = kTimeout) const;
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

}  // namespace itest
