#!/usr/bin/env bash
# --save-tfjs and models inside models (session 26). TF.js builds every
# Sequential, nested ones too, from its config alone: the first layer of
# each must declare its input shape, and a layer's variables are named by
# the layer alone ("d_in/kernel"), where nnc names a nested Sequential's
# weights with its prefix ("inner/d_in/kernel"). TF.js used to refuse both
# kinds of file ("Provided weight data has no target variable", "The first
# layer in a Sequential model must get an `inputShape`"). The writer now
# names weights as TF.js does, gives a nested Sequential the input shape it
# was built for when it follows the model's input through Sequentials, and
# refuses before training, nothing written, a model with two layers TF.js
# would call by one name, a layer without a name, or a nested Sequential
# whose input it cannot know. The breaker's cases: a top-level Dense named
# as a Sequential inside a Functional (its weights were written "kernel"),
# a nested Dense's Keras 3 batch_shape (TF.js does not read it). Truth: the
# oracle's TF.js loads the written model and predicts what nnc predicts
# (within 1e-6; skipped, saying so, without node or the oracle's
# node_modules); nnc reads its own copy back bit for bit.
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
inp = lambda: {"class_name": "InputLayer", "config": {"batch_shape": [None, 6], "name": "in"}}
dense = lambda name, u, act="linear": {"class_name": "Dense",
                                       "config": {"name": name, "units": u, "activation": act}}
seq = lambda name, layers: {"module": "keras", "class_name": "Sequential",
                            "config": {"name": name, "layers": layers}}
def top(m):
    m = dict(m)
    m["compile_config"] = {"optimizer": "adam", "loss": "mse"}
    return m
# a Functional: input -> inner Sequential (no input shape) -> out
fin = {"module": "keras", "class_name": "Functional", "config": {
    "name": "f", "layers": [
        {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 6], "name": "in"},
         "inbound_nodes": []},
        dict(seq("inner", [dense("d_in", 4, "relu")]), name="inner",
             inbound_nodes=[[["in", 0, 0, {}]]]),
        dict(dense("out", 1), name="out", inbound_nodes=[[["inner", 0, 0, {}]]])],
    "input_layers": [["in", 0, 0]], "output_layers": [["out", 0, 0]]}}
cases = {
    # an inner Sequential with its InputLayer: names only
    "own_input": top(seq("outer", [seq("inner", [inp(), dense("d_in", 4, "relu")]),
                                   dense("out", 1)])),
    # built inside the outer one: TF.js needs its input shape written
    "built": top(seq("outer", [inp(), seq("inner", [dense("d_in", 4, "relu")]), dense("out", 1)])),
    # two levels, and a second nested Sequential after a layer (its input from the summary)
    "deep": top(seq("outer", [inp(), seq("inner", [seq("deep", [dense("d_in", 4, "relu")]),
                                                   dense("d2", 3, "tanh")]),
                              seq("after", [dense("d3", 2, "relu")]), dense("out", 1)])),
    # refused: both would be TF.js's d/kernel
    "clash": top(seq("outer", [inp(), seq("s1", [dense("d", 4, "relu")]),
                               seq("s2", [dense("d", 3)]), dense("out", 1)])),
    # refused: input shapes nnc cannot tell here
    "in_functional": dict(fin, compile_config={"optimizer": "adam", "loss": "mse"}),
    "second_inside": top(seq("outer", [inp(), seq("inner", [dense("a", 4, "relu"),
                                                            seq("deep", [dense("b", 3)])]),
                                       dense("out", 1)])),
}
# the breaker's cases (all written files TF.js refused before their fixes):
# a top-level Dense named as a Sequential inside a Functional keeps its name
fs = {"module": "keras", "class_name": "Functional", "config": {"name": "f", "layers": [
    {"class_name": "InputLayer", "name": "fin", "config": {"batch_shape": [None, 6], "name": "fin"},
     "inbound_nodes": []},
    dict(seq("s", [dict(inp(), config={"batch_shape": [None, 6], "name": "iin"}),
                   dense("d", 4, "relu")]), name="s", inbound_nodes=[[["fin", 0, 0, {}]]]),
    dict(dense("fout", 3), name="fout", inbound_nodes=[[["s", 1, 0, {}]]])],
    "input_layers": [["fin", 0, 0]], "output_layers": [["fout", 0, 0]]}}
