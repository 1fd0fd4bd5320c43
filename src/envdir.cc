#include "envdir.h"

#include <dirent.h>
#include <sys/stat.h>

#include "error.h"
#include "fd.h"

namespace starter {

std::map<std::string, std::string> read_envdir(const std::string& dir) {
  std::map<std::string, std::string> out;
  DIR* handle = ::opendir(dir.c_str());
  if (!handle) return out;
  while (dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name.empty() || name[0] == '.' || name.find('=') != std::string::npos) continue;
    std::string path = dir + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
    std::string text;
    try {
      text = read_file(path);
    } catch (const SysError&) {
      continue;
    }
    std::string first = text.substr(0, text.find('\n'));
    if (text.empty()) continue;
    out[name] = first;
  }
  ::closedir(handle);
  return out;
}

}  // namespace starter
