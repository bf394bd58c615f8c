#!/usr/bin/env bash
# The command line's contract for errors (docs/cli.md): invalid input is
# exit 2 with one line naming the file it is about; a failed write is exit 1
# and keeps the old file; test data is checked before training; option values
# are range-checked; --trace writes non-finite losses as JSON null.
# usage: test_cli_contract.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

spec=$src/tests/cli/logreg.json
case=$oracle/cases/seed000_logreg
x=$case/x.npy y=$case/y.npy
# a (100, 2) array: the wrong shape for logreg's targets and inputs
"$nnc" predict "$spec" --x "$x" --out "$tmp/p1.npy" 2>/dev/null
sed 's/"units": 1/"units": 2/' "$spec" >"$tmp/two.json"
"$nnc" predict "$tmp/two.json" --x "$x" --out "$tmp/y2.npy" 2>"$tmp/err" || bad "making y2.npy: $(cat "$tmp/err")"

# expect RC NEEDLE CMD...: exit RC, one line on stderr that contains NEEDLE
expect() {
  local want=$1 needle=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -ne "$want" ]; then bad "$*: exit $rc, expected $want ($(cat "$tmp/err"))"; return 1; fi
  if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then bad "$*: $(wc -l <"$tmp/err") lines on stderr: $(cat "$tmp/err")"; return 1; fi
  if ! grep -qF -- "$needle" "$tmp/err"; then bad "$*: '$(cat "$tmp/err")' lacks '$needle'"; return 1; fi
  ok
}

# messages about data name the file they are about
expect 2 "$tmp/y2.npy: " "$nnc" fit "$spec" --x "$x" --y "$tmp/y2.npy" --verbose 0
expect 2 "$tmp/y2.npy: " "$nnc" evaluate "$spec" --x "$x" --y "$tmp/y2.npy"
expect 2 "$tmp/y2.npy: " "$nnc" fit "$spec" --x "$x" --y "$y" --x-val "$x" --y-val "$tmp/y2.npy" --verbose 0
expect 2 "$tmp/y2.npy: " "$nnc" fit "$spec" --x "$x" --y "$y" --x-val "$tmp/y2.npy" --y-val "$y" --verbose 0
printf '{"optimizer": "sgd", "loss": "no_such_loss"}' >"$tmp/cc.json"
expect 2 "$tmp/cc.json: " "$nnc" fit "$spec" --x "$x" --y "$y" --compile-config "$tmp/cc.json"
expect 2 "--x and --y are required" "$nnc" fit "$spec" --x "$x"
if ! grep -q "are is" "$tmp/err"; then ok; else bad "typo in: $(cat "$tmp/err")"; fi

# --x-test/--y-test are read and checked before training: nothing trains, nothing is written
expect 2 "$tmp/y2.npy: " "$nnc" fit "$spec" --x "$x" --y "$y" --x-test "$x" --y-test "$tmp/y2.npy" \
  --weights-out "$tmp/w_never.safetensors" --verbose 2
if ! grep -q "loss" "$tmp/out" && [ ! -e "$tmp/w_never.safetensors" ]; then ok; else bad "trained before checking --y-test: $(cat "$tmp/out")"; fi
expect 2 "$tmp/nope.npy" "$nnc" fit "$spec" --x "$x" --y "$y" --x-test "$x" --y-test "$tmp/nope.npy" --verbose 2
if ! grep -q "loss" "$tmp/out"; then ok; else bad "trained before opening --y-test"; fi
expect 2 "--x-test and --y-test go together" "$nnc" fit "$spec" --x "$x" --y "$y" --x-test "$x"

# option values: negative, NaN and infinite splits and divisors are refused
for v in -0.1 nan inf 1 1.5; do
  expect 2 "--validation-split" "$nnc" fit "$spec" --x "$x" --y "$y" --validation-split "$v"
done
for v in nan inf -inf 0 1e-50; do
  expect 2 "--x-divide" "$nnc" fit "$spec" --x "$x" --y "$y" --x-divide "$v"
done

# a failed write is exit 1 (2 is invalid input); the message names the file
expect 1 "$tmp/no/such/dir/h.json" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --history "$tmp/no/such/dir/h.json"
expect 1 "$tmp/no/w.safetensors" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --weights-out "$tmp/no/w.safetensors"
expect 1 "$tmp/no/p.npy" "$nnc" predict "$spec" --x "$x" --out "$tmp/no/p.npy"
mkdir "$tmp/adir"
expect 1 "$tmp/adir" "$nnc" train-on-batch "$spec" --x "$x" --y "$y" --trace "$tmp/adir"

