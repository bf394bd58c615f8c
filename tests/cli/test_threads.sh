#!/usr/bin/env bash
# `nnc fit --threads N` (once a crash: workers read their identity before it
# was written): 1, 4 and 16 threads give byte-identical weights and history,
# and the 16-thread run is repeated. Also run under ThreadSanitizer by
# tests/run.sh (build-tsan).
# usage: test_threads.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# this small model splits its groups on the pool (rather than running its
# steps on one thread, as a step this small does by default)
export NNC_SPLIT_SMALL_STEPS=1

case=$oracle/cases/seed004_mlp # x (250, 1001), y (250, 1)
dense() { printf '{"class_name": "Dense", "config": {"name": "%s", "units": %s, "activation": "relu"}}' "$1" "$2"; }
printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 1001], "name": "in"}},
  %s, {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.1}}, %s,
  {"class_name": "Dense", "config": {"name": "out", "units": 1}}]},
  "compile_config": {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]}}' \
  "$(dense d1 48)" "$(dense d2 40)" >"$tmp/spec.json"

fit() { # fit THREADS TAG
  "$nnc" fit "$tmp/spec.json" --x "$case/x.npy" --y "$case/y.npy" --epochs 2 --batch-size 24 \
    --validation-split 0.2 --seed 7 --verbose 0 --threads "$1" \
    --weights-out "$tmp/w$2.safetensors" --history "$tmp/h$2.json" >"$tmp/out$2" 2>&1
}
fit 1 ref
rc=$?
if [ $rc -eq 0 ] && [ -s "$tmp/wref.safetensors" ]; then ok; else bad "1 thread: exit $rc: $(cat "$tmp/outref")"; fi
for run in 4 16 16b 16c; do
  fit "${run%[bc]}" "$run"
  rc=$?
  if [ $rc -ne 0 ]; then bad "--threads ${run%[bc]}: exit $rc: $(cat "$tmp/out$run")"; continue; fi
  if cmp -s "$tmp/wref.safetensors" "$tmp/w$run.safetensors" && cmp -s "$tmp/href.json" "$tmp/h$run.json"; then
    ok
  else
    bad "--threads ${run%[bc]}: weights or history differ from 1 thread"
  fi
done

# --thread-tuning on|off: batches of 64 rows put this model's train step in
# the timed band (2^22 to 2^24 multiply-adds) on two threads; either way the
# same bytes as one thread. A value other than on/off is refused.
unset NNC_SPLIT_SMALL_STEPS
fit64() { # fit64 TAG OPTIONS...
  local tag=$1
  shift
  "$nnc" fit "$tmp/spec.json" --x "$case/x.npy" --y "$case/y.npy" --epochs 2 --batch-size 64 \
    --seed 7 --verbose 0 "$@" --weights-out "$tmp/w$tag.safetensors" \
    --history "$tmp/h$tag.json" >"$tmp/out$tag" 2>&1
}
fit64 t1 --threads 1
for mode in on off; do
  fit64 "t$mode" --threads 2 --thread-tuning "$mode"
  rc=$?
  if [ $rc -eq 0 ] && cmp -s "$tmp/wt1.safetensors" "$tmp/wt$mode.safetensors" &&
    cmp -s "$tmp/ht1.json" "$tmp/ht$mode.json"; then
    ok
  else
    bad "--thread-tuning $mode: exit $rc or results differ from 1 thread: $(cat "$tmp/outt$mode")"
  fi
done
fit64 tbad --threads 2 --thread-tuning maybe
rc=$?
if [ $rc -eq 2 ] && grep -q -- "--thread-tuning: expected on or off, got 'maybe'" "$tmp/outtbad" &&
  [ ! -e "$tmp/wtbad.safetensors" ]; then
  ok
else
  bad "--thread-tuning maybe: exit $rc: $(cat "$tmp/outtbad")"
fi

echo "test_threads.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
