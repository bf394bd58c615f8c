#!/bin/bash
# Installing nnc like a C library (docs/install.md): `cmake --install` of this
# build into a temporary prefix, then, against the installed files only:
#  - the layout: the command, both libraries static and shared (SONAME
#    libnnc.so.MAJOR.MINOR, only nnc_* exported, the runtime without LLVM),
#    the headers, nnc.pc / nnc_runtime.pc, the CMake package, the man page;
#  - docs/examples/host.c built with `pkg-config --cflags --libs nnc`, and
#    with a CMake project using find_package(nnc) (nnc::nnc and
#    nnc::nnc_static), tests/runtime/host_linear.c with nnc_runtime.pc and
#    nnc::runtime_static: each runs and prints its "ok" line;
#  - one version everywhere: include/nnc.h, `nnc --version`, nnc_version(),
#    nnc.pc, the CMake package, the man page; LLVM's as llvm-config says;
#  - `nnc help CMD` prints exactly `nnc CMD --help`; every option each
#    command's --help lists is in nnc(1), every option nnc(1) gives a command
#    is one it accepts, and groff reads the page without a warning;
#  - scripts/setup.sh with stand-ins for dpkg-query, apt-get, sudo and id:
#    nothing installed when all is there, only the missing packages otherwise,
#    through sudo when not root, a clear error without root or sudo.
# Args: nnc binary, source dir, oracle dir (unused). Env from tests/CMakeLists.txt:
# CC and NNC_TEST_CFLAGS (the sanitizer flags of a sanitizer build).
set -u
nnc=$1 src=$(cd "$2" && pwd)
. "$src/tests/cli/lib.sh"
build=$(cd "$(dirname "$nnc")" && pwd)
cc=${CC:-cc}
read -r -a cflags <<<"${NNC_TEST_CFLAGS:-}"

# ---- install ----
prefix=$tmp/prefix
if ! cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
  bad "cmake --install failed: $(tail -5 "$tmp/install.log")"
  echo "install12: $pass passed, $fail failed"
  exit 1
fi
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig
libdir=$(pkg-config --variable=libdir nnc 2>/dev/null)
[ -n "$libdir" ] && [ -d "$libdir" ] && ok || bad "pkg-config finds no nnc.pc under $prefix"

version=$(sed -n 's/^#define NNC_VERSION_STRING "\(.*\)"$/\1/p' "$src/include/nnc.h")
soname=libnnc.so.${version%.*} # 0.12.0 -> libnnc.so.0.12 while the major is 0
[[ $version == 0.* ]] || soname=libnnc.so.${version%%.*}
for f in bin/nnc include/nnc.h include/nnc_program.h share/man/man1/nnc.1; do
  [ -f "$prefix/$f" ] && ok || bad "not installed: $f"
done
for f in libnnc.a libnnc_runtime.a "libnnc.so.$version" "$soname" libnnc.so \
  "libnnc_runtime.so.$version" "${soname/libnnc/libnnc_runtime}" libnnc_runtime.so \
  pkgconfig/nnc.pc pkgconfig/nnc_runtime.pc cmake/nnc/nncConfig.cmake \
  cmake/nnc/nncConfigVersion.cmake cmake/nnc/nncTargets.cmake; do
  [ -e "$libdir/$f" ] && ok || bad "not installed: $libdir/$f"
done
cmp -s "$src/include/nnc.h" "$prefix/include/nnc.h" && ok || bad "installed nnc.h differs"
for lib in nnc nnc_runtime; do
  got=$(readelf -d "$libdir/lib$lib.so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$got" = "${soname/libnnc/lib$lib}" ] && ok || bad "lib$lib.so: SONAME '$got'"
  # only the API of include/ is exported
  names=$(nm -D --defined-only "$libdir/lib$lib.so" | awk 'NF == 3 {print $3}')
  [ -n "$names" ] && ok || bad "lib$lib.so exports nothing"
  others=$(grep -v '^nnc_' <<<"$names" | head -3)
  [ -z "$others" ] && ok || bad "lib$lib.so exports non-API symbols: $others"
  grep -qx nnc_model_fit <<<"$names" && ok || bad "lib$lib.so does not export nnc_model_fit"
