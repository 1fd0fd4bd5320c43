#pragma once
/// FUZZ_CHECK(cond, input): a property every input must have. On failure it prints the
/// property, the input (escaped, so a reproducer can be typed back) and aborts, which
/// libFuzzer reports as a crash and saves as crash-<sha1>. Unlike assert() it survives
/// NDEBUG (the fuzz build is RelWithDebInfo).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace fuzz {

inline std::string escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

[[noreturn]] inline void fail(const char* what, const char* file, int line, std::string_view input,
                              std::string_view detail) {
  std::fprintf(stderr, "%s:%d: property failed: %s\n  input: \"%s\"\n", file, line, what,
               escaped(input).c_str());
  if (!detail.empty()) std::fprintf(stderr, "  detail: \"%s\"\n", escaped(detail).c_str());
  std::abort();
}

}  // namespace fuzz

#define FUZZ_CHECK(cond, input) \
  ((cond) ? (void)0 : ::fuzz::fail(#cond, __FILE__, __LINE__, (input), {}))
#define FUZZ_CHECK_MSG(cond, input, detail) \
  ((cond) ? (void)0 : ::fuzz::fail(#cond, __FILE__, __LINE__, (input), (detail)))
