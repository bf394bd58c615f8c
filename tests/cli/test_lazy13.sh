#!/usr/bin/env bash
# libhdf5 is loaded at the first HDF5 file (runtime/io/h5_api.c), seen from
# the dynamic loader (LD_DEBUG=files lists every library a process opens):
#  - `nnc --version` and a fit that reads and writes no HDF5 file never open
#    libhdf5 (nor libcurl, which only it needs);
#  - a fit writing `--weights-out w.h5` and a predict reading it do, and
#    predict exactly what the same fit saved as safetensors predicts;
#  - the library missing (NNC_TEST_HDF5_LIBRARY names no library): predict
#    and fit exit non-zero naming the .h5 file and the HDF5 library, no crash,
#    no file written; a library of another HDF5 version (a stand-in built
#    here with every symbol of the table) is refused naming both versions.
# usage: test_lazy13.sh NNC SOURCE_DIR ORACLE_DIR
set -u
nnc=$1 src=$2
. "$src/tests/cli/lib.sh"

python3 - "$tmp" <<'EOF'
import struct, sys
def npy(path, shape, values):
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': %r, }" % (tuple(shape),)
    h += ' ' * (63 - (10 + len(h)) % 64) + '\n'
    with open(path, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode())
        f.write(struct.pack('<%df' % len(values), *values))
x = [((i * 7 + j * 3) % 11) / 11.0 - 0.5 for i in range(32) for j in range(8)]
y = [float(sum(x[i * 8:i * 8 + 4]) > 0) for i in range(32)]
npy(sys.argv[1] + '/x.npy', (32, 8), x)
npy(sys.argv[1] + '/y.npy', (32, 1), y)
EOF
spec_dense_head "$tmp/spec.json" 1
fit=(fit "$tmp/spec.json" --x "$tmp/x.npy" --y "$tmp/y.npy" --epochs 2 --batch-size 8 --verbose 0)

# opened NAME LOG: whether the loader opened a library whose name starts with NAME
opened() { grep -q "file=$1[^ ]* \[0\];  *\(needed\|dynamically loaded\)" "$2"; }

# ---- no HDF5 file: no libhdf5 ----
LD_DEBUG=files "$nnc" --version >/dev/null 2>"$tmp/ld-version.log" || bad "nnc --version failed"
opened libc.so "$tmp/ld-version.log" && ok || bad "LD_DEBUG=files shows no libc: $(head -3 "$tmp/ld-version.log")"
opened libhdf5 "$tmp/ld-version.log" && bad "nnc --version opens libhdf5" || ok
LD_DEBUG=files "$nnc" "${fit[@]}" --weights-out "$tmp/w.safetensors" >/dev/null 2>"$tmp/ld-fit.log" ||
  bad "fit --weights-out w.safetensors failed: $(grep -v '^ *[0-9]*:' "$tmp/ld-fit.log" | head -3)"
opened libhdf5 "$tmp/ld-fit.log" && bad "a fit without HDF5 files opens libhdf5" || ok
opened libcurl "$tmp/ld-fit.log" && bad "a fit without HDF5 files opens libcurl" || ok

# ---- an HDF5 file: libhdf5 loaded, same predictions ----
LD_DEBUG=files "$nnc" "${fit[@]}" --weights-out "$tmp/w.h5" >/dev/null 2>"$tmp/ld-fit-h5.log" ||
  bad "fit --weights-out w.h5 failed: $(grep -v '^ *[0-9]*:' "$tmp/ld-fit-h5.log" | head -3)"
opened libhdf5 "$tmp/ld-fit-h5.log" && ok || bad "fit --weights-out w.h5 did not load libhdf5"
"$nnc" predict "$tmp/spec.json" --weights "$tmp/w.safetensors" --x "$tmp/x.npy" \
  --out "$tmp/p-st.npy" >/dev/null 2>&1 || bad "predict with w.safetensors failed"
