"""Startup (bench/run, part 4): from launching start_server to the first connection its
worker accepts.

The clock starts just before the start_server process is created. A client then tries
connect() on 127.0.0.1:P every 0.2 ms (refused until start_server has bound the port);
the first connection that succeeds sits in the listen backlog until the worker accepts it,
and the worker (latency_worker, ready at once) answers "G:pid" to each connection it accepts:
the clock stops when that answer arrives. So the figure includes start_server's own start
(exec, dynamic loading; Perl's interpreter and modules), binding, fork and exec of the worker,
and the worker's start.
"""

import errno
import socket
import subprocess
import time

import benchlib as bl

DEADLINE_S = 10.0


def first_answer(port, t0):
    """ns from t0 to the worker's answer on a connection made as early as possible."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(("127.0.0.1", port))
        except OSError as e:
            s.close()
            if e.errno != errno.ECONNREFUSED:
                raise
            time.sleep(0.0002)
            continue
        with s:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            reply = s.recv(64)
            t1 = time.monotonic_ns()
            if not reply:
                raise RuntimeError("the first connection was closed without an answer")
            return t1 - t0, reply.decode(errors="replace").strip()
    raise TimeoutError(f"no answer on 127.0.0.1:{port} within {DEADLINE_S:.0f} s")


def run(ctx):
    section = bl.Section("Startup: launch to the first accepted connection")
    configs = [("gated", "ours, gated", [ctx.ours, "--ready=notify"]),
               ("compat", "ours, Perl-compatible", [ctx.ours]),
               ("perl", f"Perl {ctx.perl_version}", [ctx.perl])]
    values = {key: [] for key, _, _ in configs}
    failed = {key: 0 for key, _, _ in configs}
    for run_no in range(ctx.startup_runs):
        for key, label, starter in configs:  # interleaved, so drifting load hits all alike
            work = ctx.tempdir(f"startup-{key}-{run_no}")
            port = bl.free_port()
            argv = starter + [f"--port=127.0.0.1:{port}", "--", ctx.latency_worker,
                              f"--log={work / 'worker.log'}", "--ready-after-ms=0"]
            sup = bl.Supervisor(argv, work / "start_server.log")
            t0 = time.monotonic_ns()
            try:
                with sup:
                    ns, _ = first_answer(port, t0)
                    values[key].append(ns / 1e6)
            except (TimeoutError, RuntimeError, OSError, subprocess.SubprocessError) as e:
                section.fail(f"startup {key} run {run_no + 1}: {e}: {sup.tail()}")
                failed[key] += 1
    rows = [[label, bl.fmt_summary(values[key], failed[key]),
             bl.fmt_ratio(values[key], values["perl"]) if key != "perl" else ""]
            for key, label, _ in configs]
    section.table(["supervisor", "launch → first answer (ms)", "ours / Perl"], rows,
                  f"{ctx.startup_runs} launches each, median (min–max). " + __doc__.split("\n\n")[1]
                  .replace("\n", " "))
    return section, values
