"""Helpers for the real-world tests: real Debian servers run under start_server on loopback.

Each test script runs its test function through `main()`, starts start_server through
`Starter` (which never leaves a process behind), waits with `wait_until` (a deadline, never
a bare sleep), drives load with rwclient's `Load` and `Wrk`, and fails with `check()` or
`fail()`. Exit statuses follow ctest: 0 passed, 1 failed, 77 skipped (no IPv4 loopback to
bind on). A missing IPv6 only narrows a test: it then runs without its [::1] listeners.

What the benchmarks need too (waits, ports, the status file, /proc, a logged process in a
session of its own) is in tests/support/starterlib.py.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import starterlib  # noqa: E402
from starterlib import SKIP, free_port, ipv6_available, pid_alive, read_status  # noqa: E402,F401
NAME = os.path.basename(sys.argv[0])


class TestFailure(Exception):
    pass


def log(message):
    print(f"{NAME}: {message}", flush=True)


def fail(message):
    raise TestFailure(message)


def check(condition, message):
    if not condition:
        fail(message)


_temp_dirs = []
BUDGET = 50  # seconds: the whole test fails cleanly (stopping its servers) before ctest's 60


def _out_of_time(signum, frame):
    raise TestFailure(f"the test took more than {BUDGET}s")


def main(test):
    """Runs test(); maps its outcome to the exit status ctest expects. The temporary
    directories are removed when it passes and kept (and named) when it fails."""
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(BUDGET)
    try:
        free_port("127.0.0.1")
    except OSError as e:
        log(f"SKIP: cannot bind on 127.0.0.1 ({e})")
        sys.exit(SKIP)
    try:
        test()
    except TestFailure as e:
        log(f"FAIL: {e}")
        for path in _temp_dirs:
            log(f"kept {path}")
        sys.exit(1)
    signal.alarm(0)
    for path in _temp_dirs:
        shutil.rmtree(path, ignore_errors=True)
    log(f"PASS in {time.monotonic() - started:.1f}s")
    sys.exit(0)


def wait_until(predicate, timeout, what):
    """Polls predicate() every 20 ms until it returns a true value, which is returned; the
    test fails after `timeout` seconds."""
    return starterlib.wait_until(predicate, timeout, what, error=TestFailure)


def temp_dir(prefix):
    """A short directory under /tmp (unix socket paths must fit in 108 bytes), readable by
    everyone, because h2o started as root drops to nobody."""
    path = tempfile.mkdtemp(prefix=f"rw-{prefix}.", dir="/tmp")
    os.chmod(path, 0o755)
    _temp_dirs.append(path)
    return path


def wait_serving_alone(status_file, generation, timeout=20):
    """Waits until the status file lists only `generation`; returns its pid."""
    def alone():
        entries = read_status(status_file)
        return entries[0][1] if len(entries) == 1 and entries[0][0] == generation else None
    return wait_until(alone, timeout, f"generation {generation} alone in {status_file}")


class Starter:
    """One start_server process in a session of its own, with its output in a log file.
    Leaving the `with` block sends SIGTERM, then SIGKILL to the session if it lingers, so
    no worker survives a failed test."""

    def __init__(self, argv, workdir, env=None, cwd=None):
        self.argv = argv
        self.workdir = workdir
        self.cwd = cwd
        self.log_path = os.path.join(workdir, "start_server.log")
        self.env = env
        self.proc = None

    def start(self):
        self.proc = starterlib.spawn_logged(self.argv, self.log_path, env=self.env, cwd=self.cwd)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def output_tail(self, lines=80):
        text = self.output().splitlines(keepends=True)
        cut = f"[... {len(text) - lines} lines]\n" if len(text) > lines else ""
        return f"---- {self.log_path}\n{cut}{''.join(text[-lines:])}----\n"

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            fail(f"start_server (pid {self.pid}) still running {timeout}s after being stopped")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.proc is None:
            return False
        left = signal.alarm(0)  # the clean-up must not be cut short by the test's budget
        try:
            self._stop(exc_type is not None)
        finally:
            if left:
                signal.alarm(left)
        return False

    def _stop(self, failed):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # our own session: its workers too
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        if failed:
            sys.stdout.write(self.output_tail())


def start_with_ports(make_argv, workdir, hosts, ready, env=None, cwd=None, attempts=5,
                     timeout=20):
    """Picks a free port for each host, starts start_server with make_argv(ports) and waits
    until ready(ports) is true. A port taken by someone else in between (start_server exits
    saying so) means another try with fresh ports. Returns (starter, ports)."""
    for attempt in range(attempts):
        ports = [free_port(h) for h in hosts]
        starter = Starter(make_argv(ports), workdir, env, cwd).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and starter.alive() and not ready(ports):
            time.sleep(0.02)
        if starter.alive() and ready(ports):
            return starter, ports
        exited = starter.proc.poll()
        clash = exited is not None and "in use" in starter.output()
        with starter:
            pass  # stops it
        if not clash:
            sys.stdout.write(starter.output_tail())
            fail(f"not ready within {timeout}s" if exited is None
                 else f"start_server exited with {exited} before serving")
        log(f"ports {ports} were taken meanwhile; retrying ({attempt + 1}/{attempts})")
    fail("could not find free ports")


# ---- the reload scenario ---------------------------------------------------------------

def wait_reloaded(status_file, gen, generations, answers_from, how):
    """After a reload: `gen` alone in the status file, every process seen answering for an
    older generation gone, and every listener answering from `gen` (answers_from(gen))."""
    pid = wait_serving_alone(status_file, gen)
    old = generations.before(gen)
    wait_until(lambda: not any(pid_alive(p) for p in old), 20,
               f"every process of generations before {gen} to exit")
    check(all(answers_from(gen) for _ in range(5)), f"not every answer comes from generation {gen}")
    log(f"{how}: generation {gen} (pid {pid}) answers alone; "
        f"the {len(old)} processes seen in older generations have exited")
    return pid


def restart_command(start_server, pid_file, status_file, gen):
    """Runs `start_server --restart`, which must exit 0, and only once `gen` serves alone."""
    started = time.monotonic()
    r = subprocess.run([start_server, "--restart", f"--pid-file={pid_file}",
                        f"--status-file={status_file}"],
                       capture_output=True, text=True, timeout=45)
    check(r.returncode == 0, f"--restart exited {r.returncode}: {r.stderr.strip()}")
    entries = read_status(status_file)
    check(len(entries) == 1 and entries[0][0] == gen,
          f"--restart returned while the status file says {entries}, not generation {gen} alone")
    log(f"--restart returned 0 after {time.monotonic() - started:.2f}s")


def reload_under_load(starter, start_server, pid_file, status_file, load, verify):
    """With `load` running throughout: SIGHUP (generation 2), then `start_server --restart`
    (generation 3); verify(gen, how) checks each new generation. Then stops the load and
    fails if a single request failed."""
    try:
        load.wait_more(200)
        starter.signal(signal.SIGHUP)
        verify(2, "SIGHUP")
        load.wait_more(200)
        restart_command(start_server, pid_file, status_file, 3)
        verify(3, "--restart")
        load.wait_more(200)
    finally:
        load.stop()
    log(f"load: {load.summary()}")
    for reason in load.reasons:
        log(f"  {reason}")
    check(load.total_failed() == 0, f"{load.total_failed()} requests failed across the reloads")


def stop_and_check_clean(starter, files, pids):
    """SIGTERM: start_server must exit 0 within 30 s, every worker process in `pids` must be
    gone soon after and none of `files` may remain. "Soon after": a worker's own children
    may outlive start_server briefly, since a master such as Net::Server's signals them and
    exits without waiting (Server.pm close_children)."""
    starter.signal(signal.SIGTERM)
    code = starter.wait_exit(30)
    check(code == 0, f"start_server exited {code} after SIGTERM")
    wait_until(lambda: not any(pid_alive(p) for p in pids), 10,
               f"the worker processes {sorted(p for p in pids if pid_alive(p))} to exit")
    for path in files:
        check(not os.path.lexists(path), f"{path} is left behind after SIGTERM")
    log(f"SIGTERM: start_server exited 0; {len(pids)} worker processes gone; "
        f"{', '.join(os.path.basename(f) for f in files)} removed")
