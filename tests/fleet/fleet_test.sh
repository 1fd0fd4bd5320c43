#!/usr/bin/env bash
# A rolling deploy, tested: examples/fleet/deploy.yml (Ansible) rolls releases across three
# booted systemd hosts behind examples/fleet/haproxy.cfg (HAProxy) while a client sends
# requests through HAProxy, all in one private network namespace (tests/fleet/lib.sh).
# The hosts run units/myapp.socket + units/myapp.service with the built start_server;
# release N of myapp is /srv/myapp/releases/N/myapp (the worker, told its release in
# MYAPP_RELEASE), reached through /srv/myapp/current.
#
#   tests/fleet/fleet_test.sh START_SERVER HELLO_WORKER
#
#   a. every host boots serving release 1;
#   b. release 2 (good) reaches every host: each serves it alone, in a newer generation;
#   c. release 3 (broken: exits 1 at start) stops the rollout at host1, with start_server's
#      reason in the playbook's failure; host1 still serves release 2 and current points
#      back at it; host2 and host3 are untouched (same worker, no releases/3, current);
#   d. with host1's current switched to the broken release 3 (what the playbook leaves with
#      rollback=false), host1 still serves release 2, and once its worker is killed the
#      respawned worker runs release 2 again, not release 3;
# and through a..d (until the kill): the client saw 0 failed requests and HAProxy's
# per-server econ, eresp, wretr, wredis, chkfail, chkdown, downtime and hrsp_5xx are all 0.
#
# Exits 0 when every step passed, 1 on the first failure (with the hosts' journals), 77
# when this machine cannot run it (not root, a tool missing, no layer from
# scripts/fleet-tree). Cleans up whatever happens: the guests are powered off (bounded),
# and our cgroups, mounts, namespaces and work directory are removed.
set -euo pipefail

fleet_repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/fleet/lib.sh
. "$fleet_repo/tests/fleet/lib.sh"

