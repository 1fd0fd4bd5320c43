#!/bin/sh
# Logs rotated without any signal: start_server and its workers write into a pipe, and
# rotatelogs (Debian's apache2-utils) writes one file a day, app.YYYY-MM-DD.log, with
# app.log a hard link to the current one (`tail -F app.log` follows it across rotations).
# Old files: `find /var/log/app -name 'app.*.log' -mtime +14 -delete`, daily.
set -eu
START_SERVER=${START_SERVER:-start_server}
WORKER=${WORKER:-$(dirname "$0")/worker.py}
RUN=${RUN:-/run/app}
LOGS=${LOGS:-/var/log/app}
PORT=${PORT:-8080}
# The file name pattern (strftime) and how many seconds each file covers.
ROTATION=${ROTATION:-app.%Y-%m-%d.log 86400}

. "$(dirname "$0")/wait_for"  # wait_for SECONDS COMMAND...: a bounded wait

mkdir -p "$RUN" "$LOGS"
"$START_SERVER" --port="127.0.0.1:$PORT" --ready=notify \
  --pid-file="$RUN/app.pid" --status-file="$RUN/app.status" --daemonize \
  --log-file="| exec rotatelogs -f -L $LOGS/app.log $LOGS/$ROTATION" -- "$WORKER"
# --daemonize returns at once: wait, at most 10 s, until generation 1 is up.
wait_for 10 grep -q "^1:" "$RUN/app.status"
curl -fsS "http://127.0.0.1:$PORT/"

# Every request logs a line. Once a second file has begun, logging goes on into it.
rotated() {
  curl -fs "http://127.0.0.1:$PORT/" >/dev/null
  [ "$(find "$LOGS" -name 'app.*.log' | wc -l)" -ge 2 ]
}
wait_for 10 rotated
curl -fsS "http://127.0.0.1:$PORT/after-rotation"
wait_for 5 grep "GET /after-rotation" "$LOGS/app.log"
"$START_SERVER" --stop --pid-file="$RUN/app.pid"
