# Shared by the packaging tests: bounded waits and a check that an installed start_server
# serves an installed worker. Source it; it uses the caller's `set -euo pipefail`.

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; exit 77; }  # ctest's SKIP_RETURN_CODE

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve_and_check STARTER WORKER [ENV=VALUE...]: runs STARTER with WORKER on an ephemeral
# 127.0.0.1 port, expects an HTTP reply from generation 1, then stops it with --stop and
# expects exit status 0. The ENV words go to the starter's environment (LD_LIBRARY_PATH).
serve_and_check() {
  local starter=$1 worker=$2
  shift 2
  local dir port pid reply="" deadline status=0
  dir=$(mktemp -d)
  port=$(free_port)
  env "$@" "$starter" --port="127.0.0.1:$port" --pid-file="$dir/pid" --status-file="$dir/status" \
    -- "$worker" >"$dir/log" 2>&1 &
  pid=$!
  deadline=$((SECONDS + 15))
  until reply=$(curl -sS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null); do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      kill "$pid" 2>/dev/null || true
      wait "$pid" || true
      cat "$dir/log" >&2
      rm -rf "$dir"
      fail "$starter with $worker: no reply on 127.0.0.1:$port"
    fi
    sleep 0.1
  done
  "$starter" --stop --pid-file="$dir/pid" || status=$?
  wait "$pid" || status=$?
  if [[ "$reply" != "Hello from generation 1 "* || $status -ne 0 ]]; then
    cat "$dir/log" >&2
    rm -rf "$dir"
    fail "$starter with $worker: reply '$reply', exit status $status"
  fi
  rm -rf "$dir"
  say "ok: $starter served $worker on 127.0.0.1:$port: $reply"
}

# serve_each_standard STARTER EXAMPLES_DIR OUT_DIR [ENV=VALUE...]: builds examples/hello_c.c
# with gcc -std=c99 and examples/hello_cxx11.cc with g++ -std=c++11 and -std=c++17, each
# strict (-pedantic-errors -Werror) with the flags of the server_starter.pc that pkg-config
# finds (PKG_CONFIG_PATH), the oldest standards server_starter.h promises, and serves each
# with STARTER as serve_and_check does. About 3 s.
serve_each_standard() {
  local starter=$1 examples=$2 out=$3
  shift 3
  local strict=(-Wall -Wextra -pedantic-errors -Werror) cflags libs
  cflags=$(pkg-config --cflags server_starter) || fail "pkg-config --cflags server_starter"
  libs=$(pkg-config --libs server_starter) || fail "pkg-config --libs server_starter"
  # shellcheck disable=SC2086  # pkg-config's output is meant to be split into words
  {
    gcc -std=c99 "${strict[@]}" $cflags -o "$out/hello_c99" "$examples/hello_c.c" $libs ||
      fail "gcc -std=c99: $examples/hello_c.c does not build against server_starter"
    g++ -std=c++11 "${strict[@]}" $cflags -o "$out/hello_cxx11" "$examples/hello_cxx11.cc" $libs ||
      fail "g++ -std=c++11: $examples/hello_cxx11.cc does not build against server_starter"
    g++ -std=c++17 "${strict[@]}" $cflags -o "$out/hello_cxx17" "$examples/hello_cxx11.cc" $libs ||
      fail "g++ -std=c++17: $examples/hello_cxx11.cc does not build against server_starter"
  }
  local worker
  for worker in hello_c99 hello_cxx11 hello_cxx17; do
    serve_and_check "$starter" "$out/$worker" "$@"
  done
}