# --trace: a diverging run's inf/NaN losses are null, and the file is JSON
sed -e 's/"learning_rate": 2/"learning_rate": 1e30/' -e 's/"sigmoid"/"linear"/' -e 's/"binary_crossentropy"/"mse"/' "$spec" >"$tmp/diverge.json"
"$nnc" train-on-batch "$tmp/diverge.json" --x "$x" --y "$y" --steps 12 --trace "$tmp/t.json" 2>"$tmp/err"
rc=$?
nulls=$(grep -c '"loss": null' "$tmp/t.json")
if [ $rc -eq 0 ] && [ "$nulls" -gt 0 ] && ! grep -qiE 'nan|inf' "$tmp/t.json"; then ok; else bad "trace: exit $rc, $nulls nulls: $(cat "$tmp/t.json")"; fi

# --check-numerics: exit 1 naming epoch, batch and op; --weights-out gets the
# finite weights from before the failing step
expect 1 "check_numerics: epoch 1/3, batch 2/10: " "$nnc" fit "$tmp/diverge.json" --x "$x" --y "$y" \
  --epochs 3 --batch-size 10 --no-shuffle --check-numerics --verbose 0 --weights-out "$tmp/wn.safetensors"
if grep -q "(op " "$tmp/err"; then ok; else bad "no op named: $(cat "$tmp/err")"; fi
"$nnc" predict "$tmp/diverge.json" --weights "$tmp/wn.safetensors" --x "$x" --out "$tmp/pn.npy" 2>"$tmp/err"
# predictions from the kept weights are finite (od prints inf/nan as words)
vals=$(od -A n -t f4 -j 128 "$tmp/pn.npy" | wc -w)
if [ "$vals" -eq 100 ] && ! od -A n -t f4 -j 128 "$tmp/pn.npy" | grep -qiE 'inf|nan'; then ok; else bad "weights kept at the check: $vals values $(cat "$tmp/err")"; fi
expect 1 "check_numerics: train_on_batch" "$nnc" train-on-batch "$tmp/diverge.json" --x "$x" --y "$y" --steps 5 --check-numerics

# an output that is also an input is refused before any work; so is an output
# in a missing folder (exit 1, nothing trained, the input intact)
cp "$spec" "$tmp/s.json"
cp "$x" "$tmp/x.npy"
expect 2 "--history $tmp/s.json is the same file as SPEC" "$nnc" fit "$tmp/s.json" --x "$x" --y "$y" --verbose 2 --history "$tmp/s.json"
if cmp -s "$spec" "$tmp/s.json" && [ ! -s "$tmp/out" ]; then ok; else bad "the spec was overwritten or training ran"; fi
expect 2 "--out $tmp/x.npy is the same file as --x" "$nnc" predict "$spec" --x "$tmp/x.npy" --out "$tmp/x.npy"
if cmp -s "$x" "$tmp/x.npy"; then ok; else bad "predict overwrote its input"; fi
"$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --weights-out "$tmp/w1.safetensors" 2>/dev/null
expect 2 "one output would overwrite the other" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 \
  --weights-out "$tmp/w1.safetensors" --history "$tmp/w1.safetensors"
"$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --weights-in "$tmp/w1.safetensors" --weights-out "$tmp/w1.safetensors" 2>"$tmp/err"
if [ $? -eq 0 ]; then ok; else bad "--weights-in = --weights-out: $(cat "$tmp/err")"; fi
expect 1 "$tmp/nope/h.json: cannot write: No such file or directory" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 2 --history "$tmp/nope/h.json"
if [ ! -s "$tmp/out" ]; then ok; else bad "trained before checking the output path: $(cat "$tmp/out")"; fi

