#!/bin/sh
# What a SIGKILL of start_server leaves outside systemd: its workers serve on, unsupervised,
# holding the port; the pid and status files stay behind, and the status file names the
# orphans.
set -eu
START_SERVER=${START_SERVER:-start_server}
WORKER=${WORKER:-$(dirname "$0")/worker.py}
RUN=${RUN:-/run/app}
PORT=${PORT:-8080}

. "$(dirname "$0")/wait_for"  # wait_for SECONDS COMMAND...: a bounded wait
start() {
  "$START_SERVER" --port="127.0.0.1:$PORT" --ready=notify \
    --pid-file="$RUN/app.pid" --status-file="$RUN/app.status" \
    --daemonize --log-file="$RUN/app.log" -- "$WORKER"
}
serves() { curl -fs "http://127.0.0.1:$PORT/"; }
refuses() { ! curl -fs "http://127.0.0.1:$PORT/" >/dev/null; }

mkdir -p "$RUN"
start
wait_for 10 grep -q "^1:" "$RUN/app.status"  # generation 1 is up
serves

kill -KILL "$(cat "$RUN/app.pid")"

# The worker still answers, and nothing supervises it: the control modes say so (exit 3).
serves
status=0
"$START_SERVER" --status --pid-file="$RUN/app.pid" || status=$?
[ "$status" -eq 3 ]
# A new start_server cannot bind the port the orphan still listens on (exit 1).
status=0
start || status=$?
[ "$status" -eq 1 ]

# Stop the orphans (the stale status file lists them as GEN:PID), then start afresh.
sed -n 's/^[0-9][0-9]*://p' "$RUN/app.status" | xargs kill -TERM
wait_for 10 refuses
start
wait_for 10 serves
"$START_SERVER" --stop --pid-file="$RUN/app.pid"
