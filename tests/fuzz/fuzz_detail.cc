// libFuzzer target: the status detail file (status_detail.h) and what --status prints from it
// (status_report.h). parse_detail takes any bytes without crashing; what it accepts survives a
// write and a read exactly; the JSON and the table are made from it without crashing, and the
// JSON carries no raw control byte (every string is escaped) and is one line.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "status_detail.h"
#include "status_report.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto detail = starter::parse_detail(input);
  if (!detail) return 0;

  const std::string text = starter::format_detail(*detail);
  auto again = starter::parse_detail(text);
  FUZZ_CHECK_MSG(again.has_value(), input, text);
  FUZZ_CHECK_MSG(*again == *detail, input, text);
  FUZZ_CHECK_MSG(starter::format_detail(*again) == text, input, text);

  const std::string json = starter::status_json(*detail, 1'000'000, 1'796'000'000'000);
  for (std::size_t i = 0; i + 1 < json.size(); ++i)
    FUZZ_CHECK_MSG(static_cast<unsigned char>(json[i]) >= 0x20 && json[i] != 0x7f, input, json);
  FUZZ_CHECK_MSG(!json.empty() && json.back() == '\n' && json.front() == '{', input, json);
  (void)starter::status_table(*detail, 1'000'000, 1'796'000'000'000);
  return 0;
}
