#!/usr/bin/env bash
# Spec strictness through the command line (docs/spec.md): each refused spec
# gives exit 2 and one line naming the file and the JSON path.
# usage: test_spec_strict.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

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
# and the same spec without the faults compiles
printf '%s' "$(spec '' d '"learning_rate": 0.1')" >"$tmp/good.json"
if "$nnc" compile "$tmp/good.json" >/dev/null 2>"$tmp/err"; then ok; else bad "good spec: $(cat "$tmp/err")"; fi

echo "spec strictness: $pass passed, $fail failed"
[ $fail -eq 0 ]
