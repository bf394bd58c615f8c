#!/usr/bin/env bash
# TF.js round trip with the oracle's TensorFlow.js 4.22 (../shared/oracle,
# tests/cli/tfjs_oracle.js): models nnc trains and saves with `fit --save-tfjs
# DIR` (a Keras 3 Sequential, a Keras 3 Functional with Conv2D,
# BatchNormalization, DepthwiseConv2D and two branches, an LSTM) load in
# tf.loadLayersModel and predict within 1e-6 of nnc; a model TF.js trains and
# saves (model.json + ./weights.bin) predicts in nnc (`--weights model.json`)
# within 1e-6 of TF.js. Without node or the oracle's node_modules (`npm ci` in
# ../shared/oracle) the round trips are skipped, saying so; the refusals at the
# end run anyway.
# usage: test_tfjs12.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
js=$src/tests/cli/tfjs_oracle.js

# npy DIR KIND: x.npy and y.npy, 16 samples: images (6, 6, 2) -> 6 or sequences (5, 3) -> 1
npy() {
  PYTHONPATH="$src/tests/cli" python3 - "$@" <<'EOF'
import math, sys
from npy_f32 import npy  # tests/cli/npy_f32.py
out, kind, n = sys.argv[1], sys.argv[2], 16
if kind == "img":
    npy(out + "/x.npy", (n, 6, 6, 2), [math.sin(0.37 * i) for i in range(n * 72)])
    npy(out + "/y.npy", (n, 6), [math.cos(0.11 * i) for i in range(n * 6)])
else:
    npy(out + "/x.npy", (n, 5, 3), [math.sin(0.23 * i) for i in range(n * 15)])
    npy(out + "/y.npy", (n, 1), [math.cos(0.5 * i) for i in range(n)])
EOF
}

# close A B: npy_close (lib.sh) with this test's oracle
close() { npy_close "$oracle" "$1" "$2"; }

# k3_layer CLASS NAME CONFIG INBOUND: one Keras 3 Functional layer entry
k3_tensor() { printf '{"class_name": "__keras_tensor__", "config": {"keras_history": ["%s", 0, 0]}}' "$1"; }
k3_layer() {
  printf '{"module": "keras.layers", "class_name": "%s", "config": {"name": "%s", "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}%s}, "registered_name": null, "name": "%s", "inbound_nodes": [{"args": [%s], "kwargs": {}}]}' \
    "$1" "$2" "$3" "$2" "$4"
}

# roundtrip NAME SPEC KIND: nnc fits SPEC for 2 epochs, saves it as TF.js; the
# oracle's TF.js loads it and predicts what nnc predicts
roundtrip() {
  local d=$tmp/$1
  mkdir -p "$d"
  npy "$d" "$3"
  if ! "$nnc" fit "$2" --x "$d/x.npy" --y "$d/y.npy" --epochs 2 --batch-size 8 --verbose 0 \
    --weights-out "$d/w.safetensors" --save-tfjs "$d/tfjs" >"$d/fit.log" 2>&1; then
    bad "$1: nnc fit --save-tfjs: $(cat "$d/fit.log")"
    return
  fi
  "$nnc" predict "$2" --weights "$d/w.safetensors" --x "$d/x.npy" --out "$d/p_nnc.npy" ||
    bad "$1: nnc predict"
  # nnc reads its own files back bit for bit
  "$nnc" predict "$d/tfjs/model.json" --weights "$d/tfjs/model.json" --x "$d/x.npy" \
    --out "$d/p_back.npy" && cmp -s "$d/p_nnc.npy" "$d/p_back.npy" && ok ||
    bad "$1: nnc's own TF.js files do not predict what the model did"
  if node "$js" "$oracle" predict "$d/tfjs" "$d/x.npy" "$d/p_tfjs.npy" &&
    close "$d/p_tfjs.npy" "$d/p_nnc.npy"; then
    ok
  else
    bad "$1: TF.js's predictions of nnc's model.json differ from nnc's"
  fi
}

