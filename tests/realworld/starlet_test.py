#!/usr/bin/env python3
"""Debian's Starlet (a Plack server, Server::Starter-aware) under our start_server.

Starlet reads SERVER_STARTER_PORT through Server::Starter's server_ports() and takes one
entry, so it is given one --port, on 127.0.0.1, and no --listen of its own: answering at all
proves the handover. It is Debian 13's HTTP server for these tests (h2o is not in Debian 13)
and runs on Debian 12 too. A load runs through a SIGHUP and a `start_server --restart`
(Starlet's workers finish their request on the TERM that retires them); not one request may
fail, and each new generation must answer alone once its predecessor (master and workers)
has exited. SIGTERM then stops everything and leaves no file.

usage: starlet_test.py START_SERVER
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
    plackup = shutil.which("plackup")
    check(plackup is not None and
          os.system("perl -MPlack::Handler::Starlet -e1 2>/dev/null") == 0,
          "Starlet is not installed (scripts/install-deps --test installs starlet)")
    work = rwlib.temp_dir("starlet")
    pid_file = os.path.join(work, "start_server.pid")
    status_file = os.path.join(work, "start_server.status")

    def make_argv(ports):
        return [start_server, f"--port=127.0.0.1:{ports[0]}", f"--pid-file={pid_file}",
                f"--status-file={status_file}", "--", plackup, "-s", "Starlet",
                "--max-workers=2", "-E", "deployment", os.path.join(HERE, "psgi_app.psgi")]

    generations = rwclient.Generations()

    def ask(target):
        return rwclient.http_generation(target, generations)

    def answers(ports, gen):
        try:
            return ask(("tcp", "127.0.0.1", ports[0])) == gen
        except OSError:
            return False

    starter, ports = rwlib.start_with_ports(
        make_argv, work, ["127.0.0.1"], lambda p: rwlib.read_status(status_file) and answers(p, 1))
    with starter:
        target = ("tcp", "127.0.0.1", ports[0])
        log(f"Starlet generation 1 answers on {rwclient.describe(target)}")

        def probe():
            ask(target)

        load = rwclient.Load([("v4", probe)], threads=4).start()
        rwlib.reload_under_load(
            starter, start_server, pid_file, status_file, load,
            lambda gen, how: rwlib.wait_reloaded(status_file, gen, generations,
                                                 lambda g: answers(ports, g), how))
        rwlib.stop_and_check_clean(starter, [pid_file, status_file], generations.all())


if __name__ == "__main__":
    rwlib.main(test)
