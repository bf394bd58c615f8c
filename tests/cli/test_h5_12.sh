#!/usr/bin/env bash
# Saved Keras models on the command line (issue 10, items 1-2): `nnc predict`
# of a .keras archive, a Keras 2 full .h5, a .keras-named HDF5 file and a
# weights-only .h5 (`--weights`) matches the file's reference prediction
# (../shared/models/saved, float64 numpy; within 1e-5 + 1e-4 |expected|);
# `nnc compile` and `nnc fit` take them too (fit starts from the file's
# weights: its first loss is that of the reference prediction); a TF.js
# graph model and damaged files are refused with exit code 2 and a message
# naming the file. Skips when ../shared is absent.
# usage: test_h5_12.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2
saved="$src/../shared/models/saved"
if [ ! -d "$saved" ]; then
  echo "test_h5_12: $saved absent: skipped"
  exit 0
fi
. "$src/tests/cli/lib.sh"

# close A.npy B.npy: float32 arrays of one shape, |a - b| <= 1e-5 + 1e-4 |b|
close() {
  python3 - "$1" "$2" <<'EOF'
import ast, struct, sys
def load(p):
    b = open(p, 'rb').read()
    assert b[:6] == b'\x93NUMPY', p
    hl = struct.unpack('<H', b[8:10])[0] if b[6] == 1 else struct.unpack('<I', b[8:12])[0]
    start = 10 if b[6] == 1 else 12
    h = ast.literal_eval(b[start:start + hl].decode())
    assert h['descr'] == '<f4', h
    data = b[start + hl:]
    return h['shape'], struct.unpack('<%df' % (len(data) // 4), data)
sa, a = load(sys.argv[1])
sb, b = load(sys.argv[2])
assert sa == sb, (sa, sb)
bad = [i for i in range(len(a)) if abs(a[i] - b[i]) > 1e-5 + 1e-4 * abs(b[i])]
sys.exit(1 if bad else 0)
EOF
}

# predicts NAME MODEL [WEIGHTS]: nnc predict's output is the reference one
predicts() {
  local d="$saved/$1" w=()
  [ $# -gt 2 ] && w=(--weights "$d/$3")
  if ! "$nnc" predict "$d/$2" "${w[@]}" --x "$d/input.npy" --out "$tmp/p.npy" 2>"$tmp/err"; then
    bad "$1: nnc predict failed: $(cat "$tmp/err")"
  elif close "$tmp/p.npy" "$d/expected_predict.npy"; then ok; else bad "$1: prediction differs"; fi
}
predicts k3zip-mnist-cnn model.keras
predicts tfk214zip-hit-song-mlp model.keras
predicts h5k2-doodle-cnn-full model.h5
predicts h5k3-obesity-mlp-legacy model.h5
predicts h5k2-cartpole-weights model_architecture.json cartpole-dqn.h5

# a .keras name over an HDF5 file: told by its bytes
if "$nnc" compile "$saved/h5k2-mario-lstm-dotkeras/model.keras" >"$tmp/out" 2>&1 &&
  grep -q "ok (5 weights" "$tmp/out"; then ok; else bad "mario .keras-named h5: $(cat "$tmp/out")"; fi

# fit from the file's weights: the first batch's loss is the cross-entropy of
# the reference prediction with itself (its entropy), as the weights are the file's
d="$saved/k3zip-chatbot-mlp"
if "$nnc" fit "$d/model.keras" --x "$d/input.npy" --y "$d/expected_predict.npy" --epochs 1 \
  --no-shuffle --verbose 0 --history "$tmp/h.json" 2>"$tmp/err"; then
  python3 - "$tmp/h.json" "$d/expected_predict.npy" <<'EOF' && ok || bad "chatbot fit: first loss"
import json, math, struct, sys
loss = json.load(open(sys.argv[1]))['loss'][0]
b = open(sys.argv[2], 'rb').read()
hl = struct.unpack('<H', b[8:10])[0]
p = struct.unpack('<68f', b[10 + hl:])
h = -sum(v * math.log(min(max(v, 1e-7), 1 - 1e-7)) for v in p) / 4
sys.exit(0 if abs(loss - h) <= 1e-4 * abs(h) + 1e-5 else 1)
EOF
else
  bad "chatbot fit failed: $(cat "$tmp/err")"
fi

# fit --save trained.keras: the archive read back predicts bit for bit as the
# trained weights (--weights-out) do; an LSTM's weights go under cell/vars
for m in k3zip-chatbot-mlp k3zip-stock-lstm; do
  d="$saved/$m"
  [ -f "$d/input.npy" ] && x="$d/input.npy" || x="$saved/k3zip-chatbot-mlp/input.npy"
  if [ $m = k3zip-stock-lstm ]; then
    python3 -c "
import struct
h = \"{'descr': '<f4', 'fortran_order': False, 'shape': (4, 10, 6), }\"
h = h + ' ' * (117 - len(h)) + '\\n'
open('$tmp/x.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(h)) + h.encode()
  + struct.pack('<240f', *[((i * 37) % 19) / 10.0 - 0.9 for i in range(240)]))
y = [0.1, -0.2, 0.3, 0.05]
hy = \"{'descr': '<f4', 'fortran_order': False, 'shape': (4, 1), }\"
hy = hy + ' ' * (117 - len(hy)) + '\\n'
open('$tmp/y.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(hy)) + hy.encode()
  + struct.pack('<4f', *y))"
    x="$tmp/x.npy" y="$tmp/y.npy"
  else
    y="$d/expected_predict.npy"
  fi
  if "$nnc" fit "$d/model.keras" --x "$x" --y "$y" --epochs 2 --verbose 0 --save "$tmp/t.keras" \
    --weights-out "$tmp/t.safetensors" 2>"$tmp/err" &&
    "$nnc" predict "$tmp/t.keras" --x "$x" --out "$tmp/a.npy" 2>>"$tmp/err" &&
    "$nnc" predict "$d/model.keras" --weights "$tmp/t.safetensors" --x "$x" --out "$tmp/b.npy" \
      2>>"$tmp/err" && cmp -s "$tmp/a.npy" "$tmp/b.npy"; then ok; else
    bad "$m: fit --save round trip: $(cat "$tmp/err")"
  fi
done

# refused with exit code 2, naming the file
refused() {
  "$nnc" "$1" "$2" --x "$saved/h5k2-cartpole-weights/input.npy" --out "$tmp/p.npy" \
    >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 2 ] && grep -q "$2" "$tmp/err" && grep -q "$3" "$tmp/err"; then ok; else
    bad "$2: exit $rc, $(cat "$tmp/err") (wanted '$3')"
  fi
}
refused predict "$saved/tfjs-graph-tictactoe-negative/model.json" "graph model"
head -c 20000 "$saved/k3zip-chatbot-mlp/model.keras" >"$tmp/half.keras"
refused predict "$tmp/half.keras" "end-of-central-directory"
head -c 6000 "$saved/h5k2-tictactoe-full/UltTic.h5" >"$tmp/cut.h5"
refused predict "$tmp/cut.h5" "HDF5 cannot open"

echo "test_h5_12: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
