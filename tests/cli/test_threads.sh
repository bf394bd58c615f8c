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

echo "test_threads.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
