#!/usr/bin/env bash
# --save-tfjs and activations (session 25). TF.js 4.22 registers 16
# activations and camel-cases a snake_case name on loading; it knows no
# {"class_name": "function"} object and no "silu" (Keras 3's name for
# swish). The writer now writes each activation as TF.js's string for it
# ("silu" as "swish", a function object as its name) and refuses before
# training, nothing written, one TF.js has no form of: exponential,
# hard_silu, leaky_relu, and hard_sigmoid outside a recurrent layer (nnc
# reads that as Keras 3's relu6(x + 3) / 6 from every format, TF.js
# computes clip(0.2 x + 0.5, 0, 1)), whatever the source's format. Truth:
# the oracle's TF.js loads the written model and predicts what nnc predicts
# (within 1e-6; skipped, saying so, without node or the oracle's
# node_modules).
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
def spec(act, keras3=True):
    layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 6], "name": "in"}},
              {"class_name": "Dense", "config": {"name": "d", "units": 4, "activation": act}},
              {"class_name": "Dense", "config": {"name": "out", "units": 1}}]
    m = {"class_name": "Sequential", "config": {"name": "m", "layers": layers},
         "compile_config": {"optimizer": "adam", "loss": "mse"}}
    if keras3:
        m["module"] = "keras"
    return m
fn = lambda name: {"module": "keras.activations", "class_name": "function", "config": name,
                   "registered_name": "function"}
for name, s in [("silu", spec("silu")), ("fn_relu6", spec(fn("relu6"))),
                ("fn_log_softmax", spec(fn("log_softmax"))), ("k2_swish", spec("swish", False)),
                ("hard_silu", spec("hard_silu")), ("fn_exponential", spec(fn("exponential"))),
                ("leaky_relu", spec("leaky_relu", False)),
                ("k2_hard_sigmoid", spec("hard_sigmoid", False))]:
    json.dump(s, open("%s/%s.json" % (d, name), "w"))
PY

# the activation as model.json holds it (layer d)
written() {
  python3 - "$1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for layer in m["modelTopology"]["model_config"]["config"]["layers"]:
    if layer["config"].get("name") == "d":
        print(json.dumps(layer["config"]["activation"]))
PY
}

# close A B: npy_close (lib.sh) with this test's oracle
close() { npy_close "$oracle" "$1" "$2"; }

have_tfjs=1
if ! command -v node >/dev/null || [ ! -d "$oracle/node_modules/@tensorflow/tfjs" ]; then
  have_tfjs=0
  echo "NOTICE: node or $oracle/node_modules is absent (npm ci there): skipping TF.js's predictions"
fi

