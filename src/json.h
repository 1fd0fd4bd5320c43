#pragma once
/// The little JSON that `--status --json` and `--restart --json` print: strings escaped per
/// RFC 8259 (and invalid UTF-8 replaced by U+FFFD, since paths and reasons are bytes), and
/// numbers. Pure.

#include <string>
#include <string_view>

namespace starter {

/// `text` as a JSON string literal, quotes included.
std::string json_string(std::string_view text);
/// `text` as a JSON string, or null when it is empty.
std::string json_string_or_null(std::string_view text);
/// Milliseconds as a number of seconds with up to three decimals: 1500 -> 1.5, -> 0.001.
std::string json_seconds(long long ms);

}  // namespace starter
