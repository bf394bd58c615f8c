#!/usr/bin/env bash
# Data options matched to the model's inputs and outputs (docs/cli.md, "Several
# inputs and outputs"): NAME=FILE and .npz files (made here by Python's zipfile,
# as numpy's np.savez does) give the same results as plain files, byte for byte;
# predict --out DIR and --out P.npz hold the same array as --out P.npy (the
# .npz checked by Python's zipfile); every misuse is one line and exit 2.
# usage: test_multi_io.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case=$oracle/cases/seed000_logreg
spec=$src/tests/cli/logreg.json # input "input_layer", output "dense"
if [ ! -f "$case/x.npy" ]; then
  echo "NOTICE: $case is absent; skipping"
  exit 0
fi
cp "$case/x.npy" "$tmp/x.npy"
cp "$case/y.npy" "$tmp/y.npy"

# npz FILE COMPRESSION NAME=NPY...: an archive as np.savez (stored) or np.savez_compressed makes it
npz() {
  python3 - "$@" <<'EOF'
import sys, zipfile
out, method = sys.argv[1], zipfile.ZIP_DEFLATED if sys.argv[2] == "deflated" else zipfile.ZIP_STORED
with zipfile.ZipFile(out, "w", compression=method, allowZip64=True) as z:
    for item in sys.argv[3:]:
        name, path = item.split("=", 1)
        with z.open(name + ".npy", "w", force_zip64=True) as f:
            f.write(open(path, "rb").read())
EOF
}
npz "$tmp/xin.npz" stored "input_layer=$tmp/x.npy"
npz "$tmp/arr0.npz" deflated "arr_0=$tmp/x.npy"
npz "$tmp/ydense.npz" deflated "dense=$tmp/y.npy"
npz "$tmp/xwrong.npz" stored "inp=$tmp/x.npy"

# expect_fail NAME EXIT PATTERN nnc-args...: that exit, one stderr line holding PATTERN
expect_fail() {
  local name=$1 want=$2 pattern=$3
  shift 3
  "$nnc" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -ne "$want" ]; then bad "$name: exit $rc, expected $want ($(cat "$tmp/err"))"; return; fi
  if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then bad "$name: not one line: $(cat "$tmp/err")"; return; fi
  if ! grep -qF -- "$pattern" "$tmp/err"; then bad "$name: '$(cat "$tmp/err")' lacks '$pattern'"; return; fi
  ok
}
# same NAME A B: files A and B are identical
same() { if cmp -s "$2" "$3"; then ok; else bad "$1: $2 and $3 differ"; fi; }

# ---- fit: plain, by name, .npz: the same history and weights
fit() { # fit TAG data-args...
  local tag=$1
  shift
  "$nnc" fit "$spec" "$@" --epochs 2 --batch-size 32 --verbose 0 --history "$tmp/h_$tag.json" \
    --weights-out "$tmp/w_$tag.safetensors" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 0 ]; then ok; else bad "fit $tag: exit $rc: $(cat "$tmp/err")"; fi
}
fit plain --x "$tmp/x.npy" --y "$tmp/y.npy"
fit named --x "input_layer=$tmp/x.npy" --y "dense=$tmp/y.npy"
fit npz --x "$tmp/xin.npz" --y "$tmp/ydense.npz"
fit arr0 --x "$tmp/arr0.npz" --y "$tmp/y.npy"
fit val --x "$tmp/x.npy" --y "$tmp/y.npy" --x-val "input_layer=$tmp/x.npy" --y-val "$tmp/ydense.npz"
for tag in named npz arr0; do
  same "history $tag" "$tmp/h_plain.json" "$tmp/h_$tag.json"
  same "weights $tag" "$tmp/w_plain.safetensors" "$tmp/w_$tag.safetensors"
done
if grep -q '"val_loss"' "$tmp/h_val.json"; then ok; else bad "fit with named validation data: $(cat "$tmp/h_val.json")"; fi

# ---- evaluate: the same numbers whichever way the files come
"$nnc" evaluate "$spec" --weights "$tmp/w_plain.safetensors" --x "$tmp/x.npy" --y "$tmp/y.npy" >"$tmp/e_plain" 2>&1
"$nnc" evaluate "$spec" --weights "$tmp/w_plain.safetensors" --x "$tmp/xin.npz" --y "dense=$tmp/y.npy" >"$tmp/e_npz" 2>&1
if grep -q 'loss: ' "$tmp/e_plain"; then ok; else bad "evaluate: $(cat "$tmp/e_plain")"; fi
same "evaluate npz" "$tmp/e_plain" "$tmp/e_npz"

