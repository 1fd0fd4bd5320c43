#include "common.h"

#include <thread>

namespace itest {
namespace {

constexpr Millis kPollStep = 5ms;

}  // namespace

bool wait_until(const std::function<bool()>& pred, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(kPollStep);
  }
  return pred();
}

long long Stopwatch::ms() const {
  return std::chrono::duration_cast<Millis>(Clock::now() - start_).count();
}

}  // namespace itest
