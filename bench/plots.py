"""PNG plots for bench/run, drawn by gnuplot (Debian's gnuplot-nox) from the data files the
benchmarks leave in the results folder. Each plot also leaves its gnuplot script there
(*.gp), so it can be redrawn or restyled by hand."""

import csv
import statistics
import subprocess
from pathlib import Path

import benchlib as bl

COLOURS = {"gated": "#1f77b4", "compat": "#2ca02c", "perl": "#ff7f0e", "control": "#7f7f7f"}


def gnuplot(script_path, script):
    Path(script_path).write_text(script)
    done = subprocess.run(["gnuplot", str(script_path)], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"gnuplot {script_path}: {done.stderr.strip()[-400:]}")


def throughput(results, series, names, reload_every_s):
    """throughput.png: completed requests per 100 ms over time, one panel per configuration,
    a grey line at each SIGHUP and red impulses for failed requests."""
    if not series:
        return None
    panels = []
    top = max((max(b[1] for b in buckets) for buckets, *_ in series.values() if buckets), default=1)
    worst = max((max(b[2] + b[3] for b in buckets) for buckets, *_ in series.values() if buckets), default=0)
    for key, (buckets, reloads, totals, gens) in series.items():
        dat = results / f"timeline_{key}.dat"
        rows = [(t / 1000, ok, non2xx + err) for t, ok, non2xx, err in buckets]
        if rows:  # close the last step at the end of its bucket
            rows.append((rows[-1][0] + 0.1, rows[-1][1], 0))
        dat.write_text("# t_s ok failed (non-2xx + errors) per 100 ms bucket\n" +
                       "".join(f"{t:.1f} {ok} {failed}\n" for t, ok, failed in rows))
        failed = totals["non2xx"] + totals["connect"] + totals["read"] + totals["write"] + totals["timeout"]
        arrows = "".join(f"set arrow from {r:.3f}, graph 0 to {r:.3f}, graph 1 nohead "
                         "lc rgb '#c8c8c8' lw 0.6 back\n" for r in reloads)
        title = (f"{names[key]}: {totals['requests']:,} responses, {failed:,} failed, "
                 f"{len(reloads)} SIGHUPs, {gens['took_over']} took over").replace("`", "")
        panels.append(
            f"unset arrow\n{arrows}set title \"{title}\" noenhanced\n"
            f"plot '{dat}' using 1:2 with steps lc rgb '{COLOURS.get(key, '#000000')}' lw 1.2 "
            "title 'responses / 100 ms', "
            f"'' using 1:($3 > 0 ? $3 : NaN) axes x1y2 with impulses lc rgb '#d62728' lw 3 "
            "title 'failed / 100 ms (right axis)'\n")
    script = (
        "set terminal pngcairo size 1400," + str(300 * len(panels) + 60) + " font 'sans,10'\n"
        f"set output '{results / 'throughput.png'}'\n"
        f"set multiplot layout {len(panels)},1 title \"Throughput of h2o across reloads "
        f"(a SIGHUP every {reload_every_s * 1000:.0f} ms, grey lines)\" font 'sans,12'\n"
        "set xlabel 'seconds since the load started'\nset ylabel 'responses per 100 ms'\n"
        f"set yrange [0:{int(top * 1.15) + 1}]\nset xrange [0:*]\nset key top right opaque\n"
        f"set y2range [0:{max(10, int(worst * 1.15) + 1)}]\nset y2tics\nset ytics nomirror\n"
        "set y2label 'failed per 100 ms'\nset grid ytics\n" + "".join(panels) + "unset multiplot\n")
    gnuplot(results / "throughput.gp", script)
    return results / "throughput.png"


def reload_latency(results):
    """reload_latency.png: SIGHUP to the old generation's SIGTERM, median with min–max bars,
    by the worker's start-up time, one colour per configuration (log scale)."""
    path = results / "reload_latency.csv"
    if not path.exists():
        return None
    cells = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["kind"] == "sighup" and row["latency_ms"] and not row["error"]:
                cells.setdefault((row["config"], int(row["delay_ms"])), []).append(float(row["latency_ms"]))
    if not cells:
        return None
    delays = sorted({d for _, d in cells})
    configs = [c for c in ("gated", "compat", "perl") if any(k == c for k, _ in cells)]
    names = {"gated": "ours, gated", "compat": "ours, Perl-compatible", "perl": "Perl"}
    plots = []
    for i, config in enumerate(configs):
        dat = results / f"reload_latency_{config}.dat"
        lines = []
        for j, d in enumerate(delays):
            v = cells.get((config, d))
            if v:
                lines.append(f"{j + (i - (len(configs) - 1) / 2) * 0.2:.2f} "
                             f"{statistics.median(v):.3f} {min(v):.3f} {max(v):.3f}\n")
        dat.write_text("# x median min max (ms)\n" + "".join(lines))
        plots.append(f"'{dat}' using 1:2:3:4 with yerrorbars pt 7 ps 1.2 "
                     f"lc rgb '{COLOURS[config]}' title '{names[config]}'")
    xtics = ", ".join(f"'worker ready after {d} ms' {j}" for j, d in enumerate(delays))
    script = (
        "set terminal pngcairo size 900,520 font 'sans,10'\n"
        f"set output '{results / 'reload_latency.png'}'\n"
        "set title 'SIGHUP to the old generation receiving SIGTERM (median, min–max)'\n"
        f"set logscale y\nset ylabel 'ms (log scale)'\nset xtics ({xtics})\n"
        f"set xrange [-0.6:{len(delays) - 0.4}]\nset grid ytics\nset key top left\n"
        "plot " + ", ".join(plots) + "\n")
    gnuplot(results / "reload_latency.gp", script)
    return results / "reload_latency.png"


def draw(ctx, series, names):
    drawn = []
    for name, make in (("throughput", lambda: throughput(ctx.results, series, names, ctx.reload_every)),
                       ("reload_latency", lambda: "reload" in ctx.parts and reload_latency(ctx.results))):
        try:
            png = make()
            if png:
                drawn.append(png)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            bl.say(f"plot {name}: {e}")
            ctx.plot_failures.append(f"plot {name}: {e}")
    return drawn
