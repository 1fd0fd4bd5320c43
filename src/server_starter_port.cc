#include "server_starter_port.h"

#include "number.h"
#include "quote.h"

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

PortDecodeResult decode_server_starter_port(std::string_view value) {
  PortDecodeResult result;
  if (value.empty()) return result;
  if (value.back() == ';') value.remove_suffix(1);
  std::size_t start = 0;
  for (;;) {
    std::size_t end = value.find(';', start);
    std::string_view entry =
        value.substr(start, end == std::string_view::npos ? value.npos : end - start);
    std::size_t eq = entry.rfind('=');
    if (entry.empty()) {
      result.error = "empty entry in " + quote(value);
    } else if (eq == std::string_view::npos) {
      result.error = "entry " + quote(entry) + " has no '=FD'";
    } else if (eq == 0) {
      result.error = "entry " + quote(entry) + " has no address before '='";
    } else {
      std::optional<int> fd = parse_integer<int>(entry.substr(eq + 1), 0);
      if (!fd)
        result.error =
            "entry " + quote(entry) + " has a bad file descriptor " + quote(entry.substr(eq + 1));
      else
        result.entries.push_back({std::string(entry.substr(0, eq)), *fd});
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
