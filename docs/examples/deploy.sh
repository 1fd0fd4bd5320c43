#!/bin/sh
# Deploying releases under start_server: releases side by side, one `current` symlink that
# is switched atomically, a reload whose outcome is read, and the status query.
set -eu
START_SERVER=${START_SERVER:-start_server}
WORKER=${WORKER:-$(dirname "$0")/worker.py}  # the example worker of this guide
APP=${APP:-/srv/app}                         # releases/N and the current symlink
RUN=${RUN:-/run/app}                         # pid, status and log files
PORT=${PORT:-8080}

. "$(dirname "$0")/wait_for"  # wait_for SECONDS COMMAND...: a bounded wait

# install_release N: a release is a directory of its own; this one holds the worker as bin/app.
install_release() {
  mkdir -p "$APP/releases/$1/bin"
  cp "$WORKER" "$APP/releases/$1/bin/app"
}
# switch_to N: points `current` at releases/N atomically (a new link renamed over the old
# one), so it never dangles and never names a half-copied release.
switch_to() {
  ln -sfn "releases/$1" "$APP/current.new"
  mv -T "$APP/current.new" "$APP/current"
}

mkdir -p "$RUN"
install_release 41
switch_to 41
"$START_SERVER" --port="127.0.0.1:$PORT" --dir="$APP/current" \
  --ready=notify --ready-timeout=30 --drain-timeout=60 --reload-retry=off \
  --pid-file="$RUN/app.pid" --status-file="$RUN/app.status" \
  --daemonize --log-file="$RUN/app.log" -- ./bin/app

# --daemonize returns at once: wait, at most 10 s, until generation 1 is up.
wait_for 10 grep -q "^1:" "$RUN/app.status"
curl -fsS "http://127.0.0.1:$PORT/"

# Deploy release 42: install it, switch `current`, reload and wait for the outcome.
install_release 42
switch_to 42
"$START_SERVER" --restart --pid-file="$RUN/app.pid" --status-file="$RUN/app.status"
curl -fsS "http://127.0.0.1:$PORT/" | grep "/releases/42 "

# What runs now, for a person and for a tool.
"$START_SERVER" --status --pid-file="$RUN/app.pid"
"$START_SERVER" --status --json --pid-file="$RUN/app.pid"

"$START_SERVER" --stop --pid-file="$RUN/app.pid"
