#!/bin/bash
# Ahead-of-time objects (docs/aot.md): `nnc compile SPEC -o model.o --header model.h`.
#  - docs/examples/aot/host_train.c, built with cc against this build's
#    libnnc_runtime (shared, with an rpath) and model.o, trains the
#    Fashion-MNIST MLP for 2 epochs: its History, final weights and test-set
#    predictions equal `nnc fit` / `nnc predict` (the JIT) bit for bit; so do
#    those of an object made with --cpu x86-64-v3 (AVX2 kernels on any host);
#  - a --cpu generic object (SSE2, no FMA: fmaf from libm, ~50x slower)
#    predicts the first 200 test images bit for bit as the JIT;
#  - docs/examples/aot/host_predict.c, linked with libm alone, predicts the
#    same logits from the trained parameters through fmnist_predict;
#  - the static archive links with `pkg-config --static --libs nnc_runtime`
#    (its .pc pointed at this build) plus -lpthread;
#  - --cpu generic and --cpu x86-64 objects hold no VEX/ymm/zmm instruction
#    (llvm-objdump), the host's default does for an AVX host;
#  - --entry predict leaves the train and test steps out (smaller object,
#    no libm import but what predict uses); the header compiles as C11 with
#    -Wall -Wextra -Werror -pedantic and as C++;
#  - an --entry train object trains through the runtime, which refuses to
#    predict with it naming why;
#  - a .keras file's weights are the object's k3_weights: k3_predict with
#    them equals nnc predict of the file (skipped when ../shared is absent);
#  - bad inputs: unknown --entry, a triple of another architecture or none,
#    a prefix that is not a C identifier, -o into a missing folder, a model
#    without declared inputs: clear errors, and an existing -o file is kept.
# Data: the full Fashion-MNIST (60000 + 10000 images); under a sanitizer
# (NNC_TEST_CFLAGS has -fsanitize) the first 6000 + 1000 to stay in time.
# Args: nnc binary, source dir, oracle dir (unused). Env from tests/CMakeLists.txt:
# CC and NNC_TEST_CFLAGS (the sanitizer flags of a sanitizer build).
set -u
nnc=$1 src=$(cd "$2" && pwd)
. "$src/tests/cli/lib.sh"
build=$(cd "$(dirname "$nnc")" && pwd)
cc=${CC:-cc}
read -r -a cflags <<<"${NNC_TEST_CFLAGS:-}"
spec=$src/specs/fashion_mnist_mlp.json
fm=/usr/share/datasets/fashion-mnist
ex=$src/docs/examples/aot

# ---- data: the idx files uncompressed (a subset under a sanitizer) ----
mkdir -p "$tmp/data"
train_rows=60000 test_rows=10000
case "${NNC_TEST_CFLAGS:-}" in *sanitize*) train_rows=6000 test_rows=1000 ;; esac
# cut NAME ROWS: the first ROWS records of an idx file, its count rewritten
cut_idx() {
  python3 - "$fm/$1.gz" "$tmp/data/$1" "$2" <<'EOF'
import gzip, struct, sys
data = gzip.open(sys.argv[1]).read()
rows = int(sys.argv[3])
ndim = data[3]
dims = list(struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim]))
per = 1
for d in dims[1:]:
    per *= d
dims[0] = rows
head = data[:4] + struct.pack(">%dI" % ndim, *dims)
open(sys.argv[2], "wb").write(head + data[4 + 4 * ndim:4 + 4 * ndim + rows * per])
EOF
}
cut_idx train-images-idx3-ubyte $train_rows
cut_idx train-labels-idx1-ubyte $train_rows
cut_idx t10k-images-idx3-ubyte $test_rows
cut_idx t10k-labels-idx1-ubyte $test_rows
d=$tmp/data

