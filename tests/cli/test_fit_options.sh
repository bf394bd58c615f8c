#!/usr/bin/env bash
# nnc fit's callback and fit-option flags (docs/cli.md "Callbacks and fit
# options"): --callback creates built-in callbacks before any work (a bad one
# is exit 2 naming the flag and the argument), --steps-per-epoch,
# --validation-freq, --shuffle, --class-weight, --sample-weight(-val),
# --train-metrics end-of-epoch; evaluate and train-on-batch take
# --sample-weight.
# usage: test_fit_options.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
spec=$src/tests/cli/logreg.json
case=$oracle/cases/seed000_logreg
data=(--x "$case/x.npy" --y "$case/y.npy")

# a float32 .npy of shape (100,): weights 1 and 2 alternating
python3 - "$tmp/w.npy" <<'PY'
import struct, sys
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }"
header += " " * (63 - len(header)) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<100f", *[1.0 + i % 2 for i in range(100)]))
PY
# weights shaped (100, 2), which do not lead the output's (B, 1)
python3 - "$tmp/w2.npy" <<'PY'
import struct, sys
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100, 2), }"
header += " " * (63 - len(header)) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<200f", *[1.0] * 200))
PY

# expect_fail NAME PATTERN ARGS...: exit 2, one line on stderr containing PATTERN
expect_fail() {
  local name=$1 pattern=$2
  shift 2
  "$nnc" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$? lines
  lines=$(wc -l <"$tmp/err")
  if [ $rc -ne 2 ]; then bad "$name: exit $rc, expected 2 ($(cat "$tmp/err"))"; return; fi
  if [ "$lines" -ne 1 ]; then bad "$name: $lines lines on stderr: $(cat "$tmp/err")"; return; fi
  if ! grep -qF -- "$pattern" "$tmp/err"; then bad "$name: '$(cat "$tmp/err")' lacks '$pattern'"; return; fi
  ok
}

# CSVLogger from the command line: a header and one row per epoch
if "$nnc" fit "$spec" "${data[@]}" --epochs 3 --verbose 0 \
  --callback "CSVLogger(filename='$tmp/log.csv', separator=';')" >"$tmp/out" 2>&1 &&
  [ "$(head -1 "$tmp/log.csv" | tr -d '\r')" = "epoch;accuracy;loss;val_accuracy;val_loss" ] &&
  [ "$(wc -l <"$tmp/log.csv")" -eq 4 ] && grep -q $'^2;' "$tmp/log.csv"; then ok; else
  bad "CSVLogger: $(cat "$tmp/out"; cat "$tmp/log.csv" 2>/dev/null)"; fi

# positional arguments as Keras users write them: CSVLogger(filename, separator, append)
if "$nnc" fit "$spec" "${data[@]}" --epochs 2 --verbose 0 \
  --callback "CSVLogger('$tmp/pos.csv', ';')" >"$tmp/out" 2>&1 &&
  [ "$(head -1 "$tmp/pos.csv" | tr -d '\r')" = "epoch;accuracy;loss;val_accuracy;val_loss" ] &&
  [ "$(wc -l <"$tmp/pos.csv")" -eq 3 ]; then ok; else
  bad "CSVLogger positional: $(cat "$tmp/out"; cat "$tmp/pos.csv" 2>/dev/null)"; fi
expect_fail positional_after_keyword "column 26: expected key=value (a positional argument follows a keyword one)" \
  fit "$spec" "${data[@]}" --callback "CSVLogger(separator=';', 'a.csv')"
expect_fail too_many_positionals "column 28: CSVLogger takes 3 positional argument(s)" \
  fit "$spec" "${data[@]}" --callback "CSVLogger('a.csv', ';', 0, 1)"

expect_fail unknown_callback "nnc fit: --callback 2: Bogus(): class: unknown callback class 'Bogus' (known: " \
  fit "$spec" "${data[@]}" --callback 'TerminateOnNaN()' --callback 'Bogus()'
expect_fail bad_argument "--callback 1: CSVLogger(filename=a.csv, append=x): append: expected true or false, got 'x'" \
  fit "$spec" "${data[@]}" --callback 'CSVLogger(filename=a.csv, append=x)'
expect_fail bad_syntax "column 25: expected ',' or ')' after a value" \
  fit "$spec" "${data[@]}" --callback 'CSVLogger(filename=a.csv'
expect_fail bad_shuffle "--shuffle: expected true, false or batch, got 'sometimes'" \
  fit "$spec" "${data[@]}" --shuffle sometimes
expect_fail bad_class_weight "--class-weight: expected CLASS:WEIGHT pairs" \
  fit "$spec" "${data[@]}" --class-weight '0:1,x:5'
expect_fail both_weights "--sample-weight and --class-weight do not go together" \
  fit "$spec" "${data[@]}" --class-weight '0:1' --sample-weight "$tmp/w.npy"
