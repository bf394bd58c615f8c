#!/usr/bin/env bash
# Benchmarks: nnc against PyTorch (Debian's python3-torch, eager) given its best BLAS kernel and
# its best thread configuration, the OpenBLAS sgemm peak and a memory-bandwidth triad, all
# measured in this one run on this machine; then the comparison (bench/out/REPORT.md).
#   bash bench/run.sh                          # RUNS=2 runs of every workload, REPS=3 repetitions
#   QUICK=1 bash bench/run.sh                  # smoke test: tiny reps and samples, one run, < 1 min
#   REPS=5 WORKLOADS=W4,W4-wide bash bench/run.sh
#   TORCH_CONFIGS=1core,blas2,passive,t2 bash bench/run.sh   # PyTorch thread configurations
#   BLAS_CORES=auto,SkylakeX bash bench/run.sh # OpenBLAS kernels for sgemm and torch (default: chosen)
#   W6_SAMPLES=60000 WORKLOADS=W6,W7 bash bench/run.sh     # the convnet on the whole epoch
#   OUT=/tmp/b2 bash bench/run.sh              # results elsewhere than bench/out
#   ISA=avx2 bash bench/run.sh                 # both sides held to AVX2 on an AVX-512 host (below)
# W1-W5 are the peer workloads of ../shared/bench; W6 (convnet) and W7 (LSTM) are nnc's own,
# with their PyTorch side in bench/bench_torch_w67.py. How each number is measured:
# docs/performance.md, "How the benchmark measures". Timings are measurements, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
peers=../shared/bench
out=${OUT:-bench/out}
quick=${QUICK:-0}
if [ "$quick" = 1 ]; then
  reps=${REPS:-1} runs=${RUNS:-1} workloads=${WORKLOADS:-W2,W5} torch_configs=${TORCH_CONFIGS:-1core}
  w3_samples=2000 w4_fit_samples=3000 w6_samples=${W6_SAMPLES:-640} w7_samples=${W7_SAMPLES:-128}
  sgemm_n=512 triad_mib=32
else
  reps=${REPS:-3} runs=${RUNS:-2} workloads=${WORKLOADS:-W1,W2,W3,W4,W4-wide,W5,W6,W7}
  # RESULTS.md: torch's best is "1 core" on W3/W5, "intra-op 1 + OpenBLAS 2" on W1-fit/W2/W4/
  # W4-wide, "t2 passive" on W1-step; "t2" as shipped is never the best (add it to measure it)
  torch_configs=${TORCH_CONFIGS:-1core,blas2,passive}
  w3_samples=20000 w4_fit_samples=60000 w6_samples=${W6_SAMPLES:-6000} w7_samples=${W7_SAMPLES:-2048}
  sgemm_n=2048 triad_mib=256
fi
# W1 and W2 repeat sub-millisecond reps on nnc's side (W2: 1001 steps in ~0.14 ms): the median
# of REPS=2 or 3 of those is whichever rep an interrupt or a frequency step hit (W2 read 141-220
# us per rep over 12 processes of 2 reps, 141-145 over 8 of 21; docs/performance.md, "Session
# 26"). Both sides run at least min_short_reps of them (PyTorch's: 2-160 ms each).
min_short_reps=${MIN_SHORT_REPS:-15}
# A compile is one process of ~0.1-0.6 s: one reading of it is whichever phase the host was in,
# and /usr/bin/time's wall clock has 10 ms steps. Each compile runs COMPILE_REPS times (the
# report takes the median), timed by bench/timed_reps.py (microseconds; the process's own CPU
# time and peak memory).
compile_reps=${COMPILE_REPS:-$([ "$quick" = 1 ] && echo 1 || echo 5)}
reps_of() {
  case $1 in
    W1 | W2) echo $((reps > min_short_reps ? reps : min_short_reps)) ;;
    *) echo "$reps" ;;
  esac
}
# ISA=avx2 emulates an AVX2 machine on an AVX-512 host, on both sides: nnc at 8 floats
# (NNC_VECTOR_WIDTH=8), OpenBLAS's Haswell kernel for the sgemm peak and PyTorch (an AVX-512
# kernel in BLAS_CORES is refused), PyTorch's ATen kernels at AVX2 (ATEN_CPU_CAPABILITY) and
# oneDNN's convolutions at AVX2 (ONEDNN_MAX_CPU_ISA). Caches and clock stay the host's.
isa=${ISA:-native}
isa=${isa,,}
case $isa in
  native) ;;
  avx2)
    if ! grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -qx avx2; then
      echo "run.sh: ISA=avx2 needs a CPU with AVX2 (/proc/cpuinfo has no avx2 flag)" >&2
      exit 2
    fi
    blas_cores=${BLAS_CORES:-}
    for c in ${blas_cores//,/ }; do # before the build; "auto" is checked once detected, below
      case ${c,,} in skylakex | cooperlake | sapphirerapids) # OpenBLAS reads the name in any case
        echo "run.sh: ISA=avx2 with the AVX-512 OpenBLAS kernel $c (BLAS_CORES=$BLAS_CORES): use Haswell" >&2
        exit 2
        ;;
      esac
    done
    export NNC_VECTOR_WIDTH=8 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2
    ;;
  *)
    echo "run.sh: unknown ISA '$isa' (native: the host's widest vectors; avx2: both sides held to AVX2)" >&2
    exit 2
    ;;