# ---- the JIT's run ----
mkdir -p "$tmp/jit"
"$nnc" fit "$spec" --x "$d/train-images-idx3-ubyte" --y "$d/train-labels-idx1-ubyte" \
  --x-divide 255 --validation-split 0.1 --epochs 2 --batch-size 32 --seed 1 --verbose 0 \
  --history "$tmp/jit/history.json" --weights-out "$tmp/jit/weights.safetensors" \
  >"$tmp/jit.log" 2>&1 || bad "nnc fit failed: $(tail -3 "$tmp/jit.log")"
"$nnc" predict "$spec" --weights "$tmp/jit/weights.safetensors" --x "$d/t10k-images-idx3-ubyte" \
  --x-divide 255 --out "$tmp/jit/pred.npy" >"$tmp/jitp.log" 2>&1 ||
  bad "nnc predict failed: $(tail -3 "$tmp/jitp.log")"
pred_bytes=$((test_rows * 10 * 4))
tail -c $pred_bytes "$tmp/jit/pred.npy" >"$tmp/jit/pred.f32" # the .npy's data, after its header

# ---- objects ----
compile() { "$nnc" compile "$spec" --prefix fmnist "$@" >>"$tmp/compile.log" 2>&1; }
compile -o "$tmp/model.o" --header "$tmp/model.h" || bad "nnc compile -o failed: $(cat "$tmp/compile.log")"
compile -o "$tmp/generic.o" --cpu generic --entry predict ||
  bad "--cpu generic failed: $(tail -2 "$tmp/compile.log")"
compile -o "$tmp/v3.o" --cpu x86-64-v3 || bad "--cpu x86-64-v3 failed"
compile -o "$tmp/x86-64.o" --cpu x86-64 || bad "--cpu x86-64 failed"
compile -o "$tmp/predict.o" --entry predict || bad "--entry predict failed"

# ---- the trainer, against the shared library (rpath) ----
# run_train OBJECT DIR: build host_train with OBJECT, run it into DIR, compare with the JIT
run_train() {
  mkdir -p "$2"
  if ! "$cc" -std=c11 -Wall -Wextra -Werror "${cflags[@]}" -I "$tmp" -I "$src/include" \
    "$ex/host_train.c" "$1" -L "$build" -Wl,-rpath,"$build" -lnnc_runtime -lm -lpthread \
    -o "$2/host_train" 2>"$2/cc.log"; then
    bad "host_train with $1 does not build: $(head -5 "$2/cc.log")"
    return
  fi
  "$2/host_train" "$d" "$2" >"$2/run.log" 2>&1 || bad "host_train ($1) failed: $(tail -3 "$2/run.log")"
  cmp -s "$2/history.json" "$tmp/jit/history.json" && ok ||
    bad "$1: the History differs from nnc fit's: $(diff "$2/history.json" "$tmp/jit/history.json" | head -4)"
  cmp -s "$2/weights.safetensors" "$tmp/jit/weights.safetensors" && ok ||
    bad "$1: the final weights differ from nnc fit's"
  cmp -s "$2/predict.f32" "$tmp/jit/pred.f32" && ok ||
    bad "$1: nnc_model_predict differs from nnc predict's"
}
run_train "$tmp/model.o" "$tmp/host"
run_train "$tmp/v3.o" "$tmp/v3" # AVX2 kernels (8 floats a vector) on any host
grep -q '^epoch 2: loss' "$tmp/host/run.log" && ok || bad "host_train printed no epoch 2: $(cat "$tmp/host/run.log")"

