#!/usr/bin/env python3
"""The documentation's shell examples, checked (ctest label docs).

  START_SERVER=build/start_server tests/docs/check_docs.py REPO

1. Included blocks: in README.md and docs/*.md, a fenced block right after a line
   `<!-- include: PATH -->` must be the file PATH (from the repository's top) byte for byte,
   and every file in docs/examples/ must be included somewhere.
2. Every docs/examples/*.sh runs against $START_SERVER (the start_server just built, never
   the one PATH finds) and must exit 0 within 60 s, leaving no process behind. Each gets a
   directory of its own for APP, RUN, LOGS and CONF, a free loopback PORT chosen here, and
   ROTATION set so that rotatelogs starts a new file every second.
3. README blocks marked to run: a fenced sh block right after `<!-- check: run -->` runs as
   written (`sh -e`), as root, in a private network, mount and pid namespace (its own
   loopback, an empty /run, nothing left behind), from a directory holding the example
   worker as ./app, with `start_server` on PATH being $START_SERVER. After
   `<!-- check: run with-daemon -->` the block finds a start_server already serving ./app
   there, started by README's one block marked `<!-- check: daemon -->` as written (in the
   background, its output in /run/app.log), up once /run/app.status names generation 1.

What this machine cannot run (a missing program, not root) is reported as "SKIP: ..." and
not counted as a failure. Exit status: 0 when everything that ran passed, 1 otherwise.
"""
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
from starterlib import free_port, wait_until  # noqa: E402

TIMEOUT = 60
INCLUDE = re.compile(r"^<!-- include: (\S+) -->\n(`{3,})[\w-]*\n(.*?)^\2$", re.M | re.S)
RUN_MARK = re.compile(r"^<!-- check: run( with-daemon)? -->\n(`{3,})sh\n(.*?)^\2$", re.M | re.S)
DAEMON_MARK = re.compile(r"^<!-- check: daemon -->\n(`{3,})sh\n(.*?)^\1$", re.M | re.S)
PR_SET_CHILD_SUBREAPER = 36
# Programs an example may need, besides sh and coreutils, looked up along PATH and sbin.
TOOLS = ("curl", "python3", "rotatelogs", "logrotate", "unshare")
SEARCH_PATH = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"

failures = []


def fail(what):
    failures.append(what)
    print("FAIL: " + what, flush=True)


def check_includes(repo):
    included = set()
    docs = [os.path.join(repo, "README.md")]
    docs_dir = os.path.join(repo, "docs")
    docs += sorted(os.path.join(docs_dir, f) for f in os.listdir(docs_dir) if f.endswith(".md"))
    for doc in docs:
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            path, block = m.group(1), m.group(3)
            included.add(os.path.normpath(path))
            try:
                with open(os.path.join(repo, path), encoding="utf-8") as f:
                    content = f.read()
            except OSError as e:
                fail("%s includes %s, which cannot be read: %s" % (os.path.relpath(doc, repo), path, e))
                continue
            if block != content:
                fail("%s: the block after <!-- include: %s --> differs from the file (copy the file"
                     " into the block)" % (os.path.relpath(doc, repo), path))
    for name in sorted(os.listdir(os.path.join(docs_dir, "examples"))):
        path = os.path.join("docs", "examples", name)
        if path not in included:
            fail("%s is included in no document (<!-- include: %s -->)" % (path, path))
    print("docs: %d included blocks checked" % len(included), flush=True)


def children():
    """Our live children: with the subreaper bit, every orphaned descendant is one."""
    pids = set()
    for task in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/children" % task) as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return pids


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def leftovers(name):
    """Waits up to 5 s for what the example started to exit (a log command reading to EOF
    ends just after start_server); fails and kills whatever is still there."""
    def all_gone():
        reap()
        return not children()

    def gone_within(seconds):
        try:
            return wait_until(all_gone, seconds, "the example's processes to exit", poll=0.05)
        except TimeoutError:
            return False

    if gone_within(5):
        return
    left = children()
    fail("%s left running: %s" % (name, "; ".join("%d %s" % (p, command_line(p)) for p in left)))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in children():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if gone_within(5):
            return


def missing_tools(text):
    return [t for t in TOOLS
            if re.search(r"(^|[\s|(])%s\b" % t, text, re.M) and not shutil.which(t, path=SEARCH_PATH)]


def run(name, argv, env, cwd):
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        fail("%s did not finish within %d s; its output:\n%s" % (name, TIMEOUT, output.decode(errors="replace")))
        return
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        fail("%s exited with status %d after %.1f s; its output:\n%s"
             % (name, proc.returncode, elapsed, output.decode(errors="replace")))
    else:
        print("docs: %s passed in %.1f s" % (name, elapsed), flush=True)