[[ $# -eq 2 ]] || { echo "usage: $0 START_SERVER HELLO_WORKER" >&2; exit 2; }
starter=$(realpath "$1")
worker=$(realpath "$2")
[[ -x $starter && -x $worker ]] || { echo "FAIL: $starter or $worker is not an executable" >&2; exit 1; }
fleet_enter "$@"

# --- inside the namespaces from here on ---------------------------------------------------
fleet_inside_setup

# What host $1 says, in one line (one nsenter, one python3 in the guest):
#   N GEN PID RELEASE WORKER_RELEASE CURRENT LAST_GEN LAST_OUTCOME LAST_REASON...
# N serving generations, then the first one's generation, pid and release (status --json),
# its worker's MYAPP_RELEASE, the target of current, and the last reload (or "- -").
facts() {
  # shellcheck disable=SC2016 # python, not shell
  fleet_in "$1" python3 -c '
import json, os, subprocess, sys
out = subprocess.run(["/usr/bin/start_server", "--status", "--json", "--pid-file=/run/myapp/start_server.pid",
                      "--status-file=/run/myapp/status"], capture_output=True, text=True)
if out.returncode != 0:
    print("not-running", out.stdout.strip(), out.stderr.strip()); sys.exit(1)
d = json.loads(out.stdout)
s = [g for g in d["generations"] if g["state"] == "serving"]
g = s[0] if s else {"generation": "-", "pid": "-", "release": "-"}
env = "-"
try:
    env = dict(e.split(b"=", 1) for e in open("/proc/%d/environ" % g["pid"], "rb").read().split(b"\0")
               if b"=" in e)[b"MYAPP_RELEASE"].decode()
except Exception:
    pass
r = d.get("last_reload") or {"generation": "-", "outcome": "-", "reason": ""}
print(len(s), g["generation"], g["pid"], g["release"], env, os.readlink(sys.argv[1] + "/current"),
      r["generation"], r["outcome"], r["reason"] or "")' "$FLEET_APP_ROOT"
}

# Fails unless host $1 serves release $2 alone (its status, its worker's environment) with
# current -> releases/$3; sets gen, pid, lgen (last reload's generation), outcome, reason.
expect_serving() {
  local host=$1 rel=$2 line n release env cur
  line=$(facts "$host") || fleet_fail "$host: start_server --status --json failed: $line"
  read -r n gen pid release env cur lgen outcome reason <<<"$line"
  [[ $n == 1 ]] || fleet_fail "$host: $n serving generations; want 1: $line"
  [[ $release == "$FLEET_APP_ROOT/releases/$rel" || $release == "$FLEET_APP_ROOT/releases/$rel/"* ]] ||
    fleet_fail "$host: generation $gen (pid $pid) runs release '$release'; want $FLEET_APP_ROOT/releases/$rel"
  [[ $env == "$rel" ]] || fleet_fail "$host: worker $pid has MYAPP_RELEASE='$env'; want $rel"
  [[ $cur == "releases/$3" ]] || fleet_fail "$host: current -> '$cur'; want releases/$3"
}

# The client's failures and HAProxy's counters are all 0 (and every server took sessions).
expect_clean() {
  local failed ok counters
  failed=$(fleet_load_field failed)
  ok=$(fleet_load_field ok)
  [[ $failed == 0 ]] || fleet_fail "$1: the client saw $failed failed requests (and $ok good ones): $(cat "$FLEET_WORK/load.json")"
  counters=$(fleet_stats zero) || fleet_fail "$1: HAProxy's counters are not all 0: $counters"
  fleet_log "$1: client $ok requests, 0 failed; HAProxy $counters"
}

playbook_must_pass() {
  local t=$EPOCHREALTIME
  fleet_playbook "$@" || { cat "$fleet_playbook_log" >&2; fleet_fail "ansible-playbook for release $1 exited $?"; }
  fleet_log "release $1 rolled out in $(fleet_elapsed "$t") s"
}

for r in 1 2; do fleet_make_release "$r"; done
fleet_make_release 3 broken
fleet_make_common "$starter" "$worker" "$FLEET_WORK/releases/1"
fleet_boot
for host in "${FLEET_HOSTS[@]}"; do
  # shellcheck disable=SC2016 # expanded by eval, at each try
  fleet_wait_until 10 eval '[[ $(facts "$host" 2>/dev/null | cut -d" " -f1) == 1 ]]' ||
    fleet_fail "$host: myapp does not serve 10 s after boot: $(facts "$host" || fleet_in "$host" systemctl status --no-pager myapp 2>&1)"
  expect_serving "$host" 1 1
done
fleet_log "a: pass: every host serves release 1"

fleet_haproxy_start
fleet_ansible_setup
fleet_load_start 150 170
fleet_log "HAProxy up on all three, load running"

# b: a good release reaches every host.
declare -A gen_before
for host in "${FLEET_HOSTS[@]}"; do read -r _ "gen_before[$host]" _ < <(facts "$host"); done
playbook_must_pass 2
for host in "${FLEET_HOSTS[@]}"; do
  expect_serving "$host" 2 2
  ((gen > gen_before[$host])) || fleet_fail "$host: generation $gen serves; want one above ${gen_before[$host]}"
  [[ $lgen == "$gen" && $outcome == ok ]] || fleet_fail "$host: last reload '$lgen $outcome'; want '$gen ok'"
done
expect_clean "b: pass: release 2 serves on every host"

# c: a broken release stops the rollout at host1.
declare -A before_c
for host in host2 host3; do before_c[$host]=$(facts "$host"); done
t=$EPOCHREALTIME
if fleet_playbook 3; then cat "$fleet_playbook_log" >&2; fleet_fail "c: ansible-playbook succeeded with a broken release"; fi
fleet_log "c: the rollout of release 3 failed after $(fleet_elapsed "$t") s, as it should"
want='host1: release 3 failed: generation [0-9]+ exited with status 1'
msg=$(grep -oE "${want}[^\"]*" "$fleet_playbook_log" | head -n1) || true
[[ -n $msg ]] || { cat "$fleet_playbook_log" >&2; fleet_fail "c: the playbook's failure does not say '$want'"; }
fleet_log "c: the playbook says: $msg"
if grep -E '^(ok|changed|fatal|skipping): \[host[23]\]' "$fleet_playbook_log"; then
  fleet_fail "c: the playbook ran tasks on host2 or host3 after host1 failed"
fi
expect_serving host1 2 2
[[ $outcome == failed && $reason =~ exited\ with\ status\ 1 ]] ||
  fleet_fail "c: host1's last reload is '$outcome $reason'; want 'failed ... exited with status 1 ...'"
for host in host2 host3; do
  now=$(facts "$host")
  [[ $now == "${before_c[$host]}" ]] || fleet_fail "c: $host changed: was '${before_c[$host]}', now '$now'"
  ! fleet_in "$host" test -e "$FLEET_APP_ROOT/releases/3" || fleet_fail "c: $host has releases/3"
  expect_serving "$host" 2 2
done
expect_clean "c: pass: the rollout stopped at host1, which serves release 2; host2 and host3 untouched"

# d: with current on the broken release (as the playbook leaves it with rollback=false), a
# crash of host1's worker respawns release 2, the release it was deployed from.
fleet_in host1 sh -c "ln -sfnT releases/3 $FLEET_APP_ROOT/.current.new && mv -fT $FLEET_APP_ROOT/.current.new $FLEET_APP_ROOT/current" ||
  fleet_fail "d: cannot point host1's current at releases/3"
expect_serving host1 2 3
old_gen=$gen old_pid=$pid
expect_clean "d: host1 serves release 2 with current -> releases/3"
fleet_in host1 kill -KILL "$old_pid" || fleet_fail "d: cannot kill host1's worker $old_pid"
respawned() {
  local n p
  read -r n _ p _ < <(facts host1 2>/dev/null) || return 1
  [[ $n == 1 && $p != "$old_pid" ]]
}
t=$EPOCHREALTIME
fleet_wait_until 15 respawned ||
  fleet_fail "d: no worker serves on host1 15 s after its worker $old_pid was killed: $(facts host1)"
expect_serving host1 2 3
fleet_log "d: pass: host1's worker $old_pid (generation $old_gen) killed; generation $gen (pid $pid) serves release 2 again after $(fleet_elapsed "$t") s"
body=$(curl -sS --max-time 5 "http://$FLEET_NET.11:8080/" 2>&1) || fleet_fail "d: host1 does not answer after the respawn: $body"

fleet_load_stop
fleet_log "client after the kill: $(cat "$FLEET_WORK/load.json"); HAProxy: $(fleet_stats zero || true)"
fleet_log "all scenarios passed"
