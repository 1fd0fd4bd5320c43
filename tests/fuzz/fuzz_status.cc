// libFuzzer target: the status file (status_format.h). parse_status reads whatever is in the
// file (ours, Perl's, or garbage) without crashing; what it keeps survives a write and a
// read: parse(format(parse(x))) lists the same live generations, the same generation on
// probation and the same failed generation, and one more round changes nothing at all.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "status_format.h"

namespace {

using starter::GenerationPid;

// Perl's files never list a generation twice; when garbage does, parse_status's order among
// equal generations is unspecified, so compare the lists as multisets.
std::vector<GenerationPid> normalized(std::vector<GenerationPid> live) {
  std::sort(live.begin(), live.end(), [](const GenerationPid& a, const GenerationPid& b) {
    return a.generation != b.generation ? a.generation < b.generation : a.pid < b.pid;
  });
  return live;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  starter::StatusSnapshot first = starter::parse_status(input);
  FUZZ_CHECK(std::is_sorted(first.live.begin(), first.live.end(),
                            [](const GenerationPid& a, const GenerationPid& b) {
                              return a.generation < b.generation;
                            }),
             input);
  FUZZ_CHECK(first.failure.empty() == (first.failed_generation == 0), input);

  const std::string text = starter::format_status(first);
  starter::StatusSnapshot second = starter::parse_status(text);
  FUZZ_CHECK_MSG(normalized(second.live) == normalized(first.live), input, text);
  FUZZ_CHECK_MSG(second.starting == first.starting, input, text);
  FUZZ_CHECK_MSG(second.failed_generation == first.failed_generation, input, text);

  // The lines of ours carry exactly one ':' (ruby-server-starter's split(':').to_h).
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    FUZZ_CHECK_MSG(nl != std::string_view::npos, input, text);  // every line ends in '\n'
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    FUZZ_CHECK_MSG(std::count(line.begin(), line.end(), ':') == 1, input, line);
  }

  // One round reaches a fixed point: reading what was written back changes nothing more.
  const std::string text2 = starter::format_status(second);
  starter::StatusSnapshot third = starter::parse_status(text2);
  FUZZ_CHECK_MSG(normalized(third.live) == normalized(second.live), input, text + " -> " + text2);
  third.live = second.live;
  FUZZ_CHECK_MSG(third == second, input, text + " -> " + text2);
  return 0;
}
