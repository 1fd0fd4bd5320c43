/// An HTTP/1.1 load generator that counts, per time bucket, the responses it completes and
/// the requests it loses, for the throughput-over-time plot of bench/run (wrk only gives
/// totals). Closed loop at full speed, like wrk: each connection sends its next request as
/// soon as the previous answer is complete.
///
///     load_timeline --port=P --duration-ms=N --out=CSV [--host=127.0.0.1] [--path=/]
///                   [--connections=64] [--threads=2] [--bucket-ms=100] [--timeout-ms=2000]
///                   [--close]
///
/// --close sends `Connection: close` and opens a new connection per request; otherwise the
/// connections are kept alive (until the server says close). The CSV has one line per
/// bucket, `t_ms,ok,non2xx,errors`, t_ms the bucket's start after the first request; stdout
/// gets one line of totals,
///
///     start_ns=T requests=N ok=N non2xx=N connect=N read=N write=N timeout=N
///
/// T on CLOCK_MONOTONIC (Python's time.monotonic_ns()), so a driver can place its own events
/// on the same axis. Errors are counted the way wrk counts them: connect (the connection
/// failed), read (reset, or closed before a complete response), write (reset or EPIPE while
/// sending), timeout (no complete response after --timeout-ms; the connection is dropped).
/// Each is followed by a new connection.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr int kUsageStatus = 64;  // EX_USAGE

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "load_timeline: %s\n", message.c_str());
  std::exit(kUsageStatus);
}

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Options {
  std::string host = "127.0.0.1", path = "/", out;
  int port = 0, connections = 64, threads = 2;
  long duration_ms = 0, bucket_ms = 100, timeout_ms = 2000;
  bool close = false;
};

enum Counter { kOk, kNon2xx, kConnect, kRead, kWrite, kTimeout, kCounters };

struct Tally {
  std::vector<std::uint32_t> ok, non2xx, errors;  // per bucket
  std::uint64_t totals[kCounters] = {};
};

struct Conn {
  int fd = -1;
  bool connecting = false;
  std::size_t sent = 0;  // bytes of the request written
  std::string in;        // response bytes so far
  std::int64_t since = 0;
};

class Worker {
 public:
  Worker(const Options& o, const sockaddr_in& addr, std::int64_t start, int conns)
      : o_(o), addr_(addr), start_(start), end_(start + o.duration_ms * 1'000'000), conns_(conns) {
    request_ = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + "\r\n" +
               (o.close ? "Connection: close\r\n" : "") + "\r\n";
    std::size_t buckets = static_cast<std::size_t>(o.duration_ms / o.bucket_ms) + 1;
    tally_.ok.assign(buckets, 0);
    tally_.non2xx.assign(buckets, 0);
    tally_.errors.assign(buckets, 0);
  }