if ! command -v node >/dev/null || [ ! -d "$oracle/node_modules/@tensorflow/tfjs" ]; then
  echo "NOTICE: node or $oracle/node_modules is absent (npm ci there): skipping the TF.js round trips"
else
  # 1. a Keras 3 Sequential (tests/cli/logreg.json) on the oracle's seed000 data
  d=$tmp/logreg
  mkdir -p "$d"
  "$nnc" fit "$src/tests/cli/logreg.json" --x "$oracle/cases/seed000_logreg/x.npy" \
    --y "$oracle/cases/seed000_logreg/y.npy" --epochs 3 --verbose 0 --save-tfjs "$d/tfjs" \
    --weights-out "$d/w.safetensors" || bad "logreg: fit --save-tfjs"
  "$nnc" predict "$src/tests/cli/logreg.json" --weights "$d/w.safetensors" \
    --x "$oracle/cases/seed000_logreg/x.npy" --out "$d/p_nnc.npy"
  node "$js" "$oracle" predict "$d/tfjs" "$oracle/cases/seed000_logreg/x.npy" "$d/p_tfjs.npy" &&
    close "$d/p_tfjs.npy" "$d/p_nnc.npy" && ok || bad "logreg: TF.js predicts otherwise"
  # telling a model.json from safetensors reads nothing from a pipe
  "$nnc" predict "$src/tests/cli/logreg.json" --weights <(cat "$d/w.safetensors") \
    --x "$oracle/cases/seed000_logreg/x.npy" --out "$d/p_pipe.npy" &&
    cmp -s "$d/p_pipe.npy" "$d/p_nnc.npy" && ok || bad "logreg: safetensors from a pipe"

  # 1b. a Sequential without an input shape (built from the data): the
  # shape it was built for goes on its first layer, as TF.js needs one
  d=$tmp/noshape
  mkdir -p "$d"
  printf '{"class_name": "Sequential", "config": {"name": "n", "layers": [
    {"class_name": "Dense", "config": {"name": "h", "units": 4, "activation": "relu"}},
    {"class_name": "Dense", "config": {"name": "o", "units": 1, "activation": "sigmoid"}}]},
    "compile_config": {"optimizer": "sgd", "loss": "binary_crossentropy"}}' >"$d/spec.json"
  "$nnc" fit "$d/spec.json" --x "$oracle/cases/seed000_logreg/x.npy" \
    --y "$oracle/cases/seed000_logreg/y.npy" --epochs 1 --verbose 0 --save-tfjs "$d/tfjs" \
    --weights-out "$d/w.safetensors" || bad "noshape: fit --save-tfjs"
  "$nnc" predict "$d/spec.json" --weights "$d/w.safetensors" \
    --x "$oracle/cases/seed000_logreg/x.npy" --out "$d/p_nnc.npy"
  grep -q '"batch_input_shape":\[null,1\]' "$d/tfjs/model.json" &&
    node "$js" "$oracle" predict "$d/tfjs" "$oracle/cases/seed000_logreg/x.npy" "$d/p_tfjs.npy" &&
    close "$d/p_tfjs.npy" "$d/p_nnc.npy" && ok || bad "noshape: TF.js predicts otherwise"

  # 2. a Keras 3 Functional: Conv2D, BatchNormalization (moving statistics
  # trained), DepthwiseConv2D, two Dense branches, Concatenate
  cat >"$tmp/functional.json" <<EOF
{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "f",
 "layers": [
  {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 6, 6, 2],
   "dtype": "float32", "sparse": false, "name": "img"}, "registered_name": null, "name": "img",
   "inbound_nodes": []},
  $(k3_layer Conv2D conv ', "filters": 4, "kernel_size": [3, 3], "padding": "same", "activation": "relu"' "$(k3_tensor img)"),
  $(k3_layer BatchNormalization bn ', "axis": -1, "momentum": 0.9' "$(k3_tensor conv)"),
  $(k3_layer DepthwiseConv2D dw ', "kernel_size": [3, 3], "depth_multiplier": 1' "$(k3_tensor bn)"),
  $(k3_layer Flatten fl '' "$(k3_tensor dw)"),
  $(k3_layer Dense p ', "units": 3, "activation": "relu"' "$(k3_tensor fl)"),
  $(k3_layer Dense q ', "units": 3, "activation": "tanh"' "$(k3_tensor fl)"),
  $(k3_layer Concatenate out ', "axis": -1' "[$(k3_tensor p), $(k3_tensor q)]")],
 "input_layers": ["img", 0, 0], "output_layers": ["out", 0, 0]},
 "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam",
  "config": {"learning_rate": 0.01}, "registered_name": null}, "loss": "mse"}}
