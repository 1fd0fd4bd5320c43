#include "descendants.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "error.h"
#include "fd.h"
#include "server_starter_port.h"
#include "status_format.h"

namespace starter {

void become_subreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    throw SysError("prctl", "").flag("PR_SET_CHILD_SUBREAPER");
}

std::vector<pid_t> own_children() {
  std::vector<pid_t> out;
  std::string tasks = "/proc/" + std::to_string(::getpid()) + "/task";
  DIR* dir = ::opendir(tasks.c_str());
  if (!dir) return out;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::string text;
    try {
      text = read_file(tasks + "/" + entry->d_name + "/children");
    } catch (const SysError&) {
      continue;  // the task is gone, or the kernel has no children list
    }
    std::string_view rest = text;
    while (!rest.empty()) {
      std::size_t space = rest.find(' ');
      pid_t pid = 0;
      if (parse_pid(rest.substr(0, space), pid)) out.push_back(pid);
      rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
    }
  }
  ::closedir(dir);
  return out;
}

std::optional<unsigned long> generation_of(pid_t pid) {
  std::string environ;
  try {
    environ = read_file("/proc/" + std::to_string(pid) + "/environ");
  } catch (const SysError&) {
    return std::nullopt;
  }
  const std::string prefix = std::string(kGenerationVariable) + "=";
  std::string_view rest = environ;
  while (!rest.empty()) {
    std::size_t end = rest.find('\0');
    std::string_view entry = rest.substr(0, end);
    unsigned long generation = 0;
    if (entry.substr(0, prefix.size()) == prefix &&
        parse_number(entry.substr(prefix.size()), generation))
      return generation;
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  }
  return std::nullopt;
}

}  // namespace starter
