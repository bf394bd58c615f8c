#!/usr/bin/env bash
# The CLI maps a .npy file instead of reading it (issue 9): fit on mapped
# files gives the same weights and history as on the same files read from a
# pipe (the read path), with --validation-split, shuffling and --x-divide;
# the files are not written; a truncated .npy is a clear error (exit 2),
# never a SIGBUS.
# usage: test_data9.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 oracle=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seed004_setup "$oracle" '{"class_name": "Dense", "config": {"name": "d", "units": 16, "activation": "relu"}},
  {"class_name": "Dense", "config": {"name": "out", "units": 1}}' \
  '{"optimizer": "adam", "loss": "mse", "metrics": ["mae"]}'
case=$oracle/cases/seed004_mlp

fit() { # fit TAG X Y [more options]
  local tag=$1 x=$2 y=$3
  shift 3
  "$nnc" fit "$tmp/spec.json" --x "$x" --y "$y" --epochs 2 --batch-size 24 \
    --validation-split 0.2 --seed 3 --verbose 0 "$@" \
    --weights-out "$tmp/w$tag.safetensors" --history "$tmp/h$tag.json" >"$tmp/out$tag" 2>&1
}

for divide in "" 255; do
  extra=()
  [ -n "$divide" ] && extra=(--x-divide "$divide")
  fit "map$divide" "$tmp/x.npy" "$tmp/y.npy" "${extra[@]}"
  rc=$?
  [ $rc -eq 0 ] || bad "mapped files (divide '$divide'): exit $rc: $(cat "$tmp/outmap$divide")"
  fit "pipe$divide" <(cat "$tmp/x.npy") <(cat "$tmp/y.npy") "${extra[@]}"
  rc=$?
  [ $rc -eq 0 ] || bad "piped files (divide '$divide'): exit $rc: $(cat "$tmp/outpipe$divide")"
  if [ -s "$tmp/wmap$divide.safetensors" ] && cmp -s "$tmp/wmap$divide.safetensors" "$tmp/wpipe$divide.safetensors" &&
    cmp -s "$tmp/hmap$divide.json" "$tmp/hpipe$divide.json"; then
    ok
  else
    bad "mapped and read files train differently (divide '$divide')"
  fi
done
if cmp -s "$tmp/hmap.json" "$tmp/hmap255.json"; then bad "--x-divide 255 changed nothing"; else ok; fi
if cmp -s "$case/x.npy" "$tmp/x.npy" && cmp -s "$case/y.npy" "$tmp/y.npy"; then ok; else bad "a mapped file was written"; fi

# the file is mapped, read-only and private, the size of the file (not read into memory)
if command -v strace >/dev/null; then
  size=$(stat -c %s "$tmp/x.npy")
  strace -f -e trace=mmap -o "$tmp/trace" "$nnc" fit "$tmp/spec.json" --x "$tmp/x.npy" --y "$tmp/y.npy" \
    --epochs 1 --verbose 0 >/dev/null 2>&1
  if grep -q "mmap(NULL, $size, PROT_READ, MAP_PRIVATE, " "$tmp/trace"; then ok; else bad "x.npy was not mapped"; fi
fi

# evaluate and predict on mapped files equal the read path too
"$nnc" evaluate "$tmp/spec.json" --weights "$tmp/wmap.safetensors" --x "$tmp/x.npy" --y "$tmp/y.npy" >"$tmp/e1" 2>&1
"$nnc" evaluate "$tmp/spec.json" --weights "$tmp/wmap.safetensors" --x <(cat "$tmp/x.npy") --y <(cat "$tmp/y.npy") >"$tmp/e2" 2>&1
if grep -q "loss" "$tmp/e1" && cmp -s "$tmp/e1" "$tmp/e2"; then ok; else bad "evaluate: $(cat "$tmp/e1") vs $(cat "$tmp/e2")"; fi
"$nnc" predict "$tmp/spec.json" --weights "$tmp/wmap.safetensors" --x "$tmp/x.npy" --out "$tmp/p1.npy" >/dev/null 2>&1
"$nnc" predict "$tmp/spec.json" --weights "$tmp/wmap.safetensors" --x <(cat "$tmp/x.npy") --out "$tmp/p2.npy" >/dev/null 2>&1
if [ -s "$tmp/p1.npy" ] && cmp -s "$tmp/p1.npy" "$tmp/p2.npy"; then ok; else bad "predict differs"; fi

# truncated (the size is checked before mapping) and overlong files: exit 2, named
size=$(stat -c %s "$tmp/x.npy")
head -c $((size - 4096)) "$tmp/x.npy" >"$tmp/short.npy"
fit short "$tmp/short.npy" "$tmp/y.npy"
rc=$?
if [ $rc -eq 2 ] && grep -q "short.npy: data truncated: the shape needs 1001000 bytes" "$tmp/outshort"; then
  ok
else
  bad "truncated .npy: exit $rc: $(cat "$tmp/outshort")"
fi
cat "$tmp/x.npy" <(printf 'junk') >"$tmp/long.npy"
fit long "$tmp/long.npy" "$tmp/y.npy"
rc=$?
if [ $rc -eq 2 ] && grep -q "long.npy: 4 unexpected bytes after the array data" "$tmp/outlong"; then
  ok
else
  bad "overlong .npy: exit $rc: $(cat "$tmp/outlong")"
fi

echo "test_data9.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
