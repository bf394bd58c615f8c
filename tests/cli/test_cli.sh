#!/usr/bin/env bash
# The nnc command line: malformed specs give one-line errors naming the JSON
# path with exit status 2; fit/evaluate/predict/train-on-batch run end to end, and a
# save/load round trip keeps weights and predictions byte for byte.
# usage: test_cli.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect_error NAME PATTERN SPEC_TEXT [command...]: exit 2, one line on stderr matching PATTERN
expect_error() {
  local name=$1 pattern=$2 text=$3
  shift 3
  printf '%s' "$text" >"$tmp/$name.json"
  local cmd=("$@")
  [ ${#cmd[@]} -eq 0 ] && cmd=(compile)
  "$nnc" "${cmd[0]}" "$tmp/$name.json" "${cmd[@]:1}" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  if [ $rc -ne 2 ]; then bad "$name: exit $rc, expected 2 ($(cat "$tmp/err"))"; return; fi
  if [ "$lines" -ne 1 ]; then bad "$name: $lines lines on stderr"; return; fi
  if ! grep -qF -- "$pattern" "$tmp/err"; then bad "$name: '$(cat "$tmp/err")' lacks '$pattern'"; return; fi
  ok
}

dense() { # dense NAME UNITS [extra]
  printf '{"class_name": "Dense", "config": {"name": "%s", "units": %s%s}}' "$1" "$2" "${3:-}"
}
seq() { # seq LAYERS... -> a Keras 2 Sequential with input (4,)
  local layers="" l
  for l in "$@"; do layers="$layers${layers:+, }$l"; done
  printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "in"}}, %s]}, "compile_config": {"optimizer": "sgd", "loss": "mse"}}' "$layers"
}

expect_error bad_json "invalid JSON" '{"class_name": "Sequential", "config": {'
expect_error unknown_layer '$.config.layers[1]' "$(seq '{"class_name": "Conv9D", "config": {"name": "c"}}')"
expect_error negative_units '$.config.layers[1].config.units' "$(seq "$(dense d -3)")"
expect_error shape_mismatch '$.config.layers[1]' '{"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "in"}}, {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2}, "build_config": {"input_shape": [null, 5]}}]}}'
# fit without a compile config
printf '%s' '{"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "Dense", "config": {"name": "d", "units": 1, "batch_input_shape": [null, 1]}}]}}' >"$tmp/nocompile.json"
"$nnc" fit "$tmp/nocompile.json" --x "$oracle/cases/seed000_logreg/x.npy" --y "$oracle/cases/seed000_logreg/y.npy" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'compile config' "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then ok; else bad "fit without compile config: exit $rc: $(cat "$tmp/err")"; fi
# a missing file and a bad option
"$nnc" compile "$tmp/does-not-exist.json" 2>"$tmp/err"; rc=$?
if [ $rc -eq 2 ] && grep -q 'does-not-exist.json' "$tmp/err"; then ok; else bad "missing spec: exit $rc"; fi
"$nnc" fit "$src/specs/fashion_mnist_mlp.json" --epochs -1 --x a --y b 2>"$tmp/err"; rc=$?
if [ $rc -eq 2 ] && grep -q -- '--epochs' "$tmp/err"; then ok; else bad "bad --epochs: exit $rc"; fi

# round trip on the logistic-regression case: fit, then evaluate/predict from the saved weights
case=$oracle/cases/seed000_logreg
"$nnc" fit "$src/tests/cli/logreg.json" --x "$case/x.npy" --y "$case/y.npy" --epochs 3 --batch-size 100 \
  --no-shuffle --verbose 2 --history "$tmp/h.json" --weights-out "$tmp/w.safetensors" >"$tmp/fit.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '^Epoch 3/3' "$tmp/fit.out" && grep -q '"loss": \[' "$tmp/h.json"; then ok; else bad "fit: exit $rc: $(cat "$tmp/fit.out")"; fi
# Keras 3's progress lines (keras/src/utils/progbar.py): verbose 2 and the final verbose-1 line
v2='^1/1 - [0-9]+s - [0-9]+(us|ms|s)/step - accuracy: [0-9]\.[0-9]{4} - loss: [0-9]\.[0-9]{4}$'
if [ "$(grep -cE "$v2" "$tmp/fit.out")" -eq 3 ]; then ok; else bad "verbose 2 lines: $(cat "$tmp/fit.out")"; fi
"$nnc" fit "$src/tests/cli/logreg.json" --x "$case/x.npy" --y "$case/y.npy" --epochs 1 --batch-size 100 \
  --no-shuffle --verbose 1 >"$tmp/fit1.out" 2>&1
