#include "status_format.h"

#include <algorithm>
#include <charconv>

namespace starter {

namespace {

bool parse_number(std::string_view text, unsigned long& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::string format_status(const StatusSnapshot& status) {
  std::string out;
  for (const auto& g : status.live) out += std::to_string(g.generation) + ":" + std::to_string(g.pid) + "\n";
  if (status.starting)
    out += "starting:" + std::to_string(status.starting->generation) + ":" + std::to_string(status.starting->pid) + "\n";
  if (!status.failure.empty()) {
    std::string reason = status.failure;
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    out += "reload-failed:" + std::to_string(status.failed_generation) + ":" + reason + "\n";
  }
  for (const auto& note : status.notes) out += note + "\n";
  return out;
}

StatusSnapshot parse_status(std::string_view text) {
  StatusSnapshot status;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    constexpr std::string_view kStarting = "starting:";
    if (line.substr(0, kStarting.size()) == kStarting) {
      std::string_view rest = line.substr(kStarting.size());
      std::size_t colon = rest.find(':');
      unsigned long gen = 0, pid = 0;
      if (colon != std::string_view::npos && parse_number(rest.substr(0, colon), gen) &&
          parse_number(rest.substr(colon + 1), pid))
        status.starting = GenerationPid{gen, static_cast<pid_t>(pid)};
      continue;
    }
    constexpr std::string_view kFailed = "reload-failed:";
    if (line.substr(0, kFailed.size()) == kFailed) {
      line.remove_prefix(kFailed.size());
      std::size_t colon = line.find(':');
      if (colon != std::string_view::npos && parse_number(line.substr(0, colon), status.failed_generation))
        status.failure = std::string(line.substr(colon + 1));
      continue;
    }
    std::size_t colon = line.find(':');
    unsigned long gen = 0, pid = 0;
    if (colon == std::string_view::npos || !parse_number(line.substr(0, colon), gen) ||
        !parse_number(line.substr(colon + 1), pid))
      continue;
    status.live.push_back({gen, static_cast<pid_t>(pid)});
  }
  std::sort(status.live.begin(), status.live.end(),
            [](const GenerationPid& a, const GenerationPid& b) { return a.generation < b.generation; });
  return status;
}

}  // namespace starter
