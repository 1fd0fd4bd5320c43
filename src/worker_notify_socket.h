#pragma once
/// The receiving end of the sd_notify protocol, for our workers (--ready=notify): one
/// socket per generation, so a READY=1 can only make its own generation ready.
///
/// Each socket is an AF_UNIX datagram socket in the abstract namespace
/// ("@start_server/<our pid>/<generation>/<random>"), with SO_PASSCRED so every message
/// carries the sender's pid. A worker finds it in NOTIFY_SOCKET, as under systemd.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "fd.h"

namespace starter {

/// One datagram: its sender and its NAME=VALUE lines.
struct NotifyMessage {
  pid_t sender = 0;  ///< 0: the sender's credentials were missing
  std::vector<std::pair<std::string, std::string>> fields;
  bool malformed =
      false;  ///< over the size limit (then no fields at all), binary, or a line without '='

  /// The value of `name`, if the message has it.
  std::optional<std::string> get(const std::string& name) const;
};

/// Parses one datagram. Lines without '=' or with control characters make it malformed
/// (and are dropped); an empty trailing line is fine.
NotifyMessage parse_notify_message(std::string_view datagram, pid_t sender);

class NotifySocket {
 public:
  /// Binds a fresh abstract socket for `generation`; throws SysError.
  explicit NotifySocket(unsigned long generation);

  int fd() const { return fd_.get(); }
  /// NOTIFY_SOCKET's value for the worker ("@…").
  const std::string& address() const { return address_; }
  /// Reads every queued datagram (to EAGAIN).
  std::vector<NotifyMessage> receive();

 private:
  UniqueFd fd_;
  std::string address_;
};

/// Whether `pid` is `ancestor` or one of its descendants (walks /proc/PID/stat parents).
bool is_same_or_descendant(pid_t pid, pid_t ancestor);

}  // namespace starter
