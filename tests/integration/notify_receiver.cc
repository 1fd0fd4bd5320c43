#include "notify_receiver.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace itest {

namespace {

NotifyMessage parse_message(std::string text, pid_t sender) {
  NotifyMessage m;
  m.text = std::move(text);
  m.sender = sender;
  m.received = Clock::now();
  for (const auto& line : split_lines(m.text)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) m.fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

}  // namespace

bool NotifyMessage::has(const std::string& assignment) const {
  for (const auto& line : split_lines(text))
    if (line == assignment) return true;
  return false;
}

std::string NotifyMessage::field(const std::string& key) const {
  auto it = fields.find(key);
  return it == fields.end() ? "" : it->second;
}

std::string NotifyMessage::kind() const {
  for (const char* k : {"READY", "RELOADING", "STOPPING", "WATCHDOG"})
    if (has(std::string(k) + "=1")) return k;
  return "STATUS";
}

FakeNotifySocket::FakeNotifySocket(const TempDir& dir, const std::string& name)
    : path_(dir / name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path)
    throw std::runtime_error("notify socket path too long: " + path_);
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket(AF_UNIX): ") + std::strerror(errno));
  int one = 1;
  if (setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0 ||
      bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::string what = std::string("notify socket ") + path_ + ": " + std::strerror(errno);
    close(fd_);
    throw std::runtime_error(what);
  }
}

FakeNotifySocket::~FakeNotifySocket() {
  close(fd_);
  (void)unlink(path_.c_str());  // the TempDir goes away anyway
}

void FakeNotifySocket::receive(Millis wait) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
  for (;;) {
    char data[64 * 1024];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(16 * sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: all read
    pid_t sender = 0;
    std::vector<std::string> fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        sender = cred.pid;
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
          int fd = -1;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          fds.push_back(fd_identity(getpid(), fd));
          close(fd);
        }
      }
    }
    messages_.push_back(parse_message(std::string(data, static_cast<size_t>(n)), sender));
    messages_.back().fds = std::move(fds);
  }
}

const std::vector<NotifyMessage>& FakeNotifySocket::messages() {
  receive(0ms);
  return messages_;
}

std::optional<size_t> FakeNotifySocket::wait_for_message(
    const std::function<bool(const NotifyMessage&)>& pred, Millis timeout, size_t from) {
  auto deadline = Clock::now() + timeout;
  size_t checked = from;
  for (;;) {
    receive(0ms);
    for (; checked < messages_.size(); ++checked)
      if (pred(messages_[checked])) return checked;
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    receive(std::min(left, Millis(50)));
  }
}

std::optional<size_t> FakeNotifySocket::wait_for(const std::string& assignment, Millis timeout,
                                                 size_t from) {
  return wait_for_message([&](const NotifyMessage& m) { return m.has(assignment); }, timeout, from);
}

std::vector<std::string> FakeNotifySocket::state_changes() {
  std::vector<std::string> out;
  for (const auto& m : messages()) {
    std::string k = m.kind();
    if (k != "STATUS" && k != "WATCHDOG") out.push_back(k);
  }
  return out;
}

std::string FakeNotifySocket::dump() {
  std::string out;
  for (const auto& m : messages()) {
    std::string text = m.text;
    std::replace(text.begin(), text.end(), '\n', '|');
    out += "  [pid " + std::to_string(m.sender) + "] " + text + "\n";
  }
  return out;
}

unsigned long long monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
         static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
}

}  // namespace itest
