#pragma once
/// How text from outside (an option's value, a path, an envdir file, a variable, a message of
/// Boost.Program_options) appears in a message: quote() puts it in single quotes and writes
/// every control byte as \xNN, so no value can make a message two lines or hide in it.
/// Every value a user gave is shown through quote(). Header-only and free of dependencies:
/// the worker-side client library uses it too.
///
///   quote("8080")      '8080'
///   quote("a\nb")      'a\x0ab'
///   quote("")          ''

#include <string>
#include <string_view>

namespace starter {

/// `s` with each control byte (below 0x20, and 0x7f) written as \xNN; the rest as is.
inline std::string escape_controls(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// `s` in single quotes, escaped as escape_controls() does.
inline std::string quote(std::string_view s) { return "'" + escape_controls(s) + "'"; }

}  // namespace starter
