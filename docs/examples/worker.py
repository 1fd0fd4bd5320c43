#!/usr/bin/env python3
"""A worker for start_server, in Python's standard library only.

It serves HTTP on every socket start_server hands over (SERVER_STARTER_PORT), says READY=1
once it serves (for --ready=notify; harmless without it), and on SIGTERM stops accepting,
finishes the requests it has already accepted, and exits 0.
"""
import http.server
import os
import signal
import socket
import sys
import threading


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = "Hello from {} (generation {}, pid {})\n".format(
            os.getcwd(), os.environ.get("SERVER_STARTER_GENERATION"), os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # one line per request, to start_server's log
        print("worker {}: {}".format(os.getpid(), fmt % args), file=sys.stderr, flush=True)


def server_on(fd):
    """An HTTP server on an inherited listening socket: never bind, never listen again."""
    server = http.server.ThreadingHTTPServer(("", 0), Hello, bind_and_activate=False)
    server.socket.close()
    server.socket = socket.socket(fileno=fd)
    server.daemon_threads = False  # server_close() waits for the requests under way
    return server


def notify(message):
    """sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET ('@' = abstract)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), address)


def main():
    # "8080=3;127.0.0.1:8081=4;/run/app.sock=5": split at ';', then at the first '='.
    fds = [int(entry.split("=", 1)[1])
           for entry in os.environ["SERVER_STARTER_PORT"].split(";") if entry]
    # SIGTERM is blocked in every thread and taken by sigwait() below, never mid-request.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    servers = [server_on(fd) for fd in fds]
    threads = [threading.Thread(target=s.serve_forever) for s in servers]
    for t in threads:
        t.start()
    notify("READY=1\nSTATUS=serving")
    signal.sigwait({signal.SIGTERM})
    # SIGTERM: stop accepting (the sockets stay open in start_server and the new
    # generation), answer what was accepted, exit.
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
