#!/bin/sh
# start_server as PID 1 of its own pid namespace, as in a container: `unshare` stands in for
# the container runtime (root needed). It takes SIGTERM, what `docker stop` sends, as
# anywhere else: the workers drain, and it exits 0.
set -eu
START_SERVER=${START_SERVER:-start_server}
WORKER=${WORKER:-$(dirname "$0")/worker.py}
RUN=${RUN:-/run/app}
PORT=${PORT:-8080}

. "$(dirname "$0")/wait_for"  # wait_for SECONDS COMMAND...: a bounded wait

mkdir -p "$RUN"
unshare --pid --fork --mount-proc \
  "$START_SERVER" --port="127.0.0.1:$PORT" --ready=notify --drain-timeout=8 \
  --pid-file="$RUN/app.pid" --status-file="$RUN/app.status" -- "$WORKER" \
  2>"$RUN/app.log" &
runtime=$!
# Wait, at most 10 s, until generation 1 is up.
wait_for 10 grep -q "^1:" "$RUN/app.status"
curl -fsS "http://127.0.0.1:$PORT/"
grep -x 1 "$RUN/app.pid"  # its pid, as seen inside the namespace

# From outside, the pid file's "1" is not start_server: the control modes refuse to signal
# it (exit 5). Signal the container's main process as the runtime does.
status=0
"$START_SERVER" --stop --pid-file="$RUN/app.pid" || status=$?
[ "$status" -eq 5 ]
pid1=$(cat "/proc/$runtime/task/$runtime/children")
kill -TERM "$pid1"
wait "$runtime"  # start_server's exit status: 0 once every worker has exited
cat "$RUN/app.log"
