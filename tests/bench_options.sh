#!/usr/bin/env bash
# bench_nnc's options: --help prints the usage and runs nothing; an unknown
# option, a missing or malformed value and an unknown workload are refused
# with exit 2 before any workload runs (it once ran the whole bench).
# usage: bench_options.sh BENCH_NNC
set -u
bench=$1 pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect RC NEEDLE ARGS...: exit RC within 10 s, NEEDLE in its output, no workload timed
expect() {
  local want=$1 needle=$2
  shift 2
  timeout 10 "$bench" "$@" >"$tmp/out" 2>&1
  local rc=$?
  if [ $rc -ne "$want" ]; then bad "$*: exit $rc, expected $want: $(head -3 "$tmp/out")"; return; fi
  if ! grep -qF -- "$needle" "$tmp/out"; then bad "$*: output lacks '$needle': $(cat "$tmp/out")"; return; fi
  if grep -q "median" "$tmp/out"; then bad "$*: a workload ran"; return; fi
  ok
}
expect 0 "usage: bench_nnc" --help
expect 2 "unknown option '--bogus'" --bogus 1
expect 2 "unknown option '--thread'" --thread 2 --workloads W1
expect 2 "--reps needs a value" --workloads W1 --reps
expect 2 "--threads: expected a whole number from 1 to 256, got 'two'" --threads two --workloads W1
expect 2 "--threads: expected a whole number from 1 to 256, got '0'" --threads 0 --workloads W1
expect 2 "--reps: expected a whole number from 1 to 63, got '64'" --reps 64 --workloads W1
expect 2 "--reps: expected a whole number from 1 to 63, got ' 5'" --reps ' 5' --workloads W1
expect 2 "--reps: expected a whole number from 1 to 63, got '+5'" --reps +5 --workloads W1
expect 2 "--w3-samples: expected a whole number from 64" --w3-samples 1 --workloads W3
expect 2 "--reps given twice" --reps 1 --reps 2 --workloads W1
expect 2 "--workloads: no workload named" --workloads ""
expect 2 "--workloads: no workload named" --workloads ,,
expect 2 "--ab: '=1' is not VAR=VALUE" --ab "=1/B=2" --workloads W1
expect 2 "--ab wants A/B" --ab "A=1/B=2/C=3" --workloads W1
expect 2 "--ab: a side with no VAR=VALUE" --ab / --workloads W1
expect 2 "--ab threads: expected a whole number from 1 to 256, got 'abc'" --ab threads=abc/threads=2 --workloads W1
expect 2 "no workload 'W9'" --workloads W1,W9
expect 2 "--json $tmp/no/such/dir/b.json: cannot write it" --json "$tmp/no/such/dir/b.json" --workloads W1
echo "bench_options.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