LD_DEBUG=files "$nnc" predict "$tmp/spec.json" --weights "$tmp/w.h5" --x "$tmp/x.npy" \
  --out "$tmp/p-h5.npy" >/dev/null 2>"$tmp/ld-pred.log" || bad "predict with w.h5 failed"
opened libhdf5 "$tmp/ld-pred.log" && ok || bad "predict --weights w.h5 did not load libhdf5"
[ -s "$tmp/p-st.npy" ] && cmp -s "$tmp/p-st.npy" "$tmp/p-h5.npy" && ok ||
  bad "predictions from w.h5 differ from those of w.safetensors"

# ---- no libhdf5: a clear error ----
export NNC_TEST_HDF5_LIBRARY=libnnc-no-such-hdf5.so.0
"$nnc" predict "$tmp/spec.json" --weights "$tmp/w.h5" --x "$tmp/x.npy" --out "$tmp/p-no.npy" \
  >/dev/null 2>"$tmp/no.err"
rc=$?
[ $rc != 0 ] && [ $rc -lt 128 ] && ok || bad "predict without libhdf5: exit $rc"
grep -q "$tmp/w.h5: HDF5 files (.h5, .keras) need the HDF5 library" "$tmp/no.err" && ok ||
  bad "predict without libhdf5 said: $(head -3 "$tmp/no.err")"
grep -q "libnnc-no-such-hdf5.so.0" "$tmp/no.err" && ok || bad "the error does not say what was tried"
[ ! -e "$tmp/p-no.npy" ] && ok || bad "predict without libhdf5 wrote its output"
"$nnc" "${fit[@]}" --weights-out "$tmp/w2.h5" >/dev/null 2>"$tmp/no-fit.err"
rc=$?
[ $rc != 0 ] && [ $rc -lt 128 ] && ok || bad "fit --weights-out w2.h5 without libhdf5: exit $rc"
grep -q "$tmp/w2.h5: HDF5 files" "$tmp/no-fit.err" && ok ||
  bad "fit without libhdf5 said: $(head -3 "$tmp/no-fit.err")"
[ ! -e "$tmp/w2.h5" ] && ok || bad "fit without libhdf5 wrote w2.h5"

# ---- another HDF5 version: refused ----
names=$(sed -n '/^#define NNC_H5_FUNCTIONS/,/^\/\/ clang-format on/p' "$src/runtime/io/h5_api.h" |
  grep -o 'X([A-Za-z0-9_]*)' | sed 's/X(\(.*\))/\1/')
{
  echo 'int H5get_libversion(unsigned *a, unsigned *b, unsigned *c) { *a = 1; *b = 8; *c = 0; return 0; }'
  for n in $names; do
    case $n in H5get_libversion) ;; *_g) echo "long $n;" ;; *) echo "void $n(void) {}" ;; esac
  done
} >"$tmp/fake_hdf5.c"
if cc -shared -fPIC -o "$tmp/libfakehdf5.so" "$tmp/fake_hdf5.c" 2>"$tmp/cc.log"; then
  NNC_TEST_HDF5_LIBRARY=$tmp/libfakehdf5.so "$nnc" predict "$tmp/spec.json" --weights "$tmp/w.h5" \
    --x "$tmp/x.npy" --out "$tmp/p-old.npy" >/dev/null 2>"$tmp/old.err"
  rc=$?
  [ $rc != 0 ] && [ $rc -lt 128 ] && ok || bad "predict with HDF5 1.8.0: exit $rc"
  grep -q "libfakehdf5.so is HDF5 1.8.0, but nnc was built with the headers of 1\." "$tmp/old.err" &&
    ok || bad "predict with HDF5 1.8.0 said: $(head -3 "$tmp/old.err")"
else
  bad "the stand-in library does not build: $(head -3 "$tmp/cc.log")"
fi
unset NNC_TEST_HDF5_LIBRARY

echo "lazy13: $pass passed, $fail failed"
[ "$fail" = 0 ]
