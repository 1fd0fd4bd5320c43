// libFuzzer target: SERVER_STARTER_PORT as the worker sees it. The daemon-side decoder
// (server_starter_port.h) and the client library's parse_server_ports (server_starter.h, its
// C++ layer over the C API) on arbitrary bytes: they agree, a success lists usable entries, a
// failure is one line naming the variable, and encoding what was decoded gives a value that
// decodes to the same entries.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "server_starter.h"
#include "server_starter_port.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // An environment value ends at its first NUL, and so does what the client library's C API
  // reads: both parsers see the same text.
  input = input.substr(0, input.find('\0'));

  starter::PortDecodeResult decoded = starter::decode_server_starter_port(input);
  if (decoded.ok()) {
    for (const auto& entry : decoded.entries) {
      FUZZ_CHECK(entry.fd >= 0, input);
      FUZZ_CHECK(!entry.key.empty(), input);
      FUZZ_CHECK_MSG(entry.key.find(';') == std::string::npos, input, entry.key);
    }
    const std::string encoded = starter::encode_server_starter_port(decoded.entries);
    starter::PortDecodeResult again = starter::decode_server_starter_port(encoded);
    FUZZ_CHECK_MSG(again.ok(), input, encoded + " -> " + again.error);
    FUZZ_CHECK_MSG(again.entries == decoded.entries, input, encoded);
    // The encoding is canonical: a second round changes nothing.
    FUZZ_CHECK_MSG(starter::encode_server_starter_port(again.entries) == encoded, input, encoded);
  } else {
    FUZZ_CHECK(decoded.entries.empty(), input);
  }

  std::vector<server_starter::Port> ports;
  try {
    ports = server_starter::parse_server_ports(input);
  } catch (const server_starter::Error& e) {
    std::string_view what = e.what();
    FUZZ_CHECK_MSG(!decoded.ok(), input, what);
    // server_starter.h: "what() is one line naming the variable".
    FUZZ_CHECK_MSG(what.starts_with("SERVER_STARTER_PORT"), input, what);
    FUZZ_CHECK_MSG(what.find('\n') == std::string_view::npos, input, what);
    return 0;
  }
  FUZZ_CHECK(decoded.ok(), input);
  FUZZ_CHECK(ports.size() == decoded.entries.size(), input);
  for (std::size_t i = 0; i < ports.size(); ++i) {
    FUZZ_CHECK(ports[i].address == decoded.entries[i].key, input);
    FUZZ_CHECK(ports[i].fd == decoded.entries[i].fd, input);
  }
  return 0;
}
