#!/usr/bin/env bash
# Bugs found by breaking issue 8 (session 8, brk8), one check each:
# - a model too large for the machine is refused before it is allocated
#   (weights + optimizer state + workspace against physical memory and the
#   ulimit), not OOM-killed once its pages are touched;
# - the summary's "Connected to" lists every inbound tensor as Keras's
#   node.input_tensors does: mha(x, x) twice, a GRU's initial_state;
# - a refusal at a config key names that key's path once, not
#   "<call path>: <key path>" (MultiHeadAttention attention_axes, PReLU
#   shared_axes);
# - a weights file with a wrongly shaped tensor says which shape it has.
# usage: test_brk8.sh NNC SOURCE_DIR [ORACLE_DIR]
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

# --- memory: 16 Dense kernels of 46340 x 46340 (8 GiB each, the largest a
# weight may be) are 128 GiB of weights, 512 GiB with Adam's two slots and the gradients: more
# than any machine this runs on. Refused at once, nothing allocated.
python3 - "$tmp/huge.json" <<'PY'
import json, sys
layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 46340], "name": "x"}}]
layers += [{"class_name": "Dense", "config": {"name": "d%d" % i, "units": 46340}} for i in range(16)]
json.dump({"class_name": "Sequential", "config": {"name": "huge", "layers": layers},
           "compile_config": {"optimizer": "adam", "loss": "mse"}}, open(sys.argv[1], "w"))
PY
mknpy "$tmp/hx.npy" 1 2,46340
mknpy "$tmp/hy.npy" 2 2,46340
"$nnc" fit "$tmp/huge.json" --x "$tmp/hx.npy" --y "$tmp/hy.npy" --verbose 0 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -qE "^nnc fit: the model's weights, optimizer state and workspace need 511.99 GiB of memory, more than the [0-9.]+ GiB this (machine has|process may use \(ulimit\))$" "$tmp/err" &&
  ok || bad "huge model (rc $rc): $(cat "$tmp/err")"

# The same refusal under ulimit -v (not under AddressSanitizer, whose shadow
# memory needs the address space): Dense 20000 x 20000 is 1.5 GiB of
# weights, 6 GiB with Adam's slots and the gradient, against a 2 GiB limit; the message
# names the ulimit and the process stays small.
if [ -z "${ASAN_OPTIONS:-}" ]; then
  python3 - "$tmp/big.json" <<'PY'
import json, sys
json.dump({"class_name": "Sequential", "config": {"name": "big", "layers": [
  {"class_name": "InputLayer", "config": {"batch_shape": [None, 20000], "name": "x"}},
  {"class_name": "Dense", "config": {"name": "d", "units": 20000}}]},
  "compile_config": {"optimizer": "adam", "loss": "mse"}}, open(sys.argv[1], "w"))
PY
  mknpy "$tmp/bx.npy" 1 2,20000
  (ulimit -v 2097152; "$nnc" fit "$tmp/big.json" --x "$tmp/bx.npy" --y "$tmp/bx.npy" --verbose 0) 2>"$tmp/err"
  rc=$?
  [ $rc -eq 1 ] && grep -qF "need 5.96 GiB of memory, more than the 2.00 GiB this process may use (ulimit)" "$tmp/err" &&
    ok || bad "ulimit -v (rc $rc): $(cat "$tmp/err")"
fi

# --- summary: Connected to lists mha(x, x)'s two inputs and initial_state
python3 - "$tmp/conn.json" <<'PY'
import json, sys
def kt(name, idx=0): return {"class_name": "__keras_tensor__", "config": {"shape": None, "dtype": "float32", "keras_history": [name, 0, idx]}}
def node(*args, **kw): return [{"args": list(args), "kwargs": kw}]
L = [
 {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [None, 5, 3], "name": "x"}, "inbound_nodes": []},
 {"class_name": "InputLayer", "name": "d", "config": {"batch_shape": [None, 4, 2], "name": "d"}, "inbound_nodes": []},
 {"class_name": "MultiHeadAttention", "name": "mha", "config": {"name": "mha", "num_heads": 2, "key_dim": 2}, "inbound_nodes": node(kt("x"), kt("x"))},
 {"class_name": "GRU", "name": "enc", "config": {"name": "enc", "units": 3, "return_state": True}, "inbound_nodes": node(kt("mha"))},
 {"class_name": "GRU", "name": "dec", "config": {"name": "dec", "units": 3, "return_sequences": True},
  "inbound_nodes": node(kt("d"), initial_state=[kt("enc", 1)])}]
json.dump({"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "c", "layers": L,
  "input_layers": [["x", 0, 0], ["d", 0, 0]], "output_layers": [["dec", 0, 0]]}}, open(sys.argv[1], "w"))
