#include "lock_holder.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <limits>

#include "fd.h"
#include "number.h"

namespace starter {

namespace {

/// The next space-separated word of `text`, consumed.
std::string_view next_word(std::string_view& text) {
  std::size_t start = text.find_first_not_of(' ');
  if (start == std::string_view::npos) return text = {};
  text.remove_prefix(start);
  std::size_t end = text.find(' ');
  std::string_view word = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  return word;
}

template <typename T>
bool parse_whole(std::string_view text, T& out, int base) {
  std::optional<T> n =
      parse_integer<T>(text, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), base);
  if (n) out = *n;
  return n.has_value();
}

}  // namespace

std::optional<pid_t> parse_flock_holder(std::string_view proc_locks, dev_t dev, ino_t ino) {
  while (!proc_locks.empty()) {
    std::size_t nl = proc_locks.find('\n');
    std::string_view line = proc_locks.substr(0, nl);
    proc_locks.remove_prefix(nl == std::string_view::npos ? proc_locks.size() : nl + 1);
    next_word(line);                           // "N:"
    if (next_word(line) != "FLOCK") continue;  // "->" (a waiter), POSIX, OFDLCK, LEASE
    next_word(line);                           // ADVISORY or MANDATORY
    next_word(line);                           // READ or WRITE
    pid_t pid = 0;
    if (!parse_whole(next_word(line), pid, 10)) continue;
    std::string_view file = next_word(line);
    std::size_t c1 = file.find(':'), c2 = file.rfind(':');
    unsigned maj = 0, min = 0;
    unsigned long long inode = 0;
    if (c1 == c2 || !parse_whole(file.substr(0, c1), maj, 16) ||
        !parse_whole(file.substr(c1 + 1, c2 - c1 - 1), min, 16) ||
        !parse_whole(file.substr(c2 + 1), inode, 10))
      continue;
    if (inode == ino && ::makedev(maj, min) == dev) return pid;
  }
  return std::nullopt;
}

std::optional<pid_t> flock_holder(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return std::nullopt;
  std::string locks;
  try {
    locks = read_file("/proc/locks");
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return parse_flock_holder(locks, st.st_dev, st.st_ino);
}

}  // namespace starter