# written as TF.js's name; nnc's TF.js copy predicts as the spec, bit for
# bit, and TF.js itself within 1e-6
for c in 'silu:"swish"' 'fn_relu6:"relu6"' 'fn_log_softmax:"log_softmax"' 'k2_swish:"swish"'; do
  m=${c%%:*} want=${c#*:}
  if "$nnc" fit "$tmp/$m.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 2 --verbose 0 --seed 3 \
    --weights-out "$tmp/$m.safetensors" --save-tfjs "$tmp/$m.js" 2>"$tmp/err" &&
    [ "$(written "$tmp/$m.js/model.json")" = "$want" ] &&
    "$nnc" predict "$tmp/$m.json" --weights "$tmp/$m.safetensors" --x "$tmp/x.npy" \
      --out "$tmp/$m.p.npy" 2>>"$tmp/err" &&
    "$nnc" predict "$tmp/$m.js/model.json" --x "$tmp/x.npy" --out "$tmp/$m.pj.npy" 2>>"$tmp/err" &&
    cmp -s "$tmp/$m.p.npy" "$tmp/$m.pj.npy"; then ok; else
    bad "$m: written $(written "$tmp/$m.js/model.json" 2>&1) (want $want), or predicts otherwise: $(cat "$tmp/err")"
  fi
  if [ $have_tfjs = 1 ]; then
    if node "$js" "$oracle" predict "$tmp/$m.js" "$tmp/x.npy" "$tmp/$m.ptfjs.npy" >"$tmp/err" 2>&1 &&
      close "$tmp/$m.ptfjs.npy" "$tmp/$m.p.npy" >>"$tmp/err" 2>&1; then ok; else
      bad "$m: TF.js does not load it or predicts otherwise: $(cat "$tmp/err")"
    fi
  fi
done

# refused before training, exit 2, nothing written
for c in "hard_silu:activation 'hard_silu' has no TF.js form" \
  "fn_exponential:activation 'exponential' has no TF.js form" \
  "leaky_relu:activation 'leaky_relu' has no TF.js form" \
  "k2_hard_sigmoid:hard_sigmoid outside a recurrent layer is Keras 3's relu6(x + 3) / 6"; do
  name=${c%%:*} want=${c#*:}
  out=$("$nnc" fit "$tmp/$name.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
    --save-tfjs "$tmp/$name.js" 2>&1)
  rc=$?
  if [ $rc = 2 ] && [[ $out == *"layer 'd': $want"* ]] && [ ! -e "$tmp/$name.js" ]; then ok; else
    bad "$name to TF.js: exit $rc (want 2, '$want', nothing written): $out"
  fi
done

# the same rules whatever the source's format (the breaker's cases): a TF.js
# model.json with a Dense hardSigmoid (nnc trains relu6(x + 3) / 6 there too)
# is refused; a Keras 3 model wrapped as {model_config, backend:
# "tensor_flow.js"} is Keras 3 to the parser, so to the writer too ("Swish"
# written "swish"); an initializer's config with an "activation" key is no
# layer's activation
python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
m = json.load(open(d + "/silu.js/model.json"))
for layer in m["modelTopology"]["model_config"]["config"]["layers"]:
    if layer["config"].get("name") == "d":
        layer["config"]["activation"] = "hardSigmoid"
json.dump(m, open(d + "/silu.js/hs.json", "w"))
k3 = json.load(open(d + "/silu.json"))
k3["config"]["layers"][1]["config"]["activation"] = "Swish"
json.dump({"model_config": k3, "compile_config": k3.pop("compile_config"),
           "backend": "tensor_flow.js"}, open(d + "/wrapped.json", "w"))
k3["config"]["layers"][1]["config"]["activation"] = "HardSigmoid"
json.dump({"model_config": k3, "compile_config": {"optimizer": "adam", "loss": "mse"},
           "backend": "tensor_flow.js"}, open(d + "/wrapped_hs.json", "w"))
init = json.load(open(d + "/silu.json"))
init["config"]["layers"][1]["config"]["kernel_initializer"] = {
    "class_name": "GlorotUniform", "config": {"seed": 1, "activation": "exponential"}}
json.dump(init, open(d + "/init_key.json", "w"))
PY
for c in "silu.js/hs.json:hard_sigmoid outside a recurrent layer" \
  "wrapped_hs.json:Keras 3's hard_sigmoid (relu6(x + 3) / 6) has no TF.js form"; do
  name=${c%%:*} want=${c#*:}
  out=$("$nnc" fit "$tmp/$name" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
    --save-tfjs "$tmp/out_$$" 2>&1)
  rc=$?
  if [ $rc = 2 ] && [[ $out == *"layer 'd': $want"* ]] && [ ! -e "$tmp/out_$$" ]; then ok; else
    bad "$name to TF.js: exit $rc (want 2, '$want', nothing written): $out"
  fi
done
for c in 'wrapped:"swish"' 'init_key:"swish"'; do
  m=${c%%:*} want=${c#*:}
  if "$nnc" fit "$tmp/$m.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
    --save-tfjs "$tmp/$m.js" 2>"$tmp/err" && [ "$(written "$tmp/$m.js/model.json")" = "$want" ]; then
    ok
  else
    bad "$m: written $(written "$tmp/$m.js/model.json" 2>&1) (want $want): $(cat "$tmp/err")"
  fi
  if [ $have_tfjs = 1 ]; then
    if node "$js" "$oracle" predict "$tmp/$m.js" "$tmp/x.npy" "$tmp/$m.ptfjs.npy" >"$tmp/err" 2>&1 &&
      "$nnc" predict "$tmp/$m.js/model.json" --x "$tmp/x.npy" --out "$tmp/$m.pj.npy" 2>>"$tmp/err" &&
      close "$tmp/$m.ptfjs.npy" "$tmp/$m.pj.npy" >>"$tmp/err" 2>&1; then ok; else
      bad "$m: TF.js does not load it or predicts otherwise: $(cat "$tmp/err")"
    fi
  fi
done

echo "tfjs_act25: $pass passed, $fail failed"
[ "$fail" = 0 ]