# two outputs at one new path (any spelling, or through a dangling link), a dump
# folder holding the spec, an empty name, a path under a file, a closed /dev/fd/N
rm -f "$tmp/same.json"
expect 2 "are the same file" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --history "$tmp/same.json" --weights-out "$tmp/./same.json"
ln -s "$tmp/nowhere.json" "$tmp/dangling"
expect 2 "are the same file" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --history "$tmp/dangling" --weights-out "$tmp/nowhere.json"
# session 39: a 0-d .npy (one value) as data is named as such, not through a library call
python3 - "$tmp/scalar.npy" <<'PY'
import struct, sys
h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (), }"
h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + struct.pack("<f", 3.0))
PY
expect 2 "$tmp/scalar.npy: a 0-d array" "$nnc" predict "$spec" --x "$tmp/scalar.npy" --out "$tmp/ps.npy"
expect 2 "$tmp/scalar.npy: a 0-d array" "$nnc" fit "$spec" --x "$x" --y "$tmp/scalar.npy" --verbose 0
# session 39: a data file or spec given as weights is named for what it is
expect 2 "$x: not a safetensors file: it starts as a .npy array" "$nnc" predict "$spec" --weights "$x" --x "$x" --out "$tmp/pw.npy"
expect 2 "not a safetensors file: it starts as JSON text" "$nnc" evaluate "$spec" --weights "$spec" --x "$x" --y "$y"
# session 39: common options that would change nothing are refused, not ignored
expect 2 "--batch-size does not apply" "$nnc" train-on-batch "$spec" --x "$x" --y "$y" --steps 1 --batch-size 8
expect 2 "--check-numerics checks training steps" "$nnc" evaluate "$spec" --x "$x" --y "$y" --check-numerics
expect 2 "--check-numerics checks training steps" "$nnc" predict "$spec" --x "$x" --out "$tmp/pcn.npy" --check-numerics
expect 2 "--y is not read" "$nnc" predict "$spec" --x "$x" --y "$y" --out "$tmp/pcn.npy"
if [ ! -e "$tmp/pcn.npy" ]; then ok; else bad "a refused predict wrote its output"; fi
# session 39: an output under a name --save-tfjs DIR writes or removes in its
# folder, and a callback's file where an output lands (a ModelCheckpoint
# template's fields are numbers: "wfinal" is not one of its names, "w3" and
# "wnan" are); nothing is written before the refusal
mkdir "$tmp/tj"
echo keep >"$tmp/tj/keep.txt"
expect 2 "is in the --save-tfjs folder" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --save-tfjs "$tmp/tj" --history "$tmp/tj/model.json"
expect 2 "is in the --save-tfjs folder" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --save-tfjs "$tmp/tj" --weights-out "$tmp/tj/../tj/group1-shard1of1.bin"
if [ "$(ls "$tmp/tj")" = keep.txt ]; then ok; else bad "a refused --save-tfjs left: $(ls "$tmp/tj")"; fi
expect 2 "where --history $tmp/log.csv writes" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --history "$tmp/log.csv" --callback "CSVLogger(filename='$tmp/log.csv')"
expect 2 "where --save-tfjs $tmp/tj writes" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --save-tfjs "$tmp/tj" --callback "CSVLogger(filename='$tmp/tj/model.json')"
for w in w3 w0003; do
  expect 2 "can name a file where --weights-out" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-out "$tmp/$w.safetensors" --callback "ModelCheckpoint(filepath='$tmp/w{epoch}.safetensors')"
done
expect 2 "can name a file where --weights-out" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-out "$tmp/w_3_.safetensors" --callback "ModelCheckpoint(filepath='$tmp/w_{epoch:_^3}.safetensors')"
# (the breaker's cases) a field is a number in its own format: "v2" is no {epoch} but is
# {epoch:v>2}; a folder made at run time is resolved by text ("nx/.." is the folder
# itself); '/' as fill is refused; devices are written through; a callback's file under
# a shard's name in the --save-tfjs folder is refused like an output's
expect 2 "can name a file where --weights-out" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-out "$tmp/mv2.safetensors" --callback "ModelCheckpoint(filepath='$tmp/m{epoch:v>2}.safetensors')"
expect 2 "can name a file where --weights-out" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-out "$tmp/l-__0.69.safetensors" --callback "ModelCheckpoint(filepath='$tmp/l{loss:_=8.2f}.safetensors')"
cp "$src/tests/cli/logreg.json" "$tmp/in1.safetensors"
expect 2 "can name the same file as --weights-in" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-in "$tmp/in1.safetensors" --callback "ModelCheckpoint(filepath='$tmp/nx2/../in{epoch}.safetensors', save_weights_only=true)"
if cmp -s "$src/tests/cli/logreg.json" "$tmp/in1.safetensors" && [ ! -e "$tmp/nx2" ]; then ok; else bad "the refused fit touched $tmp/in1.safetensors or made nx2"; fi
expect 2 "'/' as the fill character" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --callback "ModelCheckpoint(filepath='$tmp/ck{epoch:/>2}.safetensors')"
expect 2 "in the --save-tfjs folder" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --save-tfjs "$tmp/tj" --callback "CSVLogger(filename='$tmp/tj/group1-shard1of1.bin')"
if "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --history /dev/null --callback "CSVLogger(filename=/dev/null)" 2>"$tmp/err" &&
  "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-out "$tmp/model_v2.safetensors" \
    --callback "ModelCheckpoint(filepath='$tmp/model_{epoch}.safetensors')" 2>>"$tmp/err"; then ok; else
  bad "/dev/null twice, or model_{epoch} beside model_v2, refused: $(cat "$tmp/err")"
