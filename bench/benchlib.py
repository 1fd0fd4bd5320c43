"""What every benchmark under bench/ shares: prerequisites, the Perl start_server, machine
facts, bounded waits, and the median/min/max statistics and Markdown of the results.

Python 3 standard library only. The clock is time.monotonic_ns(), CLOCK_MONOTONIC on Linux,
the clock bench/latency_worker stamps its lines with.
"""

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SKIP = 77  # ctest's SKIP_RETURN_CODE: a prerequisite is missing and may not be installed


def say(message):
    print(f"{Path(sys.argv[0]).name}: {message}", file=sys.stderr, flush=True)


def fail(message, status=1):
    say(message)
    sys.exit(status)


# ---- prerequisites ------------------------------------------------------------------------

def missing_debian_packages(packages):
    if not shutil.which("dpkg-query"):
        return list(packages)
    missing = []
    for package in packages:
        query = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                               capture_output=True, text=True)
        if "install ok installed" not in query.stdout:
            missing.append(package)
    return missing


def ensure_debian_packages(packages, allow_install):
    """Installs what is missing with apt-get (sudo unless root); exits SKIP when it may not."""
    missing = missing_debian_packages(packages)
    if not missing:
        return
    if not allow_install:
        fail(f"missing Debian packages {' '.join(missing)} (and --no-install given)", SKIP)
    if not shutil.which("apt-get"):
        fail(f"missing {' '.join(missing)}, and no apt-get to install them with", SKIP)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    say(f"installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                   check=True, env=env, stdout=subprocess.DEVNULL)


def is_perl_script(path):
    try:
        with open(path, "rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"perl" in first


def find_perl_start_server():
    """Perl's start_server script. Our Debian package diverts it to /usr/bin/start_server.perl
    and takes /usr/bin/start_server; without ours it is /usr/bin/start_server itself. The
    first line tells them apart (ours is an ELF binary)."""
    candidates = ["/usr/bin/start_server.perl", "/usr/bin/start_server"]
    on_path = shutil.which("start_server")
    if on_path:
        candidates.append(on_path)
    for path in candidates:
        if os.access(path, os.X_OK) and is_perl_script(path):
            return path
    return None


def perl_module_version(module):
    query = subprocess.run(["perl", f"-M{module}", "-e", f"print ${module}::VERSION"],
                           capture_output=True, text=True)
    return query.stdout.strip() or "?"


def executable(path, what, hint):
    path = Path(path)
    if not (path.is_file() and os.access(path, os.X_OK)):
        fail(f"{what} not found at {path}; {hint}")
    return path.resolve()


# ---- machine facts ------------------------------------------------------------------------

def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def os_release():
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "?"


def machine_facts():
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "os": os_release(),
        "python": platform.python_version(),
        "load": load_average(),
    }


def load_average():
    """The 1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---- waiting ------------------------------------------------------------------------------

def wait_until(predicate, timeout_s, what, poll_s=0.005):
    """Polls predicate() until it returns something true, which it returns; raises
    TimeoutError naming `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s:.1f} s waiting for {what}")
        time.sleep(poll_s)


# ---- statistics and Markdown --------------------------------------------------------------

def summary(values):
    """(median, min, max), or None for no values."""
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt_ms(value):
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_summary(values, failed=0):
    """'median (min–max)' in ms, with a note of failed runs."""
    s = summary(values)
    text = "–" if s is None else f"{fmt_ms(s[0])} ({fmt_ms(s[1])}–{fmt_ms(s[2])})"
    if failed:
        text += f", {failed} failed"
    return text


def fmt_ratio(ours, theirs):
    a, b = summary(ours), summary(theirs)
    if not a or not b or b[0] == 0:
        return "–"
    r = a[0] / b[0]
    return f"{r:.3f}" if r < 0.1 else f"{r:.2f}"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "--:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
