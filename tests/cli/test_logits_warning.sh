#!/usr/bin/env bash
# Keras's from_logits warning (docs/semantics.md): a crossentropy with
# from_logits=True on a sigmoid/softmax output prints Keras's text once on
# stderr (the command still succeeds); from_logits=false prints nothing.
# usage: test_logits_warning.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case=$oracle/cases/seed000_logreg

spec() { # spec FROM_LOGITS -> a (None, 1) sigmoid logistic regression with BCE
  printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 1], "name": "in"}}, {"class_name": "Dense", "config": {"name": "out", "units": 1, "activation": "sigmoid"}}]}, "compile_config": {"optimizer": "sgd", "loss": {"class_name": "BinaryCrossentropy", "config": {"from_logits": %s}}, "metrics": ["accuracy"]}}' "$1"
}
spec true >"$tmp/t.json"
spec false >"$tmp/f.json"
want='UserWarning: "`binary_crossentropy` received `from_logits=True`, but the `output` argument was produced by a Sigmoid activation and thus does not represent logits. Was this intended?'

"$nnc" compile "$tmp/t.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$tmp/err")" = "nnc compile: $want" ]; then ok; else bad "compile: exit $rc, stderr '$(cat "$tmp/err")'"; fi

"$nnc" fit "$tmp/t.json" --x "$case/x.npy" --y "$case/y.npy" --epochs 2 --verbose 0 >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$tmp/err")" = "nnc fit: $want" ]; then ok; else bad "fit: exit $rc, stderr '$(cat "$tmp/err")'"; fi

# predict computes no loss: Keras traces none and warns about nothing
"$nnc" predict "$tmp/t.json" --x "$case/x.npy" --out "$tmp/p.npy" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ]; then ok; else bad "predict: exit $rc, stderr '$(cat "$tmp/err")'"; fi

for cmd in compile fit; do
  args=()
  [ $cmd = fit ] && args=(--x "$case/x.npy" --y "$case/y.npy" --epochs 1 --verbose 0)
  "$nnc" $cmd "$tmp/f.json" "${args[@]}" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ]; then ok; else bad "$cmd, from_logits false: exit $rc, stderr '$(cat "$tmp/err")'"; fi
done

echo "logits warning: $pass passed, $fail failed"
[ $fail -eq 0 ]