v1='^1/1 ━{20} [0-9]+s [0-9]+(us|ms|s)/step - accuracy: [0-9]\.[0-9]{4} - loss: [0-9]\.[0-9]{4}$'
# one epoch: no "Epoch 1/1" line (Keras prints it only when epochs > 1)
if grep -qE "$v1" "$tmp/fit1.out" && ! grep -q '^Epoch' "$tmp/fit1.out"; then ok; else bad "verbose 1 line: $(cat "$tmp/fit1.out")"; fi
"$nnc" fit "$src/tests/cli/logreg.json" --x "$case/x.npy" --y "$case/y.npy" --epochs 2 --verbose 0 >"$tmp/fit0.out" 2>&1
if [ ! -s "$tmp/fit0.out" ]; then ok; else bad "verbose 0 printed: $(cat "$tmp/fit0.out")"; fi
"$nnc" evaluate "$src/tests/cli/logreg.json" --weights "$tmp/w.safetensors" --x "$case/x.npy" --y "$case/y.npy" \
  --batch-size 100 >"$tmp/eval.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q 'loss: ' "$tmp/eval.out"; then ok; else bad "evaluate: exit $rc: $(cat "$tmp/eval.out")"; fi
"$nnc" predict "$src/tests/cli/logreg.json" --weights "$tmp/w.safetensors" --x "$case/x.npy" --out "$tmp/p.npy" 2>"$tmp/err"
rc=$?
# a .npy of 100x1 float32: 128-byte header + 400 bytes
if [ $rc -eq 0 ] && [ "$(stat -c %s "$tmp/p.npy")" -eq 528 ]; then ok; else bad "predict: exit $rc: $(cat "$tmp/err")"; fi
"$nnc" train-on-batch "$src/tests/cli/logreg.json" --x "$case/x.npy" --y "$case/y.npy" --steps 5 --trace "$tmp/t.json" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '"step"' "$tmp/t.json")" -eq 5 ]; then ok; else bad "train-on-batch: exit $rc"; fi
# a save/load round trip keeps the values, on non-square kernels ([20, 6] and [6, 1]):
# predictions from the saved weights, and from those weights loaded and saved again
# (fit --epochs 0), are the same bytes; the weights file too. Another seed predicts
# otherwise, so the comparison can fail.
rt=$oracle/cases/adam_early_stop
printf '%s' '{"class_name": "Sequential", "config": {"name": "m", "layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 20], "name": "in"}}, {"class_name": "Dense", "config": {"name": "wide", "units": 6, "activation": "relu"}}, {"class_name": "Dense", "config": {"name": "narrow", "units": 1}}]}, "compile_config": {"optimizer": "adam", "loss": "mse"}}' >"$tmp/rt.json"
rt_fit() { "$nnc" fit "$tmp/rt.json" --x "$rt/x.npy" --y "$rt/y.npy" --verbose 0 "$@" 2>>"$tmp/rt.err"; }
rt_predict() { "$nnc" predict "$tmp/rt.json" --weights "$1" --x "$rt/x.npy" --out "$2" 2>>"$tmp/rt.err"; }
if rt_fit --epochs 2 --seed 4 --weights-out "$tmp/rt1.safetensors" &&
  rt_predict "$tmp/rt1.safetensors" "$tmp/rt1.npy" &&
  rt_fit --epochs 0 --weights-in "$tmp/rt1.safetensors" --weights-out "$tmp/rt2.safetensors" &&
  rt_predict "$tmp/rt2.safetensors" "$tmp/rt2.npy" &&
  rt_fit --epochs 0 --seed 5 --weights-out "$tmp/rt3.safetensors" &&
  rt_predict "$tmp/rt3.safetensors" "$tmp/rt3.npy"; then
  if ! cmp -s "$tmp/rt1.safetensors" "$tmp/rt2.safetensors"; then bad "weights changed in a load/save round trip"
  elif ! cmp -s "$tmp/rt1.npy" "$tmp/rt2.npy"; then bad "predictions changed in a load/save round trip"
  elif cmp -s "$tmp/rt1.npy" "$tmp/rt3.npy"; then bad "seeds 4 and 5 predict the same: the round trip compares nothing"
  else ok; fi
