#!/usr/bin/env bash
# The README's two commands on a fresh machine, as far as CI can take them: scripts/demo
# (installs the build packages, builds, serves the example worker) must answer a request
# and stop cleanly, then scripts/install-deps --test (the install step of scripts/test) must
# install everything the tests need. scripts/test-release runs this as root inside a fresh
# Debian tree (debootstrap minbase plus systemd), with the network, from a copy of the checkout.
#
# Usage: tests/release/fresh_machine.sh
# Exits 0 when the demo answered and stopped and the install step succeeded, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf 'fresh_machine: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

# A TCP port nothing listens on (this container shares the host's network, for apt; a fresh
# machine has no python3 yet): one not in LISTEN state (0A) in /proc/net/tcp{,6}.
listening() { awk -v p="$(printf '%04X' "$1")" '$4 == "0A" && $2 ~ (":" p "$") { found = 1 } END { exit !found }' /proc/net/tcp /proc/net/tcp6; }
port=$((20000 + RANDOM % 20000))
while listening "$port"; do port=$((20000 + RANDOM % 20000)); done
log=$(mktemp)
start=$SECONDS
PORT=$port scripts/demo >"$log" 2>&1 &
demo=$!  # scripts/demo execs start_server: this pid becomes start_server's
# A fresh machine installs and compiles first: minutes, bounded.
deadline=$((SECONDS + 900))
reply=
until reply=$(curl -sS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null); do
  if ! kill -0 "$demo" 2>/dev/null; then
    wait "$demo" || true
    tail -n 40 "$log" >&2
    fail "scripts/demo exited before it answered on port $port"
  fi
  if ((SECONDS >= deadline)); then
    kill -TERM "$demo" 2>/dev/null || true
    tail -n 40 "$log" >&2
    fail "scripts/demo did not answer on port $port within 900 s"
  fi
  sleep 0.2
done
[[ $reply == "Hello from generation 1 "* ]] || { tail -n 40 "$log" >&2; fail "scripts/demo answered '$reply'"; }
say "ok: scripts/demo installed, built and answered after $((SECONDS - start)) s: $reply"

# Ctrl-C in the README; here SIGINT to start_server (its pid is the demo's after exec).
comm=$(cat "/proc/$demo/comm" 2>/dev/null || true)
[[ $comm == start_server ]] || fail "pid $demo is '$comm', not the start_server scripts/demo execs"
kill -INT "$demo"
status=0
# wait returns once start_server has exited; bounded by the worker's drain, which is immediate.
timeout_at=$((SECONDS + 20))
while kill -0 "$demo" 2>/dev/null && ((SECONDS < timeout_at)); do sleep 0.1; done
kill -0 "$demo" 2>/dev/null && { kill -KILL "$demo"; fail "start_server did not exit within 20 s of SIGINT"; }
wait "$demo" || status=$?
((status == 0)) || { tail -n 20 "$log" >&2; fail "start_server exited with status $status after SIGINT; want 0"; }
left=$(cat /proc/[0-9]*/comm 2>/dev/null | grep -xE 'start_server|hello_worker' || true)
[[ -z $left ]] || fail "still running after the demo stopped: $(tr '\n' ' ' <<<"$left")"
if curl -sS --max-time 2 "http://127.0.0.1:$port/" >/dev/null 2>&1; then fail "port $port still answers after the demo stopped"; fi
say "ok: SIGINT stopped the demo (exit status 0, nothing left)"
rm -f "$log"

start=$SECONDS
scripts/install-deps --test || fail "scripts/install-deps --test failed"
say "ok: scripts/install-deps --test in $((SECONDS - start)) s"