fi
# (the second breaker's cases) a link reached by ".." out of a folder the callback would
# make; a folder field that can name an existing link (refused: nnc cannot tell where it
# writes); a fill that is a letter of nan; a plain name with braces is compared as it is;
# a long relative path is resolved, not waved through; model_{epoch} is no model_1
mkdir -p "$tmp/data"
cp "$src/tests/cli/logreg.json" "$tmp/data/w.safetensors"
ln -s "$tmp/data" "$tmp/lnk"
ln -s "$tmp/data" "$tmp/run1"
expect 2 "is the same file as --weights-in" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-in "$tmp/data/w.safetensors" --callback "ModelCheckpoint(filepath='$tmp/nx/../lnk/w.safetensors', save_weights_only=True)"
expect 2 "a field in it can name an existing symbolic link" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-in "$tmp/data/w.safetensors" --callback "ModelCheckpoint(filepath='$tmp/run{epoch}/w.safetensors', save_weights_only=True)"
cp "$src/tests/cli/logreg.json" "$tmp/annnnan.safetensors"
expect 2 "can name the same file as --weights-in" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-in "$tmp/annnnan.safetensors" --callback "ModelCheckpoint(filepath='$tmp/a{loss:n>6}.safetensors', save_weights_only=True)"
expect 2 "is the file where --history $tmp/h{a}.csv writes" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --history "$tmp/h{a}.csv" --callback "CSVLogger(filename='$tmp/h{a}.csv')"
dots=$(printf './%.0s' $(seq 2000)) # relative: the kernel takes it; cwd + it would not fit PATH_MAX
cd "$tmp/data" || exit 1
expect 2 "is the same file as --weights-in" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-in w.safetensors --callback "CSVLogger(filename='${dots}w.safetensors')"
cd - >/dev/null || exit 1
if cmp -s "$src/tests/cli/logreg.json" "$tmp/data/w.safetensors" && cmp -s "$src/tests/cli/logreg.json" "$tmp/annnnan.safetensors"; then ok; else bad "a refused fit wrote an input"; fi
cp "$src/tests/cli/logreg.json" "$tmp/model_1.safetensors"
if "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-in "$tmp/w3.safetensors" --weights-out "$tmp/wm.safetensors" \
  --callback "ModelCheckpoint(filepath='$tmp/model{epoch}.safetensors', save_weights_only=True)" 2>"$tmp/err" ||
  ! grep -q "model_1" "$tmp/err"; then ok; else bad "model{epoch} refused beside model_1: $(cat "$tmp/err")"; fi
# (the third breaker's cases) the file name itself a link: to an input through a name a
# field can write (refused: nnc cannot know the epoch it lands at), through a plain name
# after a templated folder, and a CSVLogger's link to an output
cp "$src/tests/cli/logreg.json" "$tmp/xin.npy"
ln -s "$tmp/xin.npy" "$tmp/ck1.safetensors"
expect 2 "a field in it can name an existing symbolic link" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --callback "ModelCheckpoint(filepath='$tmp/ck{epoch}.safetensors', save_weights_only=True)"
ln -s "$tmp/xin.npy" "$tmp/ck.safetensors"
expect 2 "can name the same file as --weights-in" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-in "$tmp/xin.npy" --callback "ModelCheckpoint(filepath='$tmp/d{epoch}/../ck.safetensors', save_weights_only=True)"
ln -s "$tmp/hist39.json" "$tmp/log39.csv"
expect 2 "is the file where --history $tmp/hist39.json writes" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --history "$tmp/hist39.json" --callback "CSVLogger(filename='$tmp/log39.csv')"
if cmp -s "$src/tests/cli/logreg.json" "$tmp/xin.npy" && [ ! -e "$tmp/hist39.json" ]; then ok; else bad "a refused fit wrote through a link"; fi
if "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --epochs 1 --weights-out "$tmp/wfinal.safetensors" \
  --callback "ModelCheckpoint(filepath='$tmp/w{epoch}.safetensors')" 2>"$tmp/err" &&
  [ -f "$tmp/wfinal.safetensors" ] && [ -f "$tmp/w1.safetensors" ]; then ok; else
  bad "ModelCheckpoint w{epoch} beside --weights-out wfinal: $(cat "$tmp/err")"
