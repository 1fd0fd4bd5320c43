# shellcheck shell=bash
# (The caller sets fleet_repo, the checkout's root, before sourcing this file.)
# shellcheck disable=SC2154
# The fleet harness shared by tests/fleet/fleet_test.sh and bench/fleet: three booted
# systemd hosts (systemd-nspawn --boot, sshd, myapp.socket + myapp.service from units/,
# the built start_server), HAProxy in front of them, a load client through HAProxy, and
# ansible-playbook driving examples/fleet/deploy.yml, all inside ONE private network, mount
# and pid namespace that the caller enters with fleet_enter.
#
# Layout of every host's root, an overlay (first wins):
#   WORK/hostN/upper   per host: hostname, fresh ssh host key
#   WORK/common        per run: start_server, the worker, units and their enable links,
#                      /srv/myapp/releases/1 + current, /usr/bin/myapp -> current/myapp,
#                      root's authorized_keys, sshd drop-in
#   LAYER              cached by scripts/fleet-tree: openssh-server, python3
#   TREE               cached by scripts/systemd-tree: Debian 12 minbase + systemd
#
# Network: bridge fleet0 10.214.14.1/24 in our namespace; hostN is 10.214.14.1N (veth host0,
# set from outside: the guests have no DHCP). HAProxy listens on 127.0.0.1:8080 of our
# namespace; nothing leaves it.
#
# Nothing is left behind: the outer process (fleet_enter) waits for the namespace's PID 1,
# then removes what only the host can see (our cgroups, the work directory); PID 1's own
# cleanup powers the guests off (bounded), kills what is left in our cgroups and removes
# them. Every process signalled is one this harness started, by pid.

FLEET_NET=10.214.14
FLEET_HOSTS=(host1 host2 host3)
FLEET_APP_ROOT=/srv/myapp

fleet_log() { printf '[%6.2fs] %s\n' "$(fleet_elapsed "$fleet_t0")" "$*"; }
fleet_elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
fleet_skip() { echo "SKIP: $*"; exit 77; }

# True while $1 is a process that has not exited (a zombie has exited).
fleet_alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# Calls "$@" every 50 ms until it succeeds or $1 seconds pass.
fleet_wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# Runs "$@" in the background and waits for it: PID 1 of a pid namespace runs its TERM
# trap only between foreground commands, so a long one must not be in the foreground.
fleet_run() {
  "$@" &
  local pid=$!
  wait "$pid"
}

# --- entering the namespaces ------------------------------------------------------------