else
  bad "round trip: $(cat "$tmp/rt.err")"
fi
# an existing output file survives a failed write (the directory of the target does not exist)
echo keep >"$tmp/keep.npy"
"$nnc" predict "$src/tests/cli/logreg.json" --weights "$tmp/missing.safetensors" --x "$case/x.npy" --out "$tmp/keep.npy" 2>/dev/null
if [ "$(cat "$tmp/keep.npy")" = keep ]; then ok; else bad "predict damaged an existing file on failure"; fi
# dumps: the inference graphs hold no dropout node, the train graph a dropout mask
"$nnc" compile "$src/specs/fashion_mnist_mlp.json" --dump-graph --phase infer >"$tmp/infer.txt" 2>&1
"$nnc" compile "$src/specs/fashion_mnist_mlp.json" --dump-graph --phase train >"$tmp/train.txt" 2>&1
if ! grep -q dropout "$tmp/infer.txt" && grep -q dropout_mask "$tmp/train.txt" && grep -q '^graph predict' "$tmp/infer.txt"; then ok; else bad "dropout in dumps"; fi

# --dump-after: "all" anywhere in the list is every pass; a pass named twice is dumped once
dumps() { "$nnc" compile "$src/specs/fashion_mnist_mlp.json" --dump-after "$1" | grep -c '^; after '; }
all=$(dumps all) lower_all=$(dumps lower,all) all_all=$(dumps all,all) lower=$(dumps lower) twice=$(dumps lower,lower)
if [ "$all" -gt 20 ] && [ "$lower_all" = "$all" ] && [ "$all_all" = "$all" ] && [ "$lower" = 3 ] && [ "$twice" = 3 ]; then
  ok
else
  bad "--dump-after: all $all, lower,all $lower_all, all,all $all_all, lower $lower, lower,lower $twice"
fi

# NNC_VECTOR_WIDTH really changes the kernels (test_vector_width relies on it)
w16=$(NNC_VECTOR_WIDTH=16 "$nnc" compile "$src/specs/fashion_mnist_mlp.json" --dump-ir=pre | grep -c 'fma.v16f32')
w4=$(NNC_VECTOR_WIDTH=4 "$nnc" compile "$src/specs/fashion_mnist_mlp.json" --dump-ir=pre | grep -c 'fma.v4f32')
if [ "$w16" -gt 0 ] && [ "$w4" -gt 0 ]; then ok; else bad "NNC_VECTOR_WIDTH had no effect ($w16, $w4)"; fi

# session 39: the IR and viz dumps to stdout go through a private folder
# under $TMPDIR, used whole however long (it was cut at 40 bytes) and removed
# when the reader goes away (SIGPIPE: exit 141) or nnc is killed (SIGTERM)
long=$tmp/a_folder_name_well_over_forty_bytes_long_for_tmpdir
mkdir -p "$long"
n_ir=$(TMPDIR=$long "$nnc" compile "$src/tests/cli/logreg.json" --dump-ir | grep -c '^define')
n_html=$(TMPDIR=$long "$nnc" compile "$src/tests/cli/logreg.json" --dump-graph=html | grep -c '<html')
if [ "$n_ir" -gt 0 ] && [ "$n_html" -gt 0 ] && [ -z "$(ls -A "$long")" ]; then ok; else
  bad "dumps with a long TMPDIR: $n_ir functions, $n_html pages, left: $(ls -A "$long")"
fi
TMPDIR=$long "$nnc" compile "$src/specs/fashion_mnist_mlp.json" --dump-ir=post --no-cache | head -c 10 >/dev/null
rc=${PIPESTATUS[0]}
if [ "$rc" = 141 ] && [ -z "$(ls -A "$long")" ]; then ok; else bad "--dump-ir | head: exit $rc, left: $(ls -A "$long")"; fi
TMPDIR=$long "$nnc" compile "$src/specs/fashion_mnist_mlp.json" --dump-ir=pre --dump-graph=dot --no-cache >/dev/null &
pid=$!
for _ in $(seq 100); do [ -n "$(ls -A "$long")" ] && break; sleep 0.02; done
kill -TERM "$pid"
wait "$pid"
rc=$?
if [ "$rc" = 143 ] && [ -z "$(ls -A "$long")" ]; then ok; else
  bad "SIGTERM during --dump-ir --dump-graph=dot: exit $rc, left: $(ls -A "$long")"
fi

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
