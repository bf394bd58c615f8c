#!/usr/bin/env bash
# Compile time and peak memory of `nnc compile` against model depth.
#
# Generates Sequential chains of Dense layers (width 32, relu, Adam + mse, so
# the train, test and predict graphs are all built) and times one compile of
# each. The time per layer should stay flat as the depth grows (compile time
# linear in depth; docs/architecture.md, "Compile time").
#
#   bash bench/compile_depth.sh [DEPTH ...]      default: 10 50 100 200 400 800
#   NNC=path/to/nnc WIDTH=32 bash bench/compile_depth.sh 3000
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
nnc="${NNC:-$here/../build/nnc}"
width="${WIDTH:-32}"
depths=("$@")
[ ${#depths[@]} -gt 0 ] || depths=(10 50 100 200 400 800)
[ -x "$nnc" ] || { echo "compile_depth.sh: no nnc at $nnc (build first or set NNC)" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# spec DEPTH FILE: InputLayer [None, width], DEPTH Dense(width, relu) layers.
spec() {
  local depth=$1 out=$2 i
  {
    printf '{"class_name": "Sequential", "config": {"name": "deep", "layers": [\n'
    printf '{"class_name": "InputLayer", "config": {"batch_shape": [null, %d], "name": "input_layer"}}' "$width"
    for ((i = 0; i < depth; i++)); do
      printf ',\n{"class_name": "Dense", "config": {"name": "dense_%d", "units": %d, "activation": "relu"}}' \
        "$i" "$width"
    done
    printf '\n]},\n"compile_config": {"optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.001}},\n'
    printf '"loss": "mean_squared_error", "metrics": ["mae"]}}\n'
  } >"$out"
}

# measure FILE: prints "wall_s cpu_s peak_kib" for one `nnc compile FILE`. CPU time
# (user + system) is the measure to compare: on a shared machine the wall
# clock also counts the time other processes held the cores.
if [ -x /usr/bin/time ]; then
  measure() {
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$nnc" compile "$1" >/dev/null
    awk '{ print $1, $2 + $3, $4 }' "$tmp/time"
  }
else
  # without GNU time: getrusage of the child, from Python's resource module
  measure() {
    python3 - "$nnc" "$1" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
subprocess.run([sys.argv[1], "compile", sys.argv[2]], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.monotonic() - t0, r.ru_utime + r.ru_stime, r.ru_maxrss)
PY
  }
fi

printf '%6s %9s %9s %13s %9s\n' depth wall_s cpu_s cpu_ms/layer peak_MiB
for d in "${depths[@]}"; do
  spec "$d" "$tmp/deep_$d.json"
  read -r wall cpu kib < <(measure "$tmp/deep_$d.json")
  awk -v d="$d" -v w="$wall" -v c="$cpu" -v k="$kib" \
    'BEGIN { printf "%6d %9.2f %9.2f %13.1f %9.0f\n", d, w, c, 1000 * c / d, k / 1024 }'
done
