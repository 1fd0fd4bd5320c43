#!/usr/bin/env python3
"""Our client library parses what Perl's start_server (Debian's libserver-starter-perl, the
real /usr/bin/start_server) hands its workers.

The worker is tests/fixtures/fake_worker, built on our server_starter library: it reports
every (key, fd) the library parsed, the socket type and getsockname() address of each fd,
and the raw SERVER_STARTER_PORT. The test checks that the library's list is exactly the raw
value split as Perl's server_ports() splits it, that each key's fd is the socket that key
names (address and type), and that the worker answers through every socket. Then again
after a SIGHUP (generation 2), and with no --port at all (an empty variable: no sockets,
no error).

Forms: a --path given before the ports (paths come last), 127.0.0.1:P, localhost:P,
[::1]:P and ::1:P (IPv6, when available), 127.0.0.1:P=9 (pinned fd), 127.0.0.1:uP (UDP),
127.0.0.1:0 (kernel-chosen port; the key keeps the 0) and a relative --path. A bare PORT is
left out because it binds 0.0.0.0 and these tests stay on loopback.

usage: perl_starter_test.py FAKE_WORKER
"""

import os
import re
import signal
import socket
import subprocess
import sys

import rwclient
import rwlib
from rwlib import check, log

# Our Debian package diverts Perl's start_server to start_server.perl.
PERL_START_SERVER = ("/usr/bin/start_server.perl" if os.access("/usr/bin/start_server.perl", os.X_OK)
                     else "/usr/bin/start_server")
LINE = re.compile(r"^(\w+) pid=(\d+) gen=(\S+)(?: (.*))?$")


def reports(path):
    """The fake worker's report as a list of (word, pid, gen, {field: value}, rest)."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        m = LINE.match(line)
        check(m, f"malformed report line {line!r}")
        rest = m.group(4) or ""
        fields = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
        out.append((m.group(1), int(m.group(2)), m.group(3), fields, rest))
    return out


def generation_report(path, gen):
    """The lines of the worker of generation `gen`, once it has said `ready`."""
    lines = [r for r in reports(path) if r[2] == str(gen)]
    return lines if any(r[0] == "ready" for r in lines) else None


def perl_split(value):
    """Perl's Server::Starter::server_ports(): split on ';', then at the first '='."""
    return [tuple(entry.split("=", 1)) for entry in value.split(";")] if value else []


def check_generation(lines, expected, gen):
    """expected: list of (key, address, type, pinned fd or None), in the order Perl must
    emit them. Returns the worker's list of (key, fd, type, addr)."""
    words = [r[0] for r in lines]
    check("error" not in words and "fail" not in words, f"worker reported an error: {lines}")
    env = [r[4] for r in lines if r[0] == "env"]
    check(len(env) == 1 and env[0].startswith("SERVER_STARTER_PORT="),
          f"no SERVER_STARTER_PORT in the report: {env}")
    raw = env[0][len("SERVER_STARTER_PORT="):]
    parsed = [(r[3]["key"], r[3]["fd"], r[3]["type"], r[3]["addr"]) for r in lines
              if r[0] == "listen"]
    check([(k, fd) for k, fd, _, _ in parsed] == perl_split(raw),
          f"gen {gen}: the library parsed {[(k, fd) for k, fd, _, _ in parsed]} "
          f"from {raw!r}; Perl's server_ports() gives {perl_split(raw)}")
    check(len(parsed) == len(expected),
          f"gen {gen}: {len(parsed)} sockets parsed, {len(expected)} expected (raw {raw!r})")
    fds = set(next(r[3]["list"] for r in lines if r[0] == "fds").split(","))
    for (key, fd, kind, addr), (want_key, want_addr, want_kind, want_fd) in zip(parsed, expected):
        check(key == want_key, f"gen {gen}: key {key!r}, expected {want_key!r} (raw {raw!r})")
        if want_addr.endswith(":0"):  # kernel-chosen port
            check(addr.startswith(want_addr[:-1]) and not addr.endswith(":0"),
                  f"gen {gen}: {key} is bound to {addr}")
        else:
            check(addr == want_addr, f"gen {gen}: {key} -> fd {fd} is bound to {addr}, "
                                     f"expected {want_addr}")
        check(kind == want_kind, f"gen {gen}: {key} -> fd {fd} is a {kind} socket")
        check(want_fd is None or fd == str(want_fd),
              f"gen {gen}: {key} is at fd {fd}, not {want_fd}")
        check(fd in fds, f"gen {gen}: fd {fd} of {key} is not open in the worker")
    return parsed


