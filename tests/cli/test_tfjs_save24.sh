#!/usr/bin/env bash
# --save-tfjs (session 24's breaker). Recurrent layers that leave Keras's
# defaults out: TF.js reads an absent recurrent_activation as hard_sigmoid
# and an absent reset_after as false, Keras as sigmoid and true. The writer
# now spells Keras's values out, so the TF.js file predicts as the spec did
# (before: the GRU's file was refused on reading, the LSTM's predicted other
# numbers); a Keras 3 RNN with hard_sigmoid (relu6(x + 3) / 6, no TF.js
# form) is refused before training. And a re-save into a folder whose
# model.json names a data input as a shard (--x DIR/weights.bin) is refused
# before training: the writer would remove that input after the save.
# Args: nnc binary, source dir, oracle dir (unused).
set -u
nnc=$1 src=$2
. "$src/tests/cli/lib.sh"
export NNC_CACHE=0

PYTHONPATH="$src/tests/cli" python3 - "$tmp" <<'PY'
import json, math, struct, sys
d = sys.argv[1]
from npy_f32 import npy  # tests/cli/npy_f32.py
npy(d + "/x.npy", (12, 5, 4), [math.sin(0.29 * i) for i in range(240)])
npy(d + "/y.npy", (12, 1), [0.3 * math.cos(0.7 * i) for i in range(12)])
def spec(rnn, keras3=True, extra=None):
    cfg = {"name": "rnn", "units": 3}
    cfg.update(extra or {})
    layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 5, 4], "name": "in"}},
              rnn(cfg), {"class_name": "Dense", "config": {"name": "out", "units": 1}}]
    m = {"class_name": "Sequential", "config": {"name": "m", "layers": layers},
         "compile_config": {"optimizer": "adam", "loss": "mse"}}
    if keras3:
        m["module"] = "keras"
    return m
plain = lambda cls: (lambda cfg: {"class_name": cls, "config": cfg})
bidir = lambda cfg: {"class_name": "Bidirectional", "config": {"name": "bi", "layer": {"class_name": "GRU", "config": cfg}}}
cell = lambda cfg: {"class_name": "RNN", "config": {"name": "r", "cell": {"class_name": "LSTMCell", "config": cfg}}}
rb = {"reset_after": False}
for name, s in [("gru", spec(plain("GRU"), True, rb)), ("lstm", spec(plain("LSTM"))),
                ("bigru", spec(bidir, True, rb)), ("lstmcell", spec(cell)),
                ("k2_lstm_hard", spec(plain("LSTM"), False, {"recurrent_activation": "hard_sigmoid"})),
                ("k3_lstm_hard", spec(plain("LSTM"), True, {"recurrent_activation": "hard_sigmoid"})),
                ("k3_simple_hard", spec(plain("SimpleRNN"), True, {"activation": "HardSigmoid"})),
                ("k3_lstm_hard_fn", spec(plain("LSTM"), True, {"recurrent_activation":
                    {"class_name": "function", "config": "hard_sigmoid"}})),
                ("gru_reset_after", spec(plain("GRU")))]:
    json.dump(s, open("%s/%s.json" % (d, name), "w"))
PY

for m in gru lstm bigru lstmcell k2_lstm_hard; do
  if "$nnc" fit "$tmp/$m.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0 --seed 2 \
    --weights-out "$tmp/$m.safetensors" --save-tfjs "$tmp/$m.js" 2>"$tmp/err" &&
    "$nnc" predict "$tmp/$m.json" --weights "$tmp/$m.safetensors" --x "$tmp/x.npy" --out "$tmp/$m.p.npy" 2>>"$tmp/err" &&
    "$nnc" predict "$tmp/$m.js/model.json" --x "$tmp/x.npy" --out "$tmp/$m.pj.npy" 2>>"$tmp/err" &&
    cmp -s "$tmp/$m.p.npy" "$tmp/$m.pj.npy"; then ok; else
    bad "$m: the TF.js copy does not predict as the spec: $(cat "$tmp/err")"
  fi
done

