#!/usr/bin/env bash
# Spec strictness through the command line (docs/spec.md): each refused spec
# gives exit 2 and one line naming the file and the JSON path.
# usage: test_spec_strict.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect NAME PREFIX SPEC_TEXT: nnc compile exits 2 with one line starting with PREFIX
expect() {
  printf '%s' "$3" >"$tmp/$1.json"
  "$nnc" compile "$tmp/$1.json" >"$tmp/out" 2>"$tmp/err"
  local rc=$? lines
  lines=$(wc -l <"$tmp/err")
  if [ $rc -ne 2 ]; then bad "$1: exit $rc, expected 2 ($(cat "$tmp/err"))"; return; fi
  if [ "$lines" -ne 1 ]; then bad "$1: $lines lines on stderr"; return; fi
  case "$(cat "$tmp/err")" in
  "nnc compile: $tmp/$1.json: $2"*) ok ;;
  *) bad "$1: '$(cat "$tmp/err")' does not start with '$2'" ;;
  esac
}

# spec LAYER_CONFIG_EXTRA OPTIMIZER_CONFIG -> a Keras 3 Sequential, Dense(2) on (4,)
spec() {
  printf '{"class_name": "Sequential", "keras_version": "3.5.0", "config": {"name": "m", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4]%s}}, {"class_name": "Dense", "config": {"name": "%s", "units": 2}}]}, "compile_config": {"loss": "mse", "optimizer": {"class_name": "Adam", "config": {%s}}}}' "$1" "$2" "$3"
}

expect dup_key '$.config.layers[0].config.units: expected each key once' \
  '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 2, "units": 3}}]}}'
expect slash '$.config.layers[1].config.name: expected a name without "/"' "$(spec '' 'a/b' '')"
expect unknown_arg '$.compile_config.optimizer.config.beta1_: expected an argument Keras 3'"'"'s Adam accepts' \
  "$(spec '' d '"beta1_": 0.9')"
expect legacy_lr '$.compile_config.optimizer.config.lr: expected learning_rate' "$(spec '' d '"lr": 0.1')"
expect inf_lr '$.compile_config.optimizer.config.learning_rate: expected a finite number >= 0 within the float32 range (at most 3.4e38), got a number out of range' \
  "$(spec '' d '"learning_rate": 1e400')"
expect shapes '$.config.layers[0].config.batch_input_shape: expected the same shape as batch_shape' \
  "$(spec ', "batch_input_shape": [null, 5]' d '')"
expect utf8 '$.config.layers[1].config.name: expected a name in UTF-8' "$(spec '' "$(printf 'd\xed\xa0\x80')" '')"
# review of issue 5: float32 range, escaped NULs, metric names, bytes, nesting
expect lr_1e300 '$.compile_config.optimizer.config.learning_rate: expected a finite number >= 0 within the float32 range (at most 3.4e38), got 1e+300' \
  "$(spec '' d '"learning_rate": 1e300')"
expect lw_1e300 '$.compile_config.loss_weights: expected a number within the float32 range (at most 3.4e38 in magnitude), got 1e+300' \
  '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 2, "batch_input_shape": [null, 4]}}]}, "compile_config": {"loss": "mse", "loss_weights": 1e300}}'
expect nul_name '$.config.layers[1].config.name: expected a string without \u0000 (a NUL character would end it there), got one at byte ' \
  "$(spec '' 'den\u0000se' '')"
expect metric_loss '$.compile_config.metrics[0].config.name: expected a metric name other than "loss"' \
  '{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 2, "batch_input_shape": [null, 4]}}]}, "compile_config": {"loss": "mse", "metrics": [{"class_name": "Precision", "config": {"name": "loss"}}]}}'
e64=$(printf '\xc3\xa9%.0s' $(seq 64)) e48=$(printf '\xc3\xa9%.0s' $(seq 48))
expect name_bytes "\$.config.layers[1].config.name: expected a name of at most 127 bytes in UTF-8, got \"$e48...\"" \
  "$(spec '' "$e64" '')"
expect deep 'invalid JSON near byte 1000 (line 1, column 1001): nested too deep, expected at most 1000 levels' \
  "$(printf '[%.0s' $(seq 1001))$(printf ']%.0s' $(seq 1001))"
# and the same spec without the faults compiles
printf '%s' "$(spec '' d '"learning_rate": 0.1')" >"$tmp/good.json"
if "$nnc" compile "$tmp/good.json" >/dev/null 2>"$tmp/err"; then ok; else bad "good spec: $(cat "$tmp/err")"; fi

echo "spec strictness: $pass passed, $fail failed"
[ $fail -eq 0 ]
