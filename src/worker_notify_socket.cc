#include "worker_notify_socket.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "error.h"
#include "number.h"

namespace starter {

namespace {

// systemd accepts datagrams up to this size too; anything larger is cut and so malformed.
constexpr std::size_t kMaxMessage = 4096;

bool is_text(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

std::string random_suffix() {
  unsigned char bytes[8] = {};
  // The name only has to be hard to guess; the pid check is what keeps strangers out.
  if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bytes)) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::memcpy(bytes, &now, sizeof bytes);
  }
  char text[17];
  for (int i = 0; i < 8; ++i) std::snprintf(text + 2 * i, 3, "%02x", bytes[i]);
  return text;
}

}  // namespace

std::optional<std::string> NotifyMessage::get(const std::string& name) const {
  std::optional<std::string> value;
  for (const auto& [key, v] : fields)
    if (key == name) value = v;  // the last one wins, as in systemd
  return value;
}

NotifyMessage parse_notify_message(std::string_view datagram, pid_t sender) {
  NotifyMessage message;
  message.sender = sender;
  if (datagram.size() > kMaxMessage) {
    message.malformed = true;
    return message;
  }
  while (!datagram.empty()) {
    std::size_t nl = datagram.find('\n');
    std::string_view line = datagram.substr(0, nl);
    datagram = nl == std::string_view::npos ? std::string_view() : datagram.substr(nl + 1);
    if (line.empty()) continue;
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0 || !is_text(line)) {
      message.malformed = true;
      continue;
    }
    message.fields.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return message;
}

NotifySocket::NotifySocket(unsigned long generation)
    : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {
  if (!fd_) throw SysError("socket", "").during("notify socket");
  int one = 1;
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
    throw SysError("setsockopt", "").flag("SO_PASSCRED").during("notify socket");
  std::string name = "start_server/" + std::to_string(::getpid()) + "/" +
                     std::to_string(generation) + "/" + random_suffix();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Abstract namespace: a leading NUL, nothing on disk to clean up.
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), len) < 0)
    throw SysError("bind", "@" + name);
  address_ = "@" + name;
}

std::vector<NotifyMessage> NotifySocket::receive() {
  std::vector<NotifyMessage> out;
  for (;;) {
    char buf[kMaxMessage + 1];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return out;
      throw SysError("recvmsg", address_);
    }
    pid_t sender = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        sender = cred.pid;
      } else if (c->cmsg_type == SCM_RIGHTS) {
        // Nobody may make us hold their descriptors (FDSTORE is not ours to offer).
        std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
          int passed = -1;
          std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
          ::close(passed);
        }
      }
    }
    std::size_t size = static_cast<std::size_t>(n);
    NotifyMessage message =
        parse_notify_message(std::string_view(buf, std::min(size, sizeof buf)), sender);
    // As systemd does: a datagram too large to read whole is dropped whole, never acted on
    // from whatever part of it fitted.
    if (size > kMaxMessage || (msg.msg_flags & MSG_TRUNC)) {
      message.malformed = true;
      message.fields.clear();
    }
    out.push_back(std::move(message));
  }
}

bool is_same_or_descendant(pid_t pid, pid_t ancestor) {
  // A bounded walk: a pid tree is never this deep, and a loop (pid reuse) cannot trap us.
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    if (pid == ancestor) return true;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    std::FILE* f = std::fopen(path, "re");
    if (!f) return false;
    char buf[512];
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    const char* close = std::strrchr(buf, ')');
    std::string_view rest = close ? close + 1 : "";  // " S PPID ..."
    if (rest.size() < 4 || rest[0] != ' ' || rest[2] != ' ') return false;
    rest.remove_prefix(3);
    std::optional<pid_t> ppid = parse_integer<pid_t>(rest.substr(0, rest.find(' ')), 0);
    if (!ppid) return false;
    pid = *ppid;
  }
  return false;
}

}  // namespace starter
