#!/bin/sh
# Logs in a plain --log-file, rotated by logrotate with copytruncate: start_server never
# reopens its log file (and SIGHUP deploys a new generation), so the file must stay where
# it is: logrotate copies it and empties it, and every writer goes on at its new end
# (the file is opened O_APPEND). Lines written between the copy and the truncation are
# lost; the piped form (logs-rotatelogs.sh) loses none.
set -eu
START_SERVER=${START_SERVER:-start_server}
WORKER=${WORKER:-$(dirname "$0")/worker.py}
RUN=${RUN:-/run/app}
LOGS=${LOGS:-/var/log/app}
PORT=${PORT:-8080}
CONF=${CONF:-/etc/logrotate.d/app}

. "$(dirname "$0")/wait_for"  # wait_for SECONDS COMMAND...: a bounded wait

# No postrotate: a `kill -HUP` there would deploy a new generation every night.
mkdir -p "$RUN" "$LOGS" "$(dirname "$CONF")"
cat >"$CONF" <<CONF
$LOGS/app.log {
    daily
    rotate 14
    copytruncate
    compress
    delaycompress
    missingok
    notifempty
}
CONF

"$START_SERVER" --port="127.0.0.1:$PORT" --ready=notify \
  --pid-file="$RUN/app.pid" --status-file="$RUN/app.status" \
  --daemonize --log-file="$LOGS/app.log" -- "$WORKER"
# --daemonize returns at once: wait, at most 10 s, until generation 1 is up.
wait_for 10 grep -q "^1:" "$RUN/app.status"
curl -fsS "http://127.0.0.1:$PORT/"

# What the daily run of logrotate does (logrotate.timer on Debian), now.
logrotate --force --state "$RUN/logrotate.state" "$CONF"
grep "GET / " "$LOGS/app.log.1"
curl -fsS "http://127.0.0.1:$PORT/after-rotation"
wait_for 5 grep "GET /after-rotation" "$LOGS/app.log"
# Written from the start of the emptied file on, not at the old offset after a hole of NULs.
[ "$(tr -d '\000' <"$LOGS/app.log" | wc -c)" -eq "$(wc -c <"$LOGS/app.log")" ]
"$START_SERVER" --stop --pid-file="$RUN/app.pid"
