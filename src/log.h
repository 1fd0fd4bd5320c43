#pragma once
/// One-line messages of the daemon. They go to fd 2, which is the terminal, the journal or,
/// once set up, the --log-file. No other module writes to stderr.

#include <string_view>

namespace starter {

/// Writes "start_server: MESSAGE\n" in one write(2), so lines from start_server and its
/// workers never interleave mid-line in a shared log.
void log_line(std::string_view message);

/// Writes LINE and a newline as is: for the lines Perl's start_server prints too, worded as
/// Perl's and bare as Perl prints them ("start_server (pid:N) starting now...", "starting new
/// worker N", ...: action::Log::perl), so that a log parser written for Perl's reads ours.
void log_raw(std::string_view line);

/// From now on, write to `fd` instead of fd 2. A line that `fd` cannot take at once (a
/// non-blocking pipe whose reader stopped reading) is dropped, never waited for; the next
/// line that gets through says how many were lost.
void log_to(int fd);

}  // namespace starter
