"""What the Python tests (tests/realworld) and the benchmarks (bench/) share about running
start_server: bounded waits, free ports, the status file, /proc, and a process started in a
session of its own with its output in a log file. Python 3 standard library only.

Both import it by path: rwlib.py and benchlib.py put this directory on sys.path.
"""

import os
import re
import socket
import subprocess
import time
from pathlib import Path

SKIP = 77  # ctest's SKIP_RETURN_CODE: a prerequisite is missing


def wait_until(predicate, timeout, what, poll=0.02, error=TimeoutError):
    """Polls predicate() every `poll` seconds until it returns a true value, which is
    returned; raises `error` naming `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise error(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(poll)


def ipv6_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1"):
    """A port the kernel just handed out on host ("udp:HOST" for a UDP one). Another process
    may take it before start_server binds it; callers that cannot tolerate that retry."""
    kind = socket.SOCK_STREAM
    if host.startswith("udp:"):
        kind, host = socket.SOCK_DGRAM, host[4:]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def read_status(path):
    """The status file as [(generation, pid)]; [] when it is absent. As Perl's --restart
    reads it: GEN:PID lines; start_server's own notes (lines of other shapes) are skipped."""
    try:
        text = Path(path).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [(int(m[1]), int(m[2])) for m in
            (re.fullmatch(r"(\d+):(\d+)", line) for line in text.splitlines()) if m]


def proc_stat(pid):
    """/proc/PID/stat fields after the command name: [state, ppid, ...] (field 3 onwards),
    or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def pid_alive(pid):
    """Whether pid runs; a zombie is dead for our purposes (start_server reaps it soon)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's (h2o started as root runs as nobody)
    fields = proc_stat(pid)
    return fields is not None and fields[0] != "Z"


def spawn_logged(argv, log_path, env=None, cwd=None, preexec_fn=None):
    """Starts argv in a session of its own (so its workers can be stopped with it), stdin
    /dev/null, stdout and stderr appended to log_path after a "$ argv" line; the Popen."""
    argv = [str(a) for a in argv]
    with open(log_path, "ab") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        out.flush()
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                cwd=cwd, preexec_fn=preexec_fn)
