#include "envdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <optional>

#include "error.h"
#include "fd.h"
#include "number.h"

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

/// The value of `name` in `envdir`, unless it is absent or empty.
const std::string* value_of(const std::map<std::string, std::string>& envdir, const char* name) {
  auto it = envdir.find(name);
  return it == envdir.end() || it->second.empty() ? nullptr : &it->second;
}

/// `value` as whole seconds of at least `minimum`, or `kept` and a line in `problems`.
Millis seconds_or(const char* name, const std::string& value, int minimum, Millis kept,
                  std::vector<std::string>& problems) {
  if (auto n = parse_integer<int>(value, minimum)) return Seconds(*n);
  problems.push_back("--envdir: " + std::string(name) + ": invalid value " + quote(value) +
                     " (a whole number of seconds, at least " + std::to_string(minimum) +
                     ", expected)");
  return kept;
}

}  // namespace

SupervisorSettings settings_with_envdir(const SupervisorSettings& command_line,
                                        bool kill_old_delay_given,
                                        const SupervisorSettings& current,
                                        const std::map<std::string, std::string>& envdir,
                                        std::vector<std::string>& problems) {
  SupervisorSettings s = command_line;
  if (const std::string* v = value_of(envdir, "ENABLE_AUTO_RESTART")) s.auto_restart = *v != "0";
  if (const std::string* v = value_of(envdir, "AUTO_RESTART_INTERVAL"))
    s.auto_restart_interval = seconds_or("AUTO_RESTART_INTERVAL", *v, 1,
                                         current.auto_restart_interval, problems);
  if (const std::string* v = value_of(envdir, "KILL_OLD_DELAY"))
    s.kill_old_delay = seconds_or("KILL_OLD_DELAY", *v, 0, current.kill_old_delay, problems);
  else if (!kill_old_delay_given)
    s.kill_old_delay = s.auto_restart ? SupervisorSettings::kAutoRestartKillOldDelay : Millis(0);
  return s;
}

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
