#pragma once
/// The one parser of integers in text from outside: option values, environment variables,
/// envdir values, --port's digits, the pid, status and detail files, /proc. Header-only and
/// free of dependencies: the worker-side client library uses it too.
///
/// The whole text is the number: digits of `base` only, a leading '-' only when `min` is
/// negative, nothing before or after. No '+', no spaces, no "0x", no empty text (stoi, strtol and
/// sscanf each let some of these through), and no wrap-around: "-1" is never ULONG_MAX. A number
/// outside [min, max], or outside the type, is refused like any other bad text.
///
///   parse_integer<int>("42")                -> 42
///   parse_integer<int>("-1", 0)             -> nullopt (below min)
///   parse_integer<unsigned>("-1")           -> nullopt
///   parse_integer<unsigned>("0660", 0, 0777, 8) -> 0660
///   parse_integer<int>(" 5"), ("5x"), ("+5"), ("") -> nullopt

#include <charconv>
#include <concepts>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

namespace starter {

template <std::integral T>
std::optional<T> parse_integer(std::string_view text, T min = std::numeric_limits<T>::min(),
                               T max = std::numeric_limits<T>::max(), int base = 10) {
  std::string_view digits = text;
  if constexpr (std::is_signed_v<T>) {
    if (min < 0 && !digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  }
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'z' ? c - 'a' + 10
            : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                   : base;
    if (d >= base) return std::nullopt;
  }
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    return std::nullopt;
  return value;
}

}  // namespace starter