# the message names the weights' file, not the x file (it once named x.npy)
expect_fail weight_shape "nnc fit: $tmp/w2.npy: the sample weights of output \"dense\" are shaped [B,2]" \
  fit "$spec" "${data[@]}" --sample-weight "$tmp/w2.npy"
# a CSVLogger over an input is refused before training and leaves it alone
# (it once truncated --x and wrote the log into it)
cp "$case/x.npy" "$tmp/x.npy"
expect_fail csv_over_input "nnc fit: --callback $tmp/x.npy is the same file as --x $tmp/x.npy" \
  fit "$spec" --x "$tmp/x.npy" --y "$case/y.npy" --callback "CSVLogger(filename='$tmp/x.npy')"
if cmp -s "$case/x.npy" "$tmp/x.npy"; then ok; else bad "csv_over_input: --x was changed"; fi
# a 5 KB ModelCheckpoint name: the message still ends with what went wrong
# (the path once filled the 1023-byte message and cut the reason off)
long=$(printf 'y%.0s' $(seq 5000))
expect_fail long_template "format spec '%n' is not one nnc reads" \
  fit "$spec" "${data[@]}" --callback "ModelCheckpoint(filepath='$tmp/$long{epoch:%n}.safetensors')"
"$nnc" fit "$spec" "${data[@]}" --verbose 0 \
  --callback "ModelCheckpoint(filepath='$tmp/$long{epoch}.safetensors')" >"$tmp/out" 2>"$tmp/err"
rc=$?
# (session 39: a path too long to resolve is refused before training, shortened)
if [ $rc -eq 2 ] && grep -q "^nnc fit: --callback $tmp/y*\.\.\.y*{epoch}\.safetensors: the path is too long, or a link on it leads nowhere nnc can follow, so nnc cannot check it" "$tmp/err"; then ok; else
  bad "long_name: exit $rc: $(cut -c1-300 "$tmp/err")"; fi
expect_fail weight_val_alone "--sample-weight-val needs --x-val and --y-val" \
  fit "$spec" "${data[@]}" --sample-weight-val "$tmp/w.npy"
expect_fail bad_steps "--steps-per-epoch: expected an integer" \
  fit "$spec" "${data[@]}" --steps-per-epoch 0
expect_fail bad_train_metrics "--train-metrics: expected batches or end-of-epoch" \
  fit "$spec" "${data[@]}" --train-metrics sometimes

# steps_per_epoch: the progress bar counts 3 steps an epoch
if "$nnc" fit "$spec" "${data[@]}" --epochs 2 --batch-size 10 --steps-per-epoch 3 --verbose 2 \
  >"$tmp/out" 2>&1 && [ "$(grep -c '^3/3 - ' "$tmp/out")" -eq 2 ]; then ok; else
  bad "steps-per-epoch: $(cat "$tmp/out")"; fi

# validation_freq 2: val_loss only at the second epoch (null at the first)
if "$nnc" fit "$spec" "${data[@]}" --epochs 2 --verbose 0 --validation-split 0.2 \
  --validation-freq 2 --history "$tmp/h.json" >"$tmp/out" 2>&1 &&
  grep -q '"val_loss": \[null, [0-9.e-]*\]' "$tmp/h.json"; then ok; else
  bad "validation-freq: $(cat "$tmp/out" "$tmp/h.json")"; fi

# end-of-epoch training metrics: train_loss and train_accuracy in the history
if "$nnc" fit "$spec" "${data[@]}" --epochs 2 --verbose 0 --train-metrics end-of-epoch \
  --history "$tmp/h.json" >"$tmp/out" 2>&1 && grep -q '"train_loss": \[' "$tmp/h.json" &&
  grep -q '"train_accuracy": \[' "$tmp/h.json"; then ok; else
  bad "train-metrics: $(cat "$tmp/out" "$tmp/h.json")"; fi

# weights and shuffle modes run end to end (their numbers: tests/unit)
for args in "--class-weight 0:1,1:5" "--sample-weight $tmp/w.npy" "--shuffle batch" \
  "--x-val $case/x.npy --y-val $case/y.npy --sample-weight-val $tmp/w.npy --validation-batch-size 7 --validation-steps 2"; do
  # shellcheck disable=SC2086
  if "$nnc" fit "$spec" "${data[@]}" --epochs 1 --verbose 0 $args >"$tmp/out" 2>&1; then ok; else
    bad "fit $args: $(cat "$tmp/out")"; fi
done
if "$nnc" evaluate "$spec" "${data[@]}" --sample-weight "$tmp/w.npy" >"$tmp/out" 2>&1 &&
  grep -q '^accuracy: ' "$tmp/out"; then ok; else bad "evaluate --sample-weight: $(cat "$tmp/out")"; fi
if "$nnc" train-on-batch "$spec" "${data[@]}" --steps 2 --sample-weight "$tmp/w.npy" >"$tmp/out" 2>&1; then
  ok; else bad "train-on-batch --sample-weight: $(cat "$tmp/out")"; fi

echo "fit options: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