# Checks what the harness needs (exits 77 when this machine cannot run it), then re-runs
# the calling script ($0 "$@") as PID 1 of fresh network, mount and pid namespaces and
# exits with its status, cleaning up after it. Inside (FLEET_INSIDE=1), returns at once.
fleet_enter() {
  fleet_t0=${FLEET_T0:-$EPOCHREALTIME}
  [[ -n ${FLEET_INSIDE:-} ]] && return 0
  [[ $(id -u) -eq 0 ]] || fleet_skip "needs root (namespaces, systemd-nspawn)"
  local tool
  for tool in unshare nsenter systemd-nspawn ip haproxy ansible-playbook ssh ssh-keygen python3 ldd; do
    command -v "$tool" >/dev/null ||
      fleet_skip "$tool is not installed (scripts/install-deps --test installs the fleet's tools)"
  done
  read -r FLEET_TREE FLEET_LAYER < <("$fleet_repo/scripts/fleet-tree" --path) ||
    fleet_skip "no fleet layer built; run scripts/fleet-tree first (scripts/test does)"
  # The locks of the tree and the layer, shared: scripts/systemd-tree and scripts/fleet-tree
  # take them exclusively to rebuild, so neither is pulled from under our guests.
  exec 7<>"$FLEET_TREE.lock" 6<>"$FLEET_LAYER.lock"
  flock -s -w 60 7 || fleet_skip "scripts/systemd-tree is rebuilding $FLEET_TREE"
  flock -s -w 60 6 || fleet_skip "scripts/fleet-tree is rebuilding $FLEET_LAYER"
  fleet_remove_stale_cgroups
  FLEET_WORK=$(mktemp -d /var/tmp/start_server-fleet.XXXXXX)
  chmod 755 "$FLEET_WORK"
  FLEET_CG_NAME=ss-fleet-$$
  export FLEET_TREE FLEET_LAYER FLEET_WORK FLEET_CG_NAME FLEET_T0=$fleet_t0 FLEET_INSIDE=1

  unshare --net --mount --pid --fork --kill-child=TERM --mount-proc --propagation private \
    -- "$0" "$@" &
  local unshare_pid=$! rc=0
  fleet_outer_stop() {
    # PID 1 of the namespace is unshare's only child; TERM makes it clean up and exit.
    local child
    child=$(awk '{ print $1 }' "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null)
    [[ -n $child ]] && kill -TERM "$child" 2>/dev/null
  }
  trap 'fleet_outer_stop' TERM INT HUP
  while :; do
    wait "$unshare_pid" && rc=0 || rc=$?
    fleet_alive "$unshare_pid" || break
  done
  trap - TERM INT HUP
  fleet_remove_cgroups "$(fleet_cgroup_bases)"
  rm -rf "$FLEET_WORK"
  exit "$rc"
}

# --- cgroups ------------------------------------------------------------------------------

# The directories of our cgroup in every hierarchy systemd uses (the unified one, and
# name=systemd on a hybrid host), one a line: nspawn needs a cgroup of its own per guest.
fleet_cgroup_bases() {
  cg_of() { awk -F: -v h="$1" '$2 == h { print $3 }' /proc/self/cgroup; }
  if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
    echo "/sys/fs/cgroup$(cg_of '')/$FLEET_CG_NAME"
  else
    [[ $(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]] &&
      echo "/sys/fs/cgroup/unified$(cg_of '')/$FLEET_CG_NAME"
    [[ -d /sys/fs/cgroup/systemd ]] && echo "/sys/fs/cgroup/systemd$(cg_of name=systemd)/$FLEET_CG_NAME"
  fi | sed 's://*:/:g'
}

# Removes the empty cgroups of earlier runs whose outer process is gone (a run killed with
# SIGKILL cannot clean up); a cgroup that still holds a process is left alone.
fleet_remove_stale_cgroups() {
  local base dir pid
  for base in $(FLEET_CG_NAME=. fleet_cgroup_bases); do
    for dir in "$base"/ss-fleet-*; do
      [[ -d $dir ]] || continue
      pid=${dir##*-}
      [[ $pid =~ ^[0-9]+$ ]] && ! fleet_alive "$pid" || continue
      find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done
}

# Kills whatever is in the cgroups under the given bases (only this harness puts processes
# there) and removes them, deepest first (nspawn leaves payload/ and supervisor/ behind).
fleet_remove_cgroups() {
  local base pid dir
  for base in $1; do
    [[ -d $base ]] || continue
    while read -r pid; do
      [[ $pid =~ ^[1-9][0-9]*$ ]] && kill -KILL "$pid" 2>/dev/null
    done < <(find "$base" -name cgroup.procs -exec cat {} + 2>/dev/null)
    for _ in $(seq 50); do
      while read -r dir; do rmdir "$dir" 2>/dev/null || true; done < <(find "$base" -depth -type d 2>/dev/null)
      [[ -d $base ]] || break
      sleep 0.1
    done
    [[ -d $base ]] && echo "fleet: could not remove cgroup $base" >&2
  done
  return 0
}

# --- inside: the hosts ----------------------------------------------------------------------

declare -A fleet_nspawn_pid fleet_guest_pid
fleet_bg_pids=()

# Copies binary $1 to $2 under root $3, with any shared library it needs that neither the
# tree nor the layer has (a sanitizer runtime, a library from a build directory).
fleet_install_binary() {
  install -D -m 755 "$1" "$3$2"
  local lib
  for lib in $(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
    [[ -e $FLEET_TREE$lib || -e $FLEET_LAYER$lib || -e $3$lib ]] && continue
    install -D -m 644 "$(realpath "$lib")" "$3$lib"
  done
}

# Writes WORK/common: what every host shares in this run (see the top of this file).
# $1 start_server, $2 the worker binary, $3 the directory of release 1 (holds myapp).
fleet_make_common() {
  local c=$FLEET_WORK/common repo=$fleet_repo
  mkdir -p "$c"
  fleet_install_binary "$1" /usr/bin/start_server "$c"
  fleet_install_binary "$2" /usr/lib/myapp/hello_worker "$c"
  install -D -m 644 "$repo/units/myapp.socket" "$c/etc/systemd/system/myapp.socket"
  install -D -m 644 "$repo/units/myapp.service" "$c/etc/systemd/system/myapp.service"
  mkdir -p "$c/etc/systemd/system/sockets.target.wants" "$c/etc/systemd/system/multi-user.target.wants"
  ln -s ../myapp.socket "$c/etc/systemd/system/sockets.target.wants/myapp.socket"
  ln -s ../myapp.service "$c/etc/systemd/system/multi-user.target.wants/myapp.service"
  # The unit runs /usr/bin/myapp: the release layout of examples/fleet/README.md.
  mkdir -p "$c$FLEET_APP_ROOT/releases"
  cp -a "$3" "$c$FLEET_APP_ROOT/releases/1"
  ln -s releases/1 "$c$FLEET_APP_ROOT/current"
  ln -s "$FLEET_APP_ROOT/current/myapp" "$c/usr/bin/myapp"
  # Ansible logs in as root with the run's key; host keys are per host (fleet_boot).
  ssh-keygen -q -t ed25519 -N '' -C fleet-controller -f "$FLEET_WORK/id_ed25519"
  install -D -m 600 "$FLEET_WORK/id_ed25519.pub" "$c/root/.ssh/authorized_keys"
  chmod 700 "$c/root" "$c/root/.ssh"
  install -D -m 644 /dev/stdin "$c/etc/ssh/sshd_config.d/fleet.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
}

# Boots every host in parallel, gives each its address, and waits until each is running.
fleet_boot() {
  local t=$EPOCHREALTIME host i root cg
  : >"$FLEET_WORK/known_hosts"
  mkdir -p /run/systemd/nspawn
  # nspawn writes /run/systemd/nspawn/propagate/MACHINE: keep that in our namespace.
  mount -t tmpfs -o mode=755 tmpfs /run/systemd/nspawn
  ip link set lo up
  ip link add fleet0 type bridge
  ip addr add "$FLEET_NET.1/24" dev fleet0
  ip link set fleet0 up
  local bases
  bases=$(fleet_cgroup_bases)
  [[ -n $bases ]] || fleet_fail "no cgroup hierarchy for systemd under /sys/fs/cgroup"
  for cg in $bases; do mkdir "$cg" || fleet_fail "cannot create cgroup $cg"; done
  for i in "${!FLEET_HOSTS[@]}"; do
    host=${FLEET_HOSTS[$i]}
    root=$FLEET_WORK/$host/root
    mkdir -p "$FLEET_WORK/$host/upper/etc/ssh" "$FLEET_WORK/$host/ovl" "$root"
    echo "$host" >"$FLEET_WORK/$host/upper/etc/hostname"
    ssh-keygen -q -t ed25519 -N '' -C "$host" -f "$FLEET_WORK/$host/upper/etc/ssh/ssh_host_ed25519_key"
    echo "$FLEET_NET.1$((i + 1)) $(cut -d' ' -f1,2 "$FLEET_WORK/$host/upper/etc/ssh/ssh_host_ed25519_key.pub")" \
      >>"$FLEET_WORK/known_hosts"
    mount -t overlay overlay \
      -o "lowerdir=$FLEET_WORK/common:$FLEET_LAYER:$FLEET_TREE,upperdir=$FLEET_WORK/$host/upper,workdir=$FLEET_WORK/$host/ovl" \
      "$root" || fleet_fail "cannot mount the overlay root of $host"
    for cg in $bases; do mkdir "$cg/$host"; done
    (
      for cg in $bases; do echo "$BASHPID" >"$cg/$host/cgroup.procs"; done
      exec systemd-nspawn -q -D "$root" -M "$host" --boot --register=no --keep-unit \
        --network-bridge=fleet0 --console=read-only
    ) >"$FLEET_WORK/$host/console.log" 2>&1 &
    fleet_nspawn_pid[$host]=$!
  done
  for host in "${FLEET_HOSTS[@]}"; do
    fleet_wait_until 10 fleet_guest_started "$host" || fleet_fail "$host: systemd did not start in 10 s"
    fleet_alive "${fleet_nspawn_pid[$host]}" ||
      fleet_fail "$host: systemd-nspawn exited: $(grep -v '^$' "$FLEET_WORK/$host/console.log" | tail -n 3)"
  done
  for i in "${!FLEET_HOSTS[@]}"; do
    host=${FLEET_HOSTS[$i]}
    nsenter -t "${fleet_guest_pid[$host]}" -n ip addr add "$FLEET_NET.1$((i + 1))/24" dev host0 &&
      nsenter -t "${fleet_guest_pid[$host]}" -n ip link set host0 up ||
      fleet_fail "$host: cannot set the address of host0"
  done
  for host in "${FLEET_HOSTS[@]}"; do
    fleet_wait_until 30 fleet_guest_running "$host" || {
      tail -n 20 "$FLEET_WORK/$host/console.log" >&2
      fleet_fail "$host: did not finish booting in 30 s"
    }
  done
  fleet_log "booted ${FLEET_HOSTS[*]} in $(fleet_elapsed "$t") s"
}

# The guest's PID 1 is nspawn's child; it is up once it has exec'd systemd.
fleet_guest_started() {
  local nspawn=${fleet_nspawn_pid[$1]} pid
  fleet_alive "$nspawn" || return 0
  pid=$(awk '{ print $1 }' "/proc/$nspawn/task/$nspawn/children" 2>/dev/null)
  [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == systemd ]] || return 1
  fleet_guest_pid[$1]=$pid
}

# `is-system-running --wait` fails ("Failed to connect to bus") just after PID 1 starts:
# the caller retries it, bounded.
fleet_guest_running() {
  local state
  state=$(fleet_in "$1" systemctl is-system-running --wait 2>/dev/null) || true
  [[ $state == running || $state == degraded ]]
}

# Runs "$@" in host $1, in all of its namespaces.
fleet_in() {
  local host=$1
  shift
  nsenter -t "${fleet_guest_pid[$host]}" -a "$@"
}

# `start_server --status --json` on host $1 (prints nothing and fails when not running).
fleet_status() {
  fleet_in "$1" /usr/bin/start_server --status --json \
    --pid-file=/run/myapp/start_server.pid --status-file=/run/myapp/status 2>/dev/null
}

# --- inside: HAProxy, load, Ansible --------------------------------------------------------

# Renders examples/fleet/haproxy.cfg for this network and starts HAProxy; waits until
# every server is UP, then zeroes its counters so that they count the scenario only.
fleet_haproxy_start() {
  local cfg=$FLEET_WORK/haproxy.cfg ex=$fleet_repo/examples/fleet/haproxy.cfg i
  sed -e "s|/run/haproxy/admin.sock|$FLEET_WORK/haproxy.sock|" \
    -e "s|bind :80|bind 127.0.0.1:8080|" \
    -e "s|192.0.2.1\([1-3]\):8080|$FLEET_NET.1\1:8080|" "$ex" >"$cfg"
  for i in 1 2 3; do
    grep -q "$FLEET_NET.1$i:8080" "$cfg" || fleet_fail "examples/fleet/haproxy.cfg has no server 192.0.2.1$i:8080"
  done
  grep -q "bind 127.0.0.1:8080" "$cfg" && grep -q "$FLEET_WORK/haproxy.sock" "$cfg" ||
    fleet_fail "examples/fleet/haproxy.cfg lost 'bind :80' or its stats socket /run/haproxy/admin.sock"
  haproxy -c -q -f "$cfg" || fleet_fail "haproxy -c rejects the rendered examples/fleet/haproxy.cfg"
  haproxy -f "$cfg" -db >"$FLEET_WORK/haproxy.log" 2>&1 &
  fleet_haproxy_pid=$!
  fleet_bg_pids+=("$fleet_haproxy_pid")
  local t=$EPOCHREALTIME
  fleet_wait_until 20 fleet_all_up || fleet_fail "HAProxy does not see every server UP in 20 s:
$(fleet_stats show)"
  fleet_log "HAProxy sees every server UP after $(fleet_elapsed "$t") s"
  fleet_stats clear >/dev/null || fleet_fail "cannot clear HAProxy's counters"
}
fleet_stats() { python3 -B "$fleet_repo/tests/fleet/haproxy_stats.py" "$FLEET_WORK/haproxy.sock" "$@"; }
fleet_all_up() { fleet_stats up >/dev/null 2>&1; }

# Starts the load client (tests/fleet/load.py) through HAProxy, $1 requests a second for at
# most $2 seconds; it writes its counts to WORK/load.json every 0.2 s and at exit.
fleet_load_start() {
  python3 -B "$fleet_repo/tests/fleet/load.py" --url http://127.0.0.1:8080/ \
    --rate "${1:-150}" --max-seconds "${2:-110}" --out "$FLEET_WORK/load.json" >"$FLEET_WORK/load.log" 2>&1 &
  fleet_load_pid=$!
  fleet_bg_pids+=("$fleet_load_pid")
  fleet_wait_until 10 fleet_load_counted || fleet_fail "the load client made no request in 10 s: $(cat "$FLEET_WORK/load.log")"
}
fleet_load_counted() { [[ -s $FLEET_WORK/load.json ]] && (($(fleet_load_field ok) > 0)); }
fleet_load_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$FLEET_WORK/load.json" "$1"; }
fleet_load_stop() {
  [[ -n ${fleet_load_pid:-} ]] && fleet_alive "$fleet_load_pid" || return 0
  kill -TERM "$fleet_load_pid"
  fleet_wait_until 10 eval '! fleet_alive "$fleet_load_pid"' || fleet_fail "the load client did not stop in 10 s"
  wait "$fleet_load_pid" 2>/dev/null || true
}

# The inventory, ssh and Ansible settings of this run: everything under WORK, host keys
# checked against the per-run known_hosts.
fleet_ansible_setup() {
  local a=$FLEET_WORK/ansible i
  mkdir -p "$a/tmp" "$a/cp" "$FLEET_WORK/home"
  {
    echo "[app]"
    for i in "${!FLEET_HOSTS[@]}"; do echo "${FLEET_HOSTS[$i]} ansible_host=$FLEET_NET.1$((i + 1))"; done
    echo "[app:vars]"
    echo "ansible_user=root"
    echo "ansible_python_interpreter=/usr/bin/python3"
    echo "ansible_ssh_private_key_file=$FLEET_WORK/id_ed25519"
  } >"$FLEET_WORK/inventory"
  export HOME=$FLEET_WORK/home ANSIBLE_HOME=$a ANSIBLE_LOCAL_TEMP=$a/tmp \
    ANSIBLE_SSH_CONTROL_PATH_DIR=$a/cp ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=1 \
    ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_TIMEOUT=10 ANSIBLE_FORKS=3 \
    ANSIBLE_SSH_ARGS="-F /dev/null -o IdentitiesOnly=yes -o UserKnownHostsFile=$FLEET_WORK/known_hosts -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=120s"
  unset ANSIBLE_CONFIG
}

# Runs examples/fleet/deploy.yml for release $1 (a directory under WORK/releases) with the
# extra variables "$@"; its output goes to WORK/playbook-$1.N.log; returns its status.
fleet_playbook_n=0
fleet_playbook() {
  local release=$1
  shift
  fleet_playbook_n=$((fleet_playbook_n + 1))
  fleet_playbook_log=$FLEET_WORK/playbook-$release.$fleet_playbook_n.log
  fleet_run timeout 90 ansible-playbook -i "$FLEET_WORK/inventory" "$fleet_repo/examples/fleet/deploy.yml" \
    -e "release=$release" -e "release_src=$FLEET_WORK/releases/$release/" "$@" >"$fleet_playbook_log" 2>&1
}

# Writes WORK/releases/$1/myapp: a good release (the worker, told its release name), or with
# $2 = broken one that exits 1 at start.
fleet_make_release() {
  local dir=$FLEET_WORK/releases/$1
  mkdir -p "$dir"
  if [[ ${2:-} == broken ]]; then
    printf '#!/bin/sh\necho "myapp release %s: cannot start (a broken build)" >&2\nexit 1\n' "$1" >"$dir/myapp"
  else
    printf '#!/bin/sh\n# myapp release %s\nexport MYAPP_RELEASE=%s\nexec /usr/lib/myapp/hello_worker "$@"\n' "$1" "$1" >"$dir/myapp"
  fi
  chmod 755 "$dir/myapp"
}

# --- inside: teardown ------------------------------------------------------------------------

fleet_cleanup() {
  local rc=$? t=$EPOCHREALTIME host pid
  # A signal trap may run inside a command's redirection (fleet_playbook's log): report on
  # the streams the run started with, and with the signal's status.
  exec 1>&"$fleet_stdout" 2>&"$fleet_stderr"
  [[ -n ${fleet_signal_rc:-} ]] && rc=$fleet_signal_rc
  set +e
  trap - EXIT INT TERM HUP
  trap '' PIPE
  for pid in "${fleet_bg_pids[@]}"; do
    fleet_alive "$pid" && kill -TERM "$pid" 2>/dev/null
  done
  # SIGTERM makes nspawn ask the guest's systemd to power off; all guests at once.
  for host in "${!fleet_nspawn_pid[@]}"; do
    kill -TERM "${fleet_nspawn_pid[$host]}" 2>/dev/null
  done
  local deadline=$((SECONDS + 15)) how="powered off"
  for host in "${!fleet_nspawn_pid[@]}"; do
    pid=${fleet_nspawn_pid[$host]}
    while fleet_alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    if fleet_alive "$pid"; then
      how="killed (no power-off in 15 s)"
      # Killing a pid namespace's init kills every process in it.
      [[ -n ${fleet_guest_pid[$host]:-} ]] && kill -KILL "${fleet_guest_pid[$host]}" 2>/dev/null
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  for pid in "${fleet_bg_pids[@]}"; do
    fleet_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  ((${#fleet_nspawn_pid[@]})) && fleet_log "guests $how in $(fleet_elapsed "$t") s"
  # CPU time of everything this run started (all of it is reaped by now), for "about a core".
  # (`times` in this shell: in a $(...) subshell it would count the subshell's children.)
  times >"$FLEET_WORK/times"
  fleet_log "cpu: $(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
    printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$FLEET_WORK/times") s in $(fleet_elapsed "$fleet_t0") s"
  fleet_remove_cgroups "$(fleet_cgroup_bases)"
  local mounted=0
  for host in "${FLEET_HOSTS[@]}"; do
    mountpoint -q "$FLEET_WORK/$host/root" && { umount "$FLEET_WORK/$host/root" || mounted=1; }
  done
  # (fleet_enter's outer process removes it too, once this namespace is gone.)
  ((mounted)) || rm -rf "$FLEET_WORK"
  fleet_log "done, exit status $rc"
  exit "$rc"
}

# Prints the failure with what host1's journal says about myapp, and exits 1.
fleet_fail() {
  echo "FAIL: $*" >&2
  local host
  for host in "${FLEET_HOSTS[@]}"; do
    [[ -n ${fleet_guest_pid[$host]:-} ]] && fleet_alive "${fleet_guest_pid[$host]}" || continue
    echo "--- $host: journalctl -u myapp -u ssh (last 15)" >&2
    fleet_in "$host" journalctl --no-pager -o short-monotonic -n 15 -u myapp -u ssh >&2 2>&1
  done
  exit 1
}

# Inside the namespaces: traps for the teardown.
fleet_inside_setup() {
  exec {fleet_stdout}>&1 {fleet_stderr}>&2
  trap fleet_cleanup EXIT
  trap 'fleet_signal_rc=130; exit 130' INT
  trap 'fleet_signal_rc=143; exit 143' TERM
  trap 'fleet_signal_rc=129; exit 129' HUP
}
