#!/usr/bin/env python3
"""A paced HTTP load: --rate requests a second in all, each on a fresh connection (so every
request goes through accept(2) on some host), from a few threads. Counts answers that are
200 and say "Hello from generation", and failures by kind; writes the counts as JSON to
--out (atomically) every 0.2 s and at exit. Stops on SIGTERM or after --max-seconds.
"""
import argparse
import http.client
import json
import os
import signal
import threading
import time
import urllib.parse

p = argparse.ArgumentParser()
p.add_argument("--url", required=True)
p.add_argument("--rate", type=float, default=150)
p.add_argument("--threads", type=int, default=3)
p.add_argument("--max-seconds", type=float, default=110)
p.add_argument("--out", required=True)
args = p.parse_args()

url = urllib.parse.urlsplit(args.url)
stop = threading.Event()
lock = threading.Lock()
counts = {"ok": 0, "failed": 0, "errors": {}, "seconds": 0.0}
start = time.monotonic()


def one():
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request("GET", url.path or "/", headers={"Connection": "close"})
        r = conn.getresponse()
        body = r.read()
        if r.status == 200 and body.startswith(b"Hello from generation"):
            return None
        return f"HTTP {r.status}: {body[:60]!r}"
    except Exception as e:  # every failure is counted, by kind
        return type(e).__name__ + ": " + str(e)[:60]
    finally:
        conn.close()


def worker(index):
    period = args.threads / args.rate
    due = time.monotonic() + index * period / args.threads
    while not stop.is_set():
        error = one()
        with lock:
            if error is None:
                counts["ok"] += 1
            else:
                counts["failed"] += 1
                counts["errors"][error] = counts["errors"].get(error, 0) + 1
        due += period
        stop.wait(max(0.0, due - time.monotonic()))


def write():
    with lock:
        counts["seconds"] = round(time.monotonic() - start, 2)
        data = json.dumps(counts)
    tmp = args.out + ".new"
    with open(tmp, "w") as f:
        f.write(data + "\n")
    os.replace(tmp, args.out)


signal.signal(signal.SIGTERM, lambda *_: stop.set())
threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
for t in threads:
    t.start()
deadline = start + args.max_seconds
while not stop.wait(0.2):
    write()
    if time.monotonic() > deadline:
        stop.set()
for t in threads:
    t.join(timeout=15)
write()
print(json.dumps(counts))
