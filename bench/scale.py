"""Scale (bench/run, part 5).

Many listeners: --listeners (1,000) × --port=127.0.0.1:0 handed to one latency_worker, ours
(gated) and Perl's. RLIMIT_NOFILE is raised to its hard limit for the run. Measured: launch
until the worker is ready, the length of SERVER_STARTER_PORT (from the worker's
/proc/PID/environ), the fds of supervisor and worker, whether every listener answers (the
worker's listening ports are found through its fds' socket inodes in /proc/net/tcp, and each
gets one connection), and one reload with them all.

Many reloads: --reloads SIGHUPs in a row, each once the previous reload has finished (the
status file lists only the new generation, and that worker has logged that it is ready): ours gated with a worker ready at once, ours
Perl-compatible with --interval=0, and Perl with --interval=0 (at its default --interval=1 it
would take three hours). Waiting for the worker matters for Perl at --interval=0: it calls a
worker up right after fork(), so the next SIGHUP would have its SIGTERM kill a worker that
has not even started. Perl's start_server can also sleep through a SIGHUP: its $wait checks
@signals_received, then _wait3 clears $sighandler_got_sig and blocks in wait(); a SIGHUP
handled between the two is queued but wakes nothing, until the next signal or child exit.
A SIGHUP sent just after a reload has finished hits that window now and then (once in some
hundreds to thousands here), so for Perl a reload not finished after 1 s is counted as
stalled and woken with SIGALRM, which Perl's handler records and its loop skips. The supervisor's fds, children and RSS are sampled before, every tenth of
the way, and after: none may grow.
"""

import os
import re
import signal
import socket
import time

import benchlib as bl

STALL_S = 1.0  # a reload of a worker ready at once that takes this long has stalled


def worker_pid(work):
    status = bl.read_status(work / "status")
    return status[-1][1] if status else None


def ready(sup, work, generation=None):
    sup.check_alive()
    status = bl.read_status(work / "status")
    if len(status) != 1 or (generation is not None and status[0][0] != generation):
        return None
    try:
        if f"ready pid={status[0][1]} " in (work / "worker.log").read_text():
            return status[0]
    except OSError:
        pass
    return None


