#pragma once
/// --envdir: a directory of files NAME whose first line is the value of variable NAME
/// (daemontools' envdir, as Server::Starter reads it).

#include <map>
#include <string>
#include <vector>

namespace starter {

/// The most of a file read for its first line: an environment string ("NAME=value") cannot
/// be longer than this (the kernel's MAX_ARG_STRLEN), so a longer line could never be passed.
inline constexpr std::size_t kEnvdirValueMax = 128 * 1024;

/// Reads the directory now. Files whose name starts with '.', subdirectories and empty files
/// are skipped (Perl skips empty files rather than unsetting). A directory that does not
/// exist yields nothing, as in Perl. Unreadable files are skipped. Only the first line is
/// read, at most kEnvdirValueMax bytes: a longer one is skipped. A value is cut at a NUL
/// byte, as exec would cut it. What was skipped or cut is said in `notes`, one line each.
std::map<std::string, std::string> read_envdir(const std::string& dir,
                                               std::vector<std::string>* notes = nullptr);

}  // namespace starter