  void run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
    for (std::size_t i = 0; i < conns_.size(); ++i) reconnect(i);
    reopen();
    std::vector<epoll_event> events(256);
    std::int64_t now = monotonic_ns();
    while (now < end_) {
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 10);
      if (n < 0 && errno != EINTR) die(std::string("epoll_wait: ") + std::strerror(errno));
      for (int k = 0; k < n; ++k) on_event(events[k].data.u32, events[k].events);
      now = monotonic_ns();
      if (now - last_sweep_ > 50'000'000) sweep(now);
      reopen();
    }
    for (auto& c : conns_)
      if (c.fd >= 0) close(c.fd);
    close(ep_);
  }

  const Tally& tally() const { return tally_; }

 private:
  void count(Counter what) {
    std::int64_t now = monotonic_ns();
    if (now >= end_) return;  // after the end: not measured
    std::size_t b = static_cast<std::size_t>((now - start_) / (o_.bucket_ms * 1'000'000));
    b = std::min(b, tally_.ok.size() - 1);
    ++tally_.totals[what];
    if (what == kOk)
      ++tally_.ok[b];
    else if (what == kNon2xx)
      ++tally_.non2xx[b];
    else
      ++tally_.errors[b];
  }

  void open_conn(std::size_t i) {
    Conn& c = conns_[i];
    c = Conn{};
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) die(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.since = monotonic_ns();
    int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (rc < 0 && errno != EINPROGRESS) {
      count(kConnect);
      close(c.fd);
      c.fd = -1;
      closed_.push_back(i);  // retried in the next round
      return;
    }
    c.connecting = rc < 0;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) < 0)
      die(std::string("epoll_ctl: ") + std::strerror(errno));
    if (!c.connecting) send_request(i);
  }

  void fail(std::size_t i, Counter what) {
    count(what);
    reconnect(i);
  }

  // Closes now and opens a new connection once the current batch of events is handled, so
  // that no event of the old socket is taken for the new one, and nothing recurses.
  void reconnect(std::size_t i) {
    if (conns_[i].fd >= 0) close(conns_[i].fd);  // also removes it from the epoll set
    conns_[i].fd = -1;
    closed_.push_back(i);
  }

  void reopen() {
    std::vector<std::size_t> now;
    now.swap(closed_);
    for (std::size_t i : now) open_conn(i);
    // A connect refused at once leaves its slot in closed_ for the next round; pause a little
    // rather than spin (epoll_wait's timeout would not, with nothing else to wait for).
    if (!closed_.empty() && closed_.size() == conns_.size()) {
      timespec pause{0, 1'000'000};
      nanosleep(&pause, nullptr);
    }
  }

  void send_request(std::size_t i) {
    Conn& c = conns_[i];
    while (c.sent < request_.size()) {
      ssize_t n = write(c.fd, request_.data() + c.sent, request_.size() - c.sent);
      if (n < 0 && errno == EAGAIN) return;  // EPOLLOUT resumes it
      if (n < 0) return fail(i, kWrite);
      c.sent += static_cast<std::size_t>(n);
    }
  }

  void on_event(std::uint32_t i, std::uint32_t events) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    if (c.connecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) return fail(i, kConnect);
      c.connecting = false;
      c.since = monotonic_ns();
      send_request(i);
      return;
    }
    if ((events & EPOLLOUT) && c.sent < request_.size()) send_request(i);
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(i);
  }

  void on_readable(std::size_t i) {
    Conn& c = conns_[i];
    char buf[16384];
    for (;;) {
      ssize_t n = read(c.fd, buf, sizeof buf);
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) return fail(i, kRead);  // reset, or closed before a complete response
      c.in.append(buf, static_cast<std::size_t>(n));
      if (complete(i)) return;
    }
  }

  // Parses what has arrived; on a complete response counts it and starts the next request.
  bool complete(std::size_t i) {
    Conn& c = conns_[i];
    std::size_t head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    std::string head = c.in.substr(0, head_end + 2);
    for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::size_t length = 0;
    if (std::size_t at = head.find("\r\ncontent-length:"); at != std::string::npos)
      length = std::strtoul(head.c_str() + at + 17, nullptr, 10);
    if (c.in.size() < head_end + 4 + length) return false;
    int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
    count(status >= 200 && status < 300 ? kOk : kNon2xx);
    bool server_closes = head.find("\r\nconnection: close\r\n") != std::string::npos;
    if (o_.close || server_closes) {
      reconnect(i);
    } else {
      c.in.erase(0, head_end + 4 + length);
      c.sent = 0;
      c.since = monotonic_ns();
      send_request(i);
    }
    return true;
  }

  void sweep(std::int64_t now) {
    last_sweep_ = now;
    for (std::size_t i = 0; i < conns_.size(); ++i)
      if (conns_[i].fd >= 0 && now - conns_[i].since > o_.timeout_ms * 1'000'000) fail(i, kTimeout);
  }

  const Options& o_;
  sockaddr_in addr_;
  std::int64_t start_, end_, last_sweep_ = 0;
  std::vector<Conn> conns_;
  std::vector<std::size_t> closed_;  // slots waiting for a new connection
  std::string request_;
  Tally tally_;
  int ep_ = -1;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::size_t eq = a.find('=');
    std::string_view name = a.substr(0, eq);
    const char* v = eq == std::string_view::npos ? "" : argv[i] + eq + 1;
    if (name == "--port")
      o.port = std::atoi(v);
    else if (name == "--host")
      o.host = v;
    else if (name == "--path")
      o.path = v;
    else if (name == "--out")
      o.out = v;
    else if (name == "--connections")
      o.connections = std::atoi(v);
    else if (name == "--threads")
      o.threads = std::atoi(v);
    else if (name == "--duration-ms")
      o.duration_ms = std::atol(v);
    else if (name == "--bucket-ms")
      o.bucket_ms = std::atol(v);
    else if (name == "--timeout-ms")
      o.timeout_ms = std::atol(v);
    else if (a == "--close")
      o.close = true;
    else
      die("unknown argument '" + std::string(a) + "'");
  }
  if (o.port <= 0 || o.port > 65535 || o.duration_ms <= 0 || o.bucket_ms <= 0 || o.out.empty() ||
      o.threads < 1 || o.connections < o.threads || o.timeout_ms <= 0)
    die("usage: load_timeline --port=P --duration-ms=N --out=CSV [--connections=N] [--threads=N] "
        "...");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1)
    die("--host: not an IPv4 address: " + o.host);

  const std::int64_t start = monotonic_ns();
  std::vector<Worker> workers;
  workers.reserve(static_cast<std::size_t>(o.threads));
  for (int t = 0; t < o.threads; ++t)
    workers.emplace_back(o, addr, start,
                         o.connections / o.threads + (t < o.connections % o.threads));
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w.run(); });
  for (auto& t : threads) t.join();

  Tally all = workers[0].tally();
  for (std::size_t t = 1; t < workers.size(); ++t) {
    const Tally& w = workers[t].tally();
    for (std::size_t b = 0; b < all.ok.size(); ++b) {
      all.ok[b] += w.ok[b];
      all.non2xx[b] += w.non2xx[b];
      all.errors[b] += w.errors[b];
    }
    for (int k = 0; k < kCounters; ++k) all.totals[k] += w.totals[k];
  }
  std::FILE* f = std::fopen(o.out.c_str(), "w");
  if (!f) die("fopen(" + o.out + "): " + std::strerror(errno));
  std::fprintf(f, "t_ms,ok,non2xx,errors\n");
  // The last bucket is partial (the run ends inside it) unless the duration divides evenly.
  std::size_t full = static_cast<std::size_t>(o.duration_ms / o.bucket_ms);
  for (std::size_t b = 0; b < full; ++b)
    std::fprintf(f, "%ld,%u,%u,%u\n", static_cast<long>(b) * o.bucket_ms, all.ok[b], all.non2xx[b],
                 all.errors[b]);
  std::fclose(f);
  const auto* t = all.totals;
  std::printf(
      "start_ns=%lld requests=%llu ok=%llu non2xx=%llu connect=%llu read=%llu write=%llu "
      "timeout=%llu\n",
      static_cast<long long>(start), static_cast<unsigned long long>(t[kOk] + t[kNon2xx]),
      static_cast<unsigned long long>(t[kOk]), static_cast<unsigned long long>(t[kNon2xx]),
      static_cast<unsigned long long>(t[kConnect]), static_cast<unsigned long long>(t[kRead]),
      static_cast<unsigned long long>(t[kWrite]), static_cast<unsigned long long>(t[kTimeout]));
  return 0;
}
