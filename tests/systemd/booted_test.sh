#!/usr/bin/env bash
# Boots systemd in a container (252 of Debian 12, or 257 of Debian 13 with --suite=trixie)
# and checks what an operator sees with the example units myapp.socket and myapp.service:
# socket activation, `systemctl reload` that succeeds and one that fails honestly, the
# STATUS= line in `systemctl status`, readiness-gated reloads (a worker that is ready late,
# one that is never ready, one that crashes before it is ready), and a draining `systemctl
# stop`. Then start_server@web (the instance template, binding 8080 itself) keeps its
# listener in systemd's fd store: under a client load, `systemctl restart` and a `kill -9`
# of start_server (Restart=on-failure) refuse no connection; with the .debs, dpkg -i of a newer
# start-server upgrades it in place under that load (same MainPID, the new binary running, no
# request failed), and a restart right after an upgrade refuses nothing either; `systemctl
# stop` empties the store. On systemd >= 253 the same socket then serves myapp-notify-reload.service
# (Type=notify-reload): a reload that works, a late one, and a broken release.
#
#   [START_SERVER_DEBS=DIR] tests/systemd/booted_test.sh [--suite=SUITE] START_SERVER HELLO_WORKER
#
# SUITE is the tree scripts/systemd-tree SUITE builds: bookworm (the default) or trixie.
# START_SERVER and HELLO_WORKER must be built for that release (a Debian 12 start_server
# does not run on 13: Boost 1.74).
#
# With START_SERVER_DEBS, a directory that scripts/build-debs filled, the guest gets our
# packages the way an operator does: dpkg -i of start-server, libserver-starter1 and
# libserver-starter-dev inside the booted guest, whose dependencies the tree already holds;
# then /usr/bin/start_server, its libraries and start_server@.service are the package's, and
# myapp.socket/myapp.service are copied from the package's examples
# (/usr/share/doc/start-server/examples) to /etc/systemd/system. Only the worker is
# HELLO_WORKER copied in as /usr/bin/myapp: the package ships its source, not a binary.
# Without START_SERVER_DEBS (or when DIR holds no start-server .deb, or one older than
# START_SERVER, which a developer's rebuild leaves behind) START_SERVER is copied in with
# the libraries it needs and the units come from units/ of this checkout;
# START_SERVER_DEBS_REQUIRED=1 (CI's scripts/test) makes those cases a failure instead.
#
# The guest is a throw-away overlay over the tree scripts/systemd-tree builds (run that
# first; CI's scripts/test does), booted with systemd-nspawn in a cgroup of our own, and
# driven from outside with nsenter: systemctl in all of the guest's namespaces, the host's
# curl in the guest's network namespace only (its own loopback, so port 8080 never clashes).
# Exits 0 when every step passed, 1 on the first failure (with the guest's journal), 77 when
# this machine cannot boot a container at all.
set -euo pipefail

# The overlay is mounted in a mount namespace of our own, so it can never outlive the test.
if [[ -z "${BOOTED_TEST_UNSHARED:-}" && $(id -u) -eq 0 ]] && command -v unshare >/dev/null; then
  BOOTED_TEST_UNSHARED=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

skip() { echo "SKIP: $*"; exit 77; }
log() { printf '[%6.2fs] %s\n' "$(elapsed "$t_start")" "$*"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

t_start=$EPOCHREALTIME
suite=bookworm
if [[ ${1:-} == --suite=* ]]; then
  suite=${1#--suite=}
  shift
fi
# Where that release's packages put systemd units (debian/rules asks its systemd.pc).
case $suite in
  bookworm) unitdir=/lib/systemd/system ;;
  trixie) unitdir=/usr/lib/systemd/system ;;
  *) echo "usage: $0 [--suite=bookworm|trixie] START_SERVER HELLO_WORKER" >&2; exit 2 ;;
