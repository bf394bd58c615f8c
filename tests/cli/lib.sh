# Sourced by the CLI tests after `set -u`: a temporary folder removed on exit,
# and the pass/fail counters each test prints at its end.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# spec_dense_head FILE UNITS LOSS: Dense(UNITS, sigmoid) on 8 inputs, sgd, LOSS
spec_dense_head() {
  printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 8], "name": "in"}},
    {"class_name": "Dense", "config": {"name": "d", "units": %s, "activation": "sigmoid"}}]},
    "compile_config": {"optimizer": "sgd", "loss": "%s"}}' "$2" "${3:-binary_crossentropy}" >"$1"
}

# seed004_setup ORACLE LAYERS COMPILE: $tmp/x.npy and $tmp/y.npy from the oracle case
# seed004_mlp (x (250, 1001) <f4, y (250, 1) <f4) and $tmp/spec.json: an InputLayer
# [null, 1001], then LAYERS (comma-separated layer objects), compiled with COMPILE
seed004_setup() {
  cp "$1/cases/seed004_mlp/x.npy" "$tmp/x.npy"
  cp "$1/cases/seed004_mlp/y.npy" "$tmp/y.npy"
  printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 1001], "name": "in"}},
  %s]}, "compile_config": %s}' "$2" "$3" >"$tmp/spec.json"
}

# npy_close ORACLE A B: the two .npy files hold the same shape and every value
# within 1e-6 (relative above 1, absolute below); read with the oracle's npy.js
npy_close() {
  node - "$1" "$2" "$3" <<'EOF'
const [oracle, a, b] = process.argv.slice(2);
const { readNpy } = require(oracle + '/npy.js');
const A = readNpy(a), B = readNpy(b);
if (JSON.stringify(A.shape) !== JSON.stringify(B.shape)) {
  console.log(`shapes ${A.shape} and ${B.shape}`); process.exit(1);
}
let worst = 0;
for (let i = 0; i < A.data.length; i++)
  worst = Math.max(worst, Math.abs(A.data[i] - B.data[i]) / Math.max(1, Math.abs(B.data[i])));
if (!(worst <= 1e-6)) { console.log(`differ by ${worst}`); process.exit(1); }
EOF
}
