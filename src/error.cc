#include "error.h"

#include <cerrno>
#include <cstring>

namespace starter {

std::string call_text(std::string_view call, std::string_view arg, std::string_view flag) {
  std::string args = arg.empty() ? std::string() : quote(arg);
  if (!flag.empty()) args += (args.empty() ? "" : ", ") + std::string(flag);
  return args.empty() ? std::string(call) : std::string(call) + "(" + args + ")";
}

SysError::SysError(std::string call, std::string arg, int err)
    : std::system_error(err, std::generic_category()),
      call_(std::move(call)),
      arg_(std::move(arg)) {
  compose();
}

SysError::SysError(std::string call, std::string arg)
    : SysError(std::move(call), std::move(arg), errno) {}

SysError& SysError::flag(std::string_view flag) {
  flag_ = flag;
  compose();
  return *this;
}

SysError& SysError::during(std::string_view what) {
  during_ = what;
  compose();
  return *this;
}

void SysError::compose() {
  message_ = during_.empty() ? std::string() : during_ + ": ";
  message_ += call_text(call_, arg_, flag_) + ": " + errno_text(code().value());
}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  return ::strerror_r(err, buf, sizeof buf);
}

}  // namespace starter
