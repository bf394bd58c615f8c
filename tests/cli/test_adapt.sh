#!/usr/bin/env bash
# nnc adapt (docs/cli.md): Keras's Normalization.adapt over --x written into
# a copy of the spec. Checks the mean and population variance per kept axis
# against values computed here in Python from the same data (np.mean /
# np.var over the other axes), that the adapted spec normalizes the data to
# mean 0 and variance 1 per feature in predict, and the refusals' exit codes.
# usage: test_adapt.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# x [5, 2, 3]: axis -1 keeps the 3 features, reduces samples and rows
python3 - "$tmp" <<'PY'
import json, struct, sys
def npy(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(
        "%d, " % d for d in shape)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % len(values), *values))
x = [((i * 7) % 11) * 0.5 + (i % 3) for i in range(30)]
x = [struct.unpack("<f", struct.pack("<f", v))[0] for v in x]
npy(sys.argv[1] + "/x.npy", (5, 2, 3), x)
want = {}
for f in range(3):
    vals = [x[i] for i in range(30) if i % 3 == f]
    m = sum(vals) / len(vals)
    want.setdefault("mean", []).append(m)
    want.setdefault("variance", []).append(sum((v - m) ** 2 for v in vals) / len(vals))
# axis [1, 2]: one value per (row, feature), over the 5 samples
for r in range(2):
    for f in range(3):
        vals = [x[s * 6 + r * 3 + f] for s in range(5)]
        m = sum(vals) / len(vals)
        want.setdefault("mean12", []).append(m)
        want.setdefault("var12", []).append(sum((v - m) ** 2 for v in vals) / len(vals))
allv = x
m = sum(allv) / len(allv)
want["mean_all"] = m
want["var_all"] = sum((v - m) ** 2 for v in allv) / len(allv)
json.dump(want, open(sys.argv[1] + "/want.json", "w"))
PY
spec() { # AXIS -> a Sequential Input [2, 3] -> Normalization(axis) -> Flatten
  cat <<JSON
{"class_name": "Sequential", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 2, 3], "name": "in"}},
 {"class_name": "Normalization", "config": {"name": "norm", "axis": $1}},
 {"class_name": "Flatten", "config": {"name": "f"}}]}}
JSON
}
spec -1 >"$tmp/s1.json"
spec "[1, 2]" >"$tmp/s12.json"
spec null >"$tmp/snull.json"

if "$nnc" adapt "$tmp/s1.json" --x "$tmp/x.npy" -o "$tmp/a1.json" >"$tmp/out" 2>&1 &&
  "$nnc" adapt "$tmp/s12.json" --x "$tmp/x.npy" --out "$tmp/a12.json" >>"$tmp/out" 2>&1 &&
  "$nnc" adapt "$tmp/snull.json" --x "$tmp/x.npy" -o "$tmp/anull.json" >>"$tmp/out" 2>&1; then
  ok
else
  bad "nnc adapt failed: $(cat "$tmp/out")"
fi
grep -q "adapted 1 Normalization layer on 5 samples" "$tmp/out" && ok || bad "summary line: $(cat "$tmp/out")"

python3 - "$tmp" <<'PY' && ok || bad "adapted values differ"
import json, sys
t = sys.argv[1]
want = json.load(open(t + "/want.json"))
def cfg(name):
    return json.load(open(t + "/" + name))["config"]["layers"][1]["config"]
def close(a, b):
    return abs(a - b) <= 1e-6 * (1 + abs(b))
c1, c12, cn = cfg("a1.json"), cfg("a12.json"), cfg("anull.json")
ok = all(close(a, b) for a, b in zip(c1["mean"], want["mean"])) and len(c1["mean"]) == 3
ok &= all(close(a, b) for a, b in zip(c1["variance"], want["variance"]))
flat_m = [v for row in c12["mean"] for v in row]
flat_v = [v for row in c12["variance"] for v in row]
ok &= len(c12["mean"]) == 2 and all(close(a, b) for a, b in zip(flat_m, want["mean12"]))
ok &= all(close(a, b) for a, b in zip(flat_v, want["var12"]))
ok &= close(cn["mean"], want["mean_all"]) and close(cn["variance"], want["var_all"])
if not ok:
    print(c1, c12, cn, want)
sys.exit(0 if ok else 1)
PY

# The adapted model normalizes the same data: per feature mean 0, variance 1.
if "$nnc" predict "$tmp/a1.json" --x "$tmp/x.npy" --out "$tmp/p.npy" >"$tmp/pout" 2>&1; then
  python3 - "$tmp/p.npy" <<'PY' && ok || bad "predict of the adapted model is not standardized"
