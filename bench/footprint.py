"""Footprint of the supervisor process (bench/run, part 3).

RSS: VmRSS (and its anonymous part, and PSS) of start_server from /proc/PID/status and
/proc/PID/smaps_rollup, once its first generation serves, with 1 and 100 listeners
(--port=127.0.0.1:0 each), a fresh start_server per run.

Idle: every configuration is started at once and left alone; then, for --idle seconds,
`strace -c -f -p PID` counts the supervisor's system calls while /proc/PID/stat gives its CPU
time (utime + stime). Both are scaled to one minute. The watchdog configuration runs ours
under a stand-in for systemd: NOTIFY_SOCKET is a datagram socket this script reads, and
WATCHDOG_USEC/WATCHDOG_PID are set by a launcher that execs start_server in its own place
(`sh -c 'WATCHDOG_PID=$$ exec …'`), so the pid matches as sd_watchdog_enabled() requires.
"""

import os
import signal
import socket
import subprocess
import threading
import time

import benchlib as bl

WATCHDOG_USEC = 10_000_000  # WatchdogSec=10s: a ping every 5 s


def worker_argv(ctx, work):
    return ["--", ctx.latency_worker, f"--log={work / 'worker.log'}", "--ready-after-ms=0"]


def serving(sup, work):
    """The first generation is listed and its worker has said ready."""
    sup.check_alive()
    status = bl.read_status(work / "status")
    if not status:
        return False
    try:
        return f"ready pid={status[0][1]} " in (work / "worker.log").read_text()
    except OSError:
        return False


def smaps_top(pid, n=4):
    """The n mappings (by file) with the most resident memory, as 'name size' text."""
    sizes, name = {}, None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
                    name = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
                elif parts[0] == "Rss:":
                    sizes[name] = sizes.get(name, 0) + int(parts[1])
    except OSError:
        return ""
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{k} {v / 1024:.1f}" for k, v in top)


def pss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_configs(ctx):
    return [("gated", "ours, gated", [ctx.ours, "--ready=notify"]),
            ("compat", "ours, Perl-compatible", [ctx.ours]),
            ("perl", f"Perl {ctx.perl_version}", [ctx.perl])]


def measure_rss(ctx, section):
    rows, data, ours_max = [], {}, []
    mappings = {}
    for key, label, starter in rss_configs(ctx):
        for n in (1, 100):
            rss, anon, pss = [], [], []
            for run in range(ctx.runs):
                work = ctx.tempdir(f"rss-{key}-{n}-{run}")
                argv = starter + ["--port=127.0.0.1:0"] * n + [
                    f"--status-file={work / 'status'}"] + worker_argv(ctx, work)
                try:
                    with bl.Supervisor(argv, work / "start_server.log") as sup:
                        bl.wait_until(lambda: serving(sup, work), 15, f"{key} with {n} listeners serving")
                        time.sleep(0.2)  # let it settle into its loop
                        rss.append(bl.rss_kib(sup.pid))
                        anon.append(int(bl.status_field(sup.pid, "RssAnon").split()[0]))
                        pss.append(pss_kib(sup.pid))
                        mappings.setdefault(key, smaps_top(sup.pid))
                except (TimeoutError, RuntimeError, OSError) as e:
                    section.fail(f"rss {key} {n} listeners: {e}")
            data[f"{key}|{n}"] = {"rss_kib": rss, "anon_kib": anon, "pss_kib": pss}
            if key != "perl":
                ours_max.extend(rss)
            mib = lambda v: [x / 1024 for x in v if x is not None]  # noqa: E731
            rows.append([label, n, bl.fmt_summary(mib(rss)), bl.fmt_summary(mib(anon)),
                         bl.fmt_summary(mib(pss)), ""])
    # Ratios once Perl's figures exist.
    for row in rows:
        key = {"ours, gated": "gated", "ours, Perl-compatible": "compat"}.get(row[0])
        if key:
            row[5] = bl.fmt_ratio(data[f"{key}|{row[1]}"]["rss_kib"], data[f"perl|{row[1]}"]["rss_kib"])
    section.table(["supervisor", "listeners", "VmRSS (MiB)", "of which anonymous (MiB)", "PSS (MiB)",
                   "VmRSS ours / Perl"], rows,
                  f"Resident memory of the start_server process once its first generation serves "
                  f"(worker: latency_worker), {ctx.runs} fresh starts per row, median (min–max). "
                  "VmRSS counts every resident page it maps, shared libraries included; the "
                  "anonymous part is its own heap and stacks; PSS divides shared pages among the "
                  "processes that map them.")
    section.add("Largest resident mappings (MiB), first run: " + "; ".join(
        f"{k}: {v}" for k, v in mappings.items()), "")
    if ours_max:
        worst = max(ours_max) / 1024
        section.target("supervisor RSS under 2 MB", worst < 2.0,
                       f"ours: VmRSS up to {worst:.2f} MiB (medians above); "
                       f"{'met' if worst < 2 else f'missed by {worst - 2:.2f} MiB'}")
    return data


