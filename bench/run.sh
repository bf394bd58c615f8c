#!/usr/bin/env bash
# Benchmarks: nnc, PyTorch (Debian's python3-torch, eager) and the OpenBLAS sgemm peak,
# measured in this one run on this machine, then the comparison table (bench/out/REPORT.md).
#   bash bench/run.sh                 # all workloads, 3 repetitions each
#   REPS=5 WORKLOADS=W4,W4-wide bash bench/run.sh
# Not part of the test suite: timings are measurements, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
peers=../shared/bench
out=bench/out
reps=${REPS:-3}
workloads=${WORKLOADS:-W1,W2,W3,W4,W4-wide,W5}
mkdir -p "$out"
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null || [ ! -e /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy libopenblas-dev dataset-fashion-mnist >/dev/null
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target bench_nnc >/dev/null
gcc -O2 -o "$out/sgemm_peak" "$peers/sgemm_peak.c" -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas
for t in 1 2; do
  echo "== sgemm peak, $t thread(s)"
  OPENBLAS_NUM_THREADS=$t "$out/sgemm_peak" 2048 | tee "$out/sgemm-t$t.txt" | grep GFLOP
done
for t in 1 2; do
  echo "== nnc, $t thread(s)"
  ./build/bench/bench_nnc --threads $t --reps "$reps" --workloads "$workloads" --json "$out/nnc-t$t.json"
done
for t in 1 2; do
  echo "== torch eager, $t thread(s)"
  if [ $t = 1 ]; then env="OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1"; else env=""; fi
  env $env /usr/bin/python3 "$peers/bench_torch.py" --mode eager --threads $t --reps "$reps" \
    --workloads "$workloads" --out "$out/torch-t$t.json"
done
/usr/bin/python3 bench/report.py "$out" | tee "$out/REPORT.md"