PY
"$nnc" compile "$tmp/conn.json" --summary >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && grep -q "│ x\[0\]\[0\], x\[0\]\[0\]  │$" "$tmp/out" && ok || bad "mha(x, x) (rc $rc): $(cat "$tmp/out" "$tmp/err")"
# the dec row wraps its two references over two lines
[ $rc -eq 0 ] && grep -A1 "│ dec (GRU) " "$tmp/out" | tr -s ' │\n' ' ' | grep -qF "d[0][0], enc[0][1]" &&
  ok || bad "initial_state (rc $rc): $(cat "$tmp/out")"

# --- refusals at a config key name its path once
cat >"$tmp/axes.json" <<'JSON'
{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, 4, 6], "name": "x"}, "inbound_nodes": []},
 {"class_name": "MultiHeadAttention", "name": "l", "config": {"name": "l", "num_heads": 2, "key_dim": 2, "attention_axes": [2]},
  "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}},
                              {"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}], "kwargs": {}}]}],
 "input_layers": [["x", 0, 0]], "output_layers": [["l", 0, 0]]}}
JSON
"$nnc" compile "$tmp/axes.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -qF "nnc compile: $tmp/axes.json: \$.config.layers[1].config.attention_axes: expected null or the step axis 1" "$tmp/err" &&
  ok || bad "attention_axes path (rc $rc): $(cat "$tmp/err")"
cat >"$tmp/prelu.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 3, 5], "name": "x"}},
 {"class_name": "PReLU", "config": {"name": "p", "shared_axes": [2]}}]}}
JSON
"$nnc" compile "$tmp/prelu.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -qF "nnc compile: $tmp/prelu.json: \$.config.layers[1].config.shared_axes: PReLU \"p\" shares axis 2" "$tmp/err" &&
  ok || bad "shared_axes path (rc $rc): $(cat "$tmp/err")"

# --- a wrongly shaped weight: the message gives both shapes
cat >"$tmp/conv.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 5, 3], "name": "x"}},
 {"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": 3}}]}}
JSON
python3 - "$tmp/w.safetensors" <<'PY'
import json, struct, sys
# the kernel as [out, kh, kw, in] (PyTorch's order) instead of Keras's [kh, kw, in, out]
t = {"c/kernel": [2, 3, 3, 3], "c/bias": [2]}
hdr, pos = {}, 0
for k, s in t.items():
    n = 1
    for d in s: n *= d
    hdr[k] = {"dtype": "F32", "shape": s, "data_offsets": [pos, pos + 4 * n]}; pos += 4 * n
h = json.dumps(hdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + bytes(pos))
PY
mknpy "$tmp/cx.npy" 3 2,5,5,3
"$nnc" predict "$tmp/conv.json" --weights "$tmp/w.safetensors" --x "$tmp/cx.npy" --out "$tmp/p.npy" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && grep -qF "weight 'c/kernel' must have shape [3,3,3,2], got [2,3,3,3]" "$tmp/err" &&
  ok || bad "weight shape message (rc $rc): $(cat "$tmp/err")"

# --- an adapted Normalization has Keras 3's three weights: mean, variance and
# the scalar count (never read): a Keras weights file holds all three (count as
# int64) and the summary counts 2 x 3 + 1 = 7 non-trainable parameters
cat >"$tmp/norm.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 3], "name": "x"}},
 {"class_name": "Normalization", "config": {"name": "n"}}]}}
JSON
python3 - "$tmp/wn.safetensors" <<'PY'
import json, struct, sys
t = [("n/mean", "F32", [3], struct.pack("<3f", 1, 2, 3)), ("n/variance", "F32", [3], struct.pack("<3f", 4, 16, 0.25)),
     ("n/count", "I64", [], struct.pack("<q", 0))]
hdr, pos = {}, 0
for k, dt, s, b in t:
    hdr[k] = {"dtype": dt, "shape": s, "data_offsets": [pos, pos + len(b)]}; pos += len(b)
h = json.dumps(hdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(x[3] for x in t))
PY
python3 - "$tmp/nx.npy" <<'PY'
import struct, sys
text = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }"
text += " " * (63 - (10 + len(text)) % 64) + "\n"
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + struct.pack("<3f", 3, 6, 3.5))
PY
"$nnc" predict "$tmp/norm.json" --weights "$tmp/wn.safetensors" --x "$tmp/nx.npy" --out "$tmp/np.npy" 2>"$tmp/err"
rc=$?
# (3 - 1) / 2, (6 - 2) / 4, (3.5 - 3) / 0.5
got=$(python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read(); print(struct.unpack('<3f', b[-12:]))" "$tmp/np.npy" 2>/dev/null)
[ $rc -eq 0 ] && [ "$got" = "(1.0, 1.0, 1.0)" ] && ok || bad "Keras Normalization weights (rc $rc): $got $(cat "$tmp/err")"
"$nnc" compile "$tmp/norm.json" --summary >"$tmp/out" 2>&1
grep -q "│ n (Normalization) .*│ *7 │$" "$tmp/out" && grep -q "Non-trainable params: 7 " "$tmp/out" &&
  ok || bad "Normalization summary: $(cat "$tmp/out")"

echo "brk8: $pass passed, $fail failed"
[ $fail -eq 0 ]