# refused before training, nothing written: Keras 3's hard_sigmoid in any
# spelling (TF.js's is another function), a GRU with reset_after true
# (Keras's default; TF.js has only the reset-before form)
for c in "k3_lstm_hard:hard_sigmoid (relu6(x + 3) / 6) has no TF.js form" \
  "k3_simple_hard:hard_sigmoid (relu6(x + 3) / 6) has no TF.js form" \
  "k3_lstm_hard_fn:hard_sigmoid (relu6(x + 3) / 6) has no TF.js form" \
  "gru_reset_after:a GRU with reset_after true (Keras's default) has no TF.js form"; do
  name=${c%%:*} want=${c#*:}
  out=$("$nnc" fit "$tmp/$name.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
    --save-tfjs "$tmp/$name.js" 2>&1)
  rc=$?
  if [ $rc = 2 ] && [[ $out == *"layer 'rnn': "*"$want"* ]] && [ ! -e "$tmp/$name.js" ]; then ok; else
    bad "$name to TF.js: exit $rc (want 2, '$want', nothing written): $out"
  fi
done

# A TF.js model whose LSTM and GRU leave recurrent_activation and reset_after
# out (TF.js's defaults: hard_sigmoid, false) saved as .keras: the config
# spells TF.js's values out, so the .keras predicts as the TF.js model
for m in lstm gru; do
  python3 - "$tmp/$m.js/model.json" "$tmp/${m}_bare.js" <<'PY'
import json, os, shutil, sys
m = json.load(open(sys.argv[1]))
os.makedirs(sys.argv[2], exist_ok=True)
for layer in m["modelTopology"]["model_config"]["config"]["layers"]:
    for k in ("recurrent_activation", "reset_after"):
        layer["config"].pop(k, None)
json.dump(m, open(sys.argv[2] + "/model.json", "w"))
src = os.path.dirname(sys.argv[1])
for f in os.listdir(src):
    if f.endswith(".bin"):
        shutil.copy(os.path.join(src, f), os.path.join(sys.argv[2], f))
PY
  if "$nnc" fit "$tmp/${m}_bare.js/model.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 \
    --verbose 0 --weights-out "$tmp/${m}_bare.safetensors" --save "$tmp/${m}_bare.keras" 2>"$tmp/err" &&
    "$nnc" predict "$tmp/${m}_bare.js/model.json" --weights "$tmp/${m}_bare.safetensors" \
      --x "$tmp/x.npy" --out "$tmp/${m}_bare.p.npy" 2>>"$tmp/err" &&
    "$nnc" predict "$tmp/${m}_bare.keras" --x "$tmp/x.npy" --out "$tmp/${m}_bare.pk.npy" 2>>"$tmp/err" &&
    cmp -s "$tmp/${m}_bare.p.npy" "$tmp/${m}_bare.pk.npy"; then ok; else
    bad "TF.js $m with TF.js's defaults to .keras: $(cat "$tmp/err")"
  fi
done

# --x DIR/weights.bin where DIR/model.json names weights.bin as its shard
mkdir "$tmp/d"
cp "$tmp/lstm.js/model.json" "$tmp/d/model.json"
cp "$tmp/x.npy" "$tmp/d/weights.bin"
python3 - "$tmp/d/model.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["weightsManifest"][0]["paths"] = ["weights.bin"]
json.dump(m, open(sys.argv[1], "w"))
PY
out=$("$nnc" fit "$tmp/lstm.json" --x "$tmp/d/weights.bin" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
  --save-tfjs "$tmp/d" 2>&1)
rc=$?
if [ $rc = 2 ] && [[ $out == *"would remove $tmp/d/weights.bin"*"--x $tmp/d/weights.bin"* ]] &&
  cmp -s "$tmp/x.npy" "$tmp/d/weights.bin"; then ok; else
  bad "--save-tfjs over a folder naming the --x file as a shard: exit $rc (want 2, input kept): $out"
fi
# the same save into a fresh folder, and a re-save whose old shards are no input, go through
if "$nnc" fit "$tmp/lstm.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
  --save-tfjs "$tmp/lstm.js" 2>"$tmp/err"; then ok; else bad "re-save: $(cat "$tmp/err")"; fi

# Reading a model.json: a key twice outside modelTopology (cJSON keeps the
# first, TF.js's JSON.parse the last: the two would load different weights)
# and text after the document are refused (both read before session 24)
python3 - "$tmp/lstm.js/model.json" "$tmp" <<'PY'
import os, sys
t = open(sys.argv[1]).read()
d, src = sys.argv[2], os.path.dirname(sys.argv[1])
def put(name, text):
    os.makedirs(d + "/" + name, exist_ok=True)
    open(d + "/" + name + "/model.json", "w").write(text)
    for f in os.listdir(src):
        if f.endswith(".bin"):
            os.symlink(os.path.join(src, f), d + "/" + name + "/" + f)
put("dup_manifest", t.replace('"weightsManifest":', '"weightsManifest": [], "weightsManifest":', 1))
i = t.index('"name":', t.index('"weightsManifest"'))
put("dup_name", t[:i] + '"name": "other/kernel", ' + t[i:])
put("trailing", t + "\n garbage")
PY
for c in 'dup_manifest:$: the key "weightsManifest" appears twice' \
  'dup_name:$.weightsManifest[0].weights[0]: the key "name" appears twice' \
  'trailing:invalid JSON (text after the document)'; do
  name=${c%%:*} want=${c#*:}
  out=$("$nnc" predict "$tmp/$name/model.json" --x "$tmp/x.npy" --out "$tmp/p.npy" 2>&1)
  rc=$?
  if [ $rc = 2 ] && [[ $out == *"$tmp/$name/model.json: $want"* ]]; then ok; else
    bad "$name: exit $rc (want 2, '$want'): $out"
  fi
done

echo "tfjs_save24: $pass passed, $fail failed"
[ "$fail" = 0 ]
