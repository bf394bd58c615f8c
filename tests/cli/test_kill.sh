#!/usr/bin/env bash
# Kill test: `nnc fit ... --weights-out W --history H` killed at random
# moments. After every SIGKILL each output is the old complete version or
# the new complete version (byte for byte; both were checked to load), and
# at most the killed write's temporary file remains (SIGKILL cannot be
# caught; later writes step over it). After every SIGTERM no temporary file
# remains and the exit status is the signal's (test_files.sh sends one at
# an exact moment inside a write).
# usage: test_kill.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

x=$oracle/cases/seed000_logreg/x.npy y=$oracle/cases/seed000_logreg/y.npy
# A small model (1 -> 64 -> 1): a run is mostly compiling, so it is short.
dense() { printf '{"class_name": "Dense", "config": {"name": "%s", "units": %s, "activation": "%s"}}' "$@"; }
printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 1], "name": "in"}}, %s, %s]}, "compile_config": {"optimizer": "sgd", "loss": "binary_crossentropy", "metrics": ["accuracy"]}}' \
  "$(dense hidden 64 relu)" "$(dense out 1 sigmoid)" >"$tmp/spec.json"
fit() { # fit DIR EPOCHS: train with outputs DIR/w.safetensors, DIR/h.json
  exec "$nnc" fit "$tmp/spec.json" --x "$x" --y "$y" --epochs "$2" --batch-size 50 --verbose 0 \
    --weights-out "$1/w.safetensors" --history "$1/h.json"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
sleep_ms() { sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }
temps() { find "$1" -name '*.tmp.*' | wc -l; }
# The whole script stays under a minute, even under ASan on a busy machine:
# no kill starts after 40 s, no SIGTERM after 52 s.
script_start=$(date +%s)

# The old version (1 epoch) and the new one (3 epochs): each run is
# deterministic, so a complete output equals one of these byte for byte.
mkdir "$tmp/old" "$tmp/new" "$tmp/new2" "$tmp/new3" "$tmp/new4"
(fit "$tmp/old" 1) || bad "the first run failed"
# Four new runs side by side, as the kill lanes below run: their time is
# what the kill moments are scaled to.
t0=$(now_ms)
for d in new new2 new3 new4; do (fit "$tmp/$d" 3) & done
wait
run_ms=$(($(now_ms) - t0))
for d in new2 new3 new4; do
  cmp -s "$tmp/new/w.safetensors" "$tmp/$d/w.safetensors" && cmp -s "$tmp/new/h.json" "$tmp/$d/h.json" ||
    bad "two runs of the new version differ"
done
for v in old new; do
  "$nnc" evaluate "$tmp/spec.json" --weights "$tmp/$v/w.safetensors" --x "$x" --y "$y" >/dev/null 2>"$tmp/err" ||
    bad "$v weights do not load: $(cat "$tmp/err")"
  # Valid JSON by nnc's own parser: a history is no spec, but not "invalid JSON"
  # (checked to tell: a truncated history is).
  "$nnc" compile "$tmp/$v/h.json" 2>"$tmp/err"
  if grep -q 'invalid JSON' "$tmp/err"; then bad "$v history is not JSON"; fi
done
head -c 20 "$tmp/new/h.json" >"$tmp/cut.json"
"$nnc" compile "$tmp/cut.json" 2>&1 | grep -q 'invalid JSON' || bad "the JSON check cannot tell"
cmp -s "$tmp/old/w.safetensors" "$tmp/new/w.safetensors" && bad "old and new weights are equal"

# state DIR FILE: old, new, absent or "torn"
state() {
  if [ ! -e "$1/$2" ]; then echo absent
  elif cmp -s "$1/$2" "$tmp/old/$2"; then echo old
  elif cmp -s "$1/$2" "$tmp/new/$2"; then echo new
  else echo torn; fi
}
reset_run() { rm -f "$1/w.safetensors" "$1/h.json"; cp "$tmp/old/"* "$1/"; }

# Where kills land: uniformly in [0, 1.1 * run time] (at most 1.4 s, to stay
# in time when a run is slow); in the last 20% of the run, where the outputs
# are written; or when a temporary file appears.
kill_delay() {
  local span=$((run_ms * 11 / 10))
  [ $span -gt 1400 ] && span=1400
  if [ $((RANDOM % 2)) -eq 0 ] && [ $run_ms -le 1500 ]; then
    echo $((run_ms * 8 / 10 + RANDOM * run_ms * 25 / 100 / 32768))
  else echo $((RANDOM * span / 32768)); fi
}
kill_at_random_moment() { # kill_at_random_moment DIR PID SIGNAL
  # SIGKILL: one in four kills when a temporary file appears; SIGTERM, whose
  # handler is what is tested, one in two, at once.
  local mode=$((RANDOM % 4)) pause=$((RANDOM % 21))
  [ "$3" = TERM ] && mode=$((RANDOM % 2)) pause=0
  if [ $mode -eq 0 ]; then
    local wait_ms=$((3 * run_ms)) until
    [ $wait_ms -gt 4000 ] && wait_ms=4000
    until=$(($(now_ms) + wait_ms))
    while ! compgen -G "$1/*.tmp.*" >/dev/null && kill -0 "$2" 2>/dev/null &&
      [ "$(now_ms)" -lt $until ]; do :; done
    [ $pause -gt 0 ] && sleep_ms $pause
  else
    sleep_ms "$(kill_delay)"
  fi
  kill "-$3" "$2" 2>/dev/null
}

# lane DIR SIGNAL COUNT DEADLINE: up to COUNT runs in DIR, each killed with
# SIGNAL at a random moment, each printing
# "EXIT_STATUS HISTORY_STATE WEIGHTS_STATE NEW_TEMPS TEMPS_IN_DIR".
# Lanes run side by side: a lane mostly sleeps until its kill moment, so
# four of them make four times the kills in the time bound.
lane() {
  local dir=$1 sig=$2 count=$3 deadline=$4 i=0 pid status before
  mkdir -p "$dir"
  while [ $i -lt "$count" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    reset_run "$dir"
    before=$(temps "$dir") # stale ones from earlier kills stay: later runs step over them
    (fit "$dir" 3) >/dev/null 2>&1 &
    pid=$!
    kill_at_random_moment "$dir" $pid "$sig"
    wait $pid 2>/dev/null
    status=$?
    echo "$status $(state "$dir" h.json) $(state "$dir" w.safetensors) $(($(temps "$dir") - before)) $(temps "$dir")"
    i=$((i + 1))
  done
}
summary() { cut -d' ' -f"$1" "$2" | sort | uniq -c | tr -s ' \n' ' '; }

for l in 1 2 3 4; do lane "$tmp/run$l" KILL 13 $((script_start + 40)) >"$tmp/kill.$l" & done
wait
cat "$tmp"/kill.? >"$tmp/kill.all"
kills=$(wc -l <"$tmp/kill.all")
if [ "$kills" -ge 50 ]; then ok; else bad "only $kills kills before the deadline (a run takes $run_ms ms)"; fi
n=0
while read -r status h w new_temps _; do
  n=$((n + 1))
  case "$h $w" in old\ old | old\ new | new\ old | new\ new) ;; *) bad "kill $n: history $h, weights $w" ;; esac
  [ "$new_temps" -le 1 ] || bad "kill $n: $new_temps new temporary files"
  [ "$status" -eq 137 ] || [ "$status" -eq 0 ] || bad "kill $n: exit status $status"
