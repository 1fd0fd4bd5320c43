// libFuzzer target: the --port and --path parsers (listen_spec.h) on arbitrary bytes.
// Each input is tried as a --port value and as a --path value. Either parser returns a spec
// or throws UsageError with a one-line message; nothing else may escape, and a returned spec
// must be one start_server can hand down in SERVER_STARTER_PORT and spell again.

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "error.h"
#include "fuzz_check.h"
#include "listen_spec.h"

namespace {

using starter::ListenSpec;

// The --port spelling of `spec`: its key with the "u" of UDP put back, plus "=FD".
std::string port_spelling(const ListenSpec& spec) {
  std::string text = spec.key();
  if (spec.kind == ListenSpec::Kind::kUdp) {
    std::size_t colon = text.rfind(':');
    text.insert(colon == std::string::npos ? 0 : colon + 1, "u");
  }
  if (spec.pinned_fd) text += "=" + std::to_string(*spec.pinned_fd);
  return text;
}

void check_error(const starter::UsageError& e, std::string_view input) {
  std::string_view what = e.what();
  FUZZ_CHECK_MSG(!what.empty(), input, what);
  FUZZ_CHECK_MSG(what.find('\n') == std::string_view::npos, input, what);
}

void check_pin(const ListenSpec& spec, std::string_view input) {
  if (!spec.pinned_fd) return;
  FUZZ_CHECK(*spec.pinned_fd >= 0, input);
  FUZZ_CHECK(*spec.pinned_fd != 1 && *spec.pinned_fd != 2, input);
}

void check_port(std::string_view input) {
  ListenSpec spec;
  try {
    spec = starter::parse_port(input);
  } catch (const starter::UsageError& e) {
    check_error(e, input);
    return;
  }
  const std::string key = spec.key();
  FUZZ_CHECK(spec.kind != ListenSpec::Kind::kUnix, input);
  FUZZ_CHECK(spec.path.empty(), input);
  FUZZ_CHECK_MSG(!key.empty(), input, key);
  // SERVER_STARTER_PORT separates entries with ';' and ends a key at the last '='.
  FUZZ_CHECK_MSG(key.find(';') == std::string::npos, input, key);
  FUZZ_CHECK_MSG(key.find('=') == std::string::npos, input, key);
  static_assert(std::numeric_limits<decltype(spec.port)>::max() == 65535,
                "port <= 65535 by its type");
  const std::string port_text = std::to_string(spec.port);
  FUZZ_CHECK_MSG(key.size() >= port_text.size() &&
                     key.compare(key.size() - port_text.size(), port_text.size(), port_text) == 0,
                 input, key);
  check_pin(spec, input);
  if (spec.ipv6) {
    in6_addr addr{};
    FUZZ_CHECK_MSG(::inet_pton(AF_INET6, spec.host.c_str(), &addr) == 1, input, spec.host);
  } else {
    FUZZ_CHECK_MSG(spec.host.find(':') == std::string::npos, input, spec.host);
  }
  FUZZ_CHECK(!spec.describe().empty(), input);
  // The key is the canonical spelling: parsed again it gives the same spec.
  const std::string spelling = port_spelling(spec);
  try {
    FUZZ_CHECK_MSG(starter::parse_port(spelling) == spec, input, spelling);
  } catch (const starter::UsageError& e) {
    FUZZ_CHECK_MSG(false && "the canonical spelling is refused", input,
                   spelling + " -> " + e.what());
  }
}

void check_path(std::string_view input) {
  ListenSpec spec;
  try {
    spec = starter::parse_path(input);
  } catch (const starter::UsageError& e) {
    check_error(e, input);
    return;
  }
  FUZZ_CHECK(spec.kind == ListenSpec::Kind::kUnix, input);
  FUZZ_CHECK(!spec.pinned_fd, input);
  const std::string key = spec.key();
  FUZZ_CHECK(key == input, input);
  FUZZ_CHECK(!key.empty() && key.size() <= starter::max_unix_path(), input);
  FUZZ_CHECK(key.find_first_of(";=") == std::string::npos, input);
  FUZZ_CHECK(starter::parse_path(key) == spec, input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_port(input);
  check_path(input);
  return 0;
}
