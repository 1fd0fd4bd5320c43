#pragma once
/// The line-and-TAB text that start_server's own files are made of (the status detail file,
/// status_detail.h, and the upgrade state, upgrade_state.h): one record a line, fields split
/// by one TAB, and text fields escaped so that no byte of them can end a line or a field.
///
/// Escaping: a backslash is written as two, TAB as backslash-t, LF backslash-n, CR
/// backslash-r and any other byte below 0x20 or 0x7f as backslash-xHH (two lower-case hex
/// digits). Every other byte, UTF-8 or not, is written as it is.

#include <string>
#include <string_view>
#include <vector>

namespace starter {

std::string escape_field(std::string_view text);
/// The text escape_field wrote; false when `text` holds an escape it never writes.
bool unescape_field(std::string_view text, std::string& out);
/// `line` cut at every `sep` (an empty line gives one empty field).
std::vector<std::string_view> split_fields(std::string_view line, char sep);

}  // namespace starter