# ---- the predictor: libc and libm only ----
if "$cc" -std=c11 -Wall -Wextra -Werror "${cflags[@]}" -I "$tmp" "$ex/host_predict.c" \
  "$tmp/predict.o" -lm -o "$tmp/host_predict" 2>"$tmp/ccp.log"; then
  ldd "$tmp/host_predict" | grep -q nnc && bad "host_predict links an nnc library" || ok
  "$tmp/host_predict" "$tmp/host/params.f32" "$d/t10k-images-idx3-ubyte" \
    "$d/t10k-labels-idx1-ubyte" "$tmp/predict2.f32" >"$tmp/hp.log" 2>&1 ||
    bad "host_predict failed: $(cat "$tmp/hp.log")"
  cmp -s "$tmp/predict2.f32" "$tmp/jit/pred.f32" && ok ||
    bad "fmnist_predict's logits differ from nnc predict's"
  grep -q '^accuracy 0\.[5-9]' "$tmp/hp.log" && ok || bad "host_predict: $(cat "$tmp/hp.log")"
  # "-": the object's own initial weights (seed 0's initializers): runs, accuracy near chance
  "$tmp/host_predict" - "$d/t10k-images-idx3-ubyte" >/dev/null 2>&1 && ok ||
    bad "host_predict with fmnist_weights failed"
else
  bad "host_predict does not build with libm alone: $(head -5 "$tmp/ccp.log")"
fi
# the generic object (prefix fmnist too) on 200 images
python3 - "$d/t10k-images-idx3-ubyte" "$tmp/t200" 200 <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
rows = int(sys.argv[3])
open(sys.argv[2], "wb").write(data[:4] + struct.pack(">I", rows) + data[8:16] + data[16:16 + rows * 784])
EOF
if "$cc" -std=c11 "${cflags[@]}" -I "$tmp" "$ex/host_predict.c" "$tmp/generic.o" -lm \
  -o "$tmp/host_predict_generic" 2>"$tmp/ccg.log"; then
  "$tmp/host_predict_generic" "$tmp/host/params.f32" "$tmp/t200" "" "$tmp/generic200.f32" \
    >"$tmp/hg.log" 2>&1 || bad "host_predict (generic) failed: $(cat "$tmp/hg.log")"
  head -c 8000 "$tmp/jit/pred.f32" | cmp -s - "$tmp/generic200.f32" && ok ||
    bad "--cpu generic: fmnist_predict differs from nnc predict"
else
  bad "host_predict does not build with the generic object: $(head -5 "$tmp/ccg.log")"
fi

# ---- the static archive, with the link line pkg-config gives ----
mkdir -p "$tmp/pc/lib" "$tmp/pc/pkgconfig"
ln -s "$build/libnnc_runtime.a" "$tmp/pc/lib/libnnc_runtime.a"
ln -s "$src/include" "$tmp/pc/include"
sed "s|@NNC_PC_PREFIX@|$tmp/pc|" "$build/package/nnc_runtime.pc.in" >"$tmp/pc/pkgconfig/nnc_runtime.pc"
read -r -a pc_flags <<<"$(PKG_CONFIG_PATH=$tmp/pc/pkgconfig pkg-config --static --cflags --libs nnc_runtime)"
if "$cc" -std=c11 "${cflags[@]}" -I "$tmp" "$ex/host_train.c" "$tmp/model.o" "${pc_flags[@]}" \
  -lpthread -o "$tmp/host_train_static" 2>"$tmp/ccs.log"; then
  ok
  ldd "$tmp/host_train_static" | grep -q libnnc && bad "the static host loads libnnc" || ok
else
  bad "static link with '${pc_flags[*]} -lpthread' fails: $(grep -m3 -i error "$tmp/ccs.log")"
fi

# ---- instructions: --cpu generic / x86-64 has no VEX, ymm or zmm ----
vex() { llvm-objdump -d --no-show-raw-insn "$1" | grep -cE '%[yz]mm|^\s+[0-9a-f]+:\s+v[a-z]'; }
for o in generic x86-64; do
  n=$(vex "$tmp/$o.o")
  [ "$n" = 0 ] && ok || bad "--cpu $o: $n VEX/ymm/zmm instructions: $(llvm-objdump -d "$tmp/$o.o" | grep -m3 -E '%[yz]mm')"
done
# the check can fail: the host's object uses AVX where the host has it
if grep -qw avx2 /proc/cpuinfo; then
  [ "$(vex "$tmp/model.o")" -gt 0 ] && ok || bad "the host object has no VEX instruction on an AVX2 host"