class NotifyReceiver(threading.Thread):
    """A stand-in for systemd's notification socket: counts the datagrams, by first field."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages, self.stopping = [], threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.messages.append((time.monotonic(), data.decode(errors="replace")))

    def count(self, text, since, until):
        return sum(1 for t, m in self.messages if since <= t <= until and text in m)

    def stop(self):
        self.stopping.set()
        self.join()
        self.sock.close()


def idle_configs(ctx, work):
    wd_env = {"NOTIFY_SOCKET": str(work / "notify"), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    launcher = ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"]
    return [("compat", "ours, Perl-compatible", [ctx.ours], None),
            ("gated", "ours, gated", [ctx.ours, "--ready=notify"], None),
            ("watchdog", f"ours, gated, watchdog (WATCHDOG_USEC={WATCHDOG_USEC // 1_000_000} s)",
             launcher + [ctx.ours, "--ready=notify"], wd_env),
            ("perl", f"Perl {ctx.perl_version}", [ctx.perl], None)]


def strace_counts(path):
    """{syscall: calls} from an `strace -c -o` file (empty when there were none)."""
    counts = {}
    try:
        text = path.read_text()
    except OSError:
        return counts
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            counts[parts[-1]] = int(parts[3])
    return counts


def idle_round(ctx, section, run, results):
    work = ctx.tempdir(f"idle-{run}")
    receiver = NotifyReceiver(work / "notify")
    receiver.start()
    sups = []
    try:
        for key, label, starter, env in idle_configs(ctx, work):
            d = work / key
            d.mkdir()
            argv = starter + ["--port=127.0.0.1:0", f"--status-file={d / 'status'}"] + worker_argv(ctx, d)
            sups.append((key, d, bl.Supervisor(argv, d / "start_server.log", env=bl.starter_env(env)).start()))
        for key, d, sup in sups:
            bl.wait_until(lambda: serving(sup, d), 15, f"idle {key} serving")
        time.sleep(2.0)  # Perl's first --interval, our first status writes: all behind us
        traces = []
        for key, d, sup in sups:
            out = d / "strace.txt"
            with open(d / "strace.err", "wb") as err:
                tracer = subprocess.Popen(["strace", "-c", "-f", "-o", str(out), "-p", str(sup.pid)],
                                          stdout=subprocess.DEVNULL, stderr=err)
            traces.append((key, sup, tracer, out))
        for key, sup, tracer, out in traces:
            # strace may be refused (ptrace_scope, no CAP_SYS_PTRACE): CPU time is still measured.
            bl.wait_until(lambda: tracer.poll() is not None or
                          (bl.status_field(sup.pid, "TracerPid") or "0") != "0", 10,
                          f"strace attached to {key}")
        t0 = time.monotonic()
        ticks0 = {key: bl.cpu_ticks(sup.pid) for key, sup, _, _ in traces}
        time.sleep(ctx.idle)
        t1 = time.monotonic()
        ticks1 = {key: bl.cpu_ticks(sup.pid) for key, sup, _, _ in traces}
        for key, sup, tracer, out in traces:
            refused = tracer.poll() is not None  # it left before being told to: never attached
            if not refused:
                tracer.send_signal(signal.SIGINT)
        for key, sup, tracer, out in traces:
            tracer.wait(10)
            counts = strace_counts(out)
            scale = 60.0 / (t1 - t0)
            per_min = {k: v * scale for k, v in counts.items()}
            r = results.setdefault(key, {"syscalls": [], "cpu_ms": [], "by_name": {}, "pings": [],
                                         "strace_errors": []})
            if tracer.returncode not in (0, -signal.SIGINT) and not counts:
                r["strace_errors"].append((out.parent / "strace.err").read_text().strip()[-200:])
            else:
                r["syscalls"].append(sum(per_min.values()))
            r["cpu_ms"].append((ticks1[key] - ticks0[key]) * 1000 / os.sysconf("SC_CLK_TCK") * scale)
            for k, v in per_min.items():
                r["by_name"][k] = r["by_name"].get(k, 0) + v / ctx.runs
            if key == "watchdog":
                r["pings"].append(receiver.count("WATCHDOG=1", t0, t1) * scale)
            sup.check_alive()
    except (TimeoutError, RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        section.fail(f"idle round {run + 1}: {e}")
    finally:
        for _, _, sup in sups:
            sup.stop()
        receiver.stop()


def measure_idle(ctx, section):
    results = {}
    for run in range(ctx.runs):
        bl.say(f"footprint: idle round {run + 1}/{ctx.runs} ({ctx.idle:g} s)")
        idle_round(ctx, section, run, results)
    rows = []
    labels = {k: label for k, label, _, _ in idle_configs(ctx, ctx.work)}
    for key in labels:
        r = results.get(key)
        if not r:
            continue
        names = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["by_name"].items(), key=lambda kv: -kv[1]))
        syscalls = bl.fmt_summary_count([round(x) for x in r["syscalls"]])
        if r["strace_errors"]:
            syscalls += f" (strace failed {len(r['strace_errors'])}×: {r['strace_errors'][0]})"
        rows.append([labels[key], syscalls, names or "none",
                     bl.fmt_summary(r["cpu_ms"]),
                     bl.fmt_summary_count([round(x) for x in r["pings"]]) if r["pings"] else ""])
    section.table(["supervisor", "syscalls per idle minute", "which (mean per minute)",
                   "CPU ms per idle minute", "WATCHDOG=1 received per minute"], rows,
                  f"Each configuration idle with one latency_worker generation, all at once, "
                  f"{ctx.runs} rounds of {ctx.idle:g} s scaled to a minute, median (min–max). "
                  "Syscalls: `strace -c -f -p PID` (its attach interrupts the blocked call once; "
                  "that resumption, if any, is counted like any other). CPU: utime+stime from "
                  f"/proc/PID/stat, in ticks of {1000 // os.sysconf('SC_CLK_TCK')} ms.")
    for key in ("compat", "gated"):
        r = results.get(key)
        if r and r["syscalls"]:
            worst = max(r["syscalls"])
            section.target(f"0 syscalls per idle minute without watchdog ({labels[key]})", worst == 0,
                           f"up to {worst:.1f} per minute over {len(r['syscalls'])} rounds")
    return results


def run(ctx):
    section = bl.Section("Footprint of the supervisor")
    data = {"rss": measure_rss(ctx, section), "idle": measure_idle(ctx, section)}
    return section, data