done
grep -qx nnc_model_load_file <<<"$(nm -D --defined-only "$libdir/libnnc.so" | awk '{print $3}')" &&
  ok || bad "libnnc.so does not export the compiler's nnc_model_load_file"
readelf -d "$libdir/libnnc_runtime.so" | grep NEEDED | grep -qi llvm &&
  bad "libnnc_runtime.so needs LLVM" || ok
readelf -d "$libdir/libnnc.so" | grep NEEDED | grep -qi llvm && ok || bad "libnnc.so needs no LLVM?"
# libhdf5 is opened with dlopen at the first HDF5 file: no library or link line names it
for lib in libnnc.so libnnc_runtime.so; do
  readelf -d "$libdir/$lib" | grep NEEDED | grep -qi hdf5 && bad "$lib needs libhdf5" || ok
done
cat "$libdir/pkgconfig/nnc.pc" "$libdir/pkgconfig/nnc_runtime.pc" "$libdir/cmake/nnc/nncConfig.cmake" |
  grep -v '^#' | grep -qi hdf5 && bad "nnc.pc, nnc_runtime.pc or nncConfig.cmake name hdf5" || ok

# ---- one version ----
"$prefix/bin/nnc" --version >"$tmp/version" 2>&1 || bad "nnc --version failed"
[ "$(sed -n 1p "$tmp/version")" = "nnc $version" ] && ok ||
  bad "nnc --version: '$(sed -n 1p "$tmp/version")', include/nnc.h says $version"
llvm_config=$(sed -n 's/^LLVM_CONFIG:FILEPATH=//p' "$build/CMakeCache.txt")
llvm_version=$("$llvm_config" --version 2>/dev/null)
[[ -n $llvm_version && $(sed -n 2p "$tmp/version") == "LLVM $llvm_version ("*")" ]] && ok ||
  bad "nnc --version line 2: '$(sed -n 2p "$tmp/version")', llvm-config says '$llvm_version'"
[ "$(pkg-config --modversion nnc)" = "$version" ] && ok || bad "nnc.pc: $(pkg-config --modversion nnc)"
[ "$(pkg-config --modversion nnc_runtime)" = "$version" ] && ok || bad "nnc_runtime.pc version"
grep -q "^\.TH NNC 1 [0-9-]* \"nnc $version\"" "$prefix/share/man/man1/nnc.1" && ok ||
  bad "nnc(1) names another version: $(grep '^\.TH' "$prefix/share/man/man1/nnc.1")"

# ---- pkg-config: docs/examples/host.c and the runtime-only host ----
# run NAME EXE: runs it (its weights file in $tmp), expects "NAME: ok" on the last line
run() {
  local out
  out=$("$2" "$tmp/$1.safetensors" 2>&1) || bad "$1 failed: $(tail -3 <<<"$out")"
  [ "$(tail -1 <<<"$out")" = "$1: ok" ] && ok || bad "$1 said: $(tail -3 <<<"$out")"
}
# shellcheck disable=SC2046 # pkg-config's output is words
if "$cc" "${cflags[@]}" "$src/docs/examples/host.c" -o "$tmp/host_pc" \
  $(pkg-config --cflags --libs nnc) -Wl,-rpath,"$libdir" 2>"$tmp/cc.log"; then
  run "host example" "$tmp/host_pc"
  ldd "$tmp/host_pc" | grep -q "$soname => $libdir/" && ok ||
    bad "host_pc does not load the installed $soname: $(ldd "$tmp/host_pc" | grep nnc)"
else
  bad "host.c does not build with pkg-config nnc: $(head -5 "$tmp/cc.log")"
fi
# shellcheck disable=SC2046
if "$cc" "${cflags[@]}" "$src/tests/runtime/host_linear.c" -o "$tmp/linear_pc" \
  $(pkg-config --cflags --libs nnc_runtime) -Wl,-rpath,"$libdir" 2>"$tmp/cc.log"; then
  run host_linear "$tmp/linear_pc"
  ldd "$tmp/linear_pc" | grep -qi llvm && bad "the runtime-only host loads LLVM" || ok
else
  bad "host_linear.c does not build with pkg-config nnc_runtime: $(head -5 "$tmp/cc.log")"
fi

