#!/usr/bin/env bash
# --save-tfjs and what TF.js 4.22 reads (session 27: a sweep of 864 models
# through nnc and TF.js). nnc reads class and identifier names ignoring case
# and '_' and knows layers, initializers, regularizers, constraints and
# options TF.js lacks or computes otherwise; the writer copied them, so TF.js
# refused the file ("Unknown layer: dense", "Unknown initializer:
# lecunNormal", "Unknown regularizer: L2") or, worse, loaded it and predicted
# other numbers (an "lstm" spelled so lost its sigmoid recurrent_activation;
# LeakyReLU's Keras 3 negative_slope was ignored). Now each is written as
# TF.js spells it, and what has no TF.js form is refused, exit 2, nothing
# written, before training. Truth: the oracle's TF.js loads the written
# model and predicts what nnc predicts (within 1e-6; skipped, saying so,
# without node or the oracle's node_modules); the refusals' conditions by
# hand from the sweep (docs/formats.md, session 27).
# Args: nnc binary, source dir, oracle dir.
set -u
nnc=$1 src=$2 oracle=$3
. "$src/tests/cli/lib.sh"
export NNC_CACHE=0
js=$src/tests/cli/tfjs_oracle.js

PYTHONPATH="$src/tests/cli" python3 - "$tmp" <<'PY'
import json, math, struct, sys
d = sys.argv[1]
from npy_f32 import npy  # tests/cli/npy_f32.py
npy(d + "/x.npy", (12, 6), [1.7 * math.sin(0.29 * i) for i in range(72)])
npy(d + "/y.npy", (12, 1), [0.3 * math.cos(0.7 * i) for i in range(12)])
npy(d + "/xs.npy", (12, 5, 3), [math.sin(0.13 * i) for i in range(180)])
npy(d + "/x4.npy", (12, 3, 2, 2), [1.3 * math.sin(0.37 * i) for i in range(144)])
def seq(layers, shape=(6,)):
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None] + list(shape), "name": "in"}}
    ] + layers}, "compile_config": {"optimizer": "adam", "loss": "mse"}}
out = {"class_name": "DENSE", "config": {"name": "out", "units": 1}}
# spellings and config objects TF.js spells otherwise
json.dump(seq([{"class_name": "dense", "config": {
    "name": "d", "units": 4, "kernel_initializer": "lecun_normal", "bias_initializer": "one",
    "kernel_regularizer": "l2", "bias_regularizer": {"class_name": "L1", "config": {"l1": 0.02}},
    "kernel_constraint": "nonneg"}},
    {"class_name": "LeakyReLU", "config": {"name": "lr", "negative_slope": 0.05}}, out]),
    open(d + "/spelled.json", "w"))
# an "lstm" without recurrent_activation: Keras's sigmoid, which TF.js must be told
json.dump(seq([{"class_name": "lstm", "config": {"name": "l", "units": 4}}, out], (5, 3)),
          open(d + "/lstm.json", "w"))
# the breaker's (session 27): both LeakyReLU keys (alpha wins, as in Keras 3), a Softmax
# with no axis on rank 3 (Keras's -1, TF.js's default 1), an initializer object without
# "config", a VarianceScaling mode spelled "FAN_IN", padding "SAME"
json.dump(seq([{"class_name": "Conv1D", "config": {
    "name": "c", "filters": 4, "kernel_size": 2, "padding": "SAME",
    "kernel_initializer": {"class_name": "VarianceScaling", "config": {"mode": "FAN_IN"}},
    "bias_initializer": {"class_name": "RandomUniform"}}},
    {"class_name": "LeakyReLU", "config": {"name": "lr", "alpha": 0.5, "negative_slope": 0.1}},
    {"class_name": "Softmax", "config": {"name": "sm"}},
    {"class_name": "Flatten", "config": {"name": "f"}}, out], (5, 3)),
    open(d + "/breaker.json", "w"))
frozen = seq([], (6,))
frozen["config"]["layers"] += [{"class_name": "Sequential", "config": {
    "name": "inner", "trainable": False, "layers": [{"class_name": "Dense", "config": {
        "name": "r", "units": 3, "kernel_constraint": "non_neg"}}]}}, out]
json.dump(frozen, open(d + "/frozen_nested.json", "w"))
# no TF.js form
json.dump(seq([{"class_name": "ReLU", "config": {"name": "r", "negative_slope": 0.2}}, out]),
          open(d + "/relu_slope.json", "w"))
json.dump(seq([{"class_name": "Dense", "config": {
    "name": "r", "units": 3, "activity_regularizer": {"class_name": "L2", "config": {"l2": 0.1}}}},
    out]), open(d + "/activity.json", "w"))
json.dump(seq([{"class_name": "GlobalAveragePooling1D", "config": {"name": "r", "keepdims": True}},
               {"class_name": "Flatten", "config": {"name": "f"}}, out], (5, 3)),
          open(d + "/keepdims.json", "w"))
json.dump(seq([{"class_name": "BatchNormalization", "config": {"name": "r", "axis": 1}},
               {"class_name": "Flatten", "config": {"name": "f"}}, out], (3, 2, 2)),
          open(d + "/bn_axis1.json", "w"))
json.dump(seq([{"class_name": "Dense", "config": {
    "name": "r", "units": 3, "trainable": False, "kernel_constraint": "non_neg"}}, out]),
    open(d + "/frozen.json", "w"))