fi
mkdir "$tmp/dd"
cp "$spec" "$tmp/dd/graphs.txt"
expect 2 "is the same file as SPEC" "$nnc" compile "$tmp/dd/graphs.txt" --dump-graph --dump-dir "$tmp/dd"
if cmp -s "$spec" "$tmp/dd/graphs.txt"; then ok; else bad "--dump-dir overwrote the spec"; fi
expect 2 "--history: expected a file name" "$nnc" fit "$spec" --x "$x" --y "$y" --history ''
expect 1 "cannot write: Not a directory" "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 2 --history "$x/h.json"
if [ ! -s "$tmp/out" ]; then ok; else bad "trained before refusing $x/h.json"; fi
expect 1 "cannot write: Bad file descriptor" sh -c '"$0" fit "$1" --x "$2" --y "$3" --history /dev/fd/7 7>&-' "$nnc" "$spec" "$x" "$y"

# results on a full or closed stdout are a failed write
expect 1 "cannot write to standard output" sh -c '"$0" compile "$1" --summary >/dev/full' "$nnc" "$spec"
expect 1 "cannot write to standard output" sh -c '"$0" evaluate "$1" --x "$2" --y "$3" >&-' "$nnc" "$spec" "$x" "$y"
# an option given twice would silently keep the last value: refused, nothing written
expect 2 "--history is given twice ('$tmp/h1.json', then '$tmp/h2.json')" "$nnc" fit "$spec" --x "$x" --y "$y" --history "$tmp/h1.json" --history "$tmp/h2.json"
if [ ! -e "$tmp/h1.json" ] && [ ! -e "$tmp/h2.json" ]; then ok; else bad "a refused fit wrote a history"; fi
expect 2 "--output is given twice" "$nnc" compile "$spec" -o "$tmp/a.o" -o "$tmp/b.o"
expect 2 "--dump-graph=: expected a value" "$nnc" compile "$spec" --dump-graph=
# --help after other options; --input-shape past the rank limit
"$nnc" fit "$spec" --x "$x" --help >"$tmp/out" 2>&1
if [ $? -eq 0 ] && grep -q '^usage: nnc fit' "$tmp/out"; then ok; else bad "fit ... --help: $(cat "$tmp/out")"; fi
for shape in 1,1,1,1,1,1,1,1 1,1,x 1, 99999999999999999999; do
  expect 2 "--input-shape: expected 1 to 7 positive integers" "$nnc" compile "$spec" --input-shape "$shape"
done
# a batch size beyond the data is one batch of it all, not a huge allocation
# (the address-space limit only outside AddressSanitizer, whose shadow memory needs more)
limit=4000000
[ -n "${ASAN_OPTIONS:-}" ] && limit=unlimited
(ulimit -v $limit; "$nnc" fit "$spec" --x "$x" --y "$y" --verbose 0 --batch-size 1073741824 --validation-split 0.2) 2>"$tmp/err"
if [ $? -eq 0 ]; then ok; else bad "huge --batch-size: $(cat "$tmp/err")"; fi

# a NaN loss prints as Python prints it: "nan", never "-nan"
"$nnc" fit "$tmp/diverge.json" --x "$x" --y "$y" --verbose 2 --epochs 3 >"$tmp/out" 2>&1
if grep -q 'loss: nan$' "$tmp/out" && ! grep -q -- '-nan' "$tmp/out"; then ok; else bad "nan format: $(cat "$tmp/out")"; fi

echo "cli_contract: $pass passed, $fail failed"
[ $fail -eq 0 ]
