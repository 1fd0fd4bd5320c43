#pragma once
/// --envdir: a directory of files NAME whose first line is the value of variable NAME
/// (daemontools' envdir, as Server::Starter reads it).

#include <map>
#include <string>
#include <vector>

#include "supervisor_settings.h"

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

/// What the envdir makes of start_server's own settings, as Perl's start_server does: it
/// loads the envdir into its own environment, over the options, and reads
/// ENABLE_AUTO_RESTART, AUTO_RESTART_INTERVAL and KILL_OLD_DELAY from there at each turn of its
/// loop (Server/Starter.pm 0.35, start_server(): `local @ENV{...}` after _load_env()).
/// Pure: the caller reads the envdir (read_envdir) and passes its values in.
///
///   `command_line`  the settings of the options and the inherited environment (Config)
///   `kill_old_delay_given`  --kill-old-delay or KILL_OLD_DELAY was given there: otherwise the
///                   delay follows auto-restart (5s with it, 0 without, Perl's default)
///   `current`       the settings in force now: a value the envdir holds but that is not a
///                   number leaves its setting as it is now, and `problems` says why
///
/// A variable the envdir does not set, or sets to "" (an empty first line), leaves the
/// command line's value: removing the file goes back to it (Perl would keep what the envdir
/// held when it started). ENABLE_AUTO_RESTART is on unless it is "0", as in Perl. Numbers are
/// whole seconds written as the options take them (number.h): AUTO_RESTART_INTERVAL at least
/// 1, KILL_OLD_DELAY at least 0.
///
///   {} over --kill-old-delay=3                 -> kill-old-delay 3s
///   {KILL_OLD_DELAY=10} over --kill-old-delay=3 -> 10s (the envdir wins, as in Perl)
///   {ENABLE_AUTO_RESTART=1}                    -> auto-restart on, kill-old-delay 5s
///   {KILL_OLD_DELAY=10s}, current 7s           -> 7s, problems: "--envdir: KILL_OLD_DELAY:
///                                                 invalid value '10s' (a whole number ...)"
SupervisorSettings settings_with_envdir(const SupervisorSettings& command_line,
                                        bool kill_old_delay_given,
                                        const SupervisorSettings& current,
                                        const std::map<std::string, std::string>& envdir,
                                        std::vector<std::string>& problems);

}  // namespace starter
