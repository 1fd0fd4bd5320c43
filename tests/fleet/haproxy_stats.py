#!/usr/bin/env python3
"""HAProxy's per-server counters, read from its stats socket (`show stat`, CSV).

    haproxy_stats.py SOCKET show            every server's state and counters, one a line
    haproxy_stats.py SOCKET up              exit 0 when every server of every backend is UP
    haproxy_stats.py SOCKET clear           `clear counters all` (the socket needs level admin)
    haproxy_stats.py SOCKET zero            exit 0 when the error, retry and redispatch
                                            counters of every server and backend are 0 and
                                            every server took sessions; else name them
    haproxy_stats.py SOCKET json            the counters as JSON

HAProxy's `retries` and `option redispatch` hide a refused connection from the client: a
zero-failure claim needs these counters as well as the client's count.
"""
import csv
import io
import json
import socket
import sys

# Connection errors, response errors, retries, redispatches, failed checks, transitions
# to DOWN, seconds DOWN, and 5xx answers.
ZERO = ["econ", "eresp", "wretr", "wredis", "chkfail", "chkdown", "downtime", "hrsp_5xx"]
SHOWN = ["status", "stot"] + ZERO


def command(path, line):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def rows(path):
    text = command(path, "show stat").lstrip("# ")
    return [r for r in csv.DictReader(io.StringIO(text)) if r.get("svname") not in (None, "FRONTEND")]


def num(row, key):
    return int(row.get(key) or 0)


def main():
    path, what = sys.argv[1], sys.argv[2]
    if what == "clear":
        print(command(path, "clear counters all").strip())
        return 0
    table = rows(path)
    servers = [r for r in table if r["svname"] != "BACKEND"]
    if what == "show":
        for r in table:
            print(f"{r['pxname']}/{r['svname']}: " + " ".join(f"{k}={r.get(k) or 0}" for k in SHOWN))
        return 0
    if what == "json":
        print(json.dumps({f"{r['pxname']}/{r['svname']}": {k: (r.get(k) if k == "status" else num(r, k))
                                                          for k in SHOWN} for r in table}))
        return 0
    if what == "up":
        down = [f"{r['pxname']}/{r['svname']} {r['status']}" for r in servers if r["status"] != "UP"]
        print("; ".join(down) or "all UP")
        return 1 if down or not servers else 0
    if what == "zero":
        bad = [f"{r['pxname']}/{r['svname']} {k}={num(r, k)}" for r in table for k in ZERO if num(r, k)]
        bad += [f"{r['pxname']}/{r['svname']} took no session" for r in servers if not num(r, "stot")]
        print("; ".join(bad) or "all zero: " + ", ".join(
            f"{r['svname']} stot={num(r, 'stot')}" for r in servers))
        return 1 if bad else 0
    print(f"haproxy_stats.py: unknown command {what}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
