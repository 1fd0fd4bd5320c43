#pragma once
/// --envdir: a directory of files NAME whose first line is the value of variable NAME
/// (daemontools' envdir, as Server::Starter reads it).

#include <map>
#include <string>

namespace starter {

/// Reads the directory now. Files whose name starts with '.', subdirectories and empty files
/// are skipped (Perl skips empty files rather than unsetting). A directory that does not
/// exist yields nothing, as in Perl. Unreadable files are skipped.
std::map<std::string, std::string> read_envdir(const std::string& dir);

}  // namespace starter
