# Sourced by the CLI tests after `set -u`: a temporary folder removed on exit,
# and the pass/fail counters each test prints at its end.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
