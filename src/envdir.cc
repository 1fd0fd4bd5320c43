#include "envdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <optional>

#include "error.h"
#include "fd.h"

namespace starter {

namespace {

/// The first line of `path`, reading at most kEnvdirValueMax + 1 bytes; nullopt if longer.
std::optional<std::string> first_line(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) throw SysError("open", path);
  std::string text(kEnvdirValueMax + 1, '\0');
  std::size_t used = 0;
  while (used < text.size()) {
    long n = read_some(fd.get(), text.data() + used, text.size() - used);
    if (n < 0) throw SysError("read", path);
    if (n == 0) break;
    std::size_t nl = text.find('\n', used);
    used += static_cast<std::size_t>(n);
    if (nl < used) return text.substr(0, nl);
  }
  text.resize(used);
  if (std::size_t nl = text.find('\n'); nl != std::string::npos) return text.substr(0, nl);
  if (used > kEnvdirValueMax) return std::nullopt;
  return text;
}

}  // namespace

std::map<std::string, std::string> read_envdir(const std::string& dir,
                                               std::vector<std::string>* notes) {
  auto note = [&](const std::string& text) {
    if (notes) notes->push_back("--envdir: " + text);
  };
  std::map<std::string, std::string> out;
  DIR* handle = ::opendir(dir.c_str());
  if (!handle) return out;
  while (dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name.empty() || name[0] == '.' || name.find('=') != std::string::npos) continue;
    std::string path = dir + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) continue;
    std::optional<std::string> line;
    try {
      line = first_line(path);
    } catch (const SysError& e) {
      note(std::string(e.what()) + "; " + quote(name) + " is left as it was");
      continue;
    }
    if (!line) {
      note("the first line of " + quote(path) + " is longer than " +
           std::to_string(kEnvdirValueMax) + " bytes, the most a variable can hold; " +
           quote(name) + " is not set from it");
      continue;
    }
    if (std::size_t nul = line->find('\0'); nul != std::string::npos) {
      note("the value of " + quote(name) + " in " + quote(path) +
           " holds a NUL byte; it is cut there");
      line->resize(nul);
    }
    out[name] = *line;
  }
  ::closedir(handle);
  return out;
}

}  // namespace starter
