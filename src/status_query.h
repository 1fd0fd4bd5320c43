#pragma once
/// `start_server --status [--json]`: a client that reads what a running start_server keeps
/// in its detail file (status_detail.h) and prints it (status_report.h). It needs only read
/// access to the pid file and the detail file, so it works for any user who may read them.

#include "config.h"

namespace starter {

/// Prints the status and returns kControlOk, or kNotRunning with one line on stderr when
/// no start_server holds the pid file.
int status(const Config& config);

}  // namespace starter
