#!/usr/bin/env bash
# The whole test suite: a release build; the same tests under AddressSanitizer
# and UndefinedBehaviorSanitizer (with float-cast-overflow; built with clang
# when it is installed); the threaded tests under ThreadSanitizer (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh   # the Debian packages (when missing) and build/, as README's first command
bash .ci/format-check   # every C source as .clang-format makes it
jobs=$(nproc 2>/dev/null || echo 2)

# configure DIR COMPILER ARGS...: a build dir configured with COMPILER (a dir
# configured with another compiler is started afresh: CMake cannot switch).
configure() {
  local dir=$1 cc=$2
  shift 2
  local cached
  cached=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$dir/CMakeCache.txt" 2>/dev/null || true)
  if [ -n "$cached" ] && [ "$cached" != "$(command -v "$cc")" ]; then rm -rf "$dir"; fi
  cmake -S . -B "$dir" -DCMAKE_C_COMPILER="$(command -v "$cc")" "$@" >/dev/null
}

# Each test is its own process with its own temporary folder: they run one per core.
(cd build && ctest -j"$jobs" --output-on-failure)

sanitizer_cc=cc
command -v clang >/dev/null && sanitizer_cc=clang
configure build-asan "$sanitizer_cc" -DCMAKE_BUILD_TYPE=Debug -DNNC_SANITIZE=ON
cmake --build build-asan -j"$jobs"
# LLVM keeps process-lifetime allocations; leak checking is not what this run is for.
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 ctest -j"$jobs" --output-on-failure)
# Logs reused across calls and then freed leak nothing: checked with leak detection on a
# test that runs no compiler (a hand-made program table); in-process so LSan sees it all.
(cd build-asan && CK_FORK=no ASAN_OPTIONS=detect_leaks=1 ./tests/test_many_logs)

# ThreadSanitizer needs clang here (Debian's gcc lacks libtsan without extra packages).
# JIT-compiled kernels are not instrumented; the pool and the runtime are.
if ! command -v clang >/dev/null; then
  echo "run.sh: clang is not installed: the ThreadSanitizer pass cannot run" >&2
  exit 1
fi
threaded='^(test_pool|test_threads|test_threads9|test_threads15|test_threads16|test_threads18|test_w4_12|test_ahead31|cli_test_threads|test_lazy13|test_h5_12)$'
configure build-tsan clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNNC_SANITIZE_THREAD=ON
cmake --build build-tsan -j"$jobs" --target test_pool test_threads test_threads9 test_threads15 test_threads16 test_threads18 test_w4_12 test_ahead31 test_lazy13 test_h5_12 nnc_cli
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest -R "$threaded" --output-on-failure)

# -O3 (Release) finds warnings that -O2 does not (format-truncation, maybe-uninitialized) and
# -Werror makes them errors: the tool, its libraries and the tests' sources (compiled, not
# linked: nnc_test_objects) must build at every level a user picks.
configure build-o3 cc -DCMAKE_BUILD_TYPE=Release
cmake --build build-o3 -j"$jobs" --target nnc_cli nnc_test_objects
