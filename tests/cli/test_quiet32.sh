#!/usr/bin/env bash
# LLVM's diagnostics stay out of the user's terminal. Session 32 gave a
# matmul epilogue's column loop a vectorization width (llvm.loop metadata);
# where the loop cannot be vectorized (an activation that calls libm: gelu,
# elu, selu, softplus, mish), LLVM's default diagnostic handler printed
# "remark: ... loop not vectorized: call instruction cannot be vectorized"
# on stderr of `nnc compile` and `nnc fit --verbose 0` (a breaker found it).
# nnc's contexts drop remarks (jit.c: codegen_context_create). Checked: a
# cold compile of the Fashion-MNIST MLP with each such activation, and a
# short fit of one, print nothing on stderr, and the fit's History is the
# same with the remark-producing loop as with NNC_VECTOR_WIDTH=8's code.
# usage: test_quiet32.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1
src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export XDG_CACHE_HOME="$tmp/cache"

for act in gelu elu selu softplus mish relu; do
  sed "s/\"relu\"/\"$act\"/g" "$src/specs/fashion_mnist_mlp.json" >"$tmp/$act.json"
  grep -q "\"$act\"" "$tmp/$act.json" || bad "$act: no Dense layer took the activation"
  if "$nnc" compile "$tmp/$act.json" --no-cache >"$tmp/out" 2>"$tmp/err"; then
    if [ -s "$tmp/err" ]; then bad "$act: compile wrote to stderr: $(head -2 "$tmp/err")"; else ok; fi
    grep -q ": ok (" "$tmp/out" && ok || bad "$act: compile printed $(cat "$tmp/out")"
  else
    bad "$act: compile failed: $(head -2 "$tmp/err")"
  fi
done

# a fit of the gelu model on 256 rows of random data: silent at --verbose 0
python3 - "$tmp" <<'PY'
import struct, sys, random
d = sys.argv[1]
random.seed(3)
def npy(path, shape, values, descr):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%d%s" % (len(values), descr[-2]), *values))
npy(d + "/x.npy", (256, 28, 28), [random.random() for _ in range(256 * 784)], "<f4")
npy(d + "/y.npy", (256,), [random.randrange(10) for _ in range(256)], "<i4")
PY
for w in 16 8; do
  if NNC_CACHE=0 NNC_VECTOR_WIDTH=$w "$nnc" fit "$tmp/gelu.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 1 \
    --batch-size 64 --seed 1 --verbose 0 --history "$tmp/h$w.json" >"$tmp/out" 2>"$tmp/err"; then
    if [ -s "$tmp/err" ]; then bad "fit at width $w wrote to stderr: $(head -2 "$tmp/err")"; else ok; fi
  else
    bad "fit at width $w failed: $(head -2 "$tmp/err")"
  fi
done
cmp -s "$tmp/h16.json" "$tmp/h8.json" && ok || bad "the History differs between widths 16 and 8"

echo "test_quiet32: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
