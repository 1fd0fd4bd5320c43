"""What every benchmark under bench/ shares: prerequisites, the Perl start_server, machine
facts, bounded waits, and the median/min/max statistics and Markdown of the results.

Python 3 standard library only. The clock is time.monotonic_ns(), CLOCK_MONOTONIC on Linux,
the clock bench/latency_worker stamps its lines with. What the real-world tests need too
(waits, ports, the status file, /proc, a logged process in a session of its own) is in
tests/support/starterlib.py, re-exported here.
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

sys.path.insert(0, str(REPO_DIR / "tests" / "support"))
import starterlib  # noqa: E402
from starterlib import SKIP, free_port, proc_stat, read_status  # noqa: E402,F401


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


def build_missing(paths):
    """Builds those of `paths` (programs of the default preset's build/) that do not exist
    yet, configuring build/ first if nothing did; e.g. after scripts/demo, which builds only
    start_server and the example worker."""
    build = REPO_DIR / "build"
    missing = [Path(p) for p in paths
               if not os.access(p, os.X_OK) and Path(p).resolve().is_relative_to(build)]
    if not missing:
        return
    if not (build / "CMakeCache.txt").exists():
        say("configuring build/ (cmake --preset default)")
        subprocess.run(["cmake", "--preset", "default"], cwd=REPO_DIR, check=True,
                       stdout=subprocess.DEVNULL)
    names = [p.name for p in missing]
    say(f"building {' '.join(names)} in build/")
    subprocess.run(["cmake", "--build", str(build), "--target", *names], check=True,
                   stdout=subprocess.DEVNULL)


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
    return starterlib.wait_until(predicate, timeout_s, what, poll=poll_s)


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


# ---- processes (bench/run) ----------------------------------------------------------------

def starter_env(extra=None):
    """Our environment without anything of an outer systemd or start_server, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NOTIFY_SOCKET", "LISTEN_", "WATCHDOG_", "SERVER_STARTER_"))}
    env.update(extra or {})
    return env


def raise_nofile():
    """Lifts the soft RLIMIT_NOFILE to the hard one (for 1,000 listeners); returns both."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def cpu_ticks(pid):
    """utime + stime of pid in clock ticks (os.sysconf('SC_CLK_TCK') per second)."""
    f = proc_stat(pid)
    return None if f is None else int(f[11]) + int(f[12])


def start_time(pid):
    f = proc_stat(pid)
    return None if f is None else int(f[19])


def status_field(pid, name):
    """A field of /proc/PID/status, as text (e.g. 'VmRSS' -> '1234 kB'), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def rss_kib(pid):
    value = status_field(pid, "VmRSS")
    return int(value.split()[0]) if value else None


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def children(pid):
    """[(pid, state)] of the processes whose parent is pid, zombies included."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = proc_stat(int(entry))
            if f is not None and int(f[1]) == pid:
                found.append((int(entry), f[0]))
    return found


def descendants(pid):
    """[(pid, start time)] of every process below pid, for stopping them by pid later."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = proc_stat(int(entry))
            if f is not None:
                parents.setdefault(int(f[1]), []).append((int(entry), int(f[19])))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


class Supervisor:
    """One start_server (ours or Perl's) run by bench/run, in a session of its own, its output
    in a log file. stop() sends SIGTERM and, should it linger, SIGKILL to it and then to each
    process that was below it, by pid (checked against its start time, so a reused pid is
    never hit)."""

    def __init__(self, argv, log_path, env=None, preexec_fn=None, stop_timeout_s=20.0):
        self.argv, self.log_path = [str(a) for a in argv], Path(log_path)
        self.stop_timeout_s = stop_timeout_s
        self.env = starter_env() if env is None else env
        self.preexec_fn = preexec_fn
        self.proc = None

    def start(self):
        self.proc = starterlib.spawn_logged(self.argv, self.log_path, env=self.env,
                                            preexec_fn=self.preexec_fn)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if not self.alive():
            raise RuntimeError(f"start_server exited with {self.proc.returncode}: {self.tail()}")
        return True

    def stop(self, timeout_s=None):
        timeout_s = self.stop_timeout_s if timeout_s is None else timeout_s
        if self.proc is None or self.proc.poll() is not None:
            return
        below = descendants(self.proc.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            say(f"start_server (pid {self.proc.pid}) still running {timeout_s:.0f} s after "
                "SIGTERM; SIGKILL to it and its workers")
            self.proc.kill()
            self.proc.wait()
        deadline = time.monotonic() + 5
        for pid, started in below:  # workers that outlived it (they should not)
            while start_time(pid) == started and time.monotonic() < deadline:
                time.sleep(0.02)
            if start_time(pid) == started:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def tail(self, lines=8):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def fmt_count(value):
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return f"{int(value):,}".replace(",", " ")


def fmt_summary_count(values, failed=0):
    """'median (min–max)' of counts."""
    s = summary(values)
    if s is None:
        text = "–"
    elif s[1] == s[2]:
        text = fmt_count(s[0])
    else:
        text = f"{fmt_count(s[0])} ({fmt_count(s[1])}–{fmt_count(s[2])})"
    return text + (f", {failed} failed" if failed else "")


# ---- what each part of bench/run hands back -----------------------------------------------

class Section:
    """One part of bench/run's summary: its Markdown, the targets it checked as
    (target, met: True/False/None for not measured, detail), and harness failures (a run
    that could not be measured at all: bench/run then exits 1)."""

    def __init__(self, title):
        self.title, self.lines, self.targets, self.failures = title, [], [], []

    def add(self, *lines):
        self.lines.extend(lines)

    def table(self, header, rows, note=None):
        if note:
            self.lines.extend([note, ""])
        self.lines.extend([markdown_table(header, rows), ""])

    def target(self, name, met, detail):
        self.targets.append((name, met, detail))

    def fail(self, message):
        say(message)
        self.failures.append(message)

    def markdown(self):
        return "\n".join([f"## {self.title}", ""] + self.lines)
