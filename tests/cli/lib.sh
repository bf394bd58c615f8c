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