cases["same_name"] = top(seq("outer", [inp(), fs, dense("s", 1)]))
# Keras 3's batch_shape on a nested Dense: TF.js does not read it
bs = dense("d_in", 4, "relu")
bs["config"]["batch_shape"] = [None, 6]
cases["dense_batch_shape"] = top(seq("outer", [inp(), seq("inner", [bs]), dense("out", 1)]))
# refused: a Conv2D and a DepthwiseConv2D of one name in two Sequentials
# (TF.js: dw/kernel and dw/depthwise_kernel, but nnc reads a TF.js model
# back by layer name)
conv = lambda cls, extra: {"class_name": cls, "config": dict(
    name="dw", kernel_size=[3, 3], padding="same", use_bias=False, **extra)}
cases["dw_levels"] = top(seq("outer", [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, 5, 5, 2], "name": "in"}},
    seq("s", [conv("Conv2D", {"filters": 2})]), seq("t", [conv("DepthwiseConv2D", {})]),
    {"class_name": "Flatten", "config": {"name": "fl"}}, dense("out", 1)]))
npy(d + "/x4.npy", (12, 5, 5, 2), [math.sin(0.37 * i) for i in range(600)])
# the second breaker's: a Dense named like an earlier nested Sequential
# (nnc read its own copy's "s/kernel" as Sequential s's), a Functional's
# Dense named like a later Sequential (its weights took Sequential s's
# names), and a nested Sequential after a layer of open length (its input
# shape written [null, -1, 3])
cases["dense_like_seq"] = top(seq("outer", [inp(), seq("s", [dense("d", 4, "relu")]),
                                            seq("t", [dense("s", 3)]), dense("out", 1)]))
g = {"module": "keras", "class_name": "Functional", "config": {"name": "g", "layers": [
    {"class_name": "InputLayer", "name": "gin", "config": {"batch_shape": [None, 6], "name": "gin"},
     "inbound_nodes": []},
    dict(dense("s", 4, "relu"), name="s", inbound_nodes=[[["gin", 0, 0, {}]]])],
    "input_layers": [["gin", 0, 0]], "output_layers": [["s", 0, 0]]}}
four = {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "si"}}
cases["func_then_seq"] = top(seq("outer", [inp(), g, seq("s", [four, dense("d", 3)]),
                                           dense("out", 1)]))
lstm = lambda name, seqs: {"class_name": "LSTM", "config": {"name": name, "units": 3,
                                                              "return_sequences": seqs}}
cases["open_length"] = top(seq("outer", [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, None, 6], "name": "in"}},
    lstm("l0", True), seq("inner", [lstm("l", False)]), dense("out", 1)]))
npy(d + "/x3.npy", (12, 5, 6), [math.cos(0.23 * i) for i in range(360)])
# refused: a layer without a name (nnc's "dense", TF.js's own name)
un = top(seq("outer", [inp(), {"class_name": "Dense", "config": {"units": 4}}, dense("out", 1)]))
cases["unnamed"] = un
for k, v in cases.items():
    json.dump(v, open("%s/%s.json" % (d, k), "w"))
PY

# the weight names model.json holds
names() {
  python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join(w["name"] for g in m["weightsManifest"] for w in g["weights"]))' "$1"
}

close() { npy_close "$oracle" "$1" "$2"; }

