#pragma once
/// --daemonize: fork, setsid, fork, as Perl's start_server does (no chdir, umask kept).

namespace starter {

/// Returns in the grandchild only. The parents leave with _exit(0), so no destructor of
/// theirs removes the files and sockets the grandchild goes on using. stdin becomes
/// /dev/null unless `keep_stdin` (a listener was placed at fd 0 with "=0").
void daemonize(bool keep_stdin);

}  // namespace starter
