#!/bin/sh
# A release that does not come up: the reload fails, the serving generation goes on serving,
# and the reason is in the exit status, the status file, the log and --status. Then the
# rollback: `current` points back at the release that serves.
set -eu
START_SERVER=${START_SERVER:-start_server}
WORKER=${WORKER:-$(dirname "$0")/worker.py}
APP=${APP:-/srv/app}
RUN=${RUN:-/run/app}
PORT=${PORT:-8080}

. "$(dirname "$0")/wait_for"  # wait_for SECONDS COMMAND...: a bounded wait

switch_to() {
  ln -sfn "releases/$1" "$APP/current.new"
  mv -T "$APP/current.new" "$APP/current"
}

# Release 42 works and serves.
mkdir -p "$RUN" "$APP/releases/42/bin"
cp "$WORKER" "$APP/releases/42/bin/app"
switch_to 42
"$START_SERVER" --port="127.0.0.1:$PORT" --dir="$APP/current" \
  --ready=notify --ready-timeout=30 --drain-timeout=60 --reload-retry=off \
  --pid-file="$RUN/app.pid" --status-file="$RUN/app.status" \
  --daemonize --log-file="$RUN/app.log" -- ./bin/app
# --daemonize returns at once: wait, at most 10 s, until generation 1 is up.
wait_for 10 grep -q "^1:" "$RUN/app.status"
curl -fsS "http://127.0.0.1:$PORT/"

# Release 43 is broken: its program exits at once.
mkdir -p "$APP/releases/43/bin"
printf '#!/bin/sh\necho "app: cannot read /etc/app.conf" >&2\nexit 1\n' >"$APP/releases/43/bin/app"
chmod 755 "$APP/releases/43/bin/app"
switch_to 43
status=0
"$START_SERVER" --restart --json --pid-file="$RUN/app.pid" --status-file="$RUN/app.status" ||
  status=$?
echo "start_server --restart exited with status $status"  # 2: the new generation failed
[ "$status" -eq 2 ]

# Release 42 still answers. The reason is in the status file, the log and --status.
curl -fsS "http://127.0.0.1:$PORT/" | grep "/releases/42 "
cat "$RUN/app.status"
grep -e "app:" -e "failed" "$RUN/app.log"
"$START_SERVER" --status --pid-file="$RUN/app.pid" | grep "^last reload:"

# Roll back: `current` names the release that serves, so that a respawn or the next start
# does not run the broken one.
switch_to 42
"$START_SERVER" --stop --pid-file="$RUN/app.pid"
