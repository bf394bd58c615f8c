#!/usr/bin/env bash
# Session 11 (the whole fit, peak memory): the process that fits W3's model (Dense 64
# + Dropout, RMSprop, mse + mae, --validation-split) writes the same History and
# weights as main did before the session (15bf33c, recorded below), whether LLVM
# compiles the model (NNC_CACHE=0: the build then gives the compile's freed heap
# back with malloc_trim before training) or the object cache supplies the code, at
# both vector widths and with 1 or 2 threads (bit-identical there already).
# Session 36 split the first layer's product along K (docs/semantics.md,
# "Determinism"), which changes the last bits: the pinned History and weights
# are those of NNC_KSPLIT=0, and the split runs must agree with each other,
# cold or cached, at both widths, on 1 or 2 threads, and differ from them.
# usage: test_fit11.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case=$oracle/cases/seed004_mlp # x (250, 1001) <f4, y (250, 1) <f4
printf '{"class_name": "Sequential", "config": {"name": "w3", "layers": [
  {"class_name": "Dense", "config": {"name": "d0", "units": 64, "activation": "relu", "batch_input_shape": [null, 1001]}},
  {"class_name": "Dropout", "config": {"name": "p0", "rate": 0.05}},
  {"class_name": "Dense", "config": {"name": "d1", "units": 64, "activation": "relu"}},
  {"class_name": "Dropout", "config": {"name": "p1", "rate": 0.05}},
  {"class_name": "Dense", "config": {"name": "d2", "units": 1, "activation": "linear"}}]},
  "compile_config": {"optimizer": {"class_name": "RMSprop", "config": {"learning_rate": 0.0005}},
  "loss": "mse", "metrics": ["mae"]}}' >"$tmp/spec.json"

# written by main at 15bf33c (/tmp/s11-base/nnc) with this spec, data and options
want_history='{"loss": [19.5520134, 7.90175533], "mae": [3.37840295, 2.16747713], "val_loss": [8.64469147, 5.51662636], "val_mae": [2.43393993, 1.83800888]}'
want_weights=84709fcbe30f3510f76b45351018249b6f902b7eae176c48e70e365b969926ff

fit() { # fit TAG [env assignments...]: against want_history, want_weights
  local tag=$1
  shift
  env "$@" "$nnc" fit "$tmp/spec.json" --x "$case/x.npy" --y "$case/y.npy" --batch-size 32 \
    --validation-split 0.1 --epochs 2 --seed 5 --verbose 0 --history "$tmp/h$tag.json" \
    --weights-out "$tmp/w$tag.safetensors" ${threads:+--threads $threads} >"$tmp/out$tag" 2>&1 ||
    bad "$tag: exit $?: $(cat "$tmp/out$tag")"
  if [ "$(cat "$tmp/h$tag.json" 2>/dev/null)" = "$want_history" ]; then ok; else
    bad "$tag: History $(cat "$tmp/h$tag.json" 2>/dev/null), want $want_history"
  fi
  local got
  got=$(sha256sum "$tmp/w$tag.safetensors" 2>/dev/null | cut -d' ' -f1)
  if [ "$got" = "$want_weights" ]; then ok; else bad "$tag: weights differ from main's (sha256 $got)"; fi
}

threads='' fit cold NNC_CACHE=0 NNC_KSPLIT=0
threads=2 fit cold-w8-t2 NNC_CACHE=0 NNC_VECTOR_WIDTH=8 NNC_KSPLIT=0
# the object cache: filled by the first run, the second links the cached code
threads='' fit fill XDG_CACHE_HOME="$tmp/cache" NNC_KSPLIT=0
threads='' fit warm XDG_CACHE_HOME="$tmp/cache" NNC_KSPLIT=0
[ -n "$(find "$tmp/cache" -type f 2>/dev/null | head -1)" ] && ok || bad "the object cache stayed empty"

# the split product (the default): its first run's History and weights are
# the others' want; none of them is the unsplit one
pinned_history=$want_history pinned_weights=$want_weights
threads='' env NNC_CACHE=0 "$nnc" fit "$tmp/spec.json" --x "$case/x.npy" --y "$case/y.npy" \
  --batch-size 32 --validation-split 0.1 --epochs 2 --seed 5 --verbose 0 \
  --history "$tmp/hsplit.json" --weights-out "$tmp/wsplit.safetensors" >"$tmp/outsplit" 2>&1 ||
  bad "split: exit $?: $(cat "$tmp/outsplit")"
want_history=$(cat "$tmp/hsplit.json" 2>/dev/null)
want_weights=$(sha256sum "$tmp/wsplit.safetensors" 2>/dev/null | cut -d' ' -f1)
[ -n "$want_history" ] && [ "$want_history" != "$pinned_history" ] && ok ||
  bad "split: History $want_history is the unsplit one (or none)"
[ "$want_weights" != "$pinned_weights" ] && ok || bad "split: the unsplit weights"
threads=2 fit split-w8-t2 NNC_CACHE=0 NNC_VECTOR_WIDTH=8
threads='' fit split-fill XDG_CACHE_HOME="$tmp/cache"
threads='' fit split-warm XDG_CACHE_HOME="$tmp/cache"
threads=2 fit split-t2 NNC_CACHE=0 NNC_SPLIT_SMALL_STEPS=1

echo "test_fit11: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