# the static runtime by hand: cJSON, zlib, libm and pthreads, nothing else
if "$cc" "${cflags[@]}" -I"$prefix/include" "$src/tests/runtime/host_linear.c" -o "$tmp/linear_a" \
  "$libdir/libnnc_runtime.a" -lcjson -lz -lm -lpthread 2>"$tmp/cc.log"; then
  run host_linear "$tmp/linear_a"
  ldd "$tmp/linear_a" | grep -qi 'hdf5\|llvm\|libnnc' && bad "linear_a loads $(ldd "$tmp/linear_a")" || ok
else
  bad "host_linear.c does not link with libnnc_runtime.a -lcjson -lz -lm -lpthread: $(head -5 "$tmp/cc.log")"
fi

# ---- CMake: find_package(nnc) ----
mkdir -p "$tmp/use"
cat >"$tmp/use/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(use_nnc C)
find_package(nnc $version EXACT REQUIRED)
add_executable(host_shared "$src/docs/examples/host.c")
target_link_libraries(host_shared PRIVATE nnc::nnc)
add_executable(host_static "$src/docs/examples/host.c")
target_link_libraries(host_static PRIVATE nnc::nnc_static)
add_executable(linear_static "$src/tests/runtime/host_linear.c")
target_link_libraries(linear_static PRIVATE nnc::runtime_static)
add_executable(linear_shared "$src/tests/runtime/host_linear.c")
target_link_libraries(linear_shared PRIVATE nnc::runtime)
EOF
if cmake -S "$tmp/use" -B "$tmp/use/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="${cflags[*]}" -DCMAKE_BUILD_TYPE=Release >"$tmp/use.log" 2>&1 &&
  cmake --build "$tmp/use/b" >>"$tmp/use.log" 2>&1; then
  ok
  run "host example" "$tmp/use/b/host_shared"
  run "host example" "$tmp/use/b/host_static"
  run host_linear "$tmp/use/b/linear_static"
  run host_linear "$tmp/use/b/linear_shared"
  ldd "$tmp/use/b/host_shared" | grep -q "$soname => $libdir/" && ok ||
    bad "nnc::nnc is not the installed $soname"
  ldd "$tmp/use/b/host_static" | grep -q libnnc && bad "nnc::nnc_static loads a libnnc" || ok
  ldd "$tmp/use/b/linear_static" | grep -qi 'llvm\|libnnc' &&
    bad "nnc::runtime_static loads LLVM or a libnnc" || ok
else
  bad "the find_package(nnc) project does not build: $(grep -i -m5 error "$tmp/use.log")"
fi
# another minor release is another ABI: 0.11 must not take 0.12 (SameMinorVersion)
minor=${version#*.} minor=${minor%%.*}
if [ "$minor" -gt 0 ]; then
  older=${version%%.*}.$((minor - 1))
  sed -i "s/find_package(nnc $version EXACT REQUIRED)/find_package(nnc $older REQUIRED)/" \
    "$tmp/use/CMakeLists.txt"
  cmake -S "$tmp/use" -B "$tmp/use/b2" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/use2.log" 2>&1 &&
    bad "find_package(nnc $older) accepted $version" || ok
  grep -q "nncConfig.cmake, version: $version" "$tmp/use2.log" && ok ||
    bad "find_package(nnc $older) failed for another reason: $(grep -m3 -i error "$tmp/use2.log")"
fi

# ---- help and the man page ----
[ "$("$nnc" help)" = "$("$nnc" --help)" ] && ok || bad "'nnc help' is not 'nnc --help'"
"$nnc" help no-such-command >/dev/null 2>&1
[ $? = 2 ] && ok || bad "'nnc help no-such-command' does not exit 2"
man=$prefix/share/man/man1/nnc.1
warnings=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
[ -z "$warnings" ] && ok || bad "groff warns about nnc(1): $(head -3 <<<"$warnings")"
# section NAME of the page source, with \- as -
section() { awk -v s="$1" '/^\.SH/ {f = ($0 == ".SH " s || $0 == ".SH \"" s "\"")} f' "$man" |
  sed 's/\\-/-/g'; }
options() { grep -o -- '--[a-z][a-z0-9-]*' | grep -vx -- '--help' | sort -u; }
commands=$("$nnc" --help | awk '/^commands:/ {f = 1; next} f && /^  [a-z]/ {print $1}' | grep -vx help)
[ "$(wc -l <<<"$commands")" -ge 6 ] && ok || bad "nnc --help lists the commands: $commands"
for cmd in $commands; do
  help=$("$nnc" "$cmd" --help 2>&1)
  [ "$("$nnc" help "$cmd" 2>&1)" = "$help" ] && ok || bad "'nnc help $cmd' is not 'nnc $cmd --help'"
  upper=$(tr a-z A-Z <<<"$cmd")
  page=$(section "$upper")
  [ -n "$page" ] && ok || bad "nnc(1) has no section $upper for '$cmd'"
  common=
  case $cmd in fit | evaluate | predict | train-on-batch) common=$(section "COMMON OPTIONS") ;; esac
  for opt in $(options <<<"$help"); do
    grep -qE -- "$opt([^a-z0-9-]|$)" <<<"$page"$'\n'"$common" && ok ||
      bad "nnc(1) does not describe $cmd $opt"
  done
  for opt in $(options <<<"$page"$'\n'"$common"); do
    "$nnc" "$cmd" "$opt" 2>&1 </dev/null | grep -q "unknown option" &&
      bad "nnc(1) gives $cmd $opt, which it does not accept" || ok
  done
