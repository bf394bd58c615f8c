#!/usr/bin/env bash
# None axes from the command line (docs/spec.md, "None axes"): a model on
# [null, null, 3] fits on sequences of length 6, predicts on length 9 and
# evaluates on length 3 (the weights it saved); `nnc compile` needs
# --input-shape and its --summary prints None where Keras does.
# usage: test_none_axes.sh NNC SOURCE_DIR [ORACLE_DIR]
set -u
nnc=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# mknpy OUT SEED D0,D1,...: float32 .npy of values in [-1, 1)
mknpy() {
  python3 - "$@" <<'PY'
import random, struct, sys
out, seed, shape = sys.argv[1], int(sys.argv[2]), [int(d) for d in sys.argv[3].split(",")]
n = 1
for d in shape:
    n *= d
r = random.Random(seed)
text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join("%d, " % d for d in shape)
text += " " * (63 - (10 + len(text)) % 64) + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode())
    f.write(struct.pack("<%df" % n, *[r.uniform(-1, 1) for _ in range(n)]))
PY
}
# npy_shape FILE: the shape in the header, as "(5, 2)"
npy_shape() { python3 -c "import sys,ast; h=open(sys.argv[1],'rb').read(256).split(b'\n')[0]; print(ast.literal_eval(h[10:].decode())['shape'])" "$1"; }

cat >"$tmp/seq.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "s", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, null, 3], "name": "x"}},
 {"class_name": "Conv1D", "config": {"name": "c", "filters": 4, "kernel_size": 3, "activation": "relu"}},
 {"class_name": "GlobalAveragePooling1D", "config": {"name": "g"}},
 {"class_name": "Dense", "config": {"name": "d", "units": 2}}]},
 "compile_config": {"optimizer": "sgd", "loss": "mse"}}
JSON
mknpy "$tmp/x6.npy" 1 8,6,3
mknpy "$tmp/y.npy" 2 8,2
mknpy "$tmp/x9.npy" 3 5,9,3
mknpy "$tmp/x3.npy" 4 8,3,3

if "$nnc" fit "$tmp/seq.json" --x "$tmp/x6.npy" --y "$tmp/y.npy" --epochs 2 --batch-size 4 \
  --verbose 0 --weights-out "$tmp/w.safetensors" 2>"$tmp/err"; then ok; else bad "fit: $(cat "$tmp/err")"; fi
if "$nnc" predict "$tmp/seq.json" --weights "$tmp/w.safetensors" --x "$tmp/x9.npy" \
  --out "$tmp/p9.npy" 2>"$tmp/err"; then ok; else bad "predict: $(cat "$tmp/err")"; fi
[ "$(npy_shape "$tmp/p9.npy")" = "(5, 2)" ] && ok || bad "predict on length 9: shape $(npy_shape "$tmp/p9.npy")"
if "$nnc" evaluate "$tmp/seq.json" --weights "$tmp/w.safetensors" --x "$tmp/x3.npy" \
  --y "$tmp/y.npy" >"$tmp/out" 2>"$tmp/err" && grep -q "loss: [0-9]" "$tmp/out"; then ok
else bad "evaluate on length 3: $(cat "$tmp/out" "$tmp/err")"; fi

# compile: the sizes are needed; the summary prints the None axis
"$nnc" compile "$tmp/seq.json" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && grep -qF 'input "x" (None, None, 3) has a None axis 1: give data, or its size (nnc compile --input-shape)' "$tmp/err" &&
  ok || bad "compile without sizes: $(cat "$tmp/err")"
if "$nnc" compile "$tmp/seq.json" --input-shape 6,3 --summary >"$tmp/out" 2>"$tmp/err"; then
  grep -q "c (Conv1D) .*(None, None, 4)" "$tmp/out" && grep -q "g (GlobalAveragePooling1D) .*(None, 4)" "$tmp/out" &&
    ok || bad "summary: $(cat "$tmp/out")"
else bad "compile --input-shape: $(cat "$tmp/err")"; fi

echo "test_none_axes: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
