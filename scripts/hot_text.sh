#!/usr/bin/env bash
# Writes compiler/cli/hot_text.txt: the functions of the `nnc` command that
# its common runs execute, which the link (CMakeLists.txt, NNC_HOT_TEXT) places
# first in .text. A cold start then maps ~11 MB of code that is all used
# instead of touching pages spread over 31 MB (docs/performance.md,
# "Session 34"). Run it after a change of LLVM or of the shipped specs; a
# name the binary no longer has is skipped by the linker, so a stale list
# costs speed, never correctness (tests/cli/test_hot_text34.sh says when
# it has gone stale).
#
# The runs: `nnc --version`, cold compiles of both shipped specs, a fit of
# two steps with a validation split and a test set. Under valgrind's
# callgrind, every function they execute, run by run; then, when `perf`
# works, the functions sampled on this CPU (valgrind's
# CPU has no AVX-512, so the AVX-512 code generation's own functions come
# from there).
#   bash scripts/hot_text.sh [BUILD_DIR]     (default: the repository's build/)
set -euo pipefail
# BUILD_DIR as given, from where the script was called
build=${1:-$(dirname "$0")/../build}
[ -d "$build" ] || {
  echo "hot_text.sh: no build directory '$build'" >&2
  exit 1
}
build=$(cd "$build" && pwd)
cd "$(dirname "$0")/.."
nnc=$build/nnc
out=compiler/cli/hot_text.txt
data=/usr/share/datasets/fashion-mnist
[ -x "$nnc" ] || {
  echo "hot_text.sh: no $nnc: build first (bash scripts/setup.sh)" >&2
  exit 1
}
if ldd "$nnc" | grep -q libLLVM; then
  echo "hot_text.sh: $nnc loads LLVM as a shared library (a sanitizer build?): its order" \
    "cannot apply; give the release build" >&2
  exit 1
fi
command -v valgrind >/dev/null || {
  echo "hot_text.sh: needs valgrind (apt-get install valgrind)" >&2
  exit 1
}
[ -f "$data/train-images-idx3-ubyte.gz" ] || {
  echo "hot_text.sh: needs $data (apt-get install dataset-fashion-mnist)" >&2
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME=$tmp/cache

specs=(specs/fashion_mnist_mlp.json specs/fashion_mnist_cnn.json)
runs=("--version")
for spec in "${specs[@]}"; do runs+=("compile $spec --no-cache"); done
runs+=(
  "fit specs/fashion_mnist_mlp.json --x $data/train-images-idx3-ubyte.gz
   --y $data/train-labels-idx1-ubyte.gz --x-divide 255 --validation-split 0.1 --epochs 1
   --steps-per-epoch 2 --batch-size 32 --seed 1 --x-test $data/t10k-images-idx3-ubyte.gz
   --y-test $data/t10k-labels-idx1-ubyte.gz --history $tmp/h.json"
)
i=0
for run in "${runs[@]}"; do
  # shellcheck disable=SC2086 # a run is its words
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$tmp/cg.$i" \
    "$nnc" $run >/dev/null 2>"$tmp/vg.$i" || {
    echo "hot_text.sh: '$nnc $run' failed under valgrind:" >&2
    tail -5 "$tmp/vg.$i" >&2
    exit 1
  }
  # a function's name follows its number the first time callgrind writes it;
  # "'2" marks a recursion depth
  sed -nE "s/^c?fn=\([0-9]+\) (.*)$/\1/p" "$tmp/cg.$i" | sed -E "s/'[0-9]+$//" |
    LC_ALL=C sort -u >>"$tmp/names"
  i=$((i + 1))
done
if command -v perf >/dev/null &&
  perf record -q -F 20000 -e cpu-clock -o "$tmp/perf.data" -- bash -c \
    "for i in 1 2 3 4 5 6 7 8; do for s in ${specs[*]}; do '$nnc' compile \$s --no-cache; \
     done; done >/dev/null" 2>/dev/null; then
  perf report -i "$tmp/perf.data" --no-demangle --sort sym --stdio 2>/dev/null |
    sed -nE 's/^ +[0-9.]+% +\[[.k]\] +([^ ]+).*$/\1/p' | LC_ALL=C sort -u >>"$tmp/names"
else
  echo "hot_text.sh: no perf samples: the list has the AVX2 path's functions only" >&2
fi

# keep the functions the binary defines, each once: run by run (the start's
# functions first), each run's new ones in name order, so that a list written
# again from the same code is the same list
nm --defined-only "$nnc" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$tmp/defined"
awk 'NR == FNR {def[$0] = 1; next} ($0 in def) && !seen[$0]++' "$tmp/defined" "$tmp/names" \
  >"$tmp/list"
count=$(wc -l <"$tmp/list")
{
  echo "# The nnc command's hot functions, first in its .text (lld --symbol-ordering-file)."
  echo "# Written by scripts/hot_text.sh from $count functions that"
  echo "# --version, cold compiles of specs/*.json and a short fit execute; LLVM $("$nnc" --version | sed -nE 's/.*LLVM ([0-9.]+).*/\1/p' | head -1)."
  cat "$tmp/list"
} >"$tmp/out"
mv "$tmp/out" "$out"
echo "hot_text.sh: $out: $count functions"