esac
nnc=./build/nnc
mkdir -p "$out"
rm -rf "$out"/run[0-9]* "$out"/REPORT.md

if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null || [ ! -e /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy libopenblas-dev dataset-fashion-mnist >/dev/null
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target bench_nnc nnc_cli >/dev/null
blas=(-I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas)
gcc -O2 -o "$out/sgemm_peak" "$peers/sgemm_peak.c" "${blas[@]}"
gcc -O2 -o "$out/blas_core" bench/blas_core.c "${blas[@]}"
gcc -O2 -fopenmp -o "$out/triad" bench/triad.c
gcc -O2 -pthread -o "$out/core_latency" bench/core_latency.c

# Every OpenBLAS user below (sgemm peak, PyTorch) runs in a clean environment: these machines
# may set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (forcing a kernel) and thread variables;
# blas_env CORE prints the env(1) arguments that remove them, then set the kernel CORE
# ("auto": OpenBLAS detects it). Only these commands see the change.
blas_env() {
  printf '%s\n' -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS -u OMP_WAIT_POLICY
  [ "$1" = auto ] || printf '%s\n' "OPENBLAS_CORETYPE=$1"
}
# torch_env CONFIG: the thread environment of a PyTorch configuration (RESULTS.md's names)
torch_env() {
  case $1 in
    1core) printf '%s\n' OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ;;
    t2) ;;
    passive) printf '%s\n' OMP_WAIT_POLICY=PASSIVE ;;
    blas2) ;;
    *) echo "run.sh: unknown TORCH_CONFIGS entry '$1' (1core, t2, passive, blas2)" >&2; exit 2 ;;
  esac
}
torch_threads() { case $1 in 1core | blas2) echo 1 ;; *) echo 2 ;; esac; }
# timed FILE CMD...: runs CMD, writes "wall_s cpu_s maxrss_kib" of its process to FILE
timed() {
  local f=$1; shift
  if /usr/bin/time -f '%e %U %S %M' -o "$f.time" "$@"; then
    tail -1 "$f.time" | awk '{ print $1, $2 + $3, $4 }' >"$f"
  else
    echo "run.sh: failed: $*" >&2
  fi
  rm -f "$f.time"
}
# snapshot FILE: the cpu line of /proc/stat, the load average, and the CPU time (clock ticks)
# of this script's finished children: the busy time nobody else used is the difference
snapshot() {
  { head -1 /proc/stat; cat /proc/loadavg; awk '{ print "children_ticks", $16 + $17 }' /proc/$$/stat; date +%s.%N; } >"$1"
}

# ---- machine facts, once
{
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "cpus: $(nproc)"
  flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -x -e avx2 -e avx512f -e fma | paste -sd' ')
  echo "cpu vector flags: $flags"
  echo "l2: $(cat /sys/devices/system/cpu/cpu0/cache/index2/size 2>/dev/null || echo '?')"
  echo "nnc $($nnc compile specs/fashion_mnist_mlp.json --summary | grep '^target:')"
  # nnc's width: NNC_VECTOR_WIDTH, else 16 floats if LLVM's host features have +avx512f, 8 with
  # +avx (compiler/codegen/jit.c); clang -march=native shows the same LLVM host features
  feats=$(clang -### -march=native -x c -c /dev/null -o /dev/null 2>&1 || true)
  if [ -n "${NNC_VECTOR_WIDTH:-}" ]; then width="$NNC_VECTOR_WIDTH (NNC_VECTOR_WIDTH)"
  elif grep -q '"+avx512f"' <<<"$feats"; then width="16 floats (AVX-512)"
  elif grep -q '"+avx"' <<<"$feats"; then width="8 floats (AVX2)"
  elif [ -n "$feats" ]; then width="4 floats"
  else width="? (no clang to read LLVM's host features)"; fi
  echo "nnc vector width: $width"
  echo "environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-(unset)}"
  mapfile -t e < <(blas_env auto)
  echo "openblas auto-detected: $(env "${e[@]}" "$out/blas_core" | cut -d' ' -f2)"
  echo "torch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
  echo "isa: $isa"
  # what PyTorch's own kernels run at: ATen's dispatch level and the ISA oneDNN (convolutions) uses
  echo "torch cpu capability: $(/usr/bin/python3 bench/torch_isa.py)"
} >"$out/machine.txt"
cat "$out/machine.txt"
if [ "$isa" = avx2 ] && ! /usr/bin/python3 bench/torch_isa.py --expect avx2 >/dev/null; then
  echo "run.sh: ISA=avx2, but PyTorch ignores ATEN_CPU_CAPABILITY/ONEDNN_MAX_CPU_ISA here (machine.txt)" >&2
  exit 2
