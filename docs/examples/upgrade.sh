#!/bin/sh
# Upgrading start_server itself in place: same pid, same sockets, same workers.
set -eu
START_SERVER=${START_SERVER:-start_server}
WORKER=${WORKER:-$(dirname "$0")/worker.py}
RUN=${RUN:-/run/app}
PORT=${PORT:-8080}

. "$(dirname "$0")/wait_for"  # wait_for SECONDS COMMAND...: a bounded wait

mkdir -p "$RUN"
"$START_SERVER" --port="127.0.0.1:$PORT" --ready=notify \
  --pid-file="$RUN/app.pid" --status-file="$RUN/app.status" \
  --daemonize --log-file="$RUN/app.log" -- "$WORKER"
# --daemonize returns at once: wait, at most 10 s, until generation 1 is up.
wait_for 10 grep -q "^1:" "$RUN/app.status"
curl -fsS "http://127.0.0.1:$PORT/"
before=$(cat "$RUN/app.pid")
worker=$(cat "$RUN/app.status")

# After `apt upgrade` (the package's postinst does this for start_server@ instances):
# SIGUSR2 to the daemon, and wait for the outcome. 0: it runs the new binary.
"$START_SERVER" --upgrade --pid-file="$RUN/app.pid"

# The same daemon (pid), the same worker, never restarted; the log says what happened.
[ "$(cat "$RUN/app.pid")" = "$before" ]
[ "$(cat "$RUN/app.status")" = "$worker" ]
curl -fsS "http://127.0.0.1:$PORT/"
grep -i "upgrade" "$RUN/app.log"
"$START_SERVER" --stop --pid-file="$RUN/app.pid"
