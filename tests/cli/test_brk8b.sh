#!/usr/bin/env bash
# Bugs found by breaking session 8's nested models and masked
# BatchNormalization (brk8b), one check each:
# - TimeDistributed of a nested model holding a BatchNormalization, on a
#   [batch, steps] masked input in training: Keras 3 hands each step's mask
#   ([batch]) to the nested model, whose BatchNormalization then takes
#   masked batch moments; nnc dropped that mask and trained with the moments
#   of every sample (a silently different model). It is refused as
#   TimeDistributed(BatchNormalization) is (a frozen one still trains).
# - BatchNormalization on a masked input of rank 4 (Masking over [B, H, W,
#   C] gives a [B, H, W] mask): Keras 3 takes its masked moments over the
#   kept entries; nnc refused it saying "Keras 3 refuses it".
# usage: test_brk8b.sh NNC SOURCE_DIR [ORACLE_DIR]
set -u
nnc=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# mknpy OUT D0,D1,... VALUES...: float32 .npy
mknpy() {
  python3 - "$@" <<'PY'
import struct, sys
out, shape, vals = sys.argv[1], [int(d) for d in sys.argv[2].split(",")], [float(v) for v in sys.argv[3:]]
text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join("%d, " % d for d in shape)
text += " " * (63 - (10 + len(text)) % 64) + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode())
    f.write(struct.pack("<%df" % len(vals), *vals))
PY
}

# --- Masking -> TimeDistributed(Sequential(Dense, BatchNormalization)):
# steps [B, T=2, 2], sample 1's step 1 is all zeros (masked)
python3 - "$tmp/td.json" <<'PY'
import json, sys
json.dump({"class_name": "Sequential", "config": {"name": "m", "layers": [
  {"class_name": "InputLayer", "config": {"batch_shape": [None, 2, 2], "name": "x"}},
  {"class_name": "Masking", "config": {"name": "mk", "mask_value": 0.0}},
  {"class_name": "TimeDistributed", "config": {"name": "td", "layer": {
    "class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "Dense", "config": {"name": "d", "units": 2}},
      {"class_name": "BatchNormalization", "config": {"name": "bn"}}]}}}},
  {"class_name": "Flatten", "config": {"name": "fl"}}]},
  "compile_config": {"optimizer": "sgd", "loss": "mse"}}, open(sys.argv[1], "w"))
PY
mknpy "$tmp/x.npy" 2,2,2 1 2 3 4 5 6 0 0
mknpy "$tmp/y.npy" 2,4 0 1 0 1 1 0 1 0
"$nnc" fit "$tmp/td.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0 \
  --weights-out "$tmp/w.safetensors" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -qF '$.config.layers[2]: TimeDistributed "td" of nested model "s" on a masked input in training: Keras 3 passes each step'"'"'s mask to it, and BatchNormalization "bn" inside takes masked batch moments, which nnc does not reproduce here' "$tmp/err" &&
  ok || bad "TD(nested BN) on a masked input in training (rc $rc): $(cat "$tmp/err")"

# the same with the BatchNormalization frozen: moving statistics, no mask used
sed 's/"name": "bn"}/"name": "bn", "trainable": false}/' "$tmp/td.json" >"$tmp/frozen.json"
grep -q '"trainable": false' "$tmp/frozen.json" || bad "frozen spec not made"
"$nnc" fit "$tmp/frozen.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 --verbose 0 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ok || bad "TD(nested frozen BN) on a masked input (rc $rc): $(cat "$tmp/err")"

# --- Masking -> BatchNormalization (momentum 0: the moving statistics are
# the step's batch moments) on x [2, 1, 2, 1]: entries 1, (0: masked), 3, 5
# -> kept 1, 3, 5: mean 9 / (3 + 1e-7), variance 8 / 3 (all four: 2.25)
python3 - "$tmp/r4.json" <<'PY'
import json, sys
json.dump({"class_name": "Sequential", "config": {"name": "m", "layers": [
  {"class_name": "InputLayer", "config": {"batch_shape": [None, 1, 2, 1], "name": "x"}},
  {"class_name": "Masking", "config": {"name": "mk", "mask_value": 0.0}},
  {"class_name": "BatchNormalization", "config": {"name": "bn", "momentum": 0.0}},
  {"class_name": "Flatten", "config": {"name": "fl"}}]},
  "compile_config": {"optimizer": "sgd", "loss": "mse"}}, open(sys.argv[1], "w"))
PY
mknpy "$tmp/x4.npy" 2,1,2,1 1 0 3 5
mknpy "$tmp/y4.npy" 2,2 0 1 1 0
"$nnc" fit "$tmp/r4.json" --x "$tmp/x4.npy" --y "$tmp/y4.npy" --epochs 1 --verbose 0 \
  --weights-out "$tmp/w4.safetensors" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && python3 - "$tmp/w4.safetensors" <<'PY' && ok || bad "masked BatchNormalization of rank 4 (rc $rc): $(cat "$tmp/err")"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
def get(k):
    s, e = h[k]["data_offsets"]
    return struct.unpack("<f", b[8 + n + s:8 + n + e])[0]
mean, var = get("bn/moving_mean"), get("bn/moving_variance")
if abs(mean - 3) > 1e-5 or abs(var - 8 / 3) > 1e-5:
    sys.exit("moving_mean %g (want 3), moving_variance %g (want 2.6667)" % (mean, var))
PY

echo "test_brk8b: $pass passed, $fail failed"
[ $fail -eq 0 ]