have_tfjs=1
if ! command -v node >/dev/null || [ ! -d "$oracle/node_modules/@tensorflow/tfjs" ]; then
  have_tfjs=0
  echo "NOTICE: node or $oracle/node_modules is absent (npm ci there): skipping TF.js's predictions"
fi

for c in "own_input:d_in/kernel d_in/bias out/kernel out/bias" \
  "built:d_in/kernel d_in/bias out/kernel out/bias" \
  "deep:d_in/kernel d_in/bias d2/kernel d2/bias d3/kernel d3/bias out/kernel out/bias" \
  "same_name:d/kernel d/bias fout/kernel fout/bias s/kernel s/bias" \
  "dense_batch_shape:d_in/kernel d_in/bias out/kernel out/bias" \
  "dense_like_seq:d/kernel d/bias s/kernel s/bias out/kernel out/bias" \
  "func_then_seq:s/kernel s/bias d/kernel d/bias out/kernel out/bias" \
  "open_length:l0/lstm_cell/kernel l0/lstm_cell/recurrent_kernel l0/lstm_cell/bias l/lstm_cell/kernel l/lstm_cell/recurrent_kernel l/lstm_cell/bias out/kernel out/bias"; do
  m=${c%%:*} want=${c#*:} x=$tmp/x.npy
  [ "$m" = open_length ] && x=$tmp/x3.npy
  if "$nnc" fit "$tmp/$m.json" --x "$x" --y "$tmp/y.npy" --epochs 2 --verbose 0 --seed 3 \
    --weights-out "$tmp/$m.safetensors" --save-tfjs "$tmp/$m.js" 2>"$tmp/err" &&
    [ "$(names "$tmp/$m.js/model.json")" = "$want" ] &&
    "$nnc" predict "$tmp/$m.json" --weights "$tmp/$m.safetensors" --x "$x" \
      --out "$tmp/$m.p.npy" 2>>"$tmp/err" &&
    "$nnc" predict "$tmp/$m.js/model.json" --x "$x" --out "$tmp/$m.pj.npy" 2>>"$tmp/err" &&
    cmp -s "$tmp/$m.p.npy" "$tmp/$m.pj.npy"; then ok; else
    bad "$m: names '$(names "$tmp/$m.js/model.json" 2>&1)' (want '$want'), or nnc's copy predicts otherwise: $(cat "$tmp/err")"
  fi
  if [ $have_tfjs = 1 ]; then
    if node "$js" "$oracle" predict "$tmp/$m.js" "$x" "$tmp/$m.ptfjs.npy" >"$tmp/err" 2>&1 &&
      close "$tmp/$m.ptfjs.npy" "$tmp/$m.p.npy" >>"$tmp/err" 2>&1; then ok; else
      bad "$m: TF.js does not load it or predicts otherwise: $(cat "$tmp/err")"
    fi
  fi
done

# refused before training, exit 2, nothing written
for c in "clash:weights s1/d/kernel and s2/d/kernel belong to two layers TF.js would both call 'd'" \
  "dw_levels:weights s/dw/kernel and t/dw/kernel belong to two layers TF.js would both call 'dw'" \
  "in_functional:nested Sequential 'inner' declares no input shape" \
  "second_inside:nested Sequential 'deep' declares no input shape" \
  "unnamed:weight dense/kernel belongs to no layer of that name in the config"; do
  name=${c%%:*} want=${c#*:} x=$tmp/x.npy
  [ "$name" = dw_levels ] && x=$tmp/x4.npy
  out=$("$nnc" fit "$tmp/$name.json" --x "$x" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
    --save-tfjs "$tmp/$name.js" 2>&1)
  rc=$?
  if [ $rc = 2 ] && [[ $out == *"$want"* ]] && [ ! -e "$tmp/$name.js" ]; then ok; else
    bad "$name to TF.js: exit $rc (want 2, '$want', nothing written): $out"
  fi
done

echo "tfjs_nested26: $pass passed, $fail failed"
[ "$fail" = 0 ]
