#!/bin/bash
# The two libraries: libnnc_runtime.a runs program tables without the
# compiler or LLVM; libnnc.a adds the compiler. Checked with nm and ldd:
#  - libnnc_runtime.a references no LLVM symbol and defines no compiler symbol;
#  - a host linked against it alone (tests/runtime/host_linear.c) has no
#    LLVM library on its link line and trains its hand-written table;
#  - libnnc.a defines the compiler entry points on top of the runtime;
#  - neither references a libhdf5 symbol (runtime/io/h5_api.c opens libhdf5
#    with dlopen at the first HDF5 file) and the host does not load it.
# Args: nnc binary, source dir, oracle dir (unused). Env from tests/CMakeLists.txt.
set -u
fail=0
err() {
  echo "FAIL: $*"
  fail=1
}
rt=${NNC_RUNTIME_LIB:?} full=${NNC_LIB:?} host=${NNC_RUNTIME_HOST:?}
rt_all=${NNC_RUNTIME_INTERNAL:?} # every symbol, hidden ones too

undef=$(nm -u "$rt_all" 2>/dev/null | grep -E '\bLLVM' | head -5)
[ -z "$undef" ] || err "libnnc_runtime.a references LLVM: $undef"
defined=$(nm -g --defined-only "$rt" 2>/dev/null | awk 'NF == 3 {print $3}')
[ -n "$defined" ] || err "nm found no symbol in $rt"
for sym in nnc_model_fit nnc_model_from_table nnc_model_from_builder nnc_model_predict; do
  grep -qx "$sym" <<<"$defined" || err "libnnc_runtime.a does not define $sym"
done
# compiler symbols (hidden ones included): the spec loaders, the pipeline, graph builders, codegen
all_defined=$(nm --defined-only "$rt_all" 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDBR]/ {print $3}')
[ -n "$all_defined" ] || err "nm found no symbol in $rt_all"
for sym in nnc_model_load_file nnc_model_load_string nnc_compile_spec lower_model graph_add \
  codegen_compile nnc_spec_parse_file pass_fuse; do
  grep -qx "$sym" <<<"$all_defined" && err "the runtime library defines the compiler symbol $sym"
done
full_defined=$(nm -g --defined-only "$full" 2>/dev/null | awk 'NF == 3 {print $3}')
for sym in nnc_model_load_file nnc_model_fit nnc_model_from_builder; do
  grep -qx "$sym" <<<"$full_defined" || err "libnnc.a does not define $sym"
done

# symbol hiding: each library defines (globally) only names of the public API
src=${2:?}
for lib in "$rt" "$full"; do
  names=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 {print $3}')
  bad=$(grep -v '^nnc_' <<<"$names" | head -5)
  [ -z "$bad" ] || err "$(basename "$lib") exports non-API symbols: $bad"
  for sym in $(grep '^nnc_' <<<"$names"); do
    grep -qw "$sym" "$src/include/nnc.h" "$src/include/nnc_program.h" ||
      err "$(basename "$lib") exports $sym, which include/ does not declare"
  done
done
# and hidden internals are really gone from the public archive: nnc_fail is internal
grep -qx nnc_fail <<<"$full_defined" && err "libnnc.a exports the internal nnc_fail"

for lib in "$rt_all" "$rt" "$full"; do
  h5=$(nm -u "$lib" 2>/dev/null | awk '$2 ~ /^H5/ {print $2}' | sort -u | head -5)
  [ -z "$h5" ] || err "$(basename "$lib") references libhdf5 directly: $h5"
done
if ldd "$host" | grep -qi hdf5; then err "the runtime-only host links libhdf5: $(ldd "$host" | grep -i hdf5)"; fi
if ldd "$host" | grep -qi llvm; then err "the runtime-only host links LLVM: $(ldd "$host" | grep -i llvm)"; fi
out=$("$host" 2>&1) || err "the runtime-only host failed: $out"
grep -q "host_linear: ok" <<<"$out" || err "the runtime-only host said: $out"

[ $fail = 0 ] && echo "runtime link: ok"
exit $fail