done

# ---- scripts/setup.sh: what it installs, with stand-ins ----
# $tmp/bin: dpkg-query (packages listed in $tmp/absent are not installed),
# apt-get and sudo (log their arguments), id (prints $FAKE_UID); and the few
# real tools setup.sh needs, so that the real sudo is not on PATH.
mkdir -p "$tmp/bin"
for t in bash dirname env grep nproc; do ln -s "$(command -v "$t")" "$tmp/bin/$t"; done
cat >"$tmp/bin/dpkg-query" <<'EOF'
#!/bin/bash
pkg=${!#}
if grep -qx "$pkg" "$SETUP_TMP/absent" 2>/dev/null; then echo "un "; else echo "ii "; fi
EOF
printf '#!/bin/bash\necho "apt-get $*" >>"$SETUP_TMP/log"\n' >"$tmp/bin/apt-get"
printf '#!/bin/bash\necho "sudo $1" >>"$SETUP_TMP/log"\nexec "$@"\n' >"$tmp/bin/sudo-stand-in"
printf '#!/bin/bash\necho "${FAKE_UID:-0}"\n' >"$tmp/bin/id"
chmod +x "$tmp/bin"/*
setup() { # setup UID [sudo]: runs setup.sh --no-build; its stderr in $tmp/err
  rm -f "$tmp/log" "$tmp/bin/sudo"
  [ "${2:-}" = sudo ] && ln -s sudo-stand-in "$tmp/bin/sudo"
  SETUP_TMP=$tmp FAKE_UID=$1 PATH=$tmp/bin "$tmp/bin/bash" "$src/scripts/setup.sh" --no-build \
    2>"$tmp/err"
}
: >"$tmp/absent"
setup 0 && ok || bad "setup.sh with every package present failed: $(cat "$tmp/err")"
[ ! -e "$tmp/log" ] && ok || bad "setup.sh with every package present ran: $(cat "$tmp/log")"
printf 'clang\ngroff-base\n' >"$tmp/absent"
setup 0 && ok || bad "setup.sh as root failed: $(cat "$tmp/err")"
want=$'apt-get update -qq\napt-get install -y -qq --no-install-recommends clang groff-base'
[ "$(cat "$tmp/log" 2>/dev/null)" = "$want" ] && ok ||
  bad "setup.sh as root with clang, groff-base missing ran: $(cat "$tmp/log" 2>/dev/null)"
setup 1000 sudo && ok || bad "setup.sh with sudo failed: $(cat "$tmp/err")"
[ "$(grep -c '^sudo env$' "$tmp/log" 2>/dev/null)" = 2 ] &&
  [ "$(grep -v '^sudo' "$tmp/log")" = "$want" ] && ok ||
  bad "setup.sh as a user did not go through sudo: $(cat "$tmp/log" 2>/dev/null)"
setup 1000
[ $? = 1 ] && ok || bad "setup.sh as a user without sudo did not exit 1"
grep -q "missing packages: clang groff-base; run this as root or install sudo" "$tmp/err" &&
  [ ! -e "$tmp/log" ] && ok || bad "setup.sh without root or sudo said: $(cat "$tmp/err")"

echo "install12: $pass passed, $fail failed"
[ "$fail" = 0 ]
