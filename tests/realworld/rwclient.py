"""Clients for the real-world tests: one-shot TCP/unix connections, HTTP/1.0 GETs, the
one-line replies of the test servers ("gen=G pid=P ..."), and load generators (Python
threads, Debian's wrk) that count every failed request."""

import re
import socket
import subprocess
import threading
import time

from rwlib import wait_until


def connect(target, timeout=5.0):
    """target: ("tcp", host, port) or ("unix", path)."""
    if target[0] == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address = target[1]
    else:
        family = socket.AF_INET6 if ":" in target[1] else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        address = (target[1], target[2])
    s.settimeout(timeout)
    try:
        s.connect(address)
    except OSError:
        s.close()
        raise
    return s


def read_all(s):
    chunks = []
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def http_get(target, path, timeout=5.0):
    """One HTTP/1.0 request on a fresh connection: (status, body). HTTP/1.0 keeps the
    response free of chunking and ends it with the close."""
    with connect(target, timeout) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
        raw = read_all(s)
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise OSError(f"incomplete response ({len(raw)} bytes)")
    status = int(head.split(b" ", 2)[1])
    return status, body


def http_generation(target, generations, path="/"):
    """GET path: the generation its 200 response's body names (Generations.record); OSError
    for any other status or a malformed body."""
    status, body = http_get(target, path)
    if status != 200:
        raise OSError(f"HTTP status {status}")
    return generations.record(body)


def listener_targets(ports, v6, sock):
    """The listeners most tests give start_server, as (name, target): 127.0.0.1:ports[0],
    [::1]:ports[1] when there is IPv6, and the unix socket `sock`."""
    t = [("v4", ("tcp", "127.0.0.1", ports[0]))]
    if v6:
        t.append(("v6", ("tcp", "::1", ports[1])))
    t.append(("unix", ("unix", sock)))
    return t


def read_line_reply(target, timeout=5.0, send=b""):
    """Connects, sends `send`, and returns what the server wrote until it closed."""
    with connect(target, timeout) as s:
        if send:
            s.sendall(send)
        return read_all(s)


def describe(target):
    return target[1] if target[0] == "unix" else f"{target[1]}:{target[2]}"


class Tolerated(Exception):
    """Raised by a probe for a failure that is the server's own, known and bounded, rather
    than start_server's: counted apart from the failures (see Load.tolerated)."""


class Load:
    """Client threads that each send one request after another (a fresh connection each
    time), round robin over `probes`, until stop(). A probe is (name, fn) where fn() returns
    None on success or raises / returns a reason on failure. Every failure is counted."""

    def __init__(self, probes, threads=4, deadline=50):
        self.probes = probes
        self.threads = threads
        self.deadline = time.monotonic() + deadline
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.ok = {name: 0 for name, _ in probes}
        self.failed = {name: 0 for name, _ in probes}
        self.tolerated = {name: 0 for name, _ in probes}
        self.reasons = []
        self.workers = []

    def _run(self, offset):
        i = offset
        while not self.stop_event.is_set() and time.monotonic() < self.deadline:
            name, fn = self.probes[i % len(self.probes)]
            i += 1
            counter = self.failed
            try:
                reason = fn()
            except Tolerated as e:
                reason, counter = f"tolerated: {e}", self.tolerated
            except Exception as e:  # any other exception is a failed request
                reason = f"{type(e).__name__}: {e}"
            with self.lock:
                if reason is None:
                    self.ok[name] += 1
                    continue
                counter[name] += 1
                if len(self.reasons) < 20:
                    self.reasons.append(f"{name}: {reason} at {time.monotonic():.3f}")

    def start(self):
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n,), daemon=True)
            t.start()
            self.workers.append(t)
        return self

    def total_ok(self):
        with self.lock:
            return sum(self.ok.values())

    def wait_more(self, count, timeout=20):
        """Waits until `count` more requests have succeeded: the load really ran."""
        target = self.total_ok() + count
        wait_until(lambda: self.total_ok() >= target, timeout, f"{count} more requests to succeed")

    def stop(self):
        self.stop_event.set()
        for t in self.workers:
            t.join(15)
        return self

    def summary(self):
        parts = []
        for name, _ in self.probes:
            part = f"{name}: {self.ok[name]} ok / {self.failed[name]} failed"
            if self.tolerated[name]:
                part += f" / {self.tolerated[name]} tolerated"
            parts.append(part)
        return "; ".join(parts)

    def total_tolerated(self):
        return sum(self.tolerated.values())

    def total_failed(self):
        return sum(self.failed.values())


class Wrk:
    """Debian's wrk in one-second slices (keep-alive connections) until stop(), with the
    counts summed: "requests", "errors" (socket errors of every kind) and "non2xx"."""

    def __init__(self, url, threads=1, connections=4):
        self.url = url
        self.args = ["wrk", f"-t{threads}", f"-c{connections}", "-d1s", "--timeout", "5s", url]
        self.stop_event = threading.Event()
        self.requests = self.errors = self.non2xx = self.slices = 0
        self.outputs = []
        self.thread = None

    def _run(self):
        while not self.stop_event.is_set():
            try:
                out = subprocess.run(self.args, capture_output=True, text=True, timeout=30).stdout
            except (OSError, subprocess.SubprocessError) as e:
                out = f"wrk did not run: {e}"
            self.slices += 1
            m = re.search(r"(\d+) requests in", out)
            if not m:
                self.errors += 1
                self.outputs.append(out)
                continue
            self.requests += int(m.group(1))
            m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                          r"timeout (\d+)", out)
            if m:
                self.errors += sum(int(x) for x in m.groups())
                self.outputs.append(out)
            m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            if m:
                self.non2xx += int(m.group(1))
                self.outputs.append(out)

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        self.thread.join(40)
        return self


REPLY = re.compile(rb"^gen=(\d+) pid=(\d+)(?: master=(\d+))?(?: key=(\S+))?\n$")


class Generations:
    """What the test servers say about themselves: every reply is one line
    "gen=G pid=P [master=M] [key=K]". Remembers which processes answered for which
    generation, so a test can check that a retired generation has exited entirely."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pids = {}  # generation -> pids that answered (workers and their masters)

    def record(self, reply, key=None):
        """Parses one reply; returns its generation. Raises OSError if it is malformed or
        names a key other than `key`."""
        m = REPLY.match(reply)
        if not m:
            raise OSError(f"unexpected reply {reply[:200]!r}")
        gen = int(m.group(1))
        with self.lock:
            pids = self.pids.setdefault(gen, set())
            pids.update(int(p) for p in (m.group(2), m.group(3)) if p)
        if key is not None and m.group(4) is not None and m.group(4).decode() != key:
            raise OSError(f"reply names key {m.group(4).decode()}, expected {key}")
        return gen

    def before(self, gen):
        with self.lock:
            return {p for g, pids in self.pids.items() if g < gen for p in pids}

    def all(self):
        return self.before(float("inf"))