fi
# the host object's header names what it was made for: with zmm code, AVX-512 (LLVM 14 calls an
# AMD EPYC of Zen 4 "generic": its label was "CPU generic", the same as a generic object's)
if llvm-objdump -d "$tmp/model.o" | grep -q '%zmm'; then
  grep -m1 ' CPU ' "$tmp/model.h" | grep -q -- '+avx512f' && ok ||
    bad "the host object has zmm code but its header says: $(grep -m1 ' CPU ' "$tmp/model.h")"
fi

# ---- --entry predict: no train or test step ----
syms=$(nm "$tmp/predict.o")
grep -q ' T fmnist_predict$' <<<"$syms" && grep -q ' T fmnist_program$' <<<"$syms" && ok ||
  bad "--entry predict lacks fmnist_predict or fmnist_program"
grep -qE 'fmnist_(train|test)_step' <<<"$syms" && bad "--entry predict has a train/test step" || ok
[ "$(stat -c %s "$tmp/predict.o")" -lt "$(stat -c %s "$tmp/model.o")" ] && ok ||
  bad "--entry predict is not smaller than --entry all"
# global symbols: the prefix's alone; undefined: libm's
glob=$(nm -g --defined-only "$tmp/model.o" | awk '{print $3}' | grep -v '^fmnist_')
[ -z "$glob" ] && ok || bad "the object exports names outside its prefix: $glob"
undef=$(nm -u "$tmp/model.o" | awk '{print $2}' | grep -vxE 'expf|logf|powf|memset|memcpy|memmove')
[ -z "$undef" ] && ok || bad "the object imports more than libm/libc: $undef"

# ---- the header: C11 strict and C++ ----
printf '#include "model.h"\nint main(void) { return FMNIST_PARAMS_FLOATS == 101770 ? 0 : 1; }\n' >"$tmp/h.c"
"$cc" -std=c11 -Wall -Wextra -Werror -pedantic -I "$tmp" -c "$tmp/h.c" -o "$tmp/h.o" 2>"$tmp/h.log" &&
  ok || bad "model.h does not compile as C11: $(head -3 "$tmp/h.log")"
cp "$tmp/h.c" "$tmp/h.cpp"
if command -v c++ >/dev/null; then
  c++ -Wall -Wextra -Werror -pedantic -I "$tmp" -c "$tmp/h.cpp" -o "$tmp/hpp.o" 2>"$tmp/hpp.log" &&
    ok || bad "model.h does not compile as C++: $(head -3 "$tmp/hpp.log")"
  nm "$tmp/hpp.o" >/dev/null && ok
fi
grep -q '^#define FMNIST_VAR_DENSE_1_KERNEL_OFFSET 100480$' "$tmp/model.h" && ok ||
  bad "model.h: dense_1/kernel's offset"
# two Keras names that make one C identifier ("a-b/kernel", "a_b/kernel"): still one header
printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "name": "in"}},
  {"class_name": "Dense", "config": {"name": "a-b", "units": 2}},
  {"class_name": "Dense", "config": {"name": "a_b", "units": 2}}]},
  "compile_config": {"optimizer": "sgd", "loss": "mse"}}' >"$tmp/dup.json"
"$nnc" compile "$tmp/dup.json" -o "$tmp/dup.o" --header "$tmp/dup.h" >/dev/null 2>&1 ||
  bad "nnc compile dup.json failed"
printf '#include "dup.h"\nint main(void) { return M_VAR_A_B_KERNEL_2_OFFSET == 8 ? 0 : 1; }\n' >"$tmp/dup.c"
"$cc" -std=c11 -Wall -Wextra -Werror -pedantic -I "$tmp" -c "$tmp/dup.c" -o "$tmp/dup_h.o" \
  2>"$tmp/dup.log" && ok || bad "a header with clashing names: $(head -3 "$tmp/dup.log")"
# the same command twice: the same bytes
compile -o "$tmp/again.o" && cmp -s "$tmp/again.o" "$tmp/model.o" && ok ||
  bad "two compiles of one model give different objects"

