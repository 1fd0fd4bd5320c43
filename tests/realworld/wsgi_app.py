"""A tiny WSGI app for gunicorn_test.py: one line naming the generation and the process
that answered ("gen=G pid=P master=M"), so the test can tell generations apart."""

import os


def application(environ, start_response):
    gen = os.environ.get("SERVER_STARTER_GENERATION", "-")
    body = f"gen={gen} pid={os.getpid()} master={os.getppid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