done <"$tmp/kill.all"
stale=$(temps "$tmp/run1")
reset_run "$tmp/run1"
if (fit "$tmp/run1" 3) && [ "$(state "$tmp/run1" w.safetensors)" = new ] &&
  [ "$(state "$tmp/run1" h.json)" = new ]; then ok
else bad "a complete run next to $stale stale temporary files failed"; fi
echo "SIGKILL: $kills kills, a run takes $run_ms ms; (history, weights):" \
  "$(cut -d' ' -f2,3 "$tmp/kill.all" | tr ' ' , | sort | uniq -c | tr -s ' \n' ' ');" \
  "stale temporary files: $(find "$tmp" -name '*.tmp.*' | wc -l)"

# SIGTERM: the handler removes the temporary file and dies of the signal.
for l in 1 2; do lane "$tmp/term$l" TERM 5 $((script_start + 52)) >"$tmp/term.$l" & done
wait
cat "$tmp"/term.? >"$tmp/term.all"
terms=$(wc -l <"$tmp/term.all")
if [ "$terms" -ge 10 ]; then ok; else bad "only $terms SIGTERMs before the deadline"; fi
n=0
while read -r status h w _ left; do
  n=$((n + 1))
  case "$h $w" in old\ old | old\ new | new\ old | new\ new) ;; *) bad "SIGTERM $n: history $h, weights $w" ;; esac
  [ "$left" -eq 0 ] || bad "SIGTERM $n: $left temporary files remain"
  [ "$status" -eq 143 ] || [ "$status" -eq 0 ] || bad "SIGTERM $n: exit status $status"
done <"$tmp/term.all"
echo "SIGTERM: $terms runs, exit statuses: $(summary 1 "$tmp/term.all")"

echo "kill: $pass passed, $fail failed"
[ $fail -eq 0 ]
