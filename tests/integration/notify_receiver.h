#pragma once
/// FakeNotifySocket: what systemd's manager end of NOTIFY_SOCKET looks like to a service, for
/// tests (systemd's src/test/test-sd-notify-inline.c). An AF_UNIX datagram socket bound in a
/// TempDir with SO_PASSCRED, so every message carries its sender's pid (SCM_CREDENTIALS), the
/// way the manager checks NotifyAccess=main.
///
/// Messages are kept in arrival order; waits are bounded and never consume anything, so a test
/// can look for one message and then for the next one after it.

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness.h"

namespace itest {

/// One datagram: `KEY=VALUE` lines, as sd_notify(3) sends them.
struct NotifyMessage {
  std::string text;                           ///< the datagram as received
  pid_t sender = 0;                           ///< from SCM_CREDENTIALS; 0 when none came
  std::map<std::string, std::string> fields;  ///< KEY -> VALUE (the last one wins)
  Clock::time_point received;
  /// The descriptors that came with it (SCM_RIGHTS, as sd_pid_notify_with_fds sends them),
  /// each as fd_identity() spells it ("socket:[INODE]"). The receiver closes them at once, as
  /// the manager closes a BARRIER=1's: nothing waits on a test's copy.
  std::vector<std::string> fds;

  bool has(const std::string& assignment) const;    ///< has("READY=1")
  std::string field(const std::string& key) const;  ///< "" when absent
  /// READY, RELOADING, STOPPING, WATCHDOG, or STATUS for a message with none of these.
  std::string kind() const;
};

class FakeNotifySocket {
 public:
  /// Binds dir/`name`.
  explicit FakeNotifySocket(const TempDir& dir, const std::string& name = "notify");
  ~FakeNotifySocket();
  FakeNotifySocket(const FakeNotifySocket&) = delete;
  FakeNotifySocket& operator=(const FakeNotifySocket&) = delete;

  const std::string& path() const { return path_; }
  /// "NOTIFY_SOCKET=<path>", for a process's environment.
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  /// Every message received so far (reads whatever is queued first, without waiting).
  const std::vector<NotifyMessage>& messages();
  /// The index of the first message at index >= `from` that satisfies `pred`, waiting at most
  /// `timeout` for it to arrive; nullopt after the timeout.
  [[nodiscard]] std::optional<size_t> wait_for_message(
      const std::function<bool(const NotifyMessage&)>& pred, Millis timeout = kTimeout,
      size_t from = 0);
  /// wait_for_message for a message carrying `assignment` (e.g. "READY=1").
  [[nodiscard]] std::optional<size_t> wait_for(const std::string& assignment,
                                               Millis timeout = kTimeout, size_t from = 0);
  const NotifyMessage& at(size_t index) const { return messages_.at(index); }
  /// The kinds (NotifyMessage::kind) of all messages so far, without STATUS and WATCHDOG
  /// ones: the state changes a service manager acts on, e.g. {"READY", "RELOADING", "READY"}.
  std::vector<std::string> state_changes();
  /// All messages so far, one per line with "\n" shown as "|", for failure messages.
  std::string dump();

 private:
  /// Reads queued datagrams, waiting up to `wait` for the first one.
  void receive(Millis wait);

  std::string path_;
  int fd_ = -1;
  std::vector<NotifyMessage> messages_;
};

/// CLOCK_MONOTONIC now, in microseconds (what MONOTONIC_USEC= is measured in).
unsigned long long monotonic_usec();

}  // namespace itest