import struct, sys
raw = open(sys.argv[1], "rb").read()
hl = struct.unpack("<H", raw[8:10])[0]
v = struct.unpack("<30f", raw[10 + hl:10 + hl + 120])
for f in range(3):
    col = [v[i] for i in range(30) if i % 3 == f]
    m = sum(col) / 10
    var = sum((c - m) ** 2 for c in col) / 10
    if abs(m) > 1e-5 or abs(var - 1) > 1e-4:
        print(f, m, var)
        sys.exit(1)
PY
else
  bad "predict failed: $(cat "$tmp/pout")"
fi

# Refusals: no Normalization at the input (exit 2), a missing --x (2), an
# axis that is not a feature axis of the data (2).
cat >"$tmp/dense.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 2, 3], "name": "in"}},
 {"class_name": "Flatten", "config": {"name": "f"}}]}}
JSON
"$nnc" adapt "$tmp/dense.json" --x "$tmp/x.npy" -o "$tmp/o.json" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "no Normalization layer takes the model's input directly" "$tmp/err" && ok ||
  bad "no Normalization: $(cat "$tmp/err")"
"$nnc" adapt "$tmp/s1.json" -o "$tmp/o.json" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--x is required" "$tmp/err" && ok || bad "missing --x: $(cat "$tmp/err")"
spec 5 >"$tmp/s5.json"
"$nnc" adapt "$tmp/s5.json" --x "$tmp/x.npy" -o "$tmp/o.json" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'Normalization "norm" (layers\[1\].config).axis: 5 is not a feature axis' "$tmp/err" &&
  ok || bad "bad axis: $(cat "$tmp/err")"
[ -e "$tmp/o.json" ] && bad "a refused adapt wrote its output" || ok

# Data that does not fit the layer's input [null, 2, 3] (exit 2, the data
# file, the layer and the expected shape named): another rank, another size
# on the kept axis (Keras's adapt checks the kept axes). Another size on an
# axis the statistics reduce over is accepted, as Keras accepts it.
python3 - "$tmp" <<'PY'
import struct, sys
def npy(path, shape):
    n = 1
    for d in shape:
        n *= d
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(
        "%d, " % d for d in shape)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%df" % n, *[(i % 5) * 0.25 for i in range(n)]))
npy(sys.argv[1] + "/x_rank2.npy", (5, 6))
npy(sys.argv[1] + "/x_feat4.npy", (5, 2, 4))
npy(sys.argv[1] + "/x_rows4.npy", (5, 4, 3))
PY
"$nnc" adapt "$tmp/s1.json" --x "$tmp/x_rank2.npy" -o "$tmp/o.json" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "x_rank2.npy: the data has shape \[5, 6\] (rank 2), but .*s1.json: Normalization \"norm\" (layers\[1\].config) takes the model's input \[N, 2, 3\] (rank 3)" "$tmp/err" &&
  ok || bad "rank mismatch: $(cat "$tmp/err")"
"$nnc" adapt "$tmp/s1.json" --x "$tmp/x_feat4.npy" -o "$tmp/o.json" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "x_feat4.npy: the data has shape \[5, 2, 4\], but .*Normalization \"norm\" (layers\[1\].config) takes the model's input \[N, 2, 3\]: kept axis 2 has 3 entries, the data 4" "$tmp/err" &&
  ok || bad "kept axis mismatch: $(cat "$tmp/err")"
[ -e "$tmp/o.json" ] && bad "a refused adapt wrote its output" || ok
"$nnc" adapt "$tmp/s1.json" --x "$tmp/x_rows4.npy" -o "$tmp/o.json" >"$tmp/err" 2>&1 && ok ||
  bad "a reduced axis of another size: $(cat "$tmp/err")"
# a Functional model: the shape of the InputLayer its inbound node names
cat >"$tmp/func.json" <<'JSON'
{"class_name": "Functional", "config": {"name": "m", "layers": [
 {"class_name": "InputLayer", "name": "pix", "config": {"batch_shape": [null, 2, 3], "name": "pix"}, "inbound_nodes": []},
 {"class_name": "Normalization", "name": "nf", "config": {"name": "nf", "axis": [1, 2]},
  "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 2, 3], "dtype": "float32", "keras_history": ["pix", 0, 0]}}], "kwargs": {}}]}],
 "input_layers": [["pix", 0, 0]], "output_layers": [["nf", 0, 0]]}}
JSON
"$nnc" adapt "$tmp/func.json" --x "$tmp/x_rows4.npy" -o "$tmp/o2.json" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "Normalization \"nf\" (layers\[1\].config) takes the model's input \[N, 2, 3\]: kept axis 1 has 2 entries, the data 4" "$tmp/err" &&
  ok || bad "functional mismatch: $(cat "$tmp/err")"
"$nnc" adapt "$tmp/func.json" --x "$tmp/x.npy" -o "$tmp/o2.json" >"$tmp/err" 2>&1 && ok ||
  bad "functional adapt: $(cat "$tmp/err")"

echo "test_adapt: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
