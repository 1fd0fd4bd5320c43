#!/usr/bin/env python3
"""Perl servers from Debian under our start_server, across reloads.

  ss-prefork:   a Net::Server::SS::PreFork server (libnet-server-ss-prefork-perl), TCP on
                127.0.0.1 only (Net::Server 2.013 cannot serve IPv6 peers), reloaded with
                --signal-on-hup=QUIT (Net::Server's graceful stop, as Starman's
                documentation recommends for start_server).
                No unix socket: SS::PreFork treats every key as TCP (Starman #120).
  server-ports: a plain worker calling Server::Starter::server_ports() from
                libserver-starter-perl, on 127.0.0.1, [::1] and a unix socket; each reply
                names the key it came in on, so the key -> fd mapping is checked too.

For each: it serves; a SIGHUP and a `start_server --restart` each bring up a new generation
that answers alone while the old one (master and children) exits; a load running meanwhile
sees no failed request (Net::Server::PreFork alone may close a connection unanswered when a
retiring child is signalled right after accept(); Perl's start_server shows the same, so
those are counted apart and bounded); SIGTERM stops everything and removes the files.

usage: perl_test.py START_SERVER ss-prefork|server-ports
"""

import os
import sys

import rwclient
import rwlib
from rwlib import check, log

HERE = os.path.dirname(os.path.abspath(__file__))


def test():
    start_server, mode = sys.argv[1], sys.argv[2]
    check(mode in ("ss-prefork", "server-ports"), f"unknown mode {mode}")
    # Net::Server 2.013's Proto::TCP unpacks every peer address with sockaddr_in, so its
    # children die on an IPv6 connection: SS::PreFork is tested on 127.0.0.1 only.
    v6 = mode == "server-ports" and rwlib.ipv6_available()
    if mode == "server-ports" and not v6:
        log("no IPv6 on this machine: testing without [::1]")
    work = rwlib.temp_dir(mode)
    sock = os.path.join(work, "app.sock")
    pid_file = os.path.join(work, "start_server.pid")
    status_file = os.path.join(work, "start_server.status")
    use_unix = mode == "server-ports"

    def targets(ports):
        t = [("v4", ("tcp", "127.0.0.1", ports[0]), f"127.0.0.1:{ports[0]}")]
        if v6:
            t.append(("v6", ("tcp", "::1", ports[1]), f"[::1]:{ports[1]}"))
        if use_unix:
            t.append(("unix", ("unix", sock), sock))
        return t

    def make_argv(ports):
        argv = [start_server, f"--port=127.0.0.1:{ports[0]}"]
        if v6:
            argv.append(f"--port=[::1]:{ports[1]}")
        if use_unix:
            argv.append(f"--path={sock}")
        argv += [f"--pid-file={pid_file}", f"--status-file={status_file}"]
        if mode == "ss-prefork":
            argv += ["--signal-on-hup=QUIT", "--", "perl",
                     os.path.join(HERE, "ss_prefork_server.pl")]
        else:
            argv += ["--", "perl", os.path.join(HERE, "server_ports_worker.pl")]
        return argv

    generations = rwclient.Generations()

    def ask(target, key):
        return generations.record(rwclient.read_line_reply(target), key)

    def answers(ports, gen):
        try:
            return all(ask(t, key) == gen for _, t, key in targets(ports))
        except OSError:
            return False

    hosts = ["127.0.0.1", "::1"] if v6 else ["127.0.0.1"]
    starter, ports = rwlib.start_with_ports(
        make_argv, work, hosts, lambda p: rwlib.read_status(status_file) and answers(p, 1))
    with starter:
        where = ", ".join(rwclient.describe(t) for _, t, _ in targets(ports))
        log(f"generation 1 answers on {where}")

        def probe(target, key):
            def fn():
                reply = rwclient.read_line_reply(target)
                if reply == b"" and mode == "ss-prefork":
                    # Net::Server::PreFork's child exits on the retiring signal when it is
                    # not yet marked connected, which includes the moment between accept()
                    # and `connected = 1` (PreFork.pm run_child): that connection is closed
                    # unanswered. Perl's start_server shows the same. It can happen once per
                    # retiring child at most; a refused or reset connection is never excused.
                    raise rwclient.Tolerated("closed unanswered by a retiring Net::Server child")
                generations.record(reply, key)
            return fn

        load = rwclient.Load([(name, probe(t, key)) for name, t, key in targets(ports)],
                             threads=4).start()
        rwlib.reload_under_load(
            starter, start_server, pid_file, status_file, load,
            lambda gen, how: rwlib.wait_reloaded(status_file, gen, generations,
                                                 lambda g: answers(ports, g), how))
        # Two reloads retire at most max_servers (4) children each.
        check(load.total_tolerated() <= 8,
              f"{load.total_tolerated()} connections closed unanswered: more than Net::Server's "
              "retiring children can account for")
        files = [pid_file, status_file] + ([sock] if use_unix else [])
        rwlib.stop_and_check_clean(starter, files, generations.all())


if __name__ == "__main__":
    rwlib.main(test)
