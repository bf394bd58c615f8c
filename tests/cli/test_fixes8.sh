#!/usr/bin/env bash
# Session 8's CLI fixes: `nnc compile --input-shape` for a model of several
# inputs (docs/cli.md): one plain shape per input in order, or NAME=D1,...
# for the inputs that need one; a count that does not match, a mix of the
# two forms, an unknown or repeated name are refused naming the inputs.
# (Before: one shape went to the first input and a repeat replaced it.)
# usage: test_fixes8.sh NNC SOURCE_DIR [ORACLE_DIR]
set -u
nnc=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# expect STATUS TEXT ARGS...: nnc exits with STATUS and prints TEXT (stdout or stderr)
expect() {
  local want=$1 text=$2
  shift 2
  "$nnc" "$@" >"$tmp/out" 2>&1
  local got=$?
  if [ "$got" -eq "$want" ] && grep -qF -- "$text" "$tmp/out"; then ok
  else bad "$* -> $got (want $want, '$text'): $(cat "$tmp/out")"; fi
}

# input a has a None axis (sequences of 3 features), b is declared whole
cat >"$tmp/two.json" <<'JSON'
{"class_name": "Functional", "config": {"name": "f", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, null, 3], "name": "a"}, "name": "a", "inbound_nodes": []},
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "b"}, "name": "b", "inbound_nodes": []},
 {"class_name": "Conv1D", "config": {"name": "c", "filters": 4, "kernel_size": 2}, "name": "c", "inbound_nodes": [[["a", 0, 0, {}]]]},
 {"class_name": "GlobalAveragePooling1D", "config": {"name": "fl"}, "name": "fl", "inbound_nodes": [[["c", 0, 0, {}]]]},
 {"class_name": "Concatenate", "config": {"name": "cat"}, "name": "cat", "inbound_nodes": [[["fl", 0, 0, {}], ["b", 0, 0, {}]]]},
 {"class_name": "Dense", "config": {"name": "d", "units": 1}, "name": "d", "inbound_nodes": [[["cat", 0, 0, {}]]]}],
 "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["d", 0, 0]]},
 "compile_config": {"optimizer": "sgd", "loss": "mse"}}
JSON
inputs='the model has 2 inputs ("a", "b")'

# one per input, in order; the shapes reach their inputs (a wrong one is named)
expect 0 "cat (Concatenate)" compile "$tmp/two.json" --input-shape 5,3 --input-shape 2 --summary
grep -q "c (Conv1D) .*(None, None, 4)" "$tmp/out" && grep -q "cat (Concatenate) .*(None, 6)" "$tmp/out" &&
  ok || bad "summary of 5,3 + 2: $(cat "$tmp/out")"
expect 2 'layers[0]: the model expects inputs of shape (None, None, 3), the data is (None, 2)' \
  compile "$tmp/two.json" --input-shape 2 --input-shape 5,3
expect 2 'layers[1]: the model expects inputs of shape (None, 2), the data is (None, 3)' \
  compile "$tmp/two.json" --input-shape 5,3 --input-shape 3
# by name, in any order; b keeps its declared shape when not named
expect 0 "ok (4 weights" compile "$tmp/two.json" --input-shape b=2 --input-shape a=7,3
expect 0 "ok (4 weights" compile "$tmp/two.json" --input-shape a=4,3
expect 2 'layers[0]: the model expects inputs of shape (None, None, 3), the data is (None, 4, 2)' \
  compile "$tmp/two.json" --input-shape a=4,2
expect 2 'layers[1]: the model expects inputs of shape (None, 2), the data is (None, 3)' \
  compile "$tmp/two.json" --input-shape a=4,3 --input-shape b=3
# refusals
expect 2 "$inputs: give one --input-shape per input in that order, or NAME=D1,D2,... for the inputs that need one; got 1" \
  compile "$tmp/two.json" --input-shape 5,3
expect 2 "got 3" compile "$tmp/two.json" --input-shape 5,3 --input-shape 2 --input-shape 2
expect 2 "give every shape as NAME=D1,D2,... or none of them, got 'a=5,3' and '2'" \
  compile "$tmp/two.json" --input-shape a=5,3 --input-shape 2
expect 2 'the model has no input "z" (its inputs: "a", "b")' compile "$tmp/two.json" --input-shape z=5,3
expect 2 'input "a" is given twice' compile "$tmp/two.json" --input-shape a=5,3 --input-shape a=6,3
expect 2 "expected 1 to 7 positive integers like 28,28, got 'a=5,x'" \
  compile "$tmp/two.json" --input-shape a=5,x
# b named alone: a's None axis still needs a size
expect 2 'input "a" (None, None, 3) has a None axis 1' compile "$tmp/two.json" --input-shape b=2
# fit/evaluate/predict take the shapes from the data: no such option
expect 2 "unknown option '--input-shape'" fit "$tmp/two.json" --input-shape 5,3

echo "test_fixes8: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
