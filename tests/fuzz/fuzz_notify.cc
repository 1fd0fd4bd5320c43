// libFuzzer target: one datagram on a worker's notify socket (worker_notify_socket.h), as any
// local process may send it: oversized, without a newline, binary. parse_notify_message never
// crashes; the fields it keeps are well formed (a non-empty name without '=', no control
// characters anywhere), and whatever it drops marks the message malformed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "worker_notify_socket.h"

namespace {

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

// How many NAME=VALUE lines a well-behaved parser must keep.
std::size_t good_lines(std::string_view datagram) {
  std::size_t count = 0;
  while (!datagram.empty()) {
    std::size_t nl = datagram.find('\n');
    std::string_view line = datagram.substr(0, nl);
    datagram = nl == std::string_view::npos ? std::string_view() : datagram.substr(nl + 1);
    std::size_t eq = line.find('=');
    if (!line.empty() && eq != std::string_view::npos && eq > 0 && !has_control(line)) ++count;
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr pid_t kSender = 4242;

  starter::NotifyMessage message = starter::parse_notify_message(input, kSender);
  FUZZ_CHECK(message.sender == kSender, input);
  for (const auto& [name, value] : message.fields) {
    FUZZ_CHECK_MSG(!name.empty(), input, value);
    FUZZ_CHECK_MSG(name.find('=') == std::string::npos, input, name);
    FUZZ_CHECK_MSG(!has_control(name), input, name);
    FUZZ_CHECK_MSG(!has_control(value), input, value);
    FUZZ_CHECK(message.get(name).has_value(), input);
  }
  // Only well-formed lines become fields; a message that is not malformed keeps them all.
  FUZZ_CHECK(message.fields.size() <= good_lines(input), input);
  if (!message.malformed) FUZZ_CHECK(message.fields.size() == good_lines(input), input);
  // get() answers with the last value given for a name, as systemd does.
  if (!message.fields.empty()) {
    const auto& [name, value] = message.fields.back();
    FUZZ_CHECK(message.get(name) == value, input);
  }
  // Malformed exactly as worker_notify_socket.h says: over 4096 bytes, or a non-empty line
  // without a name before '=' or with a control character.
  bool every_line_good = true;
  std::string_view rest = input;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() &&
        (line.find('=') == std::string_view::npos || line.front() == '=' || has_control(line)))
      every_line_good = false;
  }
  if (input.size() > 4096) every_line_good = false;
  FUZZ_CHECK(message.malformed == !every_line_good, input);
  return 0;
}
