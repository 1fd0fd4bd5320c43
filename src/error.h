#pragma once
/// Two error shapes, used everywhere:
///  - UsageError: bad input from the user (an option, a value, a file that cannot be used).
///    Its message is one line and names the culprit; main() prints it and exits 1.
///  - SysError: a system call failed. It carries the call and its argument, and its what()
///    reads "bind(127.0.0.1:8080): Address already in use".

#include <stdexcept>
#include <string>
#include <system_error>

#include "quote.h"

namespace starter {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SysError : public std::system_error {
 public:
  /// `call` is the syscall name, `arg` what it was given; `err` is the errno value.
  SysError(std::string call, std::string arg, int err);
  /// Same, taking the current errno.
  SysError(std::string call, std::string arg);

  const std::string& call() const { return call_; }
  const std::string& arg() const { return arg_; }

 private:
  std::string call_;
  std::string arg_;
};

/// strerror(err) as a std::string (thread-safe strerror_r wrapper).
std::string errno_text(int err);

}  // namespace starter
