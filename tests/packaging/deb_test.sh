#!/usr/bin/env bash
# ctest debian_package: the Debian package, end to end, on this machine. Builds the .debs
# from a clean copy of the tree, runs lintian on them, installs them with dpkg -i beside
# libserver-starter-perl (Perl first, then ours; then the Perl packages removed and
# reinstalled under ours), builds the installed example workers with the installed -dev
# package (C99, C++11, C++17, C++20) and serves each with the installed start_server, checks the Perl modules and the diverted Perl start_server, then removes and
# purges ours and checks that nothing of them is left and the Perl start_server is back.
#
# Usage: deb_test.sh SOURCE_DIR
# Needs root (it runs dpkg -i), dpkg-buildpackage, debhelper and lintian, and the test
# packages of scripts/install-deps --test; exits 77 (skipped) without the tools or root.
# It leaves the machine's packages as it found them, also when it fails.
set -euo pipefail

# grep that reads its whole input: `cmd | grep -q` lets cmd die of SIGPIPE when grep stops at
# the first match, and pipefail then fails the pipeline although it matched.
grep_all() { grep "$@" >/dev/null; }
src=$(cd "$1" && pwd)
. "$src/tests/packaging/lib.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root to install packages"
for tool in dpkg-buildpackage dh lintian git; do
  command -v "$tool" >/dev/null || skip "$tool not found (scripts/install-deps --test installs it)"
done
git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip "$src is not a git checkout"

ours=(start-server libserver-starter1 libserver-starter-dev)
perl_pkgs=(libserver-starter-perl libnet-server-ss-prefork-perl)
installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }
for p in "${perl_pkgs[@]}"; do installed "$p" || fail "$p is not installed (scripts/install-deps --test)"; done
for p in "${ours[@]}"; do
  ! installed "$p" || fail "$p is already installed here; this test would remove it (dpkg -P ${ours[*]})"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/start_server-deb.XXXXXX")