fi

# ---- OpenBLAS kernels to measure: the auto-detected one, and when it does not use the
# CPU's widest vectors, also the fastest kernel for them (ranked by a quick 1-thread sgemm)
auto_core=$(sed -n 's/^openblas auto-detected: //p' "$out/machine.txt")
avx512_cores="SkylakeX Cooperlake SapphireRapids" # as in the ISA check above
if [ -n "${BLAS_CORES:-}" ]; then
  cores=$BLAS_CORES
elif [ "$isa" = avx2 ]; then
  cores=Haswell # OpenBLAS's AVX2 sgemm (an AVX2 host may auto-detect an older one, as this VM does)
else
  case " $(sed -n 's/^cpu vector flags: //p' "$out/machine.txt") " in
    *" avx512f "*) widest="SkylakeX Cooperlake" ;;
    *" avx2 "*) widest="Haswell Zen" ;;
    *) widest="" ;;
  esac
  cores=auto
  if [ -n "$widest" ] && ! grep -qw -- "$auto_core" <<<"$widest"; then
    best="" bestg=0
    for c in $widest; do
      mapfile -t e < <(blas_env "$c")
      g=$(env "${e[@]}" OPENBLAS_NUM_THREADS=1 "$out/blas_core" "$((sgemm_n / 2))" | sed -n 's/^gflops //p')
      echo "candidate kernel $c: $g GFLOP/s (1 thread, n=$((sgemm_n / 2)), best of 5)" | tee -a "$out/blas-candidates.txt"
      if awk -v g="$g" -v b="$bestg" 'BEGIN { exit !(g > b) }'; then best=$c bestg=$g; fi
    done
    [ -z "$best" ] || cores="auto,$best"
  fi