# ---- a saved model's weights become NAME_weights (../shared/models/saved, in place) ----
saved=$src/../shared/models/saved/k3zip-mnist-mlp-flatten
if [ -d "$src/../shared" ]; then
  "$nnc" compile "$saved/Digit_Recognition_MLP.keras" -o "$tmp/k.o" --header "$tmp/k.h" \
    --prefix k3 --entry predict >/dev/null 2>"$tmp/k.log" || bad "compile .keras: $(cat "$tmp/k.log")"
  python3 - "$saved/input.npy" "$tmp/k_in.f32" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
n = struct.unpack("<H", d[8:10])[0]
open(sys.argv[2], "wb").write(d[10 + n:])
EOF
  cat >"$tmp/kp.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include "k.h"
int main(void) { /* 4 images on stdin -> 4 x 10 logits on stdout, the file's weights */
  static float x[4 * K3_INPUT0_FLOATS_PER_ROW], y[4 * K3_OUTPUT0_FLOATS_PER_ROW];
  static float ws[K3_PREDICT_WORKSPACE_FLOATS(4)];
  if (fread(x, sizeof *x, 4 * K3_INPUT0_FLOATS_PER_ROW, stdin) != 4 * K3_INPUT0_FLOATS_PER_ROW)
    return 1;
  const float *in[1] = {x};
  float *out[1] = {y};
  k3_predict(k3_weights, in, out, 4, ws);
  return fwrite(y, sizeof *y, 4 * K3_OUTPUT0_FLOATS_PER_ROW, stdout) == 40 ? 0 : 1;
}
EOF
  "$cc" -std=c11 -Wall -Wextra -Werror "${cflags[@]}" -I "$tmp" "$tmp/kp.c" "$tmp/k.o" -lm \
    -o "$tmp/kp" 2>"$tmp/kcc.log" || bad "kp.c: $(head -3 "$tmp/kcc.log")"
  "$tmp/kp" <"$tmp/k_in.f32" >"$tmp/k_out.f32" || bad "kp failed"
  "$nnc" predict "$saved/Digit_Recognition_MLP.keras" --x "$saved/input.npy" --out "$tmp/k.npy" \
    >/dev/null 2>&1 || bad "nnc predict .keras failed"
  tail -c 160 "$tmp/k.npy" | cmp -s - "$tmp/k_out.f32" && ok ||
    bad "k3_predict(k3_weights) differs from nnc predict of the .keras file"
else
  echo "test_aot13: ../shared absent: the saved-model check is skipped"
fi

# ---- --entry train: the runtime trains it and refuses to predict, naming the reason ----
compile -o "$tmp/train.o" --header "$tmp/train.h" --entry train || bad "--entry train failed"
cat >"$tmp/tr.c" <<'EOF'
#include <stdio.h>
#include "nnc.h"
#include "nnc_program.h"
#include "train.h"
int main(void) {
  static float x[2 * 784], y[2];
  nnc_array a = {NNC_F32, 3, {2, 28, 28}, x, "x"}, b = {NNC_F32, 1, {2}, y, "y"}, p;
  nnc_status st;
  nnc_model *m;
  nnc_logs logs = {0};
  if (nnc_model_from_table(fmnist_program(), &m, &st)) return 1;
  if (nnc_model_train_on_batch(m, &a, &b, &logs, &st)) return 2;
  if (!nnc_model_predict(m, &a, 2, &p, &st)) return 3;
  puts(st.message);
  nnc_logs_free(&logs);
  nnc_model_free(m);
  return 0;
}
EOF
if "$cc" -std=c11 "${cflags[@]}" -I "$tmp" -I "$src/include" "$tmp/tr.c" "$tmp/train.o" \
  -L "$build" -Wl,-rpath,"$build" -lnnc_runtime -lm -lpthread -o "$tmp/tr" 2>"$tmp/tr.log"; then
  out=$("$tmp/tr" 2>&1)
  grep -q "has no predict step (nnc compile -o --entry train)" <<<"$out" && ok ||
    bad "--entry train object: $out"
