#!/usr/bin/env bash
# start_server(1) as a user reads it: man renders the built page without a single warning (the
# way the issue asks, and the way lintian checks a packaged page), and its OPTIONS hold
# exactly the options the built start_server's --help lists. About a second.
#
#   man_page_test.sh PAGE START_SERVER
set -euo pipefail
page=$1 starter=$(realpath "$2")  # a bare name would be looked up in PATH: Perl's start_server
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v man >/dev/null || skip "man not found (scripts/install-deps --test installs man-db)"
[[ -f $page ]] || fail "$page not built (cmake --build ... --target man_page)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# As the issue asks, then as lintian does (its groff-message check).
export LC_ALL=C.UTF-8 MANWIDTH=80
man --warnings -l "$page" >"$tmp/page.txt" 2>"$tmp/warnings"
[[ ! -s $tmp/warnings ]] || { cat "$tmp/warnings" >&2; fail "man --warnings -l $page"; }
man --warnings -E UTF-8 -l -Tutf8 -Z "$page" >/dev/null 2>"$tmp/warnings"
[[ ! -s $tmp/warnings ]] || { cat "$tmp/warnings" >&2; fail "man --warnings -E UTF-8 -Tutf8 -Z"; }

# The page's option entries (tags at column 8 of OPTIONS) against --help's.
sed -n '/^OPTIONS$/,/^[A-Z]/p' "$tmp/page.txt" | sed -n 's/^       --\([a-z-]*\).*/\1/p' |
  sort >"$tmp/page-options"
"$starter" --help | sed -n 's/^  --\([a-z-]*\).*/\1/p' | sort >"$tmp/help-options"
[[ -s $tmp/help-options ]] || fail "no option in $starter --help"
diff -u "$tmp/help-options" "$tmp/page-options" >&2 ||
  fail "the OPTIONS of $page differ from $starter --help (- only in --help, + only in the page)"
for section in NAME SYNOPSIS DESCRIPTION OPTIONS SIGNALS ENVIRONMENT FILES "EXIT STATUS" \
  SYSTEMD EXAMPLES "SEE ALSO"; do
  grep -qx "$section" "$tmp/page.txt" || fail "no $section section"
done
echo "ok: $page renders without warnings; $(wc -l <"$tmp/page-options") options, as in --help"
