#!/usr/bin/env python3
"""Debian's gunicorn (20.1), a server that knows only systemd's socket protocol, under
`start_server --listen-fds`.

gunicorn ignores SERVER_STARTER_PORT; it takes LISTEN_FDS sockets from fd 3 when LISTEN_PID
is its own pid. It is given TCP on 127.0.0.1 and [::1] (when the machine has IPv6) and a
unix socket, and no --bind of its own, so answering there at all proves the handover. A
load runs through a SIGHUP and a `start_server --restart` (gunicorn stops gracefully on the
TERM that retires it); not one request may fail, and each new generation must answer alone
once its predecessor (master and workers) has exited. SIGTERM then stops everything and
leaves no file.

usage: gunicorn_test.py START_SERVER
"""

import os
import shutil
import sys

import rwclient
import rwlib
from rwlib import check, log

HERE = os.path.dirname(os.path.abspath(__file__))


def test():
    start_server = sys.argv[1]
    gunicorn = shutil.which("gunicorn")
    check(gunicorn is not None, "gunicorn is not installed (scripts/install-deps --test)")
    v6 = rwlib.ipv6_available()
    if not v6:
        log("no IPv6 on this machine: testing 127.0.0.1 and the unix socket only")
    work = rwlib.temp_dir("gunicorn")
    sock = os.path.join(work, "app.sock")
    pid_file = os.path.join(work, "start_server.pid")
    status_file = os.path.join(work, "start_server.status")

    def targets(ports):
        return rwclient.listener_targets(ports, v6, sock)

    def make_argv(ports):
        argv = [start_server, "--listen-fds", f"--port=127.0.0.1:{ports[0]}"]
        if v6:
            argv.append(f"--port=[::1]:{ports[1]}")
        argv += [f"--path={sock}", f"--pid-file={pid_file}", f"--status-file={status_file}",
                 "--", gunicorn, "--workers=2", "--graceful-timeout=20", f"--chdir={HERE}",
                 "wsgi_app:application"]
        return argv

    generations = rwclient.Generations()

    def ask(target):
        return rwclient.http_generation(target, generations)

    def answers(ports, gen):
        try:
            return all(ask(t) == gen for _, t in targets(ports))
        except OSError:
            return False

    hosts = ["127.0.0.1", "::1"] if v6 else ["127.0.0.1"]
    # gunicorn imports wsgi_app from this directory: no __pycache__ in the source tree.
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    starter, ports = rwlib.start_with_ports(
        make_argv, work, hosts, lambda p: rwlib.read_status(status_file) and answers(p, 1), env=env)
    with starter:
        log(f"gunicorn generation 1 answers on "
            f"{', '.join(rwclient.describe(t) for _, t in targets(ports))}")
        check(f"Listening at: http://127.0.0.1:{ports[0]}" in starter.output(),
              "gunicorn does not say it listens on the socket start_server handed it")

        def probe(target):
            def fn():
                ask(target)
            return fn

        load = rwclient.Load([(name, probe(t)) for name, t in targets(ports)], threads=4).start()
        rwlib.reload_under_load(
            starter, start_server, pid_file, status_file, load,
            lambda gen, how: rwlib.wait_reloaded(status_file, gen, generations,
                                                 lambda g: answers(ports, g), how))
        rwlib.stop_and_check_clean(starter, [sock, pid_file, status_file], generations.all())


if __name__ == "__main__":
    rwlib.main(test)
