#!/usr/bin/env bash
# ctest cmake_install: the from-source install story. Installs the build ctest runs in under
# a temporary prefix (`cmake --install --prefix`, so the units and server_starter.pc must
# follow the prefix given at install time), checks what landed, then builds the example
# workers against the installed library as a worker project would, once through
# find_package(start_server) and once through pkg-config (the C one at -std=c99, the C++ one
# at -std=c++11 and -std=c++17, hello_worker at -std=c++20), and serves each with the
# installed start_server on loopback.
#
# Usage: install_test.sh SOURCE_DIR BUILD_DIR
# Exits 77 (skipped) without man, curl, python3, gcc or g++.
set -euo pipefail

# grep that reads its whole input: `cmd | grep -q` lets cmd die of SIGPIPE when grep stops at
# the first match, and pipefail then fails the pipeline although it matched.
grep_all() { grep "$@" >/dev/null; }
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
. "$src/tests/packaging/lib.sh"
for tool in man curl python3 gcc g++; do
  command -v "$tool" >/dev/null || skip "$tool not found (scripts/install-deps --test installs it)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/start_server-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

run() {  # run LOG COMMAND...: quiet unless it fails
  local log=$tmp/$1
  shift
  "$@" >"$log" 2>&1 || { tail -n 40 "$log" >&2; fail "$* (see above)"; }
}

[[ -f $build/start_server.1 ]] || skip "$build has no start_server.1 (configured with STARTER_MAN_PAGE=OFF)"
run install.log cmake --install "$build" --prefix "$prefix"

pc=$(find "$prefix" -name server_starter.pc)
[[ -n "$pc" ]] || fail "no server_starter.pc under $prefix"
libdir=$(dirname "$(dirname "$pc")")
for f in bin/start_server include/server_starter.h share/man/man1/start_server.1 \
         lib/systemd/system/start_server@.service; do
  [[ -f "$prefix/$f" ]] || fail "$prefix/$f not installed"
done
for f in libserver_starter.so libserver_starter.so.1 cmake/start_server/start_serverConfig.cmake \
         cmake/start_server/start_serverConfigVersion.cmake; do
  [[ -e "$libdir/$f" ]] || fail "$libdir/$f not installed"
done
[[ -z "$(find "$prefix" -name '*.a')" ]] || fail "a static archive was installed"
readelf -d "$libdir/libserver_starter.so" | grep_all 'SONAME.*\[libserver_starter\.so\.1\]' ||
  fail "libserver_starter.so has no SONAME libserver_starter.so.1"
# The ABI is the C API alone: every exported function is server_starter_*, nothing C++.
exported=$(nm -D --defined-only "$libdir/libserver_starter.so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
[[ -n $exported ]] || fail "libserver_starter.so exports nothing"
! grep -v '^server_starter_' <<<"$exported" >/dev/null ||
  fail "libserver_starter.so exports more than the C API: $(grep -v '^server_starter_' <<<"$exported" | head -n 5 | tr '\n' ' ')"
if readelf -d "$prefix/bin/start_server" | grep_all 'NEEDED.*libserver_starter'; then
  fail "start_server needs libserver_starter.so at run time"
fi
# Each unit runs the start_server of this install: /usr/bin/start_server may be Perl's. The
# examples name nothing of "myapp" but the program (%N does), so a copy can take any name.
examples=share/doc/start_server/examples
for unit in lib/systemd/system/start_server@.service "$examples/myapp.service" \
            "$examples/myapp-notify-reload.service" "$examples/myapp.socket"; do
  [[ -f "$prefix/$unit" ]] || fail "$prefix/$unit not installed"
  wrong=$(awk -v want="$prefix/bin/start_server" '/^Exec(Start|Reload)=/ {
      cmd = $0; sub(/^[^=]*=/, "", cmd); split(cmd, w, " "); if (w[1] != want) print }' \
    "$prefix/$unit")
  [[ -z "$wrong" ]] || fail "$unit runs another start_server than $prefix/bin/start_server: $wrong"
  named=$(awk '!/^#/ && /myapp/ && !/\/usr\/bin\/myapp/' "$prefix/$unit")
  [[ -z "$named" ]] || fail "$unit names myapp where its own name (%N) belongs: $named"
done
warnings=$(MANWIDTH=80 man --warnings -l "$prefix/share/man/man1/start_server.1" 2>&1 >/dev/null)
[[ -z "$warnings" ]] || fail "start_server.1: $warnings"
say "ok: installed under $prefix"

# A worker project using the CMake package (its RPATH finds the library): the C99, C++11
# and C++20 examples.
run consumer-configure.log cmake -S "$src/tests/packaging/consumer" -B "$tmp/consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" -DEXAMPLES_DIR="$src/examples"
run consumer-build.log cmake --build "$tmp/consumer"
for worker in hello_worker hello_c hello_cxx11; do
  serve_and_check "$prefix/bin/start_server" "$tmp/consumer/$worker"
done

# The same workers built with pkg-config, as README.Debian shows.
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046  # pkg-config's output is meant to be split into words
run pkg-config-build.log g++ -std=c++20 -o "$tmp/hello_worker_pc" "$src/examples/hello_worker.cc" \
  $(pkg-config --cflags --libs server_starter libsystemd)
serve_and_check "$prefix/bin/start_server" "$tmp/hello_worker_pc" LD_LIBRARY_PATH="$libdir"
serve_each_standard "$prefix/bin/start_server" "$src/examples" "$tmp" LD_LIBRARY_PATH="$libdir"
say "passed"