def listening_ports(pid):
    """The TCP ports pid listens on (IPv4), from its fds' inodes and /proc/net/tcp."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            m = re.match(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if m:
            inodes.add(m[1])
    ports = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:  # 0A: LISTEN
                ports.append(int(parts[1].split(":")[1], 16))
    return ports


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            return bool(s.recv(64))
    except OSError:
        return False


def many_listeners(ctx, section):
    soft, hard = bl.raise_nofile()
    n = ctx.listeners
    configs = [("gated", "ours, gated", [ctx.ours, "--ready=notify"]),
               ("perl", f"Perl {ctx.perl_version}", [ctx.perl])]
    rows, data = [], {}
    for key, label, starter in configs:
        work = ctx.tempdir(f"listeners-{key}")
        argv = starter + ["--port=127.0.0.1:0"] * n + [
            f"--status-file={work / 'status'}", "--", ctx.latency_worker,
            f"--log={work / 'worker.log'}", "--ready-after-ms=0"]
        d = {}
        try:
            t0 = time.monotonic()
            with bl.Supervisor(argv, work / "start_server.log") as sup:
                gen, wpid = bl.wait_until(lambda: ready(sup, work), 60, f"{key}: worker with {n} listeners")
                d["start_ms"] = (time.monotonic() - t0) * 1000
                env = open(f"/proc/{wpid}/environ", "rb").read().split(b"\0")
                port_var = next((e for e in env if e.startswith(b"SERVER_STARTER_PORT=")), b"=")
                d["port_len"] = len(port_var.split(b"=", 1)[1])
                d["entries"] = port_var.count(b";") + 1
                d["sup_fds"], d["worker_fds"] = bl.fd_count(sup.pid), bl.fd_count(wpid)
                d["rss_kib"] = bl.rss_kib(sup.pid)
                ports = listening_ports(wpid)
                d["ports"] = len(ports)
                d["answered"] = sum(answers(p) for p in ports)
                t1 = time.monotonic()
                sup.proc.send_signal(signal.SIGHUP)
                bl.wait_until(lambda: ready(sup, work, gen + 1), 60, f"{key}: reload with {n} listeners")
                d["reload_ms"] = (time.monotonic() - t1) * 1000
                d["sup_fds_after"] = bl.fd_count(sup.pid)
        except (TimeoutError, RuntimeError, OSError, StopIteration) as e:
            section.fail(f"{n} listeners, {key}: {e}")
        data[key] = d
        g = d.get
        rows.append([label, bl.fmt_count(g("ports")), f"{bl.fmt_count(g('answered'))} of {bl.fmt_count(g('ports'))}",
                     bl.fmt_count(g("port_len")), bl.fmt_count(g("sup_fds")), bl.fmt_count(g("worker_fds")),
                     bl.fmt_ms(g("start_ms")), bl.fmt_ms(g("reload_ms")),
                     f"{g('rss_kib') / 1024:.2f}" if g("rss_kib") else "–"])
    section.table(["supervisor", "listeners the worker holds", "answered", "SERVER_STARTER_PORT (bytes)",
                   "supervisor fds", "worker fds", "launch → worker ready (ms)",
                   "SIGHUP → new generation alone (ms)", "supervisor VmRSS (MiB)"], rows,
                  f"{n} × `--port=127.0.0.1:0`, one run each, RLIMIT_NOFILE {soft}/{hard}. "
                  "Perl's reload includes its `--interval` of 1 s.")
    ours = data.get("gated", {})
    section.target(f"{n} listeners handed to a worker (ours)",
                   ours.get("answered") == n and ours.get("ports") == n,
                   f"{ours.get('answered', 0)} of {n} answered")
    return data


def snapshot(pid):
    kids = bl.children(pid)
    return {"fds": bl.fd_count(pid), "children": len(kids),
            "zombies": sum(1 for _, state in kids if state == "Z"), "rss_kib": bl.rss_kib(pid),
            "threads": int(bl.status_field(pid, "Threads") or 0)}


class ReadyLog:
    """The pids that latency_worker logged ready, read incrementally (the log grows by three
    lines a generation: rereading it whole would make 10,000 reloads quadratic)."""

    def __init__(self, path):
        self.path, self.pos, self.partial, self.ready = path, 0, "", set()

    def has(self, pid):
        if pid not in self.ready:
            try:
                with open(self.path) as f:
                    f.seek(self.pos)
                    data = f.read()
                    self.pos = f.tell()
            except OSError:
                return False
            lines = (self.partial + data).split("\n")
            self.partial = lines.pop()
            for line in lines:
                if line.startswith("ready pid="):
                    self.ready.add(int(line.split()[1][4:]))
        return pid in self.ready


def reload_loop(ctx, section, key, starter, count, nudge=None):
    """count reloads in a row. nudge: a signal the supervisor ignores, sent when a reload has
    not finished after STALL_S, to wake a supervisor that slept through its SIGHUP (Perl's
    lost wake-up, see the module's notes); such reloads are counted as stalled."""
    work = ctx.tempdir(f"reloads-{key}")
    argv = starter + ["--port=127.0.0.1:0", f"--status-file={work / 'status'}", "--",
                      ctx.latency_worker, f"--log={work / 'worker.log'}", "--ready-after-ms=0"]
    d = {"count": count, "done": 0, "samples": [], "stalled": 0}
    try:
        with bl.Supervisor(argv, work / "start_server.log") as sup:
            gen, _ = bl.wait_until(lambda: ready(sup, work), 15, f"{key}: first generation")
            time.sleep(0.2)
            d["before"] = snapshot(sup.pid)
            durations, t0 = [], time.monotonic()
            log = ReadyLog(work / "worker.log")
            for i in range(count):
                a = time.monotonic()
                sup.proc.send_signal(signal.SIGHUP)

                def alone(expected=gen + 1):
                    s = bl.read_status(work / "status")
                    if len(s) == 1 and s[0][0] >= expected and log.has(s[0][1]):
                        return s[0]
                    return sup.check_alive() and None
                try:
                    try:
                        gen, _ = bl.wait_until(alone, STALL_S if nudge else 15, f"{key}: reload {i + 1}",
                                               poll_s=0.0002)
                    except TimeoutError:
                        if not nudge:
                            raise
                        d["stalled"] += 1
                        sup.proc.send_signal(nudge)
                        gen, _ = bl.wait_until(alone, 15, f"{key}: reload {i + 1} after a nudge",
                                               poll_s=0.0002)
                except TimeoutError:
                    d["stuck"] = describe_children(sup.pid)
                    raise
                durations.append((time.monotonic() - a) * 1000)
                d["done"] = i + 1
                if (i + 1) % max(1, count // 10) == 0:
                    time.sleep(0.05)  # not in the middle of writing the status file
                    d["samples"].append((i + 1, snapshot(sup.pid)))
            d["total_s"] = time.monotonic() - t0
            time.sleep(0.2)
            d["after"] = snapshot(sup.pid)
            d["durations"] = durations
    except (TimeoutError, RuntimeError, OSError) as e:
        section.fail(f"{count} reloads, {key}: {e}; its children then: {d.get('stuck', '?')}")
    return d


def describe_children(pid):
    """What each child of pid is doing (for a reload that never finishes)."""
    out = []
    for child, state in bl.children(pid):
        try:
            cmd = open(f"/proc/{child}/cmdline", "rb").read().split(b"\0")[0].decode(errors="replace")
            wchan = open(f"/proc/{child}/wchan").read()
        except OSError:
            cmd, wchan = "?", "?"
        out.append(f"{child} {state} {os.path.basename(cmd)} wchan={wchan} "
                   f"SigPnd={bl.status_field(child, 'SigPnd')} ShdPnd={bl.status_field(child, 'ShdPnd')} "
                   f"SigBlk={bl.status_field(child, 'SigBlk')} SigCgt={bl.status_field(child, 'SigCgt')}")
    return "; ".join(out)


def many_reloads(ctx, section):
    configs = [("gated", "ours, gated, worker ready at once", [ctx.ours, "--ready=notify"], None),
               ("compat0", "ours, Perl-compatible, `--interval=0`", [ctx.ours, "--interval=0"], None),
               ("perl0", f"Perl {ctx.perl_version}, `--interval=0`", [ctx.perl, "--interval=0"], signal.SIGALRM)]
    rows, data = [], {}
    for key, label, starter, nudge in configs:
        count = ctx.reloads
        bl.say(f"scale: {count} reloads, {key}")
        d = reload_loop(ctx, section, key, starter, count, nudge)
        data[key] = d
        b, a = d.get("before"), d.get("after")
        fmt = lambda s: "–" if not s else (  # noqa: E731
            f"{s['fds']} fds, {s['children']} children ({s['zombies']} zombies), "
            f"{s['rss_kib'] / 1024:.2f} MiB")
        rows.append([label, f"{d['done']} of {count}", d["stalled"] if nudge else "",
                     bl.fmt_summary(d.get("durations")),
                     f"{d['total_s']:.1f}" if "total_s" in d else "–", fmt(b), fmt(a),
                     "; ".join(f"{i}: {s['fds']}/{s['children']}" for i, s in d["samples"])])
        if key != "perl0" and b and a:
            grew = a["fds"] > b["fds"] or a["children"] > b["children"]
            section.target(f"no growth over {count} reloads ({label})", not grew and d["done"] == count,
                           f"fds {b['fds']} → {a['fds']}, children {b['children']} → {a['children']}, "
                           f"RSS {b['rss_kib']} → {a['rss_kib']} KiB, fds/children at each tenth: "
                           + " ".join(f"{s['fds']}/{s['children']}" for _, s in d["samples"]))
    section.table(["supervisor", "reloads done", f"slept through the SIGHUP (woken after {STALL_S:g} s)",
                   "each: SIGHUP → new generation alone (ms)", "total (s)",
                   "before", "after", "fds/children every tenth"], rows,
                  "Reloads in a row, each started once the previous one had finished, median "
                  "(min–max) per reload as seen by polling the status file (and the worker's "
                  "log) every 0.2 ms. Ours gets no second chance: a reload not finished within "
                  "15 s fails the run.")
    return data


def run(ctx):
    section = bl.Section("Scale")
    data = {"listeners": many_listeners(ctx, section), "reloads": many_reloads(ctx, section)}
    section.add(__doc__.split("\n\n", 1)[1].replace("\n", " ").replace(".  ", ".\n\n"), "")
    return section, data