fi
if [ "$isa" = avx2 ]; then
  for c in ${cores//,/ }; do
    [ "$c" = auto ] && c=$auto_core
    if grep -qiw -- "$c" <<<"$avx512_cores"; then
      echo "run.sh: ISA=avx2 with the AVX-512 OpenBLAS kernel $c (BLAS_CORES=$cores): use Haswell" >&2
      exit 2
    fi
  done
fi
echo "OpenBLAS kernels measured: $cores (auto = $auto_core)" | tee "$out/blas-cores.txt"

# ---- data and specs of the whole-fit and compile measurements, once
/usr/bin/python3 bench/fit_files.py "$out/data" "$w3_samples" "$w4_fit_samples"
nocache=()
if $nnc compile --help 2>&1 | grep -q -- --no-cache; then nocache=(--no-cache); fi

for run in $(seq 1 "$runs"); do
  d=$out/run$run
  mkdir -p "$d"
  echo "=== run $run of $runs"
  snapshot "$d/stat-begin.txt"
  for core in ${cores//,/ }; do
    mapfile -t e < <(blas_env "$core")
    for t in 1 2; do
      echo "== sgemm peak, kernel $core, $t thread(s)"
      env "${e[@]}" OPENBLAS_NUM_THREADS=$t "$out/sgemm_peak" "$sgemm_n" >"$d/sgemm-$core-t$t.txt"
      grep -e corename -e GFLOP "$d/sgemm-$core-t$t.txt"
    done
  done
  for t in 1 2; do
    OMP_NUM_THREADS=$t "$out/triad" "$triad_mib" | tee "$d/triad-t$t.txt"
  done
  # how fast the two cores hand lines over: small steps on two threads depend on it, and the
  # host changes it over minutes (docs/performance.md, "Session 22"); again after nnc's runs
  "$out/core_latency" | tee "$d/core-latency-begin.txt" || true
  # nnc: one process per workload (its peak RSS is the workload's). The t1 run fills an empty
  # compile cache (when the build has one), the t2 run finds it: load_s is cold, then warm.
  for t in 1 2; do
    echo "== nnc, $t thread(s)"
    for w in ${workloads//,/ }; do
      XDG_CACHE_HOME="$d/cache-capi" ./build/bench/bench_nnc --threads $t --reps "$(reps_of "$w")" --workloads "$w" \
        --w3-samples "$w3_samples" --w6-samples "$w6_samples" --w7-samples "$w7_samples" --json "$d/nnc-t$t-$w.json"
    done
  done
  "$out/core_latency" | tee "$d/core-latency-end.txt" || true
  for core in ${cores//,/ }; do
    mapfile -t e < <(blas_env "$core")
    for cfg in ${torch_configs//,/ }; do
      mapfile -t te < <(torch_env "$cfg")
      tt=$(torch_threads "$cfg")
      echo "== torch eager, kernel $core, config $cfg"
      for w in ${workloads//,/ }; do
        case $w in W6 | W7) script=(bench/bench_torch_w67.py --w6-samples "$w6_samples" --w7-samples "$w7_samples") ;;
          *) script=("$peers/bench_torch.py" --mode eager --w3-samples "$w3_samples") ;;
        esac
        env "${e[@]}" "${te[@]}" /usr/bin/python3 bench/torch_run.py "$d/torch-$core-$cfg-$w.meta.json" "${script[@]}" \
          --threads "$tt" --reps "$(reps_of "$w")" --workloads "$w" --out "$d/torch-$core-$cfg-$w.json" | grep -v "^torch's OpenBLAS" ||
          echo "run.sh: torch $w ($core, $cfg) failed" >&2
      done
      grep -h -o '"corename": "[^"]*"' "$d/torch-$core-$cfg-"*.meta.json | sort | uniq -c | sed 's/^/   torch /'
      # whole processes: fixed cost (W4, one step) and whole 1-epoch fits (W3, W4)
      for f in w4-step w4-epoch w3-epoch; do
        case $f in w4-step) a=(W4 --steps-per-epoch 1) ;; w4-epoch) a=(W4) ;; w3-epoch) a=(W3) ;; esac
        timed "$d/fit-torch-$core-$cfg-$f.txt" env "${e[@]}" "${te[@]}" /usr/bin/python3 bench/torch_fit.py \
          "$out/data" "${a[0]}" "$d/hist-torch-$core-$cfg-$f.json" --threads "$tt" "${a[@]:1}" >/dev/null
      done
    done
  done
  echo "== nnc fit processes, compile time"
  for f in w4-step w4-epoch w3-epoch; do
    case $f in
      w4-step) a=("$out/data/w4.json" --x "$out/data/w4_x.npy" --y "$out/data/w4_y.npy" --batch-size 64 --steps-per-epoch 1) ;;
      w4-epoch) a=("$out/data/w4.json" --x "$out/data/w4_x.npy" --y "$out/data/w4_y.npy" --batch-size 64) ;;
      w3-epoch) a=("$out/data/w3.json" --x "$out/data/w3_x.npy" --y "$out/data/w3_y.npy" --batch-size 32 --validation-split 0.1) ;;
    esac
    # cold: no compile cache (NNC_CACHE=0 where the build has one; an empty cache directory)
    timed "$d/fit-nnc-$f.txt" env NNC_CACHE=0 XDG_CACHE_HOME="$d/cache-none" $nnc fit "${a[@]}" --epochs 1 \
      --verbose 0 --history "$d/hist-nnc-$f.json" >/dev/null
  done
  for s in fashion_mnist_mlp deep20 deep100; do
    spec=$out/data/$s.json
    [ "$s" != fashion_mnist_mlp ] || spec=specs/$s.json
    /usr/bin/python3 bench/timed_reps.py "$compile_reps" "$d/compile-$s-cold.txt" NNC_CACHE=0 XDG_CACHE_HOME="$d/cache-none" \
      $nnc compile "$spec" "${nocache[@]}"
    if [ ${#nocache[@]} -gt 0 ]; then # a build with the object cache: fill it, then a warm compile
      XDG_CACHE_HOME="$d/cache-cli" $nnc compile "$spec" >/dev/null
      /usr/bin/python3 bench/timed_reps.py "$compile_reps" "$d/compile-$s-warm.txt" \
        XDG_CACHE_HOME="$d/cache-cli" $nnc compile "$spec"
    fi
  done
  $nnc compile "$out/data/w4wide.json" --summary | grep '^graph train' >"$d/w4wide-workspace.txt"
  rm -rf "$d"/cache-*
  snapshot "$d/stat-end.txt"
done
/usr/bin/python3 bench/report.py "$out" | tee "$out/REPORT.md"