t = lambda layer, i: {"class_name": "__keras_tensor__", "config": {"keras_history": [layer, 0, i]}}
node = lambda *ins: [{"args": [list(ins) if len(ins) > 1 else ins[0]], "kwargs": {}}]
json.dump({"module": "keras", "class_name": "Functional", "config": {"name": "f", "layers": [
    {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 6], "name": "in"},
     "inbound_nodes": []},
    {"class_name": "Dense", "name": "a", "config": {"name": "a", "units": 3},
     "inbound_nodes": node(t("in", 0))},
    {"class_name": "Dense", "name": "b", "config": {"name": "b", "units": 3},
     "inbound_nodes": node(t("in", 0))},
    {"class_name": "Subtract", "name": "r", "config": {"name": "r"},
     "inbound_nodes": node(t("a", 0), t("b", 0))},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1},
     "inbound_nodes": node(t("r", 0))}],
    "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]},
    "compile_config": {"optimizer": "adam", "loss": "mse"}}, open(d + "/subtract.json", "w"))
PY

# what model.json holds: every class, layer d's initializer, regularizers,
# constraint and lr's alpha, one line
written() {
  python3 - "$1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["modelTopology"]["model_config"]
print(" ".join([m["class_name"]] + [l["class_name"] for l in m["config"]["layers"]]))
for l in m["config"]["layers"]:
    c = l["config"]
    if c.get("name") == "d":
        print(json.dumps([c["kernel_initializer"], c["bias_initializer"], c["kernel_regularizer"],
                          c["bias_regularizer"], c["kernel_constraint"]], sort_keys=True))
    if c.get("name") == "lr":
        print(c.get("alpha"), "negative_slope" in c)
    if c.get("name") == "l":
        print(c.get("recurrent_activation"))
    if c.get("name") == "c":
        print(c["padding"], c["kernel_initializer"]["config"]["mode"],
              json.dumps(c["bias_initializer"]))
    if c.get("name") == "sm":
        print(c.get("axis"))
PY
}

have_tfjs=1
if ! command -v node >/dev/null || [ ! -d "$oracle/node_modules/@tensorflow/tfjs" ]; then
  have_tfjs=0
  echo "NOTICE: node or $oracle/node_modules is absent (npm ci there): skipping TF.js's predictions"
fi

want_spelled='Sequential InputLayer Dense LeakyReLU Dense
[{"class_name": "LeCunNormal", "config": {}}, {"class_name": "Ones", "config": {}}, {"class_name": "L1L2", "config": {"l1": 0, "l2": 0.01}}, {"class_name": "L1L2", "config": {"l1": 0.02, "l2": 0}}, {"class_name": "NonNeg", "config": {}}]
0.05 False'
want_lstm='Sequential InputLayer LSTM Dense
sigmoid'
want_breaker='Sequential InputLayer Conv1D LeakyReLU Softmax Flatten Dense
same fan_in {"class_name": "RandomUniform", "config": {}}
0.5 False
-1'
for c in "spelled:x.npy:$want_spelled" "lstm:xs.npy:$want_lstm" "breaker:xs.npy:$want_breaker"; do
  m=${c%%:*} rest=${c#*:}
  x=$tmp/${rest%%:*} want=${rest#*:}
  if "$nnc" fit "$tmp/$m.json" --x "$x" --y "$tmp/y.npy" --epochs 2 --verbose 0 --seed 3 \
    --weights-out "$tmp/$m.safetensors" --save-tfjs "$tmp/$m.js" 2>"$tmp/err" &&
    [ "$(written "$tmp/$m.js/model.json")" = "$want" ] &&
    "$nnc" predict "$tmp/$m.json" --weights "$tmp/$m.safetensors" --x "$x" \
      --out "$tmp/$m.p.npy" 2>>"$tmp/err"; then ok; else
    bad "$m: written $(written "$tmp/$m.js/model.json" 2>&1) (want $want): $(cat "$tmp/err")"
  fi
  if [ $have_tfjs = 1 ]; then
    if node "$js" "$oracle" predict "$tmp/$m.js" "$x" "$tmp/$m.ptfjs.npy" >"$tmp/err" 2>&1 &&
      npy_close "$oracle" "$tmp/$m.ptfjs.npy" "$tmp/$m.p.npy" >>"$tmp/err" 2>&1; then ok; else
      bad "$m: TF.js does not load it or predicts otherwise: $(cat "$tmp/err")"
    fi
  fi
done

# refused before training (no weights written either), exit 2, nothing written
for c in "relu_slope:x.npy:layer 'r': a ReLU with negative_slope or threshold has no TF.js form" \
  "activity:x.npy:layer 'r': an activity_regularizer has no TF.js form" \
  "keepdims:xs.npy:layer 'r': global pooling with keepdims has no TF.js form" \
  "bn_axis1:x4.npy:layer 'r': a BatchNormalization over axis 1, not the last, has no TF.js form" \
  "frozen:x.npy:layer 'r': kernel_constraint on a layer that is not trainable" \
  "frozen_nested:x.npy:layer 'r': kernel_constraint on a layer that is not trainable (or inside one)" \
  "subtract:x.npy:layer 'r': TF.js 4.22 has no layer Subtract"; do
  m=${c%%:*} rest=${c#*:}
  x=$tmp/${rest%%:*} want=${rest#*:}
  out=$("$nnc" fit "$tmp/$m.json" --x "$x" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
    --weights-out "$tmp/$m.safetensors" --save-tfjs "$tmp/$m.js" 2>&1)
  rc=$?
  if [ $rc = 2 ] && [[ $out == *"$want"* ]] && [ ! -e "$tmp/$m.js" ] &&
    [ ! -e "$tmp/$m.safetensors" ]; then ok; else
    bad "$m to TF.js: exit $rc (want 2, '$want', nothing written): $out"
  fi
done

echo "tfjs_options27: $pass passed, $fail failed"
[ "$fail" = 0 ]