def answer_from(key, kind, addr, workdir):
    """Talks to the worker through one socket; returns its "GEN:PID" reply."""
    if kind == "dgram":
        host, port = addr.rsplit(":", 1)
        with socket.socket(socket.AF_INET6 if host.startswith("[") else socket.AF_INET,
                           socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(b"ping", (host.strip("[]"), int(port)))
            return s.recv(100).decode().strip()
    if ":" not in addr:  # a unix path, absolute or relative to start_server's cwd
        target = ("unix", os.path.join(workdir, addr))
    else:
        host, port = addr.rsplit(":", 1)
        target = ("tcp", host.strip("[]"), int(port))
    return rwclient.read_line_reply(target).decode().strip()


def test():
    fake_worker = sys.argv[1]
    with open(PERL_START_SERVER, "rb") as f:
        first = f.readline()
    check(b"perl" in first, f"{PERL_START_SERVER} is not the Perl start_server: {first!r}")
    v6 = rwlib.ipv6_available()
    if not v6:
        log("no IPv6 on this machine: leaving out [::1]:P and ::1:P")
    work = rwlib.temp_dir("perl-starter")
    report = os.path.join(work, "report")
    abs_sock = os.path.join(work, "abs.sock")

    hosts = ["127.0.0.1"] * 3 + ["udp:127.0.0.1"] + (["::1", "::1"] if v6 else [])

    def layout(ports):
        """(--port/--path argument, expected key, expected address, type, pinned fd), in
        the order Perl must list them."""
        p = ports
        lo = "127.0.0.1"
        rows = [(f"--port={lo}:{p[0]}", f"{lo}:{p[0]}", f"{lo}:{p[0]}", "stream", None),
                (f"--port=localhost:{p[1]}", f"localhost:{p[1]}", f"{lo}:{p[1]}", "stream", None)]
        if v6:
            rows += [(f"--port=[::1]:{p[4]}", f"[::1]:{p[4]}", f"[::1]:{p[4]}", "stream", None),
                     (f"--port=::1:{p[5]}", f"[::1]:{p[5]}", f"[::1]:{p[5]}", "stream", None)]
        rows += [(f"--port={lo}:{p[2]}=9", f"{lo}:{p[2]}", f"{lo}:{p[2]}", "stream", 9),
                 (f"--port={lo}:u{p[3]}", f"{lo}:{p[3]}", f"{lo}:{p[3]}", "dgram", None),
                 (f"--port={lo}:0", f"{lo}:0", f"{lo}:0", "stream", None),
                 (f"--path={abs_sock}", abs_sock, abs_sock, "stream", None),
                 ("--path=rel.sock", "rel.sock", "rel.sock", "stream", None)]
        return rows

    def make_argv(ports):
        rows = layout(ports)
        paths = [r[0] for r in rows if r[0].startswith("--path")]
        others = [r[0] for r in rows if not r[0].startswith("--path")]
        # The first --path comes before every --port on the command line.
        return ([PERL_START_SERVER, paths[0]] + others + paths[1:] +
                ["--", fake_worker, f"--report={report}", "--env=SERVER_STARTER_PORT"])

    starter, ports = rwlib.start_with_ports(
        make_argv, work, hosts, lambda p: generation_report(report, 1), cwd=work)
    with starter:
        log("$ " + " ".join(os.path.basename(a) if a in (PERL_START_SERVER, fake_worker) else a
                            for a in starter.argv[:-2]))
        expected = [(key, addr, kind, fd) for _, key, addr, kind, fd in layout(ports)]
        raw = next(r[4] for r in generation_report(report, 1) if r[0] == "env")
        log(f"Perl's start_server set {raw}")
        for gen in (1, 2):
            if gen == 2:
                starter.signal(signal.SIGHUP)
            lines = rwlib.wait_until(lambda: generation_report(report, gen), 20,
                                     f"the worker of generation {gen}")
            parsed = check_generation(lines, expected, gen)
            pid = next(r[1] for r in lines if r[0] == "ready")
            if gen == 2:  # the old worker may still answer until Perl retires it
                rwlib.wait_until(lambda: any(r[0] == "signal" and r[2] == "1"
                                             for r in reports(report)), 20,
                                 "generation 1 to be stopped")
            for key, fd, kind, addr in parsed:
                reply = answer_from(key, kind, addr, work)
                check(reply == f"{gen}:{pid}", f"gen {gen}: {key} (fd {fd}) answered {reply!r}")
            log(f"generation {gen}: our library parsed all {len(parsed)} entries as Perl's "
                "server_ports() does; every fd is the socket its key names, and answers")
        starter.signal(signal.SIGTERM)
        check(starter.wait_exit(20) == 0, "Perl's start_server did not exit 0 after SIGTERM")

    # No --port and no --path: Perl sets SERVER_STARTER_PORT to an empty string.
    empty_report = os.path.join(work, "report-empty")
    with rwlib.Starter([PERL_START_SERVER, "--", fake_worker, f"--report={empty_report}",
                        "--env=SERVER_STARTER_PORT"], work).start() as starter:
        lines = rwlib.wait_until(lambda: generation_report(empty_report, 1), 20,
                                 "the worker with no sockets")
        check([r[4] for r in lines if r[0] == "env"] == ["SERVER_STARTER_PORT="],
              f"expected an empty SERVER_STARTER_PORT: {lines}")
        check_generation(lines, [], 1)
        starter.signal(signal.SIGTERM)
        check(starter.wait_exit(20) == 0, "Perl's start_server did not exit 0 after SIGTERM")
    log("no --port: SERVER_STARTER_PORT is empty; the library returns no socket and no error")


if __name__ == "__main__":
    rwlib.main(test)
