#pragma once
/// Sets or unsets one environment variable for the scope of a test, then restores it: the
/// client library's tests drive SERVER_STARTER_PORT and SERVER_STARTER_GENERATION with it.

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace starter::testing_support {

class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void set(const std::optional<std::string>& value) {
    if (value)
      ::setenv(name_.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace starter::testing_support
