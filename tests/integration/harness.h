#pragma once
/// The integration-test harness: runs the real start_server (STARTER_BINARY) with the fake
/// worker (FAKE_WORKER) and observes it only from the outside, as a user would (dumb-init's
/// testing/, ninja's subprocess_test.cc).
///
/// Rules every test follows:
///  - each test owns a TempDir; ports are always 0 (the kernel picks), the real address is read
///    from the worker's `listen` report line, so tests can run in parallel (ctest -j);
///  - every wait is wait_until(predicate, deadline): never a bare sleep as synchronisation. A
///    bounded wait that is expected to time out is how "this never happens" is checked;
///  - StarterProcess cleans up after itself: TERM, then KILL, then reap, then KILL any worker pid
///    that its report files name and that still runs the fake worker.
///
/// Report lines written by the fake worker: `WORD pid=P gen=G k=v ...` (see Record).
///
/// The parts, in harness/: common (clock, deadlines, wait_until, the programs under test),
/// files (TempDir, file helpers, the status file), report (the fake worker's command line and
/// report), processes (StarterProcess, run_command, Cleanup, /proc), network (requests to
/// listeners), daemon (start_server with generation 1 up). Including this header includes
/// them all.

#include "harness/common.h"
#include "harness/daemon.h"
#include "harness/files.h"
#include "harness/network.h"
#include "harness/processes.h"
#include "harness/report.h"
