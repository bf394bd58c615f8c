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
