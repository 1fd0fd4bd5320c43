#include "error.h"

#include <cerrno>
#include <cstring>

namespace starter {

namespace {
std::string describe(const std::string& call, const std::string& arg) {
  return arg.empty() ? call : call + "(" + arg + ")";
}
}  // namespace

SysError::SysError(std::string call, std::string arg, int err)
    : std::system_error(err, std::generic_category(), describe(call, arg)),
      call_(std::move(call)),
      arg_(std::move(arg)) {}

SysError::SysError(std::string call, std::string arg) : SysError(std::move(call), std::move(arg), errno) {}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  return ::strerror_r(err, buf, sizeof buf);
}

}  // namespace starter
