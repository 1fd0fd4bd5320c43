#pragma once
/// Two error shapes, used everywhere. Both are one line; every value from outside in them is
/// shown through quote() (quote.h).
///  - UsageError: bad input from the user (an option, a value, a file that cannot be used).
///    Its message names the culprit: "--interval: invalid value 'abc' (...)".
///  - SysError: a system call failed. Its what() is
///        [WHAT: ]CALL[(ARG[, FLAG])]: STRERROR
///    WHAT is what the call was for, in the user's words, when the call alone does not say;
///    ARG what the call was given (a path, an address: quoted); FLAG a constant argument:
///        bind('127.0.0.1:8080'): Address already in use
///        setsockopt('[::1]:8080', IPV6_V6ONLY): Protocol not available
///        --log-file: execve('/bin/sh'): No such file or directory
///        --daemonize: fork: Resource temporarily unavailable
///
/// Who catches: main() turns whatever escapes into one line and exit status 1. Below it, a
/// place that decides what a failure means catches it and logs once (the server loop, which
/// keeps running or stops the workers first; --restart and --status, which tell an absent
/// file from an unreadable one). Adapters only throw or return.

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "quote.h"

namespace starter {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SysError : public std::system_error {
 public:
  /// `call` is the syscall name, `arg` what it was given (empty for nothing); `err` the
  /// errno value.
  SysError(std::string call, std::string arg, int err);
  /// Same, taking the current errno.
  SysError(std::string call, std::string arg);

  /// Adds a constant argument after ARG, as C writes it: setsockopt('[::1]:80', IPV6_V6ONLY).
  SysError& flag(std::string_view flag);
  /// Says what the call was for, first: "--log-file: execve('/bin/sh'): ...".
  SysError& during(std::string_view what);

  const std::string& call() const { return call_; }
  const std::string& arg() const { return arg_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  void compose();

  std::string call_;
  std::string arg_;
  std::string flag_;
  std::string during_;
  std::string message_;
};

/// "CALL('ARG')", "CALL('ARG', FLAG)", "CALL(FLAG)" or "CALL": the call part of a SysError,
/// for a failure reported as a value rather than thrown (a child's failed exec).
std::string call_text(std::string_view call, std::string_view arg, std::string_view flag = {});

/// strerror(err) as a std::string (thread-safe strerror_r wrapper).
std::string errno_text(int err);

}  // namespace starter