EOF
  roundtrip functional "$tmp/functional.json" img

  # 3. a Keras 3 LSTM (weights lstm/lstm_cell/...: TF.js drops the cell level)
  cat >"$tmp/lstm.json" <<EOF
{"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 5, 3],
  "dtype": "float32", "sparse": false, "name": "seq"}, "registered_name": null},
 {"module": "keras.layers", "class_name": "LSTM", "config": {"name": "lstm", "units": 4,
  "activation": "tanh", "recurrent_activation": "sigmoid", "return_sequences": false},
  "registered_name": null},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 1},
  "registered_name": null}]},
 "compile_config": {"optimizer": "rmsprop", "loss": "mse"}}
EOF
  roundtrip lstm "$tmp/lstm.json" seq

  # 4. TF.js trains and saves (tfjs-layers names dense_Dense1, ./weights.bin);
  # nnc predicts what TF.js predicts
  d=$tmp/fromtfjs
  mkdir -p "$d"
  if node "$js" "$oracle" train "$d/tfjs" "$oracle/cases/seed000_logreg/x.npy" \
    "$oracle/cases/seed000_logreg/y.npy" "$d/p_tfjs.npy"; then
    grep -q '"paths":\["./weights.bin"\]' "$d/tfjs/model.json" || bad "tfjs save: not ./weights.bin"
    "$nnc" predict "$d/tfjs/model.json" --weights "$d/tfjs/model.json" \
      --x "$oracle/cases/seed000_logreg/x.npy" --out "$d/p_nnc.npy" &&
      close "$d/p_nnc.npy" "$d/p_tfjs.npy" && ok || bad "TF.js's saved model predicts otherwise in nnc"
  else
    bad "tfjs_oracle.js train failed"
  fi
fi

# refusals: a graph model (exit 2, said so), --save-tfjs where a file is
# (exit 1, nothing written)
graph=$src/../shared/models/saved/tfjs-graph-tictactoe-negative/model.json
if [ -f "$graph" ]; then
  "$nnc" predict "$src/tests/cli/logreg.json" --weights "$graph" \
    --x "$oracle/cases/seed000_logreg/x.npy" --out "$tmp/g.npy" 2>"$tmp/g.err"
  rc=$?
  [ $rc -eq 2 ] && grep -q "graph model" "$tmp/g.err" && ok ||
    bad "graph model as weights: exit $rc, $(cat "$tmp/g.err")"
else
  echo "NOTICE: $graph is absent: skipping the graph-model refusal"
fi
if [ -f "$oracle/cases/seed000_logreg/x.npy" ]; then
  : >"$tmp/plain"
  "$nnc" fit "$src/tests/cli/logreg.json" --x "$oracle/cases/seed000_logreg/x.npy" \
    --y "$oracle/cases/seed000_logreg/y.npy" --epochs 1 --verbose 0 --save-tfjs "$tmp/plain" \
    2>"$tmp/p.err"
  rc=$?
  [ $rc -eq 1 ] && grep -q "not a folder" "$tmp/p.err" && [ ! -s "$tmp/plain" ] && ok ||
    bad "--save-tfjs onto a file: exit $rc, $(cat "$tmp/p.err")"
fi

echo "test_tfjs12: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
