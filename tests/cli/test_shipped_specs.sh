#!/usr/bin/env bash
# The specs the README's jobs train (specs/*.json) compile, with the layer output shapes and
# parameter counts Keras's summary gives for the same models (hand-derived below).
# usage: test_shipped_specs.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_line SUMMARY TEXT: the summary has a line containing TEXT
expect_line() {
  if grep -qF -- "$2" <<<"$1"; then ok; else bad "summary lacks '$2'"; fi
}

out=$("$nnc" compile "$src/specs/fashion_mnist_mlp.json" --summary 2>&1) || bad "mlp: $out"
# 784*128+128 = 100480; 128*10+10 = 1290
expect_line "$out" "Total params: 101,770"

out=$("$nnc" compile "$src/specs/fashion_mnist_cnn.json" --summary 2>&1) || bad "cnn: $out"
# 3x3 valid convolutions: 28 -> 26 -> pool 13 -> 11 -> pool 5; 5*5*64 = 1600 features
expect_line "$out" "(None, 26, 26, 32)"
expect_line "$out" "(None, 11, 11, 64)"
expect_line "$out" "(None, 5, 5, 64)"
expect_line "$out" "(None, 1600)"
# conv2d 3*3*1*32+32 = 320; conv2d_1 3*3*32*64+64 = 18496; dense 1600*128+128 = 204928;
# dense_1 128*10+10 = 1290
expect_line "$out" "conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320"
expect_line "$out" "18,496"
expect_line "$out" "204,928"
expect_line "$out" "Total params: 225,034"
for f in "$src"/specs/*.sh; do
  if bash -n "$f"; then ok; else bad "$f: syntax"; fi
done

echo "test_shipped_specs: $pass passed, $fail failed"
[ $fail -eq 0 ]