else
  bad "tr.c does not build: $(head -3 "$tmp/tr.log")"
fi

# ---- bad inputs ----
# expect STATUS PATTERN ARGS...: exit status and a message matching PATTERN
expect() {
  local want=$1 pat=$2
  shift 2
  "$nnc" compile "$@" >"$tmp/out.log" 2>"$tmp/err.log"
  local got=$?
  [ "$got" = "$want" ] && grep -qE -- "$pat" "$tmp/err.log" && ok ||
    bad "nnc compile $*: exit $got (want $want), stderr: $(head -2 "$tmp/err.log")"
}
expect 2 "--entry: expected predict, train or all, got 'both'" "$spec" -o "$tmp/e.o" --entry both
expect 2 "--target aarch64-linux-gnu: only x86_64" "$spec" -o "$tmp/e.o" --target aarch64-linux-gnu
expect 2 "--target nonsense: only x86_64" "$spec" -o "$tmp/e.o" --target nonsense
# COFF, Mach-O and x32 objects would not match the table's x86-64 ELF layout
for t in x86_64-pc-windows-msvc x86_64-apple-darwin x86_64-linux-gnux32 x86_64-foo-bar-baz; do
  expect 2 "--target $t: only x86_64 Linux" "$spec" -o "$tmp/e.o" --target "$t"
done
expect 2 "--prefix: expected a C identifier" "$spec" -o "$tmp/e.o" --prefix 9lives
expect 2 "--prefix: expected a C identifier" "$spec" -o "$tmp/e.o" --prefix "$(printf 'p%.0s' {1..65})"
# LLVM aborts the process on these (a typo; a 32-bit CPU): refused before
expect 2 "--cpu bogus: not a 64-bit x86 CPU" "$spec" -o "$tmp/e.o" --cpu bogus
expect 2 "--cpu i686: not a 64-bit x86 CPU" "$spec" -o "$tmp/e.o" --cpu i686
expect 2 "missing.json" "$tmp/missing.json" -o "$tmp/e.o"
expect 2 "are the same file" "$spec" -o "$tmp/same.o" --header "$tmp/same.o"
expect 1 "$tmp/missing/m.o" "$spec" -o "$tmp/missing/m.o"
expect 2 "go with -o" "$spec" --header "$tmp/only.h"
printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [
  {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}' >"$tmp/lazy.json"
expect 2 "does not declare the shape of its inputs" "$tmp/lazy.json" -o "$tmp/e.o"
printf '{"class_name": "Sequential", "config": {"name": "m", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "name": "in"}},
  {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}' >"$tmp/nocompile.json"
expect 2 "no compile config" "$tmp/nocompile.json" -o "$tmp/e.o" --entry train
# an existing output survives a failed compile, and no temporary is left
echo KEEP >"$tmp/keep.o"
echo KEEPH >"$tmp/keep.h"
expect 2 "does not declare" "$tmp/lazy.json" -o "$tmp/keep.o" --header "$tmp/keep.h"
[ "$(cat "$tmp/keep.o")" = KEEP ] && [ "$(cat "$tmp/keep.h")" = KEEPH ] && ok ||
  bad "a failed compile changed the existing output"
ls "$tmp" | grep -q '\.tmp\.' && bad "temporary files left: $(ls "$tmp" | grep '\.tmp\.')" || ok
[ -e "$tmp/e.o" ] && bad "a failed compile wrote $tmp/e.o" || ok
# a path with spaces works
mkdir -p "$tmp/with space"
"$nnc" compile "$spec" -o "$tmp/with space/m.o" --header "$tmp/with space/m.h" --entry predict \
  >/dev/null 2>&1 && [ -s "$tmp/with space/m.o" ] && ok || bad "an output path with a space"

echo "test_aot13: $pass passed, $fail failed"
[ "$fail" = 0 ]
