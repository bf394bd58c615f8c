#!/usr/bin/env bash
# Benchmarks: nnc, PyTorch (Debian's python3-torch, eager) and the OpenBLAS sgemm peak,
# measured in this one run on this machine, then the comparison table (bench/out/REPORT.md).
#   bash bench/run.sh                 # all workloads, 3 repetitions each
#   REPS=5 WORKLOADS=W4,W4-wide bash bench/run.sh
#   W6_SAMPLES=60000 WORKLOADS=W6,W7 bash bench/run.sh   # the convnet on the whole epoch
#   OUT=/tmp/b2 bash bench/run.sh     # results elsewhere than bench/out
# W1-W5 are the peer workloads of ../shared/bench; W6 (convnet) and W7 (LSTM) are nnc's own,
# with their PyTorch side in bench/bench_torch_w67.py. W6 runs on the first W6_SAMPLES
# training images (default 6000) and report.py scales it to the 60000-image epoch.
# Not part of the test suite: timings are measurements, not assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
peers=../shared/bench
out=${OUT:-bench/out}
reps=${REPS:-3}
workloads=${WORKLOADS:-W1,W2,W3,W4,W4-wide,W5,W6,W7}
w6_samples=${W6_SAMPLES:-6000}
w7_samples=${W7_SAMPLES:-2048}
# split the list: the peer script knows W1-W5, ours W6-W7
peer_wl=$(echo "$workloads" | tr , '\n' | grep -v -x -e W6 -e W7 | paste -sd, || true)
own_wl=$(echo "$workloads" | tr , '\n' | grep -x -e W6 -e W7 | paste -sd, || true)
mkdir -p "$out"
rm -f "$out"/nnc-t?.json
{ head -1 /proc/stat; cat /proc/loadavg; } >"$out/stat-begin.txt" # machine load, for the report
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
  ./build/bench/bench_nnc --threads $t --reps "$reps" --workloads "$workloads" \
    --w6-samples "$w6_samples" --w7-samples "$w7_samples" --json "$out/nnc-t$t.json"
done
for t in 1 2; do
  echo "== torch eager, $t thread(s)"
  if [ $t = 1 ]; then env="OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1"; else env=""; fi
  # the peer runs with OpenBLAS choosing its own kernel and cache sizes, as RESULTS.md measured it
  rm -f "$out/torch-t$t.json" "$out/torch-own-t$t.json"
  if [ -n "$peer_wl" ]; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $env /usr/bin/python3 "$peers/bench_torch.py" \
      --mode eager --threads $t --reps "$reps" --workloads "$peer_wl" --out "$out/torch-t$t.json"
  fi
  if [ -n "$own_wl" ]; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $env /usr/bin/python3 bench/bench_torch_w67.py \
      --threads $t --reps "$reps" --workloads "$own_wl" --w6-samples "$w6_samples" \
      --w7-samples "$w7_samples" --out "$out/torch-own-t$t.json"
  fi
done
{ head -1 /proc/stat; cat /proc/loadavg; } >"$out/stat-end.txt"
/usr/bin/python3 bench/report.py "$out" | tee "$out/REPORT.md"
