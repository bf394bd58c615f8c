#!/usr/bin/env bash
# Session 7 fixes seen from the command line: a .npz holding one unnamed array
# (arr_0, as np.savez(f, w) names it) given to --sample-weight of a model of two
# outputs is Keras's one sample_weight for every output, exactly as the same
# array in a .npy (identical History); the same .npz given to --y is refused
# (Keras cannot pack one y for two outputs either), exit 2.
# usage: test_fixes7.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cat >"$tmp/two.json" <<'EOF'
{"class_name": "Functional", "config": {"name": "two", "layers": [
 {"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [null, 3], "name": "in"}, "inbound_nodes": []},
 {"class_name": "Dense", "name": "a", "config": {"name": "a", "units": 1}, "inbound_nodes": [[["in", 0, 0, {}]]]},
 {"class_name": "Dense", "name": "b", "config": {"name": "b", "units": 1}, "inbound_nodes": [[["in", 0, 0, {}]]]}],
 "input_layers": [["in", 0, 0]], "output_layers": [["a", 0, 0], ["b", 0, 0]]},
 "compile_config": {"optimizer": "sgd", "loss": "mse"}}
EOF
# float32 .npy files and .npz archives written by hand (numpy's format 1.0)
python3 - "$tmp" <<'EOF'
import struct, sys, zipfile
d = sys.argv[1]
def npy(shape, vals):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join("%d," % s for s in shape)
    hdr = hdr + " " * (63 - (10 + len(hdr)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + struct.pack("<%df" % len(vals), *vals)
n = 8
x = [((i * 7) % 11) / 5.0 - 1 for i in range(n * 3)]
y = [((i * 3) % 5) / 2.0 for i in range(n)]
w = [0.5 + (i % 3) for i in range(n)]
for name, data in (("x", npy((n, 3), x)), ("y", npy((n, 1), y)), ("w", npy((n,), w))):
    open("%s/%s.npy" % (d, name), "wb").write(data)
with zipfile.ZipFile(d + "/w.npz", "w") as z:
    z.writestr("arr_0.npy", npy((n,), w))
with zipfile.ZipFile(d + "/y.npz", "w") as z:
    z.writestr("arr_0.npy", npy((n, 1), y))
EOF

run() { # tag, extra args
  local tag=$1
  shift
  "$nnc" fit "$tmp/two.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --y "$tmp/y.npy" --epochs 2 \
    --batch-size 4 --no-shuffle --verbose 0 --seed 1 --history "$tmp/h_$tag.json" "$@" \
    >"$tmp/out_$tag" 2>&1
}
if run npy --sample-weight "$tmp/w.npy" && run npz --sample-weight "$tmp/w.npz" && run none; then
  if cmp -s "$tmp/h_npy.json" "$tmp/h_npz.json"; then ok; else
    bad "arr_0 .npz weights differ from the .npy: $(cat "$tmp/h_npy.json") vs $(cat "$tmp/h_npz.json")"
  fi
  if cmp -s "$tmp/h_npy.json" "$tmp/h_none.json"; then bad "the weights changed nothing"; else ok; fi
else
  bad "fit with weights failed: $(cat "$tmp"/out_*)"
fi

"$nnc" fit "$tmp/two.json" --x "$tmp/x.npy" --y "$tmp/y.npz" --epochs 1 --verbose 0 >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "one unnamed array (arr_0, as np.savez(f, a) names it) cannot stand for the model's 2 outputs (a, b)" "$tmp/out"; then
  ok
else
  bad "--y arr_0 for two outputs: exit $rc: $(cat "$tmp/out")"
fi

echo "test_fixes7.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
