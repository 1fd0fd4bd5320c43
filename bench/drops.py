"""Dropped requests under load (bench/run, part 2): h2o as the worker, load at full speed on
loopback, a SIGHUP every --reload-every ms for --duration s.

Configurations (all on --port=127.0.0.1:P, the address h2o's `listen` names):
  gated    ours --ready=notify; h2o 2.2 never sends READY=1, so the worker is bench/h2o_ready,
           which execs h2o and leaves a probe (h2o's child, so inside the generation) that
           sends READY=1 once h2o itself answers /server-status/json with its own generation
  compat   ours --ready=interval --interval=1 (our Perl-compatible defaults), h2o directly
  perl     Perl's start_server at its defaults, h2o directly
  control  the negative control: gated, but --signal-on-hup=KILL, so each old generation is
           killed outright with keep-alive connections in flight; it must show errors

Counts come from wrk (totals, through wrk_report.lua's done() hook), once with keep-alive and
once with `Connection: close`, --runs times each. The timeline (requests per 100 ms) comes
from one more run per configuration with bench/load_timeline, which counts per bucket.
"""

import signal
import subprocess
import threading
import time
import urllib.request

import benchlib as bl

MODES = [("keepalive", "keep-alive", []), ("close", "`Connection: close`", ["-H", "Connection: close"])]
WRK_FIELDS = ["requests", "duration_us", "connect", "read", "write", "status", "timeout"]


def labels(ctx):
    return {"gated": "ours, gated (`--ready=notify` + h2o_ready)",
            "compat": "ours, Perl-compatible (`--interval=1`)",
            "perl": f"Perl {ctx.perl_version} (defaults)",
            "control": "negative control: gated + `--signal-on-hup=KILL`"}


def h2o_conf(docroot, port, threads):
    # No access log (it would cost the same for every configuration and fill the disk);
    # /server-status for h2o_ready's probe.
    return (f"num-threads: {threads}\n"
            f"listen:\n  host: 127.0.0.1\n  port: {port}\n"
            "hosts:\n  default:\n    paths:\n"
            f"      /:\n        file.dir: {docroot}\n"
            "      /server-status:\n        status: ON\n")


def argv_for(ctx, key, port, conf, files):
    common = [f"--port=127.0.0.1:{port}", f"--pid-file={files / 'pid'}",
              f"--status-file={files / 'status'}"]
    h2o = [ctx.h2o, "-c", conf]
    gated = [ctx.ours, *common, "--ready=notify"]
    ready = [ctx.h2o_ready, f"--port={port}", "--", *h2o]
    return {"gated": gated + ["--", *ready],
            "compat": [ctx.ours, *common, "--ready=interval", "--interval=1", "--", *h2o],
            "perl": [ctx.perl, *common, "--", *h2o],
            "control": gated + ["--signal-on-hup=KILL", "--", *ready]}[key]


