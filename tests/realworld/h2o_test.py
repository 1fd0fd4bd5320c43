#!/usr/bin/env python3
"""Debian's h2o 2.2 under our start_server, as h2o's own master mode would run it.

h2o reads SERVER_STARTER_PORT natively and matches each inherited fd to a `listen` entry by
getsockname(), so --port/--path must name exactly the configured addresses: TCP on 127.0.0.1
and [::1] (when the machine has IPv6) and a unix socket. A load (Python clients on every
listener plus wrk on 127.0.0.1) runs through a SIGHUP and a `start_server --restart`; each
must bring up a new h2o generation (h2o's /server-status/json "generation") without a single
failed request. SIGTERM must then stop everything and leave no file behind. h2o also
refuses to start if an inherited fd matches no `listen` (EX_CONFIG), so every start is a
check that start_server hands over exactly the listeners and nothing else.

usage: h2o_test.py START_SERVER
"""

import json
import os
import re
import shutil
import subprocess
import sys

import rwclient
import rwlib
from rwlib import check, log

STATIC_BODY = b"hello from a static file\n"


def h2o_config(docroot, ports, sock, v6):
    listens = [f"listen:\n  host: 127.0.0.1\n  port: {ports[0]}\n"]
    if v6:
        listens.append(f"listen:\n  host: ::1\n  port: {ports[1]}\n")
    listens.append(f"listen:\n  type: unix\n  port: {sock}\n")
    # num-threads: several threads share each inherited listener.
    # No pid-file/error-log/user: h2o runs in the foreground as start_server's worker (never
    # `-m master`/`daemon`, which would run h2o's own bundled start_server).
    return ("num-threads: 4\n" + "".join(listens) +
            "hosts:\n  default:\n    paths:\n"
            f"      /:\n        file.dir: {docroot}\n"
            "      /server-status:\n        status: ON\n")


def generation(target):
    status, body = rwclient.http_get(target, "/server-status/json")
    check(status == 200, f"/server-status/json answered {status}")
    return json.loads(body)["generation"]


def release_without_h2o():
    """The name of this machine's release when its archive has no h2o package (Debian 13
    dropped it), else None: h2o missing there is a fact to report, not a broken set-up."""
    try:
        r = subprocess.run(["apt-cache", "policy", "h2o"], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0 or re.search(r"Candidate: (?!\(none\))", r.stdout):
        return None
    with open("/etc/os-release") as f:
        fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    return fields.get("PRETTY_NAME", "this release").strip('"')


def test():
    start_server = sys.argv[1]
    h2o = shutil.which("h2o")
    if h2o is None and (release := release_without_h2o()):
        log(f"SKIP: h2o is not in {release}: the h2o test runs on Debian 12 only; "
            "Starlet (realworld_starlet) is this release's HTTP server under start_server")
        sys.exit(rwlib.SKIP)
    check(h2o is not None and shutil.which("wrk") is not None,
          "h2o or wrk is not installed (scripts/install-deps --test)")
    v6 = rwlib.ipv6_available()
    if not v6:
        log("no IPv6 on this machine: testing 127.0.0.1 and the unix socket only")
    work = rwlib.temp_dir("h2o")
    docroot = os.path.join(work, "www")
    os.mkdir(docroot)
    os.chmod(docroot, 0o755)
    with open(os.path.join(docroot, "index.txt"), "wb") as f:
        f.write(STATIC_BODY)
    os.chmod(os.path.join(docroot, "index.txt"), 0o644)
    sock = os.path.join(work, "h2o.sock")
    pid_file = os.path.join(work, "start_server.pid")
    status_file = os.path.join(work, "start_server.status")
    conf = os.path.join(work, "h2o.conf")

    def targets(ports):
        return rwclient.listener_targets(ports, v6, sock)

    def make_argv(ports):
        with open(conf, "w") as f:
            f.write(h2o_config(docroot, ports, sock, v6))
        argv = [start_server, f"--port=127.0.0.1:{ports[0]}"]
        if v6:
            argv.append(f"--port=[::1]:{ports[1]}")
        argv += [f"--path={sock}", f"--pid-file={pid_file}", f"--status-file={status_file}",
                 "--", h2o, "-c", conf]
        return argv

    def serves_static(target):
        try:
            return rwclient.http_get(target, "/index.txt") == (200, STATIC_BODY)
        except OSError:
            return False

    def ready(ports):
        return rwlib.read_status(status_file) and all(serves_static(t) for _, t in targets(ports))

    hosts = ["127.0.0.1", "::1"] if v6 else ["127.0.0.1"]
    starter, ports = rwlib.start_with_ports(make_argv, work, hosts, ready)
    with starter:
        for name, target in targets(ports):
            check(serves_static(target), f"{name} does not serve the static file")
            check(generation(target) == 1, f"{name}: generation is not 1")
        where = ", ".join(rwclient.describe(t) for _, t in targets(ports))
        log(f"h2o generation 1 serves on {where}")
        h2o_pids = {rwlib.read_status(status_file)[0][1]}

        def probe(target):  # a function per target, so each closure keeps its own
            def fn():
                status, body = rwclient.http_get(target, "/index.txt")
                return None if (status, body) == (200, STATIC_BODY) else f"status {status}"
            return fn

        def verify(gen, how):
            pid = rwlib.wait_serving_alone(status_file, gen)
            old = set(h2o_pids)
            h2o_pids.add(pid)
            rwlib.wait_until(lambda: not any(rwlib.pid_alive(p) for p in old), 20,
                             f"the h2o of generations before {gen} to exit")
            for name, target in targets(ports):
                check(generation(target) == gen, f"{name}: h2o does not report generation {gen}")
            log(f"{how}: h2o generation {gen} (pid {pid}) serves alone on every listener; "
                "the older h2o exited")

        load = rwclient.Load([(name, probe(t)) for name, t in targets(ports)], threads=6).start()
        wrk = rwclient.Wrk(f"http://127.0.0.1:{ports[0]}/index.txt").start()
        try:
            rwlib.reload_under_load(starter, start_server, pid_file, status_file, load, verify)
        finally:
            wrk.stop()
            log(f"wrk load (keep-alive, on 127.0.0.1): {wrk.requests} requests in {wrk.slices} "
                f"one-second runs, {wrk.errors} socket errors, {wrk.non2xx} non-2xx")
            for out in wrk.outputs[:3]:
                log(f"  wrk: {out}")
        check(wrk.errors == 0 and wrk.non2xx == 0, "wrk saw failed requests across the reloads")
        check(wrk.requests > 0, "wrk sent no request")

        # h2o shuts down gracefully on TERM; start_server then removes its files.
        rwlib.stop_and_check_clean(starter, [sock, pid_file, status_file], h2o_pids)


if __name__ == "__main__":
    rwlib.main(test)
