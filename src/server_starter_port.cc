#include "server_starter_port.h"

#include <charconv>
#include <climits>

namespace starter {

std::string encode_server_starter_port(const std::vector<PortEntry>& entries) {
  std::string out;
  for (const auto& entry : entries) {
    if (!out.empty()) out += ';';
    out += entry.key;
    out += '=';
    out += std::to_string(entry.fd);
  }
  return out;
}

namespace {


bool parse_fd(std::string_view text, int& fd) {
  if (text.empty() || text.size() > 10) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > INT_MAX) return false;
  fd = static_cast<int>(value);
  return true;
}

}  // namespace

std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

PortDecodeResult decode_server_starter_port(std::string_view value) {
  PortDecodeResult result;
  if (value.empty()) return result;
  if (value.back() == ';') value.remove_suffix(1);
  std::size_t start = 0;
  for (;;) {
    std::size_t end = value.find(';', start);
    std::string_view entry = value.substr(start, end == std::string_view::npos ? value.npos : end - start);
    std::size_t eq = entry.rfind('=');
    if (entry.empty()) {
      result.error = "empty entry in " + quote(value);
    } else if (eq == std::string_view::npos) {
      result.error = "entry " + quote(entry) + " has no '=FD'";
    } else if (eq == 0) {
      result.error = "entry " + quote(entry) + " has no address before '='";
    } else {
      int fd = -1;
      if (!parse_fd(entry.substr(eq + 1), fd))
        result.error = "entry " + quote(entry) + " has a bad file descriptor " + quote(entry.substr(eq + 1));
      else
        result.entries.push_back({std::string(entry.substr(0, eq)), fd});
    }
    if (!result.ok()) {
      result.entries.clear();
      return result;
    }
    if (end == std::string_view::npos) return result;
    start = end + 1;
  }
}

}  // namespace starter
