#pragma once
/// What every part of the integration harness shares: the clock and the default deadline,
/// bounded waits, and the programs under test (their build paths, never what PATH finds).

#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

namespace itest {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

inline constexpr Millis kTimeout = 10s;  ///< the default deadline of every wait

inline const std::string kStarter = STARTER_BINARY;
inline const std::string kFakeWorker = FAKE_WORKER;
inline const std::string kHelloWorker = HELLO_WORKER;
inline const std::string kHelloC = HELLO_C;          ///< examples/hello_c.c, C99
inline const std::string kHelloCxx11 = HELLO_CXX11;  ///< examples/hello_cxx11.cc, C++11
/// Perl's start_server, the reference, if installed: our Debian package diverts it to
/// start_server.perl.
inline const std::string kPerlStarter = access("/usr/bin/start_server.perl", X_OK) == 0
                                            ? "/usr/bin/start_server.perl"
                                            : "/usr/bin/start_server";

/// Polls `pred` every few milliseconds until it is true (returns true) or `timeout` passes
/// (returns false, after one last check). The result is the test's to check: a wait that is
/// allowed to time out says why where it is called.
[[nodiscard]] bool wait_until(const std::function<bool()>& pred, Millis timeout = kTimeout);

/// Milliseconds since construction.
class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}
  long long ms() const;

 private:
  Clock::time_point start_;
};

}  // namespace itest
