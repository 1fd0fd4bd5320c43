#pragma once
/// Test-side stand-ins for a systemd socket unit: sockets the test binds itself (and keeps its
/// own copy of, as the manager does), and a launcher that hands them to start_server the way
/// systemd does: at fds 3, 4, ... in order, with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID set
/// to the pid that execs start_server (sd_listen_fds(3)).

#include <sys/socket.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace itest {

/// A socket bound (and listening, for a stream) by the test, closed at scope exit.
class TestSocket {
 public:
  /// `host` is "127.0.0.1", "0.0.0.0", "::1" (IPV6_V6ONLY=1, like --port=[::1]:P) or "::"
  /// (IPV6_V6ONLY=0: dual-stack, like systemd's ListenStream=PORT). Port 0 lets the kernel pick.
  static TestSocket inet(const std::string& host, int type = SOCK_STREAM, int port = 0);
  /// A unix stream socket at `path`.
  static TestSocket unix_stream(const std::string& path);

  TestSocket(TestSocket&& other) noexcept;
  TestSocket& operator=(TestSocket&&) = delete;
  TestSocket(const TestSocket&) = delete;
  ~TestSocket();

  int fd() const { return fd_; }
  int port() const { return port_; }
  /// "127.0.0.1:P", "0.0.0.0:P", "[::1]:P", "[::]:P" or the unix path: as the fake worker's
  /// `listen ... addr=` spells it.
  const std::string& addr() const { return addr_; }
  /// The open file description's identity, "socket:[INODE]" (from /proc/self/fd).
  std::string identity() const;
  /// fcntl(F_GETFL).
  int status_flags() const;
  void set_nonblocking(bool on) const;

 private:
  TestSocket() = default;
  int fd_ = -1;
  int port_ = 0;
  std::string addr_;
};

/// The identities of every socket `pid` has open, sorted.
std::vector<std::string> socket_identities(pid_t pid);

/// A port that was free a moment ago (bound to 127.0.0.1:0, then closed), for tools that
/// insist on binding a number themselves.
int free_port();

struct ActivationOptions {
  /// LISTEN_FDNAMES; left unset when empty.
  std::string fdnames;
  /// Also set WATCHDOG_PID to the launched process's pid (as systemd does).
  bool watchdog_pid = false;
  /// LISTEN_FDS value; by default the number of sockets, and unset (with LISTEN_PID) when
  /// there are none.
  std::string listen_fds;
};

/// `program args...` (start_server by default) socket-activated with `sockets`, run as a
/// StarterProcess (output in the TempDir, cleanup at scope exit). The launcher is a shell
/// that moves the sockets to 3, 4, ..., exports LISTEN_PID=$$ (and WATCHDOG_PID=$$) and
/// execs the program, so the pid is the program's own. `env` is passed as to StarterProcess.
class ActivatedStarter {
 public:
  ActivatedStarter(const TempDir& dir, const std::vector<const TestSocket*>& sockets,
                   const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                   const ActivationOptions& options = {}, const std::string& program = kStarter);
  ~ActivatedStarter();
  ActivatedStarter(const ActivatedStarter&) = delete;
  ActivatedStarter& operator=(const ActivatedStarter&) = delete;

  StarterProcess& process() { return *process_; }
  StarterProcess* operator->() { return process_.get(); }

 private:
  std::vector<int> staged_;  // the sockets above every target fd, while the launcher starts
  std::unique_ptr<StarterProcess> process_;
};

}  // namespace itest
