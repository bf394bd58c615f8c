#!/usr/bin/env bash
# fit --optimizer-state-out / --optimizer-state-in: 2 epochs, save weights and
# optimizer state, 2 more epochs from them equal 4 uninterrupted epochs byte
# for byte (Nadam: its moments, u_product and step count all matter; without
# the state file the resumed run differs, so the comparison can fail).
# usage: test_optimizer_state.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data=$oracle/cases/adam_early_stop
printf '%s' '{"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 20], "name": "in"}}, {"class_name": "Dense", "config": {"name": "wide", "units": 6, "activation": "relu"}}, {"class_name": "Dense", "config": {"name": "narrow", "units": 1}}]}, "compile_config": {"optimizer": {"class_name": "Nadam", "config": {"learning_rate": 0.01}}, "loss": "mse"}}' >"$tmp/m.json"
run() { "$nnc" fit "$tmp/m.json" --x "$data/x.npy" --y "$data/y.npy" --verbose 0 --no-shuffle --seed 3 "$@" 2>>"$tmp/err"; }
if run --epochs 4 --weights-out "$tmp/whole.safetensors" &&
  run --epochs 2 --weights-out "$tmp/half.safetensors" --optimizer-state-out "$tmp/state.safetensors" &&
  run --epochs 2 --weights-in "$tmp/half.safetensors" --optimizer-state-in "$tmp/state.safetensors" \
    --weights-out "$tmp/resumed.safetensors" --optimizer-state-out "$tmp/state.safetensors" &&
  run --epochs 2 --weights-in "$tmp/half.safetensors" --weights-out "$tmp/fresh.safetensors"; then
  if ! cmp -s "$tmp/whole.safetensors" "$tmp/resumed.safetensors"; then bad "a resumed fit differs from an uninterrupted one"
  elif cmp -s "$tmp/whole.safetensors" "$tmp/fresh.safetensors"; then bad "resuming without the state file gives the same weights: the test compares nothing"
  else ok; fi
else
  bad "fit failed: $(cat "$tmp/err")"
fi

# the state of another optimizer: exit 2, one line naming the file and the tensor
printf '%s' '{"optimizer": {"class_name": "SGD", "config": {"momentum": 0.5}}, "loss": "mse"}' >"$tmp/sgd.json"
"$nnc" fit "$tmp/m.json" --x "$data/x.npy" --y "$data/y.npy" --epochs 0 --compile-config "$tmp/sgd.json" \
  --optimizer-state-in "$tmp/state.safetensors" >/dev/null 2>"$tmp/err2"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err2")" -eq 1 ] &&
  grep -qF "state.safetensors: tensor 'u_product' is not a variable of this model's optimizer" "$tmp/err2"; then ok
else bad "another optimizer's state: exit $rc: $(cat "$tmp/err2")"; fi

# --optimizer-state-out on the spec file itself is refused before training
"$nnc" fit "$tmp/m.json" --x "$data/x.npy" --y "$data/y.npy" --epochs 1 --optimizer-state-out "$tmp/m.json" \
  >/dev/null 2>"$tmp/err3"
rc=$?
if [ $rc -eq 2 ] && grep -qF "is the same file as SPEC" "$tmp/err3"; then ok
else bad "--optimizer-state-out SPEC: exit $rc: $(cat "$tmp/err3")"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