esac
[[ $# -eq 2 ]] || { echo "usage: $0 [--suite=bookworm|trixie] START_SERVER HELLO_WORKER" >&2; exit 2; }
log "suite $suite"
starter=$(realpath "$1")
worker=$(realpath "$2")
repo=$(cd "$(dirname "$0")/../.." && pwd)
name=ss-booted-$$

[[ -x $starter && -x $worker ]] || { echo "FAIL: $starter or $worker is not an executable" >&2; exit 1; }

# The packages to install, when START_SERVER_DEBS names them; none means copy mode.
debs=()
no_debs() {
  if [[ ${START_SERVER_DEBS_REQUIRED:-} == 1 ]]; then
    echo "FAIL: $* (START_SERVER_DEBS_REQUIRED=1; scripts/build-debs --nocheck DIR builds them)" >&2
    exit 1
  fi
  log "$*; testing the copied $starter and units/ instead (scripts/build-debs --nocheck DIR)"
  debs=()
}
if [[ -n ${START_SERVER_DEBS:-} ]]; then
  for pkg in start-server libserver-starter1 libserver-starter-dev; do
    found=()
    for deb in "$START_SERVER_DEBS/${pkg}"_*.deb; do [[ -f $deb ]] && found+=("$(realpath "$deb")"); done
    if ((${#found[@]} > 1)); then
      echo "FAIL: several $pkg packages in $START_SERVER_DEBS: ${found[*]##*/}" >&2
      exit 1
    fi
    debs+=("${found[@]}")
  done
  if [[ ${debs[0]:-} != */start-server_*.deb ]]; then
    no_debs "no start-server_*.deb in START_SERVER_DEBS=$START_SERVER_DEBS"
  elif [[ $starter -nt ${debs[0]} ]]; then
    no_debs "${debs[0]} is older than $starter"
  fi
fi
[[ $(id -u) -eq 0 ]] || skip "needs root to boot a container"
for tool in systemd-nspawn nsenter curl ldd; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/systemd-tree installs it)"
done
tree=$("$repo/scripts/systemd-tree" --path "$suite") ||
  skip "no $suite systemd tree built; run scripts/systemd-tree $suite first"
# Shared: scripts/systemd-tree takes it exclusively before it rebuilds the tree.
exec 9<>"$tree.lock"
flock -s -w 60 9 || skip "scripts/systemd-tree is rebuilding $tree"

work=$(mktemp -d /var/tmp/start_server-booted.XXXXXX)
root=$work/root
nspawn_pid=
guest_pid=
cgroups=()

# --- teardown ----------------------------------------------------------------------------

# True while $1 is a process that has not exited (a zombie has exited).
alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# Waits up to $2 seconds for process $1 to exit.
wait_exit() {
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

cleanup() {
  local rc=$? t_off=$EPOCHREALTIME
  # Tear down whatever happens, even with stdout gone (a closed pipe): no -e, no SIGPIPE.
  set +e
  trap - EXIT INT TERM HUP
  trap '' PIPE
  if [[ -n $nspawn_pid ]]; then
    # SIGTERM makes nspawn ask the guest's systemd to power off.
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    local how=${guest_pid:+the guest powered off}
    how=${how:-no guest was up}
    if ! wait_exit "$nspawn_pid" 15; then
      echo "booted_test: the guest did not power off in 15 s; killing it" >&2
      how="killed"
      # Killing a pid namespace's init kills every process in it.
      if [[ -n $guest_pid ]]; then kill -KILL "$guest_pid" 2>/dev/null; fi
      kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    wait "$nspawn_pid" 2>/dev/null || true
    log "systemd-nspawn exited $(elapsed "$t_off") s after SIGTERM ($how)"
  fi
  # Whatever is still in our cgroups was started by this test; then remove them, deepest
  # first (nspawn leaves its payload/ and supervisor/ sub-cgroups behind).
  local cg pid dir
  for cg in "${cgroups[@]}"; do
    while read -r pid; do
      kill -KILL "$pid" 2>/dev/null
    done < <(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  for cg in "${cgroups[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      while read -r dir; do rmdir "$dir" 2>/dev/null || true; done < <(find "$cg" -depth -type d 2>/dev/null)
      [[ -d $cg ]] || break
      sleep 0.1
    done
    [[ -d $cg ]] && echo "booted_test: could not remove cgroup $cg" >&2
  done
  if mountpoint -q "$root" 2>/dev/null; then umount "$root" 2>/dev/null || umount -l "$root"; fi
  rm -rf "$work"
  log "done, exit status $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# --- the guest ---------------------------------------------------------------------------

in_guest() { nsenter -t "$guest_pid" -a "$@"; }
# GET / on the guest's loopback, from the host's curl in the guest's network namespace.
http_get() { nsenter -t "$guest_pid" -n curl -sS --max-time 10 http://127.0.0.1:8080/ 2>&1; }

# Prints the failed step with what the guest's journal says about myapp, and exits 1.
fail() {
  echo "FAIL: $*" >&2
  if [[ -n $guest_pid ]] && alive "$guest_pid"; then
    echo "--- systemctl status myapp.service myapp.socket" >&2
    in_guest systemctl status --no-pager --lines=0 myapp.service myapp.socket >&2 2>&1 || true
    echo "--- journalctl -u myapp -u myapp.socket" >&2
    in_guest journalctl --no-pager -o short-monotonic -n 100 -u myapp -u myapp.socket >&2 2>&1 || true
    echo "---" >&2
  fi
  exit 1
}

# Calls "$@" every 50 ms until it succeeds or $1 seconds pass.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# Copies $1 to $2 in the guest, with any shared library it needs that the tree lacks (the
# tree is minbase plus our package's dependencies: no sanitizer runtimes for an instrumented
# build, nor a library from a build directory).
install_binary() {
  install -m 755 "$1" "$root$2"
  local lib
  for lib in $(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
    [[ -e $root$lib ]] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
    log "installed $lib into the guest for $2"
  done
  chroot "$root" "$2" --help >/dev/null 2>&1 || [[ $2 == /usr/bin/myapp ]] ||
    fail "$2 does not run inside the tree: $(chroot "$root" "$2" --help 2>&1 | head -n1)"
}

# make_newer_deb DEB DIR: the "newer" start-server .deb scenario o upgrades to, in DIR, without
# a second build: DEB unpacked, its Version bumped to VERSION+upgradetest1, and the version its
# start_server reports (STARTER_VERSION, a NUL-terminated string of its own in the binary)
# changed to one of the same length, every digit a 9, so that the detail file of the running
# image tells the new binary from the old; md5sums follow. Sets newer_deb, newer_version and
# newer_binary_version.
make_newer_deb() {
  local deb=$1 out=$2 x=$work/newer-deb old upstream count
  old=$(dpkg-deb -f "$deb" Version)
  upstream=${old%%-*}
  upstream=${upstream%%+*}
  newer_version=$old+upgradetest1
  newer_binary_version=${upstream//[0-9]/9}
  [[ $newer_binary_version != "$upstream" ]] || { echo "FAIL: version $upstream is all nines" >&2; exit 1; }
  rm -rf "$x"
  dpkg-deb -R "$deb" "$x"
  sed -i "s/^Version: .*/Version: $newer_version/" "$x/DEBIAN/control"
  count=$(OLD=$upstream NEW=$newer_binary_version perl -0777 -pi -e \
    '$o = quotemeta $ENV{OLD}; $n += s/\x00$o\x00/\x00$ENV{NEW}\x00/g; END { print STDERR $n + 0 }' \
    "$x/usr/bin/start_server" 2>&1 >/dev/null)
  [[ $count -ge 1 ]] || { echo "FAIL: no string '$upstream' of its own in the packaged start_server" >&2; exit 1; }
  sed -i "s|^[0-9a-f]*  usr/bin/start_server\$|$(cd "$x" && md5sum usr/bin/start_server)|" "$x/DEBIAN/md5sums"
  mkdir -p "$out"
  newer_deb=$out/start-server_${newer_version}_$(dpkg-deb -f "$deb" Architecture).deb
  dpkg-deb -b --root-owner-group "$x" "$newer_deb" >/dev/null
  rm -rf "$x"
}

mkdir "$work/upper" "$work/ovl" "$root"
if ! mount -t overlay overlay -o "lowerdir=$tree,upperdir=$work/upper,workdir=$work/ovl" "$root" 2>/dev/null; then
  log "no overlayfs here; copying the tree"
  cp -a --reflink=auto "$tree/." "$root/"
fi
# Package mode: the .debs wait in the guest for dpkg -i once it has booted.
guest_debs=/root/start-server-debs
if ((${#debs[@]})); then
  mkdir -p "$root$guest_debs"
  cp "${debs[@]}" "$root$guest_debs/"
  make_newer_deb "${debs[0]}" "$root$guest_debs/newer"
else
  install_binary "$starter" /usr/bin/start_server
  install -m 644 "$repo/units/myapp.socket" "$repo/units/myapp.service" "$repo/units/start_server@.service" \
    "$root/etc/systemd/system/"
fi
install_binary "$worker" /usr/bin/myapp
# The readiness scenarios put one of these wrappers in place of /usr/bin/myapp; each runs
# the real worker, kept as /usr/bin/myapp.real.
cp -p "$root/usr/bin/myapp" "$root/usr/bin/myapp.real"
mkdir -p "$root/usr/libexec/myapp-test"
printf '#!/bin/sh\n# Ready (sd_notify) about a second late.\nsleep 1\nexec /usr/bin/myapp.real "$@"\n' \
  >"$root/usr/libexec/myapp-test/late"
printf '#!/bin/sh\n# Serves, but never tells anyone it is ready.\nexec env -u NOTIFY_SOCKET /usr/bin/myapp.real "$@"\n' \
  >"$root/usr/libexec/myapp-test/never"
chmod 755 "$root/usr/libexec/myapp-test/late" "$root/usr/libexec/myapp-test/never"

# A cgroup of our own in every hierarchy systemd uses (the unified one, and name=systemd on
# a hybrid host), at the place we are in now.
cgroup_of() { awk -F: -v h="$1" '$2 == h { print $3 }' /proc/self/cgroup; }
wanted=()
if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
  wanted+=("/sys/fs/cgroup$(cgroup_of '')/$name")
else
  [[ $(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]] &&
    wanted+=("/sys/fs/cgroup/unified$(cgroup_of '')/$name")
  [[ -d /sys/fs/cgroup/systemd ]] && wanted+=("/sys/fs/cgroup/systemd$(cgroup_of name=systemd)/$name")
fi
[[ ${#wanted[@]} -gt 0 ]] || skip "no cgroup hierarchy for systemd under /sys/fs/cgroup"
for cg in "${wanted[@]}"; do
  mkdir "$cg" 2>/dev/null || skip "cannot create cgroup $cg"
  cgroups+=("$cg")
done

t_boot=$EPOCHREALTIME
(
  for cg in "${cgroups[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
  exec systemd-nspawn -q -D "$root" -M "$name" --boot --register=no --keep-unit \
    --private-network --console=read-only
) >"$work/console.log" 2>&1 &
nspawn_pid=$!

# The guest's PID 1 is nspawn's child; it is up once it has exec'd systemd.
guest_is_systemd() {
  alive "$nspawn_pid" || return 0
  # (The children file ends without a newline, which `read` would count as a failure.)
  guest_pid=$(awk '{ print $1 }' "/proc/$nspawn_pid/task/$nspawn_pid/children" 2>/dev/null)
  [[ -n $guest_pid && $(cat "/proc/$guest_pid/comm" 2>/dev/null) == systemd ]]
}
wait_until 10 guest_is_systemd || fail "the guest's systemd did not start in 10 s"
if ! alive "$nspawn_pid"; then
  guest_pid=
  skip "systemd-nspawn cannot start a container here: $(grep -v '^$' "$work/console.log" | tail -n1)"
fi
system_is_up() {
  local state
  state=$(in_guest systemctl is-system-running --wait 2>/dev/null) || true
  [[ $state == running || $state == degraded ]]
}
wait_until 20 system_is_up || { tail -n 20 "$work/console.log" >&2; fail "the guest did not finish booting in 20 s"; }
log "guest booted in $(elapsed "$t_boot") s (PID 1 is host pid $guest_pid)"
if [[ $(in_guest systemctl is-system-running 2>/dev/null || true) == degraded ]]; then
  log "note: the guest is degraded: $(in_guest systemctl --failed --plain --no-legend 2>&1 | tr '\n' ' ')"
fi

# --- package mode: install the .debs as an operator would --------------------------------

# Runs "$@" in the guest with the guest's own PATH and no questions asked (maintainer scripts).
in_guest_clean() {
  in_guest env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"
}
if ((${#debs[@]})); then
  t=$EPOCHREALTIME
  out=$(in_guest_clean dpkg -i "${debs[@]/#*\//$guest_debs/}" 2>&1) ||
    fail "dpkg -i ${debs[*]##*/} in the guest failed; a dependency the tree lacks belongs in the" \
      "include list of scripts/systemd-tree (dpkg -I start-server_*.deb lists them):
$out"
  # shellcheck disable=SC2016 # dpkg-query's fields, not the shell's
  installed=$(in_guest_clean dpkg-query -W -f '${Package} ${Version} ${db:Status-Status}\n' \
    start-server libserver-starter1 libserver-starter-dev 2>&1 || true)
  [[ $(grep -c ' installed$' <<<"$installed") == "${#debs[@]}" ]] ||
    fail "after dpkg -i, dpkg-query says:
$installed"
  files=$(in_guest_clean dpkg -L start-server 2>&1) || fail "dpkg -L start-server failed: $files"
  for f in /usr/bin/start_server $unitdir/start_server@.service \
    /usr/share/doc/start-server/examples; do
    grep -qx "$f" <<<"$files" || fail "dpkg -L start-server does not list $f:
$files"
  done
  # The files on disk are the package's (md5sums), and the binary runs with what the
  # package's dependencies brought into the tree.
  out=$(in_guest_clean dpkg --verify start-server libserver-starter1 2>&1) ||
    fail "dpkg --verify start-server libserver-starter1 failed: $out"
  [[ -z $out ]] || fail "dpkg --verify start-server libserver-starter1 reports changed files:
$out"
  out=$(in_guest_clean /usr/bin/start_server --help 2>&1 >/dev/null) ||
    fail "the installed /usr/bin/start_server does not run in the guest: $out"
  # The example units as installed (dh_compress may gzip examples; these are small).
  # shellcheck disable=SC2016 # expanded by the guest's sh
  in_guest_clean sh -ec 'ex=/usr/share/doc/start-server/examples
    for u in myapp.socket myapp.service; do
      if [ -f "$ex/$u" ]; then cp "$ex/$u" "/etc/systemd/system/$u"
      elif [ -f "$ex/$u.gz" ]; then zcat "$ex/$u.gz" >"/etc/systemd/system/$u"
      else echo "no $ex/$u in the package" >&2; exit 1; fi
    done' 2>&1 || fail "could not copy the packaged example units to /etc/systemd/system"
  in_guest systemctl daemon-reload || fail "systemctl daemon-reload after dpkg -i failed"
  # The instance template is installed where systemd finds it, and neither enabled nor started.
  out=$(in_guest systemctl cat start_server@.service 2>&1) || fail "systemctl cat start_server@.service: $out"
  [[ $(head -n1 <<<"$out") == "# $unitdir/start_server@.service" ]] ||
    fail "systemctl cat start_server@.service shows another file than the package's:
$out"
  enabled=$(in_guest systemctl is-enabled start_server@.service 2>&1 || true)
  [[ $enabled == disabled ]] || fail "start_server@.service is '$enabled' after dpkg -i; want disabled"
  units=$(in_guest systemctl list-units --all --plain --no-legend 'start_server@*' 2>&1 || true)
  [[ -z $units ]] || fail "start_server@ instances exist after dpkg -i: $units"
  log "installed ${debs[*]##*/} with dpkg -i;" \
    "start_server@.service present and disabled; myapp units from the package's examples ($(elapsed "$t") s)"
fi

# --- the scenarios -----------------------------------------------------------------------

generation_of() { sed -n 's/^Hello from generation \([0-9]*\) .*/\1/p' <<<"$1"; }
is_active() { [[ $(in_guest systemctl is-active "$1" 2>/dev/null || true) == "$2" ]]; }
# The live generations in the status file, as "GEN:PID" lines (reload-failed: lines skipped).
live_generations() { in_guest cat /run/myapp/status 2>/dev/null | grep -E '^[0-9]+:' || true; }
reload() { in_guest systemctl reload myapp.service 2>&1; }
# The Status: line of `systemctl status myapp`, without its indentation.
status_line() { in_guest systemctl status --no-pager --lines=0 myapp.service 2>&1 | sed -n 's/^ *Status: //p'; }
# Puts $1 (a path in the guest) in place of /usr/bin/myapp by rename: a running executable
# cannot be overwritten.
use_worker() { in_guest sh -c "cp '$1' /usr/bin/myapp.new && mv -f /usr/bin/myapp.new /usr/bin/myapp"; }
# True when the status file lists exactly one live generation, $1.
lists_only() { [[ $(live_generations) =~ ^$1:[0-9]+$ ]]; }

t=$EPOCHREALTIME
in_guest systemctl start myapp.socket || fail "a: systemctl start myapp.socket failed"
state=$(in_guest systemctl is-active myapp.service || true)
[[ $state == inactive ]] || fail "a: myapp.service is '$state' before any connection; want inactive"
body=$(http_get) || fail "a: the first connection got no answer: $body"
[[ $(generation_of "$body") == 1 ]] || fail "a: the first connection got '$body'; want 'Hello from generation 1 ...'"
wait_until 10 is_active myapp.service active ||
  fail "a: myapp.service is '$(in_guest systemctl is-active myapp.service || true)' after a connection; want active"
log "a: pass: a connection activated myapp.service: $body ($(elapsed "$t") s)"

t=$EPOCHREALTIME
out=$(reload) || fail "b: systemctl reload myapp returned $?: $out"
body=$(http_get)
[[ $(generation_of "$body") == 2 ]] || fail "b: after a reload the answer is '$body'; want generation 2"
live=$(live_generations)
[[ $live =~ ^2:[0-9]+$ ]] || fail "b: /run/myapp/status lists '$(tr '\n' ' ' <<<"$live")'; want generation 2 alone"
log "b: pass: reload returned 0 and generation 2 serves alone ($(elapsed "$t") s)"

t=$EPOCHREALTIME
in_guest sh -c 'mv /usr/bin/myapp /usr/bin/myapp.good &&
  printf "#!/bin/sh\necho \"myapp: a broken build\" >&2\nexit 1\n" >/usr/bin/myapp &&
  chmod 755 /usr/bin/myapp' || fail "c: could not install the broken worker"
if out=$(reload); then fail "c: systemctl reload returned 0 for a worker that exits 1"; fi
log "c: reload of the broken worker failed as it should: $(head -n1 <<<"${out:-(no output)}")"
status=$(status_line)
want='serving.*last restart failed: generation [0-9]+ exited with status 1'
[[ $status =~ $want ]] ||
  fail "c: systemctl status shows Status: '$status'; want 'generation 2 ... serving ...;" \
    "last restart failed: generation N exited with status 1 ...'"
log "c: Status: $status"
body=$(http_get)
[[ $(generation_of "$body") == 2 ]] || fail "c: after a failed reload the answer is '$body'; want generation 2 still"
is_active myapp.service active || fail "c: myapp.service is not active after a failed reload"
in_guest mv /usr/bin/myapp.good /usr/bin/myapp || fail "c: could not restore the good worker"
out=$(reload) || fail "c: reload after restoring the good worker returned $?: $out"
body=$(http_get)
gen=$(generation_of "$body")
[[ -n $gen && $gen -gt 2 ]] || fail "c: after the repaired reload the answer is '$body'; want a generation above 2"
live=$(live_generations)
[[ $live =~ ^$gen:[0-9]+$ ]] || fail "c: /run/myapp/status lists '$(tr '\n' ' ' <<<"$live")'; want generation $gen alone"
log "c: pass: the old generation served through a failed reload; generation $gen serves after the fix ($(elapsed "$t") s)"

t=$EPOCHREALTIME
status=$(in_guest systemctl status --no-pager myapp.service 2>&1 || true)
status_line=$(grep -E '^ *Status: "' <<<"$status" || true)
[[ $status_line =~ generation\ $gen\ \(pid\ [0-9]+\)\ serving ]] ||
  fail "d: systemctl status shows '${status_line:-no Status: line}'; want 'generation $gen (pid N) serving'. It printed:
$status"
log "d: pass: systemctl status shows${status_line} ($(elapsed "$t") s)"

# e: a new generation that is ready (sd_notify) a second late: until then the old one
# serves and `systemctl reload` has not returned; then the new one serves alone.
t=$EPOCHREALTIME
old=$gen
use_worker /usr/libexec/myapp-test/late || fail "e: could not install the late worker"
reload >"$work/reload.out" 2>&1 &
reload_pid=$!
for _ in 1 2 3; do
  sleep 0.2
  body=$(http_get)
  [[ $(generation_of "$body") == "$old" ]] ||
    fail "e: $(elapsed "$t") s into the reload the answer is '$body';" \
      "want generation $old while the new one is not ready"
done
kill -0 "$reload_pid" 2>/dev/null ||
  fail "e: systemctl reload returned before the new generation was ready: $(<"$work/reload.out")"
if wait "$reload_pid"; then rc=0; else rc=$?; fi
took=$(elapsed "$t")
((rc == 0)) || fail "e: systemctl reload of the late worker returned $rc: $(<"$work/reload.out")"
awk -v s="$took" 'BEGIN { exit !(s >= 1.0) }' ||
  fail "e: systemctl reload returned after $took s, before the worker's 1 s delay"
body=$(http_get)
gen=$(generation_of "$body")
[[ -n $gen && $gen -gt $old ]] || fail "e: after the late reload the answer is '$body'; want a generation above $old"
lists_only "$gen" || fail "e: /run/myapp/status lists '$(live_generations | tr '\n' ' ')'; want generation $gen alone"
log "e: pass: generation $old served until generation $gen was ready; reload returned 0 after $took s"

# f: a new generation that never becomes ready. With the shipped --ready-timeout=30 this
# would take half a minute; a drop-in makes it 3 s, the rest of ExecStart= as shipped.
t=$EPOCHREALTIME
# The unit as the guest has it (the package's example, or units/ in copy mode).
exec_start=$(awk '/^ExecStart=/ { on = 1 } on { print; if (!/\\$/) exit }' "$root/etc/systemd/system/myapp.service")
override=$(sed 's/--ready-timeout=30/--ready-timeout=3/' <<<"$exec_start")
[[ $override == *--ready-timeout=3* ]] || fail "f: myapp.service has no --ready-timeout=30 to shorten: $exec_start"
in_guest mkdir -p /etc/systemd/system/myapp.service.d
printf '[Service]\nExecStart=\n%s\n' "$override" | in_guest sh -c 'cat >/etc/systemd/system/myapp.service.d/override.conf'
use_worker /usr/bin/myapp.real || fail "f: could not restore the real worker"
in_guest systemctl daemon-reload || fail "f: systemctl daemon-reload failed"
in_guest systemctl restart myapp.service || fail "f: systemctl restart myapp.service with the drop-in failed"
body=$(http_get)
[[ $(generation_of "$body") == 1 ]] || fail "f: after the restart the answer is '$body'; want generation 1"
use_worker /usr/libexec/myapp-test/never || fail "f: could not install the never-ready worker"
t_reload=$EPOCHREALTIME
if out=$(reload); then fail "f: systemctl reload returned 0 for a worker that is never ready"; fi
took=$(elapsed "$t_reload")
awk -v s="$took" 'BEGIN { exit !(s >= 2.5 && s <= 10) }' ||
  fail "f: systemctl reload failed after $took s; want about --ready-timeout=3"
body=$(http_get)
[[ $(generation_of "$body") == 1 ]] || fail "f: after the failed reload the answer is '$body'; want generation 1 still"
is_active myapp.service active || fail "f: myapp.service is not active after a failed reload"
status=$(status_line)
want='generation 1 \(pid [0-9]+\) serving.*last restart failed: generation 2 was not ready within 3s'
[[ $status =~ $want ]] ||
  fail "f: systemctl status shows Status: '$status'; want 'generation 1 (pid N) serving ...;" \
    "last restart failed: generation 2 was not ready within 3s'"
# The killed generation is gone, from the status file too (once it is reaped).
wait_until 2 lists_only 1 ||
  fail "f: /run/myapp/status lists '$(live_generations | tr '\n' ' ')' after the failed reload;" \
    "want generation 1 alone"
use_worker /usr/bin/myapp.real || fail "f: could not restore the real worker"
out=$(reload) || fail "f: reload after restoring the real worker returned $?: $out"
body=$(http_get)
gen=$(generation_of "$body")
[[ $gen == 3 ]] || fail "f: after the repaired reload the answer is '$body'; want generation 3"
log "f: pass: reload failed after $took s ($status); generation 3 serves after the fix ($(elapsed "$t") s)"

t=$EPOCHREALTIME
in_guest systemctl stop myapp.service myapp.socket || fail "g: systemctl stop myapp.service myapp.socket returned $?"
state=$(in_guest systemctl is-active myapp.service || true)
[[ $state == inactive ]] || fail "g: myapp.service is '$state' after stop; want inactive"
left=$(in_guest sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' | grep -xE 'start_server|myapp|myapp\.real' || true)
[[ -z $left ]] || fail "g: still running in the guest after stop: $(tr '\n' ' ' <<<"$left")"
! in_guest test -e /run/myapp || fail "g: /run/myapp still exists after stop: $(in_guest ls -la /run/myapp 2>&1)"
log "g: pass: stop returned 0, nothing of myapp is left ($(elapsed "$t") s)"

# --- systemd's fd store: restart and crash under load ------------------------------------
# start_server@web binds 8080 itself (no socket unit) and keeps the socket in the unit's fd
# store (FileDescriptorStoreMax= and FDSTORE= of start_server@.service). Under a client load
# (tests/fleet/load.py, a fresh connection per request, from the host in the guest's network
# namespace), `systemctl restart` and a `kill -9` of start_server (Restart=on-failure) must
# refuse no connection: new clients wait in the backlog for the next start_server. Requests
# that an exiting or killed worker had already accepted may die with it; they are counted
# apart. Then the same restart without the store shows what the store saves (logged only:
# how many are refused depends on timing).
instance=start_server@web
in_guest mkdir -p /etc/start_server
echo 'START_SERVER_ARGS=--port=8080 --pid-file=/run/start_server-web/pid --status-file=/run/start_server-web/status -- /usr/bin/myapp' |
  in_guest sh -c 'cat >/etc/start_server/web.conf'
serves() { [[ $(http_get) == "Hello from generation"* ]]; }
load_file=$work/load.json
# load_counts: "ANSWERED REFUSED DIED" so far, from load.py's JSON ({"ok": N, "failed": N,
# "errors": {"KIND: message": N, ...}, ...}). Refused is a failed connect; died is any other
# failure (a request an exiting or killed worker had accepted). Bash, not a python3 per call:
# the waits below call it every 50 ms.
load_counts() {
  local json ok=0 failed=0 refused=0
  json=$(cat "$load_file" 2>/dev/null) || true
  [[ $json =~ \"ok\":\ ([0-9]+) ]] && ok=${BASH_REMATCH[1]}
  [[ $json =~ \"failed\":\ ([0-9]+) ]] && failed=${BASH_REMATCH[1]}
  [[ $json =~ \"ConnectionRefusedError[^\"]*\":\ ([0-9]+) ]] && refused=${BASH_REMATCH[1]}
  echo "$ok $refused $((failed - refused))"
}
load_errors() { cat "$load_file"; }
# True once the client has $1 answers or more.
answered() { local ok _; read -r ok _ <<<"$(load_counts)"; ((ok >= $1)); }
# load_start: the client at 150 requests a second until load_stop.
load_start() {
  rm -f "$load_file"
  nsenter -t "$guest_pid" -n python3 -B "$repo/tests/fleet/load.py" --url http://127.0.0.1:8080/ \
    --rate 150 --max-seconds 60 --out "$load_file" >"$work/load.log" 2>&1 &
  load_pid=$!
  wait_until 10 answered 1 || fail "the load client made no request in 10 s: $(cat "$work/load.log")"
}
# load_stop: stops the client and sets n_ok, n_refused and n_died.
load_stop() {
  kill -TERM "$load_pid" 2>/dev/null || true
  wait_exit "$load_pid" 15 || fail "the load client did not stop in 15 s"
  wait "$load_pid" 2>/dev/null || true
  read -r n_ok n_refused n_died <<<"$(load_counts)"
}
# True when the unit is active with a main process other than $1.
new_main() {
  local props
  props=$(in_guest systemctl show -P MainPID -P ActiveState "$instance" 2>/dev/null | paste -sd' ')
  [[ $props =~ ^([0-9]+)\ active$ && ${BASH_REMATCH[1]} != 0 && ${BASH_REMATCH[1]} != "$1" ]]
}
# under_load WHAT COMMAND...: COMMAND (a restart of some kind) under the load; then waits for a
# new main process and 50 more answers, and stops the load.
under_load() {
  local what=$1 before base
  shift
  load_start
  before=$(in_guest systemctl show -P MainPID "$instance")
  "$@" || fail "$what: $* failed"
  wait_until 15 new_main "$before" || fail "$what: no new start_server is active 15 s after $*"
  read -r base _ <<<"$(load_counts)"
  wait_until 15 answered $((base + 50)) || fail "$what: the load got no answer after $*: $(load_errors)"
  load_stop
}
kill_main() { in_guest sh -c "kill -KILL $(in_guest systemctl show -P MainPID "$instance")"; }

t=$EPOCHREALTIME
in_guest systemctl start "$instance" || fail "l: systemctl start $instance failed"
wait_until 10 serves || fail "l: $instance does not answer on 8080: $(http_get)"
stored=$(in_guest systemctl show -P NFileDescriptorStore "$instance" 2>&1 || true)
[[ $stored == 1 ]] || fail "l: $instance has '$stored' descriptors in its fd store; want 1 (the listener on 8080)"
journal=$(in_guest journalctl --no-pager -o cat -u "$instance" 2>&1 | grep "fd store" || true)
[[ $journal == *"systemd's fd store keeps '0.0.0.0:8080'"* ]] ||
  fail "l: the journal does not say the listener went to the fd store: ${journal:-nothing about it}"
log "l: $instance serves; NFileDescriptorStore=1 ($(elapsed "$t") s)"

# l: `systemctl restart` under load.
t=$EPOCHREALTIME
under_load l in_guest systemctl restart "$instance"
((n_refused == 0)) || fail "l: systemctl restart refused $n_refused connections: $(load_errors)"
journal=$(in_guest journalctl --no-pager -o cat -u "$instance" 2>&1 | grep "took back" | tail -n1 || true)
[[ $journal == *"took back from systemd's fd store: '0.0.0.0:8080'"* ]] ||
  fail "l: the new start_server did not say it took the listener back: ${journal:-nothing about it}"
log "l: pass: systemctl restart under load: $n_ok answered, 0 refused, $n_died died with" \
  "the stopping worker ($(elapsed "$t") s)"

# m: kill -9 of start_server under load; Restart=on-failure starts it again. (The tree has no
# kill(1): the guest shell's.)
t=$EPOCHREALTIME
restarts=$(in_guest systemctl show -P NRestarts "$instance")
under_load m kill_main
now=$(in_guest systemctl show -P NRestarts "$instance")
((now == restarts + 1)) || fail "m: NRestarts went from $restarts to $now; want one restart by Restart=on-failure"
((n_refused == 0)) || fail "m: kill -9 of start_server refused $n_refused connections: $(load_errors)"
log "m: pass: kill -9 of start_server under load: $n_ok answered, 0 refused, $n_died died" \
  "with the killed worker ($(elapsed "$t") s)"

# --- upgrades in place under load --------------------------------------------------------
# The detail file of start_server@web (beside its pid file; src/status_detail.h) and one of its
# records, the fields after the name joined by spaces.
detail_record() {
  in_guest cat /run/start_server-web/pid.detail 2>/dev/null |
    awk -F'\t' -v r="$1" '$1 == r { $1 = ""; sub(/^ /, ""); print; exit }'
}

# o: the package upgrade. dpkg -i of a newer start-server .deb (make_newer_deb: ours with its
# Version bumped, and the version its start_server reports too) while start_server@web serves
# under load: the postinst asks the running instance to upgrade in place (start_server
# --upgrade). Not one request may fail (no worker stops, no listener closes), MainPID stays,
# and the pid now runs the new file: /proc/MAINPID/exe is the installed file (same inode, not
# "(deleted)"), and the detail file that image writes gives its version and "upgrade 1 ok".
if ((${#debs[@]})); then
  t=$EPOCHREALTIME
  main=$(in_guest systemctl show -P MainPID "$instance")
  old_inode=$(in_guest stat -Lc %i "/proc/$main/exe")
  load_start
  out=$(in_guest_clean dpkg -i "${newer_deb#"$root"}" 2>&1) ||
    fail "o: dpkg -i ${newer_deb##*/} failed: $out"
  read -r base _ <<<"$(load_counts)"
  wait_until 15 answered $((base + 50)) || fail "o: the load got no answer after the upgrade: $(load_errors)"
  load_stop
  ((n_refused + n_died == 0)) ||
    fail "o: $n_refused refused and $n_died failed requests across the package upgrade: $(load_errors)"
  [[ $out == *"start_server@web now runs the new start_server"* ]] ||
    fail "o: the postinst did not upgrade start_server@web in place: $out"
  now=$(in_guest systemctl show -P MainPID "$instance")
  [[ $now == "$main" ]] || fail "o: MainPID went from $main to $now; want the same pid"
  exe=$(in_guest readlink "/proc/$main/exe")
  [[ $exe == /usr/bin/start_server ]] || fail "o: /proc/$main/exe is '$exe'; want /usr/bin/start_server"
  inode=$(in_guest stat -Lc %i "/proc/$main/exe")
  file_inode=$(in_guest stat -c %i /usr/bin/start_server)
  [[ $inode == "$file_inode" && $inode != "$old_inode" ]] ||
    fail "o: pid $main runs inode $inode (before: $old_inode); /usr/bin/start_server is $file_inode"
  # shellcheck disable=SC2016 # dpkg-query's field
  pkg=$(in_guest_clean dpkg-query -W -f '${Version}' start-server 2>&1 || true)
  [[ $pkg == "$newer_version" ]] || fail "o: dpkg-query says start-server $pkg; want $newer_version"
  version=$(detail_record version)
  [[ $version == "$newer_binary_version" ]] ||
    fail "o: the running image says version '$version' in its detail file; want $newer_binary_version"
  upgrade=$(detail_record upgrade)
  [[ $upgrade =~ ^1\ ok\ [0-9]+\ ([0-9]+) ]] ||
    fail "o: the detail file's upgrade record is '$upgrade'; want upgrade 1 ok"
  log "o: pass: dpkg -i start-server $newer_version under load: $n_ok answered, 0 failed;" \
    "MainPID $main kept, it runs the new /usr/bin/start_server (version $version), upgraded in" \
    "$((BASH_REMATCH[1] / 1000)) ms ($(elapsed "$t") s)"
else
  log "o: skipped: no .debs (START_SERVER_DEBS), so no package to upgrade"
fi

# p: an upgrade in place, then `systemctl restart`, under load: the image that took over still
# knows the listener is in systemd's fd store (the store survives the exec in the upgrade
# state), so the restart refuses no connection either.
t=$EPOCHREALTIME
took_back() { in_guest journalctl --no-pager -o cat -u "$instance" 2>&1 | grep -c "took back from systemd's fd store: '0.0.0.0:8080'" || true; }
took_back_before=$(took_back)
upgrade_then_restart() {
  in_guest /usr/bin/start_server --upgrade --pid-file=/run/start_server-web/pid \
    --status-file=/run/start_server-web/status || return 1
  stored=$(in_guest systemctl show -P NFileDescriptorStore "$instance" 2>&1 || true)
  [[ $stored == 1 ]] || fail "p: after the upgrade $instance has '$stored' descriptors in its fd store; want 1"
  in_guest systemctl restart "$instance"
}
under_load p upgrade_then_restart
((n_refused == 0)) || fail "p: systemctl restart after an upgrade refused $n_refused connections: $(load_errors)"
# (The journal may lag behind a little.)
took_back_more() { (($(took_back) > took_back_before)); }
wait_until 5 took_back_more || fail "p: the new start_server did not say it took the listener back from the fd store"
log "p: pass: an upgrade in place then systemctl restart under load: $n_ok answered, 0 refused," \
  "$n_died died with the stopping worker ($(elapsed "$t") s)"

# `systemctl stop` empties the store: nothing listens on 8080 any more.
t=$EPOCHREALTIME
in_guest systemctl stop "$instance" || fail "m: systemctl stop $instance failed"
stored=$(in_guest systemctl show -P NFileDescriptorStore "$instance" 2>&1 || true)
[[ $stored == 0 ]] || fail "m: after stop $instance has '$stored' descriptors in its fd store; want 0"
out=$(http_get) && fail "m: after stop something still answers on 8080: $out"
[[ $out == *"onnection refused"* || $out == *"Couldn't connect"* ]] ||
  fail "m: after stop a connection to 8080 got '$out'; want it refused"
log "m: pass: systemctl stop emptied the fd store; 8080 refuses connections ($(elapsed "$t") s)"

# n: the same restart without the store, for comparison.
t=$EPOCHREALTIME
in_guest mkdir -p "/etc/systemd/system/$instance.service.d"
printf '[Service]\nFileDescriptorStoreMax=0\nEnvironment=FDSTORE=0\n' |
  in_guest sh -c "cat >/etc/systemd/system/$instance.service.d/no-store.conf"
in_guest systemctl daemon-reload || fail "n: systemctl daemon-reload failed"
in_guest systemctl start "$instance" || fail "n: systemctl start $instance failed"
wait_until 10 serves || fail "n: $instance does not answer on 8080 without the store"
under_load n in_guest systemctl restart "$instance"
log "n: without the fd store, systemctl restart under load refused $n_refused connections" \
  "($n_ok answered, $n_died died) ($(elapsed "$t") s)"
in_guest rm -rf "/etc/systemd/system/$instance.service.d"
in_guest systemctl daemon-reload || fail "n: systemctl daemon-reload failed"
in_guest systemctl stop "$instance" || fail "n: systemctl stop $instance failed"
left=$(in_guest sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' | grep -xE 'start_server|myapp' || true)
[[ -z $left ]] || fail "n: still running in the guest after stop: $(tr '\n' ' ' <<<"$left")"

# --- Type=notify-reload (systemd >= 253) --------------------------------------------------
# The same socket now serves myapp-notify-reload.service, installed as myapp.service the way
# an operator renames it. systemd sends SIGHUP itself and waits for start_server's
# RELOADING=1 (with MONOTONIC_USEC) and READY=1. systemd 257 cannot be told that a reload
# failed: in its reload-notify state READY=1 always ends the job successfully, and ERRNO=,
# BUSERROR= and VARLINKERROR= only set properties (src/core/service.c,
# service_notify_message); the job fails only when no READY=1 comes within TimeoutStartSec=,
# or when an ExecReload= beside it fails. So a broken release gives a `systemctl reload`
# that returns 0, and the failure shows in `systemctl status` (Status:) and the journal, while
# the old generation serves on. Scenario j pins exactly that down.
version=$(in_guest systemctl --version 2>/dev/null | awk 'NR == 1 { print $2 }')
if [[ ! $version =~ ^[0-9]+$ ]] || ((version < 253)); then
  log "h-j: skipped: the guest's systemd is ${version:-unknown}; Type=notify-reload needs 253 or later"
  log "all scenarios passed"
  exit 0
fi

t=$EPOCHREALTIME
in_guest rm -rf /etc/systemd/system/myapp.service.d
if ((${#debs[@]})); then
  # shellcheck disable=SC2016 # expanded by the guest's sh
  in_guest_clean sh -ec 'ex=/usr/share/doc/start-server/examples/myapp-notify-reload.service
    if [ -f "$ex" ]; then cp "$ex" /etc/systemd/system/myapp.service
    elif [ -f "$ex.gz" ]; then zcat "$ex.gz" >/etc/systemd/system/myapp.service
    else echo "no $ex in the package" >&2; exit 1; fi' 2>&1 ||
    fail "h: could not copy the packaged myapp-notify-reload.service"
else
  install -m 644 "$repo/units/myapp-notify-reload.service" "$root/etc/systemd/system/myapp.service"
fi
use_worker /usr/bin/myapp.real || fail "h: could not restore the real worker"
in_guest systemctl daemon-reload || fail "h: systemctl daemon-reload failed"
type=$(in_guest systemctl show -P Type myapp.service 2>&1 || true)
[[ $type == notify-reload ]] || fail "h: myapp.service has Type=$type; want notify-reload"
in_guest systemctl start myapp.socket || fail "h: systemctl start myapp.socket failed"
body=$(http_get)
[[ $(generation_of "$body") == 1 ]] || fail "h: the first connection got '$body'; want generation 1"
wait_until 10 is_active myapp.service active || fail "h: myapp.service is not active after a connection"
out=$(reload) || fail "h: systemctl reload (Type=notify-reload) returned $?: $out"
body=$(http_get)
[[ $(generation_of "$body") == 2 ]] || fail "h: after a reload the answer is '$body'; want generation 2"
lists_only 2 || fail "h: /run/myapp/status lists '$(live_generations | tr '\n' ' ')'; want generation 2 alone"
log "h: pass: Type=notify-reload: reload returned 0 and generation 2 serves alone ($(elapsed "$t") s)"

# i: systemd waits for READY=1 after RELOADING=1: the reload of a worker that is ready a
# second late returns only then, with the old generation serving meanwhile.
t=$EPOCHREALTIME
use_worker /usr/libexec/myapp-test/late || fail "i: could not install the late worker"
reload >"$work/reload.out" 2>&1 &
reload_pid=$!
sleep 0.3
body=$(http_get)
[[ $(generation_of "$body") == 2 ]] || fail "i: during the reload the answer is '$body'; want generation 2"
state=$(in_guest systemctl show -P ActiveState myapp.service 2>&1 || true)
kill -0 "$reload_pid" 2>/dev/null ||
  fail "i: systemctl reload returned before the new generation was ready: $(<"$work/reload.out")"
if wait "$reload_pid"; then rc=0; else rc=$?; fi
took=$(elapsed "$t")
((rc == 0)) || fail "i: systemctl reload of the late worker returned $rc: $(<"$work/reload.out")"
awk -v s="$took" 'BEGIN { exit !(s >= 1.0) }' || fail "i: systemctl reload returned after $took s, before the worker was ready"
[[ $state == reloading ]] || fail "i: myapp.service was '$state' during the reload; want reloading"
body=$(http_get)
[[ $(generation_of "$body") == 3 ]] || fail "i: after the late reload the answer is '$body'; want generation 3"
lists_only 3 || fail "i: /run/myapp/status lists '$(live_generations | tr '\n' ' ')'; want generation 3 alone"
log "i: pass: the unit was 'reloading' until generation 3 was ready; reload returned 0 after $took s"

# j: a broken release. What systemd 257 allows (see above): `systemctl reload` returns 0,
# the unit stays active, Status: says the restart failed, and the old generation serves.
t=$EPOCHREALTIME
in_guest sh -c 'printf "#!/bin/sh\necho \"myapp: a broken build\" >&2\nexit 1\n" >/usr/bin/myapp.new &&
  chmod 755 /usr/bin/myapp.new && mv -f /usr/bin/myapp.new /usr/bin/myapp' || fail "j: could not install the broken worker"
out=$(reload) || fail "j: systemctl reload returned $? for the broken worker; systemd 257 has no way" \
  "to fail a notify-reload reload but a timeout, so 0 was expected (has systemd changed?): $out"
status=$(status_line)
want='generation 3 \(pid [0-9]+\) serving.*last restart failed: generation [0-9]+ exited with status 1'
[[ $status =~ $want ]] ||
  fail "j: systemctl status shows Status: '$status'; want 'generation 3 (pid N) serving ...;" \
    "last restart failed: generation N exited with status 1 ...'"
result=$(in_guest systemctl show -p ActiveState -p Result --value myapp.service 2>&1 | tr '\n' ' ')
[[ $result == "success active " || $result == "active success " ]] ||
  fail "j: after the failed reload myapp.service shows '$result'; want active and success"
body=$(http_get)
[[ $(generation_of "$body") == 3 ]] || fail "j: after the failed reload the answer is '$body'; want generation 3 still"
lists_only 3 || fail "j: /run/myapp/status lists '$(live_generations | tr '\n' ' ')'; want generation 3 alone"
journal=$(in_guest journalctl --no-pager -o cat -u myapp.service 2>&1 | grep -E 'broken build|exited with status 1' | tail -n 2 | tr '\n' ' ')
log "j: reload returned 0 (systemd 257 cannot fail it); Status: $status; journal: $journal"
use_worker /usr/bin/myapp.real || fail "j: could not restore the real worker"
out=$(reload) || fail "j: reload after restoring the real worker returned $?: $out"
body=$(http_get)
gen=$(generation_of "$body")
[[ -n $gen && $gen -gt 3 ]] || fail "j: after the repaired reload the answer is '$body'; want a generation above 3"
lists_only "$gen" || fail "j: /run/myapp/status lists '$(live_generations | tr '\n' ' ')'; want generation $gen alone"
log "j: pass: generation 3 served through the broken release; generation $gen serves after the fix ($(elapsed "$t") s)"

t=$EPOCHREALTIME
in_guest systemctl stop myapp.service myapp.socket || fail "k: systemctl stop myapp.service myapp.socket returned $?"
left=$(in_guest sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' | grep -xE 'start_server|myapp|myapp\.real' || true)
[[ -z $left ]] || fail "k: still running in the guest after stop: $(tr '\n' ' ' <<<"$left")"
log "k: pass: Type=notify-reload: stop returned 0, nothing of myapp is left ($(elapsed "$t") s)"

log "all scenarios passed"
