#!/usr/bin/env bash
# The bad-input corpus: every case of cases.tsv (CLI) and every case of the
# C API driver capi_misuse, each in its own process.
# usage: run.sh NNC SOURCE_DIR [PATTERN]
#   PATTERN: an extended regex; only cases whose name matches it run.
#   NNC_CAPI_MISUSE: the capi_misuse binary (default: next to NNC, in tests/).
# Each case has 90 s (a hang, not a slow compile: the largest spec, 100
# outputs, compiles in ~8 s of CPU, and a sanitizer build on two busy cores
# runs several times slower); outside a sanitizer build also 4 GB of
# address space.
# Prints one line per failing case (name, expected, got) and "N passed, N failed".
set -u
nnc=$(realpath "$1") src=$(realpath "$2") pattern=${3:-}
here=$src/tests/bad
capi=${NNC_CAPI_MISUSE:-$(dirname "$nnc")/tests/capi_misuse}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=$work/data
python3 "$here/gen.py" "$data" || { echo "gen.py failed"; exit 1; }

# An endless read must stop at 4 GB, not at the end of the machine's memory:
# ulimit -v, or for a sanitizer build (which reserves terabytes of address
# space) ASan's own allocation limits.
asan=0
grep -qa __asan_init "$nnc" && asan=1
if [ $asan = 1 ]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}max_allocation_size_mb=4096:allocator_may_return_null=1:rss_limit_mb=4096"
fi
pass=0 fail=0
report() { fail=$((fail + 1)); printf 'FAIL %s: expected %s, got %s\n' "$1" "$2" "$3"; }

# matches LINE SPEC: SPEC is "~REGEX" or literal fragments separated by " ... ",
# the first a prefix of LINE and the rest following it in order.
matches() {
  local line=$1 spec=$2
  if [ "${spec:0:1}" = "~" ]; then
    [[ $line =~ ${spec:1} ]]
    return
  fi
  local rest=$line first=1 frag
  while [ -n "$spec" ]; do
    if [[ $spec == *" ... "* ]]; then frag=${spec%%" ... "*} spec=${spec#*" ... "}; else frag=$spec spec=; fi
    if [ $first = 1 ]; then
      [[ $rest == "$frag"* ]] || return 1
      rest=${rest:${#frag}}
      first=0
    else
      [[ $rest == *"$frag"* ]] || return 1
      rest=${rest#*"$frag"}
    fi
  done
  return 0
}

subst() { # the placeholders of a command, check or message
  local s=$1
  s=${s//@NNC@/$nnc}
  s=${s//@D@/$data}
  s=${s//@T@/$2}
  s=${s//@ERR@/$2.err}
  s=${s//@BAD@/$here}
  printf '%s' "$s"
}

run_case() {
  local name=$1 want=$2 msg=$3 cmd=$4 check=${5:-}
  local t=$work/case/$name
  mkdir -p "$t"
  msg=$(subst "$msg" "$t")
  (
    cd "$t" || exit 99
    [ $asan = 1 ] || ulimit -v 4000000
    exec timeout -k 5 90 bash -c "$(subst "$cmd" "$t")"
  ) >"$t.out" 2>"$t.err" </dev/null
  local rc=$? lines
  lines=$(wc -l <"$t.err")
  local first
  first=$(head -n 1 "$t.err")
  # 124: timeout's own status; 137: its SIGKILL after the grace period
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then report "$name" "exit $want" "a timeout (90 s)"; return; fi
  if [ $rc -gt 128 ]; then report "$name" "exit $want" "signal $((rc - 128)): $first"; return; fi
  if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$t.err"; then
    report "$name" "exit $want" "a sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$t.err")"
    return
  fi
  if [ "$rc" != "$want" ]; then report "$name" "exit $want" "exit $rc: $first"; return; fi
  if [ "$msg" = "-" ]; then
    if [ -s "$t.err" ]; then report "$name" "no message" "'$first'"; return; fi
  elif [ "$want" != 0 ]; then
    # one line naming the command: "nnc <cmd>: ..." (the word after the binary)
    local words=($cmd) cmdname="" i
    for ((i = 0; i < ${#words[@]}; i++)); do
      if [ "${words[$i]}" = "@NNC@" ]; then cmdname=${words[$((i + 1))]:-}; break; fi
    done
    local prefix="nnc $cmdname: "
    case $cmdname in compile | fit | evaluate | predict | train-on-batch) ;; *) prefix="nnc: " ;; esac
    if [ "$lines" -ne 1 ]; then report "$name" "one line on stderr" "$lines lines: $first"; return; fi
    if [[ $first != "$prefix"* ]]; then
      report "$name" "'$prefix...'" "'$first'"
      return
    fi
    if ! matches "$first" "$msg"; then report "$name" "'$msg'" "'$first'"; return; fi
  elif ! matches "$(cat "$t.err")" "$msg"; then
    report "$name" "'$msg' on stderr" "'$first'"
    return
  fi
  if [ -n "$check" ] && ! (cd "$t" && bash -c "$(subst "$check" "$t")") >"$t.check" 2>&1; then
    report "$name" "check '$check' to pass" "it failed: $(head -c 300 "$t.check" | tr '\n' ' ')"
    return
  fi
  pass=$((pass + 1))
}

while IFS=$'\t' read -r name want msg cmd check; do
  case $name in '' | '#'*) continue ;; esac
  [ -n "$pattern" ] && ! [[ $name =~ $pattern ]] && continue
  run_case "$name" "$want" "$msg" "$cmd" "$check"
done <"$here/cases.tsv"

# The C API: capi_misuse checks the returned code and message itself, one
# process per case so that a crash is one failed case.
if [ -x "$capi" ]; then
  for name in $("$capi" --list); do
    [ -n "$pattern" ] && ! [[ capi_$name =~ $pattern ]] && continue
    out=$(timeout -k 5 90 "$capi" "$name" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
      pass=$((pass + 1))
    elif [ $rc -gt 128 ]; then
      report "capi_$name" "no crash" "signal $((rc - 128)): $(printf '%s' "$out" | head -n 1)"
    else
      fail=$((fail + 1))
      printf '%s\n' "$out" | grep '^FAIL' || echo "FAIL capi_$name: exit $rc: $(printf '%s' "$out" | head -n 1)"
    fi
  done
else
  report capi_misuse "the driver at $capi" "no such executable"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