def run_examples(repo, starter):
    examples = os.path.join(repo, "docs", "examples")
    for name in sorted(f for f in os.listdir(examples) if f.endswith(".sh")):
        path = os.path.join(examples, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        missing = missing_tools(text)
        if missing:
            print("SKIP: docs/examples/%s needs %s" % (name, ", ".join(missing)), flush=True)
            continue
        if "unshare" in text and os.geteuid() != 0:
            print("SKIP: docs/examples/%s needs root (unshare --pid)" % name, flush=True)
            continue
        with tempfile.TemporaryDirectory(prefix="docs-example.") as tmp:
            env = dict(os.environ, START_SERVER=starter, PATH=SEARCH_PATH, PORT=str(free_port()),
                       APP=os.path.join(tmp, "app"), RUN=os.path.join(tmp, "run"),
                       LOGS=os.path.join(tmp, "logs"), CONF=os.path.join(tmp, "logrotate.conf"),
                       ROTATION="app.%Y%m%d-%H%M%S.log 1")
            run("docs/examples/" + name, ["sh", path], env, tmp)
            leftovers("docs/examples/" + name)


# The README block runs as PID 1's child in fresh namespaces; /run is an empty tmpfs there.
NAMESPACE_SETUP = """set -e
ip link set lo up
mount -t tmpfs tmpfs /run
cd "$BLOCK_DIR"
if [ -n "$WITH_DAEMON" ]; then
  sh -e ./daemon.sh >/run/app.log 2>&1 &
  daemon=$!
  i=0
  until grep -q "^1:" /run/app.status 2>/dev/null; do
    kill -0 "$daemon" 2>/dev/null || { echo "the daemon exited:" >&2; cat /run/app.log >&2; exit 1; }
    i=$((i + 1)) && [ "$i" -lt 100 ] || { echo "the daemon is not up after 10 s:" >&2; cat /run/app.log >&2; exit 1; }
    sleep 0.1
  done
fi
exec sh -e ./block.sh
"""


def run_readme_blocks(repo, starter):
    with open(os.path.join(repo, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    blocks = [(m.group(3), bool(m.group(1))) for m in RUN_MARK.finditer(readme)]
    if not blocks:
        return
    daemons = [m.group(2) for m in DAEMON_MARK.finditer(readme)]
    if any(with_daemon for _, with_daemon in blocks) and len(daemons) != 1:
        fail("README.md: blocks marked with-daemon need exactly one block marked "
             "<!-- check: daemon --> to start it; found %d" % len(daemons))
        return
    if os.geteuid() != 0 or not shutil.which("unshare", path=SEARCH_PATH) or \
            not shutil.which("ip", path=SEARCH_PATH):
        print("SKIP: README blocks marked <!-- check: run --> need root, unshare and ip", flush=True)
        return
    for i, (block, with_daemon) in enumerate(blocks, 1):
        name = "README.md block %d (%s)" % (i, block.splitlines()[0][:60] if block else "empty")
        missing = missing_tools(block)
        if missing:
            print("SKIP: %s needs %s" % (name, ", ".join(missing)), flush=True)
            continue
        with tempfile.TemporaryDirectory(prefix="docs-readme.") as tmp:
            bin_dir = os.path.join(tmp, "bin")
            os.mkdir(bin_dir)
            os.symlink(starter, os.path.join(bin_dir, "start_server"))
            shutil.copy(os.path.join(repo, "docs", "examples", "worker.py"), os.path.join(tmp, "app"))
            with open(os.path.join(tmp, "block.sh"), "w", encoding="utf-8") as f:
                f.write(block)
            if with_daemon:
                with open(os.path.join(tmp, "daemon.sh"), "w", encoding="utf-8") as f:
                    f.write(daemons[0])
            env = dict(os.environ, PATH=bin_dir + ":" + SEARCH_PATH, BLOCK_DIR=tmp,
                       WITH_DAEMON="1" if with_daemon else "")
            run(name, ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc",
                       "sh", "-c", NAMESPACE_SETUP], env, tmp)
            leftovers(name)


def main():
    if len(sys.argv) != 2 or not os.environ.get("START_SERVER"):
        print("usage: START_SERVER=PATH check_docs.py REPO", file=sys.stderr)
        return 2
    repo = os.path.abspath(sys.argv[1])
    starter = os.path.abspath(os.environ["START_SERVER"])
    # Whatever an example starts and leaves (a daemonized start_server, its workers) becomes
    # our child, so it can be found, counted as a failure and stopped.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("check_docs: prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(ctypes.get_errno()),
              file=sys.stderr)
        return 1
    started = time.monotonic()
    check_includes(repo)
    run_examples(repo, starter)
    run_readme_blocks(repo, starter)
    print("docs: %s in %.1f s" % ("%d failure(s)" % len(failures) if failures else "all passed",
                                  time.monotonic() - started), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