cleanup() {
  local p
  for p in "${ours[@]}"; do
    if dpkg-query -W "$p" >/dev/null 2>&1; then dpkg -P "${ours[@]}" >/dev/null 2>&1 || true; break; fi
  done
  for p in "${perl_pkgs[@]}"; do
    installed "$p" || dpkg -i "$tmp"/perl/*.deb >/dev/null 2>&1 || say "could not reinstall $p"
    echo "$p install" | dpkg --set-selections  # a dpkg -r that failed leaves "deinstall"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

run() {  # run LOG COMMAND...: quiet unless it fails
  local log=$tmp/$1
  shift
  "$@" >"$log" 2>&1 || { tail -n 60 "$log" >&2; fail "$* (see above)"; }
}

# The Perl packages' .debs, to reinstall them later: from apt's cache, else from the archive.
mkdir "$tmp/perl"
for p in "${perl_pkgs[@]}"; do
  pv=$(dpkg-query -W -f="\${Version}" "$p")
  deb=$(find /var/cache/apt/archives -name "${p}_${pv/*:/}_*.deb" | head -n 1)
  if [[ -n "$deb" ]]; then
    cp "$deb" "$tmp/perl/"
  else
    (cd "$tmp/perl" && apt-get download -q "$p=$pv" >/dev/null) || fail "cannot get $p's .deb"
  fi
done

# ---- build ----
version=$(sed -n 's/^project(start_server VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
# The .debs scripts/test built with their own tests (START_SERVER_DEBS, set by ctest), when
# all are there and newer than the start_server just built (START_SERVER_BINARY): one
# package build per CI run. Otherwise build them here, --nocheck: ctest runs the unit and
# integration tests of this tree already; here the package only has to build, pass lintian,
# install and go away.
prebuilt=${START_SERVER_DEBS:-}
if [[ -n $prebuilt ]]; then
  for p in "${ours[@]}"; do
    deb=$prebuilt/${p}_${version}_$arch.deb
    [[ -f $deb && ( -z ${START_SERVER_BINARY:-} || $deb -nt ${START_SERVER_BINARY:-} ) ]] || prebuilt=
  done
  [[ -n $prebuilt ]] && ls "$prebuilt"/*_"${version}"_"$arch".changes >/dev/null 2>&1 || prebuilt=
fi
if [[ -n $prebuilt ]]; then
  mkdir "$tmp/debs"
  cp "$prebuilt"/*_"${version}"_*.deb "$prebuilt"/*_"${version}"_"$arch".changes "$prebuilt"/*_"${version}"_"$arch".buildinfo "$tmp/debs/"
  say "ok: testing the .debs in $prebuilt (scripts/test built them with their tests)"
else
  start=$SECONDS
  run build.log "$src/scripts/build-debs" --nocheck "$tmp/debs"
  say "ok: built in $((SECONDS - start)) s: $(cd "$tmp/debs" && echo ./*.deb)"
fi
changes=$(echo "$tmp"/debs/*.changes)
debs=()
for p in "${ours[@]}"; do debs+=("$tmp/debs/${p}_${version}_$arch.deb"); done

start=$SECONDS
lintian --fail-on error,warning --display-info "$changes" >"$tmp/lintian.log" 2>&1 ||
  { cat "$tmp/lintian.log" >&2; fail "lintian"; }
say "ok: lintian in $((SECONDS - start)) s: $(grep -c '^[EW]:' "$tmp/lintian.log" || true) errors and warnings"
grep '^[EWI]:' "$tmp/lintian.log" >&2 || true

# ---- checks while ours is installed ----
check_diverted() {
  dpkg-divert --list '/usr/bin/start_server' | grep_all -x \
    'diversion of /usr/bin/start_server to /usr/bin/start_server.perl by start-server' ||
    fail "no diversion of /usr/bin/start_server: $(dpkg-divert --list '*start_server*')"
  /usr/bin/start_server --version | grep_all '^start_server .* (Server::Starter 0.35 compatible)$' ||
    fail "/usr/bin/start_server is not ours"
}
check_perl_modules() {
  perl -MServer::Starter -e1 || fail "perl -MServer::Starter"
  perl -MNet::Server::SS::PreFork -e1 || fail "perl -MNet::Server::SS::PreFork"
}
check_perl() {
  check_perl_modules
  [[ "$(/usr/bin/start_server.perl --version)" == 0.35 ]] || fail "start_server.perl is not Perl's"
  # dpkg -S lists the diversion, then both owners of the path (in either order).
  dpkg -S /usr/bin/start_server | grep_all -E '^([a-z-]+, )?libserver-starter-perl(, [a-z-]+)?: /usr/bin/start_server$' ||
    fail "dpkg -S: $(dpkg -S /usr/bin/start_server)"
}

# Order 1: the Perl packages first (as this machine has them), then ours.
run install.log dpkg -i "${debs[@]}"
check_diverted
check_perl
say "ok: installed beside libserver-starter-perl; $(dpkg -S /usr/bin/start_server | tr '\n' ' ')"

# The installed examples, built with the installed -dev package both ways (the C one at
# -std=c99, the C++ one at -std=c++11 and -std=c++17, hello_worker at -std=c++20), on the
# installed start_server.
examples=/usr/share/doc/start-server/examples
# shellcheck disable=SC2046  # pkg-config's output is meant to be split into words
run pkg-config.log g++ -std=c++20 -o "$tmp/hello_worker" "$examples/hello_worker.cc" $(pkg-config --cflags --libs server_starter libsystemd)
ldd "$tmp/hello_worker" | grep_all -E "libserver_starter\.so\.1 => /(usr/)?lib/" || fail "hello_worker: $(ldd "$tmp/hello_worker")"
! ldd /usr/bin/start_server | grep_all libserver_starter || fail "start_server links libserver_starter.so"
serve_and_check /usr/bin/start_server "$tmp/hello_worker"
serve_each_standard /usr/bin/start_server "$examples" "$tmp"
ldd "$tmp/hello_c99" | grep_all -E "libserver_starter\.so\.1 => /(usr/)?lib/" || fail "hello_c99: $(ldd "$tmp/hello_c99")"
run cmake.log cmake -S "$src/tests/packaging/consumer" -B "$tmp/consumer" -DEXAMPLES_DIR="$examples"
run cmake-build.log cmake --build "$tmp/consumer"
for worker in hello_worker hello_c hello_cxx11; do
  serve_and_check /usr/bin/start_server "$tmp/consumer/$worker"
done

[[ "$(man -w start_server)" == /usr/share/man/man1/start_server.1.gz ]] || fail "man -w start_server: $(man -w start_server)"
# /lib/systemd/system on Debian 12, /usr/lib/systemd/system on 13 (debian/rules).
unit=$(dpkg -L start-server | grep '/systemd/system/start_server@\.service$' || true)
[[ -n $unit && -f $unit ]] || fail "no start_server@.service in start-server: $(dpkg -L start-server | tr '\n' ' ')"
[[ $unit == "$(pkg-config --variable=systemdsystemunitdir systemd)/start_server@.service" ]] ||
  fail "start_server@.service is at $unit, not in this release's systemdsystemunitdir"
[[ -z "$(find /etc/systemd -name 'start_server*')" ]] || fail "an instance got enabled: $(find /etc/systemd -name 'start_server*')"

# Order 2: the Perl packages removed and installed again under ours; then ours upgraded
# (reinstalled), which runs preinst upgrade and postrm upgrade.
# --force-depends: other packages (starlet, starman) depend on these; they are back in a moment.
run perl-remove.log dpkg -r --force-depends "${perl_pkgs[@]}"
[[ ! -e /usr/bin/start_server.perl ]] || fail "start_server.perl left after removing the Perl package"
check_diverted
run perl-install.log dpkg -i "$tmp"/perl/*.deb
check_diverted
check_perl
run reinstall.log dpkg -i "${debs[@]}"
check_diverted
check_perl
say "ok: Perl packages removed and reinstalled under ours; ours reinstalled"

# ---- remove and purge ours ----
dpkg -L "${ours[@]}" | sort -u >"$tmp/files"
run remove.log dpkg -r "${ours[@]}"
[[ -z "$(dpkg-divert --list '*start_server*')" ]] || fail "diversion left: $(dpkg-divert --list '*start_server*')"
[[ "$(dpkg -S /usr/bin/start_server)" == "libserver-starter-perl: /usr/bin/start_server" ]] ||
  fail "dpkg -S /usr/bin/start_server: $(dpkg -S /usr/bin/start_server)"
[[ "$(/usr/bin/start_server --version)" == 0.35 ]] || fail "Perl's start_server is not back"
[[ ! -e /usr/bin/start_server.perl ]] || fail "/usr/bin/start_server.perl left"
check_perl_modules
run purge.log dpkg -P "${ours[@]}"
left=()
while IFS= read -r path; do
  [[ "$path" == /. ]] && continue
  if [[ -d "$path" ]]; then  # (also /lib, a symlink to usr/lib on merged-/usr systems)
    dpkg -S "$path" >/dev/null 2>&1 || left+=("$path")  # directories only we had
  elif [[ -e "$path" || -L "$path" ]]; then
    [[ "$path" == /usr/bin/start_server ]] || left+=("$path")  # that one is Perl's again
  fi
done <"$tmp/files"
((${#left[@]} == 0)) || fail "left after purge: ${left[*]}"
for p in "${ours[@]}"; do
  ! dpkg-query -W "$p" >/dev/null 2>&1 || fail "$p still known to dpkg after purge"
done
say "ok: removed and purged; $(wc -l <"$tmp/files") paths checked; Perl's start_server is back"
say "passed"