# ---- predict: --out P.npy, DIR, P.npz
w=$tmp/w_plain.safetensors
"$nnc" predict "$spec" --weights "$w" --x "$tmp/x.npy" --out "$tmp/p.npy" 2>"$tmp/err" || bad "predict: $(cat "$tmp/err")"
"$nnc" predict "$spec" --weights "$w" --x "input_layer=$tmp/x.npy" --out "$tmp/p_named.npy" 2>"$tmp/err" || bad "predict named: $(cat "$tmp/err")"
same "predict named" "$tmp/p.npy" "$tmp/p_named.npy"
mkdir "$tmp/pdir"
"$nnc" predict "$spec" --weights "$w" --x "$tmp/arr0.npz" --out "$tmp/pdir" 2>"$tmp/err" || bad "predict dir: $(cat "$tmp/err")"
same "predict --out DIR" "$tmp/p.npy" "$tmp/pdir/dense.npy"
if [ "$(ls "$tmp/pdir")" = "dense.npy" ]; then ok; else bad "predict --out DIR wrote: $(ls "$tmp/pdir")"; fi
"$nnc" predict "$spec" --weights "$w" --x "$tmp/x.npy" --out "$tmp/p.npz" 2>"$tmp/err" || bad "predict npz: $(cat "$tmp/err")"
python3 - "$tmp/p.npz" "$tmp/p.npy" <<'EOF' && ok || bad "predict --out P.npz: Python's zipfile disagrees"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None  # every CRC right
assert z.namelist() == ["dense.npy"], z.namelist()
assert z.read("dense.npy") == open(sys.argv[2], "rb").read()
EOF
# a .npz prediction read back as data: --x P.npz names no input
expect_fail npz_member_not_an_input 2 "member 'dense' is not an input of the model (inputs: input_layer)" \
  predict "$spec" --weights "$w" --x "$tmp/p.npz" --out "$tmp/q.npy"
# a file whose name holds '=' is a file when its text before '=' holds a '/'
cp "$tmp/x.npy" "$tmp/a=b.npy"
(cd "$tmp" && "$nnc" predict "$spec" --weights "$w" --x ./a=b.npy --out "$tmp/p_eq.npy" 2>"$tmp/err") || bad "predict ./a=b.npy: $(cat "$tmp/err")"
same "predict ./a=b.npy" "$tmp/p.npy" "$tmp/p_eq.npy"

# ---- misuse: one line, exit 2, naming the option and the model's inputs/outputs
expect_fail unknown_input 2 "--x foo=$tmp/x.npy: 'foo' is not an input of the model (inputs: input_layer)" \
  fit "$spec" --x "foo=$tmp/x.npy" --y "$tmp/y.npy"
expect_fail unknown_output 2 "'out_b' is not an output of the model (outputs: dense)" \
  fit "$spec" --x "$tmp/x.npy" --y "out_b=$tmp/y.npy"
expect_fail doubled_input 2 "--x: input 'input_layer' is given twice" \
  fit "$spec" --x "input_layer=$tmp/x.npy" --x "input_layer=$tmp/x.npy" --y "$tmp/y.npy"
expect_fail mixed_styles 2 "--x: give every file as NAME=FILE or none" \
  fit "$spec" --x "input_layer=$tmp/x.npy" --x "$tmp/x.npy" --y "$tmp/y.npy"
expect_fail too_many_files 2 "--x: the model has 1 input (input_layer): give one file for each, in order, or NAME=FILE; got 2" \
  fit "$spec" --x "$tmp/x.npy" --x "$tmp/x.npy" --y "$tmp/y.npy"
expect_fail too_many_targets 2 "--y-test: the model has 1 output (dense)" \
  fit "$spec" --x "$tmp/x.npy" --y "$tmp/y.npy" --x-test "$tmp/x.npy" --y-test "$tmp/y.npy" --y-test "$tmp/y.npy"
expect_fail wrong_member 2 "--x $tmp/xwrong.npz: member 'inp' is not an input of the model (inputs: input_layer)" \
  evaluate "$spec" --x "$tmp/xwrong.npz" --y "$tmp/y.npy"
expect_fail named_npz 2 "is a .npz file, which names its arrays itself" \
  fit "$spec" --x "input_layer=$tmp/xin.npz" --y "$tmp/y.npy"
head -c 300 "$tmp/xin.npz" >"$tmp/cut.npz"
expect_fail truncated_npz 2 "$tmp/cut.npz: member 'input_layer.npy' truncated" \
  predict "$spec" --x "$tmp/cut.npz" --out "$tmp/q.npy"
# outputs are checked against the files of NAME=FILE and against DIR/<output>.npy
expect_fail out_is_named_input 2 "is the same file as --x input_layer=$tmp/x.npy" \
  predict "$spec" --x "input_layer=$tmp/x.npy" --out "$tmp/x.npy"
mkdir "$tmp/d2" && cp "$tmp/x.npy" "$tmp/d2/dense.npy"
expect_fail out_dir_holds_input 2 "--out $tmp/d2/dense.npy is the same file as --x" \
  predict "$spec" --x "$tmp/d2/dense.npy" --out "$tmp/d2"
same "input kept" "$tmp/x.npy" "$tmp/d2/dense.npy"

# session 39: --out P.NPZ is an archive too (the suffix in any case)
if "$nnc" predict "$spec" --x "$tmp/x.npy" --out "$tmp/upper.NPZ" 2>"$tmp/err" &&
  [ "$(head -c 2 "$tmp/upper.NPZ")" = PK ]; then ok; else bad "--out .NPZ: $(cat "$tmp/err")"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