def serves(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.txt", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


class Reloader(threading.Thread):
    """SIGHUP to the supervisor every period_s, on an absolute schedule from t0, until stop()
    or the end; records when each was sent (monotonic ns)."""

    def __init__(self, sup, t0_ns, period_s, end_ns):
        super().__init__(daemon=True)
        self.sup, self.t0, self.period, self.end = sup, t0_ns, period_s, end_ns
        self.sent, self.stopping = [], threading.Event()

    def run(self):
        k = 1
        while True:
            at = self.t0 + int(k * self.period * 1e9)
            if at >= self.end or self.stopping.wait(max(0, at - time.monotonic_ns()) / 1e9):
                return
            if not self.sup.alive():
                return
            self.sent.append(time.monotonic_ns())
            self.sup.proc.send_signal(signal.SIGHUP)
            k += 1

    def stop(self):
        self.stopping.set()
        self.join()


def one_run(ctx, key, load_argv, tag):
    """Starts the configuration, runs load_argv(port) under reloads; returns
    (load's stdout, [SIGHUP ns], {h2o_started, took_over} from the log, load start ns)."""
    work = ctx.tempdir(f"drops-{key}-{tag}")
    docroot = work / "www"
    docroot.mkdir()
    docroot.chmod(0o755)
    (docroot / "index.txt").write_text("hello\n")
    (docroot / "index.txt").chmod(0o644)
    port = bl.free_port()
    conf = work / "h2o.conf"
    conf.write_text(h2o_conf(docroot, port, ctx.h2o_threads))
    # h2o 2.2 never ends its graceful shutdown while it holds a connection whose
    # /server-status request was cut short (h2o_ready's probe, killed mid-request when the
    # run stops during a reload): it stays in CLOSE_WAIT and h2o in epoll_wait, whichever
    # superdaemon runs it. Waiting longer than a few seconds for that h2o gains nothing.
    sup = bl.Supervisor(argv_for(ctx, key, port, conf, work), work / "start_server.log",
                        stop_timeout_s=5.0)
    with sup:
        # Serving is enough: the status file lists generation 1 only after --interval in the
        # Perl-compatible modes, and the load may well start during that second.
        bl.wait_until(lambda: sup.check_alive() and serves(port), 30, f"{key}: h2o serving")
        duration_ns = int(ctx.duration * 1e9)
        t0 = time.monotonic_ns()
        load = subprocess.Popen(load_argv(port), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        reloader = Reloader(sup, t0, ctx.reload_every, t0 + duration_ns)
        reloader.start()
        try:
            out, err = load.communicate(timeout=ctx.duration + 30)
        except subprocess.TimeoutExpired:
            load.kill()
            load.communicate()
            raise TimeoutError(f"{key}: the load generator did not finish")
        finally:
            reloader.stop()
        if load.returncode != 0:
            raise RuntimeError(f"{key}: {load_argv(port)[0]} exited {load.returncode}: {err.strip()[-300:]}")
        sup.check_alive()
    # Both superdaemons log Perl's line when a new generation takes over; h2o logs its start.
    log = sup.log_path.read_text(errors="replace")
    gens = {"h2o_started": log.count("is ready to serve requests") - 1,
            "took_over": log.count("new worker is now running")}
    return out, reloader.sent, gens, t0


def parse_fields(text, marker):
    for line in text.splitlines():
        if line.startswith(marker):
            return {k: int(v) for k, v in (item.split("=") for item in line.split() if "=" in item)}
    raise RuntimeError(f"no '{marker}' line in: {text.strip()[-300:]}")


def wrk_runs(ctx, section, keys):
    results = {}  # (key, mode) -> [dict]
    failed = {}
    for run in range(ctx.runs):
        for mode, _, extra in MODES:
            for key in keys:
                if ctx.smoke and mode == "close" and key not in ("gated", "control"):
                    continue  # the smoke run only checks that the close mode works
                def load_argv(port, extra=extra):
                    return ["wrk", f"-t{ctx.load_threads}", f"-c{ctx.connections}",
                            f"-d{int(ctx.duration)}s", "--timeout", "2s", "-s",
                            str(bl.BENCH_DIR / "wrk_report.lua"), *extra,
                            f"http://127.0.0.1:{port}/index.txt"]
                bl.say(f"drops: {key}, {mode}, run {run + 1}/{ctx.runs}")
                try:
                    out, sent, gens, _ = one_run(ctx, key, load_argv, f"{mode}{run}")
                    r = parse_fields(out, "WRK_REPORT")
                    r.update(reloads=len(sent), **gens)
                    results.setdefault((key, mode), []).append(r)
                except (TimeoutError, RuntimeError, OSError) as e:
                    section.fail(f"drops {key} {mode} run {run + 1}: {e}")
                    failed[(key, mode)] = failed.get((key, mode), 0) + 1
    return results, failed


def errors_of(r):
    return r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]


def report_wrk(ctx, section, results, failed, keys):
    names = labels(ctx)
    header = ["configuration", "load", "requests/s", "failed requests per run (non-2xx + errors)",
              "non-2xx", "connect", "read", "write", "timeout", "SIGHUPs sent", "new h2o started", "took over",
              "req/s ours / Perl"]
    rows = []
    for key in keys:
        for mode, mode_label, _ in MODES:
            rs = results.get((key, mode), [])
            tot = lambda f: bl.fmt_count(sum(r[f] for r in rs)) if rs else "–"  # noqa: E731
            rps = [r["requests"] / (r["duration_us"] / 1e6) for r in rs]
            perl_rps = [r["requests"] / (r["duration_us"] / 1e6) for r in results.get(("perl", mode), [])]
            rows.append([names[key], mode_label,
                         bl.fmt_summary_count([round(x) for x in rps], failed.get((key, mode), 0)),
                         bl.fmt_summary_count([errors_of(r) for r in rs]),
                         tot("status"), tot("connect"), tot("read"), tot("write"), tot("timeout"),
                         bl.fmt_summary_count([r["reloads"] for r in rs]),
                         bl.fmt_summary_count([r["h2o_started"] for r in rs]),
                         bl.fmt_summary_count([r["took_over"] for r in rs]),
                         bl.fmt_ratio(rps, perl_rps) if key in ("gated", "compat") else ""])
    section.table(header, rows,
                  f"wrk `-t{ctx.load_threads} -c{ctx.connections} -d{int(ctx.duration)}s --timeout 2s` "
                  f"on `http://127.0.0.1:P/index.txt` (a 6-byte static file), {ctx.runs} runs per row; "
                  f"a SIGHUP every {ctx.reload_every * 1000:.0f} ms. Requests/s, failed requests, SIGHUPs "
                  "and generations: median (min–max) over runs; the error columns: totals over all "
                  "runs. non-2xx is wrk's count of responses with status ≥ 400. \"new h2o started\": "
                  "h2o processes that started after the first (each logs it); \"took over\": new "
                  "generations that the superdaemon declared up and after which it signalled the "
                  "old ones (its log line `new worker is now running`). Ours merges SIGHUPs that "
                  "arrive during a reload into one follow-up reload; Perl's probation sleep is cut "
                  "short by every signal.")
    for key in ("gated",):
        rs = [r for mode, _, _ in MODES for r in results.get((key, mode), [])]
        if rs:
            bad = [errors_of(r) for r in rs]
            section.target("0 failed requests in every gated run", all(b == 0 for b in bad) and not any(
                failed.get((key, m), 0) for m, _, _ in MODES),
                f"{len(rs)} gated wrk runs, failed requests per run: {bad}")
    rs = [r for mode, _, _ in MODES for r in results.get(("control", mode), [])]
    if rs:
        seen = [errors_of(r) for r in rs]
        if not all(s > 0 for s in seen):
            section.fail(f"negative control: a run saw no failed request ({seen}): the harness "
                         "cannot be trusted to see drops")
        section.target("negative control sees drops (harness check)", all(s > 0 for s in seen),
                       f"failed requests per control run: {seen}")


def timeline_runs(ctx, section, keys):
    """One load_timeline run per configuration; returns {key: (rows, reload offsets s)}."""
    series = {}
    for key in keys:
        csv_path = ctx.results / f"timeline_{key}.csv"

        def load_argv(port):
            return [ctx.load_timeline, f"--port={port}", "--path=/index.txt",
                    f"--connections={ctx.connections}", f"--threads={ctx.load_threads}",
                    f"--duration-ms={int(ctx.duration * 1000)}", "--bucket-ms=100",
                    f"--out={csv_path}"]
        bl.say(f"drops: timeline of {key}")
        try:
            out, sent, gens, _ = one_run(ctx, key, load_argv, "timeline")
            totals = parse_fields(out, "start_ns")
            start = totals["start_ns"]
            rows = [line.split(",") for line in csv_path.read_text().splitlines()[1:]]
            series[key] = ([tuple(int(x) for x in row) for row in rows],
                           [(t - start) / 1e9 for t in sent], totals, gens)
            (ctx.results / f"timeline_{key}_reloads.txt").write_text(
                "".join(f"{(t - start) / 1e9:.4f}\n" for t in sent))
        except (TimeoutError, RuntimeError, OSError) as e:
            section.fail(f"timeline {key}: {e}")
    if "gated" in series:
        t = series["gated"][2]
        lost = t["non2xx"] + t["connect"] + t["read"] + t["write"] + t["timeout"]
        section.target("0 failed requests in the gated timeline run (load_timeline)", lost == 0,
                       f"{lost} of {t['requests']} failed")
    names = labels(ctx)
    header = ["configuration", "responses", "non-2xx", "connect", "read", "write", "timeout",
              "lowest 100 ms bucket", "SIGHUPs", "new h2o started", "took over"]
    rows = []
    for key, (buckets, reloads, t, gens) in series.items():
        # The first and last buckets hold the ramp-up and the stop: not comparable.
        inner = [b[1] for b in buckets[1:-1]] or [0]
        rows.append([names[key], bl.fmt_count(t["requests"]), bl.fmt_count(t["non2xx"]),
                     bl.fmt_count(t["connect"]), bl.fmt_count(t["read"]), bl.fmt_count(t["write"]),
                     bl.fmt_count(t["timeout"]), bl.fmt_count(min(inner)), len(reloads),
                     gens["h2o_started"], gens["took_over"]])
    section.table(header, rows,
                  "The timeline runs (one per configuration, keep-alive, `bench/load_timeline "
                  f"--connections={ctx.connections} --threads={ctx.load_threads}`, which counts "
                  "completed responses per 100 ms; plotted in `throughput.png`):")
    return series


def run(ctx):
    section = bl.Section("Dropped requests under load (h2o, reload every "
                         f"{ctx.reload_every * 1000:.0f} ms for {ctx.duration:g} s)")
    keys = ["gated", "compat", "perl", "control"]
    results, failed = wrk_runs(ctx, section, keys)
    report_wrk(ctx, section, results, failed, keys)
    series = timeline_runs(ctx, section, keys)
    section.add("The gated runs need a READY=1 that h2o 2.2 never sends. `bench/h2o_ready` "
                "execs h2o in its own place (so h2o keeps the pid start_server spawned and "
                "signals) after forking a probe: h2o's child, hence inside the generation's "
                "process tree, from which start_server accepts READY=1. The probe asks "
                "`/server-status/json` every 2 ms and sends READY=1 once the answer carries this "
                "generation's number, that is once the new h2o itself accepts and answers (the "
                "old generation answers on the same socket, so a bare connect proves nothing). "
                "The negative control is the gated configuration with `--signal-on-hup=KILL`: "
                "each old h2o is killed with requests in flight.", "")
    return section, {"wrk": {f"{k}|{m}": v for (k, m), v in results.items()}}, series
